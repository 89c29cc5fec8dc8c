#include "consensus/crypto/key_file.hpp"

#include <fstream>
#include <system_error>

namespace marketsim::consensus::crypto {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view header = "marketsim-ed25519-v1";

/// The fields of a parsed file; `seed` only in a key-pair file.
struct parsed_file {
  std::optional<key_seed> seed;
  std::optional<public_key> pub;
};

template <class T>
key_file_result<T> fail(const fs::path& file, key_file_errc code, std::string_view what) {
  return {code, file.string() + ": " + std::string(what), std::nullopt};
}

key_file_result<parsed_file> parse(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec))
    return fail<parsed_file>(file, key_file_errc::not_found, "no such key file");
  std::ifstream in(file);
  if (!in)
    return fail<parsed_file>(file, key_file_errc::unreadable, "cannot open key file");
  std::string line;
  if (!std::getline(in, line) || line != header)
    return fail<parsed_file>(file, key_file_errc::bad_header,
                             "line 1: expected \"marketsim-ed25519-v1\"");
  parsed_file out;
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty())
      continue;
    auto at = "line " + std::to_string(n) + ": ";
    auto space = line.find(' ');
    auto name = line.substr(0, space);
    auto hex = space == std::string::npos ? std::string_view{}
                                          : std::string_view(line).substr(space + 1);
    if (name == "seed") {
      key_seed s;
      if (!from_hex(hex, s))
        return fail<parsed_file>(file, key_file_errc::bad_field,
                                 at + "seed must be 64 hex characters");
      out.seed = s;
    } else if (name == "public") {
      public_key k;
      if (!from_hex(hex, k.bytes))
        return fail<parsed_file>(file, key_file_errc::bad_field,
                                 at + "public must be 64 hex characters");
      out.pub = k;
    } else {
      return fail<parsed_file>(file, key_file_errc::bad_field,
                               at + "unknown field \"" + name + "\"");
    }
  }
  if (in.bad())
    return fail<parsed_file>(file, key_file_errc::unreadable, "read error");
  return {key_file_errc::ok, {}, out};
}

key_file_result<bool> write(const fs::path& file, const std::string& text,
                            fs::perms perms) {
  std::error_code ec;
  fs::remove(file, ec); // so the new permissions apply before any secret is written
  {
    std::ofstream out(file, std::ios::trunc);
    if (!out)
      return fail<bool>(file, key_file_errc::write_failed, "cannot create key file");
  }
  fs::permissions(file, perms, fs::perm_options::replace, ec);
  if (ec)
    return fail<bool>(file, key_file_errc::write_failed,
                      "cannot set permissions: " + ec.message());
  std::ofstream out(file, std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    return fail<bool>(file, key_file_errc::write_failed, "cannot write key file");
  return {key_file_errc::ok, {}, true};
}

} // namespace

std::string_view to_string(key_file_errc e) {
  switch (e) {
  case key_file_errc::ok:
    return "ok";
  case key_file_errc::not_found:
    return "not_found";
  case key_file_errc::unreadable:
    return "unreadable";
  case key_file_errc::bad_header:
    return "bad_header";
  case key_file_errc::bad_field:
    return "bad_field";
  case key_file_errc::missing_seed:
    return "missing_seed";
  case key_file_errc::key_mismatch:
    return "key_mismatch";
  case key_file_errc::write_failed:
    return "write_failed";
  }
  return "unknown";
}

key_file_result<key_pair> load_key_pair(const fs::path& file) {
  auto p = parse(file);
  if (!p)
    return {p.code, p.message, std::nullopt};
  if (!p.value->seed)
    return fail<key_pair>(file, key_file_errc::missing_seed,
                          "no seed line: this is a public-key file, not a key pair");
  auto keys = key_pair::from_seed(*p.value->seed);
  if (p.value->pub && *p.value->pub != keys.public_part())
    return fail<key_pair>(file, key_file_errc::key_mismatch,
                          "public key does not match the seed");
  return {key_file_errc::ok, {}, keys};
}

key_file_result<public_key> load_public_key(const fs::path& file) {
  auto p = parse(file);
  if (!p)
    return {p.code, p.message, std::nullopt};
  if (p.value->pub)
    return {key_file_errc::ok, {}, *p.value->pub};
  if (p.value->seed)
    return {key_file_errc::ok, {}, key_pair::from_seed(*p.value->seed).public_part()};
  return fail<public_key>(file, key_file_errc::bad_field, "no public line");
}

key_file_result<bool> save_key_pair(const fs::path& file, const key_pair& keys) {
  auto text = std::string(header) + "\nseed " + to_hex(keys.seed()) + "\npublic " +
              keys.public_part().hex() + "\n";
  return write(file, text, fs::perms::owner_read | fs::perms::owner_write);
}

key_file_result<bool> save_public_key(const fs::path& file, const public_key& key) {
  auto text = std::string(header) + "\npublic " + key.hex() + "\n";
  return write(file, text,
               fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                   fs::perms::others_read);
}

} // namespace marketsim::consensus::crypto
