#include "consensus/raft/client_sessions.hpp"

#include "consensus/raft/raft.pb.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

namespace marketsim::consensus::raft {

namespace {

constexpr char no_session = 0;
constexpr char with_session = 1;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

/// Reads a varint at `pos`; false when the bytes end first or it is too long.
bool get_varint(std::string_view in, std::size_t& pos, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && pos < in.size(); shift += 7) {
    const auto byte = static_cast<std::uint8_t>(in[pos++]);
    v |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0)
      return true;
  }
  return false;
}

} // namespace

std::string wrap_command(const session_header& h, std::string_view command) {
  std::string out;
  out.reserve(command.size() + (h.session == 0 ? 1 : 31));
  if (h.session == 0) {
    out.push_back(no_session);
  } else {
    out.push_back(with_session);
    put_varint(out, h.session);
    put_varint(out, h.seq);
    put_varint(out, h.acked_below);
  }
  out.append(command);
  return out;
}

decoded<unwrapped_command> unwrap_command(std::string_view bytes) {
  if (bytes.empty())
    return {std::nullopt, "empty entry: no session header"};
  unwrapped_command u;
  std::size_t pos = 1;
  if (bytes[0] == with_session) {
    if (!get_varint(bytes, pos, u.header.session) || !get_varint(bytes, pos, u.header.seq) ||
        !get_varint(bytes, pos, u.header.acked_below))
      return {std::nullopt, "truncated session header"};
    if (u.header.session == 0)
      return {std::nullopt, "session header with session 0"};
  } else if (bytes[0] != no_session) {
    return {std::nullopt, "unknown session header version " +
                              std::to_string(static_cast<std::uint8_t>(bytes[0]))};
  }
  u.command = bytes.substr(pos);
  return {u, {}};
}

client_sessions::session& client_sessions::touch(const session_header& h, index_t index) {
  auto it = sessions_.find(h.session);
  if (it == sessions_.end()) {
    evict_if_full();
    it = sessions_.emplace(h.session, session{}).first;
  }
  session& s = it->second;
  s.last_used = index;
  if (h.acked_below > s.acked_below) {
    s.acked_below = h.acked_below;
    s.drop_below(h.acked_below);
  }
  return s;
}

std::optional<client_sessions::answer> client_sessions::check(const session_header& h,
                                                             index_t index) {
  if (h.session == 0)
    return std::nullopt;
  const session& s = touch(h, index);
  if (h.seq < s.acked_below)
    return answer{outcome::rejected, {},
                  "command " + std::to_string(h.seq) + " of session " +
                      std::to_string(h.session) +
                      " was answered already (the client acknowledged it)",
                  0, 0};
  if (const stored* a = s.find(h.seq))
    return s.materialize(*a);
  return std::nullopt;
}

void client_sessions::record(const session_header& h, outcome status, std::string_view output,
                             std::string_view error, index_t index, term_t term) {
  if (h.session == 0)
    return;
  session& s = touch(h, index); // as check() left it, or as check() would
  if (h.seq >= s.acked_below)
    s.put(h.seq, status, output, error, index, term);
}

std::size_t client_sessions::answers() const {
  std::size_t n = 0;
  for (const auto& [id, s] : sessions_)
    n += s.size();
  return n;
}

// -- one session's answers ---------------------------------------------------------

const client_sessions::stored* client_sessions::session::find(std::uint64_t seq) const {
  if (size() == 0 || answers.back().seq < seq)
    return nullptr; // the usual case: a new command
  auto it = std::partition_point(answers.begin() + static_cast<std::ptrdiff_t>(head),
                                 answers.end(), [seq](const stored& a) { return a.seq < seq; });
  return it != answers.end() && it->seq == seq ? &*it : nullptr;
}

void client_sessions::session::put(std::uint64_t seq, outcome status, std::string_view output,
                                   std::string_view error, index_t index, term_t term) {
  stored a{seq,
           status,
           index,
           term,
           arena_base + arena.size(),
           static_cast<std::uint32_t>(output.size()),
           static_cast<std::uint32_t>(error.size())};
  arena.append(output);
  arena.append(error);
  if (size() == 0 || answers.back().seq < seq) {
    answers.push_back(a);
    return;
  }
  // Out of order (a resend): in its place; a replaced answer's bytes stay in
  // the arena until the next compaction.
  auto it = std::partition_point(answers.begin() + static_cast<std::ptrdiff_t>(head),
                                 answers.end(), [seq](const stored& x) { return x.seq < seq; });
  if (it != answers.end() && it->seq == seq)
    *it = a;
  else
    answers.insert(it, a);
}

void client_sessions::session::drop_below(std::uint64_t seq) {
  while (head < answers.size() && answers[head].seq < seq)
    ++head;
  if (head < 64 || head * 2 < answers.size())
    return;
  // Compact: forget the dropped answers and the bytes no kept answer uses.
  answers.erase(answers.begin(), answers.begin() + static_cast<std::ptrdiff_t>(head));
  head = 0;
  std::uint64_t keep_from = arena_base + arena.size();
  for (const stored& a : answers)
    keep_from = std::min(keep_from, a.offset);
  arena.erase(0, keep_from - arena_base);
  arena_base = keep_from;
}

client_sessions::answer client_sessions::session::materialize(const stored& a) const {
  const auto at = a.offset - arena_base;
  return {a.status, arena.substr(at, a.output_size), arena.substr(at + a.output_size, a.error_size),
          a.index, a.term};
}

void client_sessions::evict_if_full() {
  while (!sessions_.empty() && sessions_.size() >= std::max<std::size_t>(1, max_sessions_)) {
    // Least recently used; log indices are unique, so every replica picks
    // the same one whatever the hash map's order.
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.last_used < b.second.last_used;
    });
    sessions_.erase(oldest);
  }
}

std::string client_sessions::snapshot_with(std::string_view machine_bytes) const {
  pb::ValidatorSnapshot snap;
  snap.set_machine(machine_bytes.data(), machine_bytes.size());
  std::vector<std::uint64_t> ids;
  ids.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_)
    ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (auto id : ids) {
    const session& s = sessions_.at(id);
    auto& out = *snap.add_sessions();
    out.set_id(id);
    out.set_acked_below(s.acked_below);
    out.set_last_used(s.last_used);
    for (std::size_t k = s.head; k < s.answers.size(); ++k) {
      const answer a = s.materialize(s.answers[k]);
      auto& pa = *out.add_answers();
      pa.set_seq(s.answers[k].seq);
      pa.set_status(static_cast<std::uint32_t>(a.status));
      pa.set_output(a.output);
      pa.set_error(a.error);
      pa.set_index(a.index);
      pa.set_term(a.term);
    }
  }
  return snap.SerializeAsString();
}

decoded<std::string> client_sessions::restore_from(std::string_view bytes) {
  pb::ValidatorSnapshot snap;
  if (!snap.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return {std::nullopt, "not a ValidatorSnapshot (protobuf parse failed)"};
  decltype(sessions_) restored;
  for (const auto& ps : snap.sessions()) {
    if (ps.id() == 0)
      return {std::nullopt, "snapshot holds a session with id 0"};
    session s;
    s.acked_below = ps.acked_below();
    s.last_used = ps.last_used();
    for (const auto& pa : ps.answers()) {
      if (pa.status() > static_cast<std::uint32_t>(outcome::rejected))
        return {std::nullopt, "session " + std::to_string(ps.id()) + ": unknown outcome " +
                                  std::to_string(pa.status())};
      s.put(pa.seq(), static_cast<outcome>(pa.status()), pa.output(), pa.error(), pa.index(),
            pa.term());
    }
    if (!restored.emplace(ps.id(), std::move(s)).second)
      return {std::nullopt, "snapshot lists session " + std::to_string(ps.id()) + " twice"};
  }
  sessions_ = std::move(restored);
  return {snap.machine(), {}};
}

} // namespace marketsim::consensus::raft
