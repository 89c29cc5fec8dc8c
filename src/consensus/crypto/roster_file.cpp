#include "consensus/crypto/roster_file.hpp"

#include <charconv>
#include <fstream>
#include <set>
#include <system_error>

namespace marketsim::consensus::crypto {

namespace {

constexpr std::string_view roster_header = "marketsim-roster-v1";

roster_result failed(const std::filesystem::path& file, const std::string& what) {
  return {file.string() + ": " + what, {}};
}

} // namespace

roster_result load_roster(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return failed(file, "no such roster file");
  std::ifstream in(file);
  if (!in)
    return failed(file, "cannot open roster file");
  std::string line;
  if (!std::getline(in, line) || line != roster_header)
    return failed(file, "line 1: expected \"marketsim-roster-v1\"");
  roster_result out;
  std::set<public_key> keys_seen;
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty() || line.front() == '#')
      continue;
    const auto at = "line " + std::to_string(n) + ": ";
    const auto space = line.find(' ');
    if (space == std::string::npos)
      return failed(file, at + "want \"<id> <64 hex public key>\"");
    std::uint32_t id = 0;
    const auto* first = line.data();
    const auto* last = line.data() + space;
    auto [end, err] = std::from_chars(first, last, id);
    if (err != std::errc{} || end != last || id == 0)
      return failed(file, at + "the id must be a number in 1..2^32-1, got \"" +
                              line.substr(0, space) + "\"");
    public_key key;
    if (!from_hex(std::string_view(line).substr(space + 1), key.bytes))
      return failed(file, at + "the public key must be 64 hex characters");
    if (!out.keys.emplace(id, key).second)
      return failed(file, at + "validator " + std::to_string(id) + " is listed twice");
    if (!keys_seen.insert(key).second)
      return failed(file, at + "validator " + std::to_string(id) +
                              " has the key of another validator");
  }
  if (in.bad())
    return failed(file, "read error");
  if (out.keys.empty())
    return failed(file, "no validator listed");
  return out;
}

std::string save_roster(const std::filesystem::path& file, const roster_map& keys) {
  std::ofstream out(file, std::ios::trunc);
  if (!out)
    return file.string() + ": cannot create roster file";
  out << roster_header << '\n';
  for (const auto& [id, key] : keys)
    out << id << ' ' << key.hex() << '\n';
  out.close();
  if (!out)
    return file.string() + ": cannot write roster file";
  return {};
}

} // namespace marketsim::consensus::crypto
