// Exactly-once commands (client_sessions.hpp): the entry header, the table
// every replica keeps, and its snapshot.

#include "consensus/raft/client_sessions.hpp"

#include <catch2/catch.hpp>

using namespace marketsim::consensus::raft;
using outcome = client_sessions::outcome;

namespace {

/// What a validator does with a committed command: apply if new, record.
/// Returns true when it was applied.
bool apply(client_sessions& s, const session_header& h, index_t index,
           std::vector<index_t>& applied) {
  if (s.check(h, index))
    return false;
  applied.push_back(index);
  s.record(h, outcome::committed, "out" + std::to_string(index), {}, index, 1);
  return true;
}

} // namespace

TEST_CASE("the session header wraps a command and comes off again intact", "[raft][sessions]") {
  for (session_header h : {session_header{0, 0, 0}, session_header{1, 1, 1},
                           session_header{0xFFFFFFFFFFFFFFFFull, 1ull << 40, 127}}) {
    for (std::string command : {std::string{}, std::string{"\x00\x01order", 7}}) {
      auto bytes = wrap_command(h, command);
      auto u = unwrap_command(bytes);
      REQUIRE(u);
      CHECK(u.value->header == h);
      CHECK(u.value->command == command);
    }
  }
}

TEST_CASE("malformed entry bytes are refused with a reason", "[raft][sessions]") {
  CHECK(unwrap_command("").reason == "empty entry: no session header");
  CHECK(unwrap_command(std::string_view{"\x07rest", 5}).reason ==
        "unknown session header version 7");
  auto whole = wrap_command({300, 400, 5}, "cmd");
  // Cut inside the varints: every prefix shorter than the header is refused.
  for (std::size_t n = 1; n < whole.size() - 3; ++n)
    CHECK(unwrap_command(std::string_view{whole}.substr(0, n)).reason ==
          "truncated session header");
  CHECK(unwrap_command(std::string_view{"\x01\x00\x01\x01", 4}).reason ==
        "session header with session 0");
}

TEST_CASE("a command committed twice is applied once; the second gets the first answer",
          "[raft][sessions]") {
  client_sessions s;
  std::vector<index_t> applied;
  CHECK(apply(s, {7, 1, 1}, 10, applied));
  CHECK(apply(s, {7, 2, 1}, 11, applied));
  // The answer to 1 was lost; the client resends it, it commits again at 12.
  const auto first = s.check({7, 1, 1}, 12);
  REQUIRE(first);
  CHECK(first->index == 10);
  CHECK(first->output == "out10");
  CHECK(applied == std::vector<index_t>{10, 11});
  // Another session's request 1 is its own.
  CHECK(apply(s, {8, 1, 1}, 13, applied));
  CHECK(s.sessions() == 2);
}

TEST_CASE("resends that arrive out of order are each applied once", "[raft][sessions]") {
  client_sessions s;
  std::vector<index_t> applied;
  index_t index = 1;
  // 1..5 committed; 3 and 1 come back in reverse, then 6.
  for (std::uint64_t seq = 1; seq <= 5; ++seq)
    CHECK(apply(s, {9, seq, 1}, index++, applied));
  CHECK_FALSE(apply(s, {9, 3, 1}, index++, applied));
  CHECK_FALSE(apply(s, {9, 1, 1}, index++, applied));
  CHECK(apply(s, {9, 6, 1}, index++, applied));
  CHECK(applied == std::vector<index_t>{1, 2, 3, 4, 5, 8});
}

TEST_CASE("answers below the client's acked_below are dropped, and a late copy of such a "
          "command is refused, not applied",
          "[raft][sessions]") {
  client_sessions s;
  std::vector<index_t> applied;
  for (std::uint64_t seq = 1; seq <= 100; ++seq)
    apply(s, {5, seq, 1}, seq, applied);
  CHECK(s.answers() == 100);
  // The client holds every answer below 90.
  CHECK(apply(s, {5, 101, 90}, 101, applied));
  CHECK(s.answers() == 12); // 90..101
  const auto late = s.check({5, 3, 90}, 102);
  REQUIRE(late);
  CHECK(late->status == outcome::rejected);
  CHECK(late->error.find("answered already") != std::string::npos);
  CHECK(applied.size() == 101);
  // acked_below never moves back.
  CHECK(s.check({5, 95, 10}, 103).has_value());
  CHECK(s.answers() == 12);
}

TEST_CASE("beyond max_sessions the least recently used session is evicted, the same on "
          "every replica",
          "[raft][sessions]") {
  client_sessions a{3}, b{3};
  std::vector<index_t> applied;
  // The same log on two replicas.
  std::vector<std::pair<session_header, index_t>> log = {
      {{1, 1, 1}, 1}, {{2, 1, 1}, 2}, {{3, 1, 1}, 3}, {{1, 2, 1}, 4}, {{4, 1, 1}, 5}};
  for (auto& [h, i] : log) {
    apply(a, h, i, applied);
    apply(b, h, i, applied);
  }
  CHECK(a.sessions() == 3);
  // Session 2 was the least recently used: evicted, so its request 1 is new
  // again; session 1's (used at 4) is still known.
  CHECK(a.check({1, 1, 1}, 6).has_value());
  CHECK_FALSE(a.check({2, 1, 1}, 7));
  CHECK(a.snapshot_with("m") != b.snapshot_with("m")); // a has moved on
  CHECK(b.check({1, 1, 1}, 6).has_value());
  CHECK_FALSE(b.check({2, 1, 1}, 7));
  CHECK(a.snapshot_with("m") == b.snapshot_with("m"));
}

TEST_CASE("a snapshot carries the sessions and the machine's bytes", "[raft][sessions]") {
  client_sessions s;
  std::vector<index_t> applied;
  for (std::uint64_t seq = 1; seq <= 4; ++seq)
    apply(s, {seq % 2 + 1, seq, 1}, seq, applied);
  s.record({9, 1, 1}, outcome::rejected, {}, "price out of band", 5, 2);
  const std::string machine{"machine\0bytes", 13};
  auto bytes = s.snapshot_with(machine);

  client_sessions t;
  auto restored = t.restore_from(bytes);
  REQUIRE(restored);
  CHECK(*restored.value == machine);
  CHECK(t.snapshot_with(machine) == bytes);
  const auto r = t.check({9, 1, 1}, 6);
  REQUIRE(r);
  CHECK(r->status == outcome::rejected);
  CHECK(r->error == "price out of band");
  CHECK(r->term == 2);

  SECTION("bytes that are not a snapshot change nothing") {
    auto before = t.snapshot_with("x");
    auto bad = t.restore_from("\xff\xff\xff garbage");
    CHECK_FALSE(bad);
    CHECK(bad.reason == "not a ValidatorSnapshot (protobuf parse failed)");
    CHECK(t.snapshot_with("x") == before);
  }
}

TEST_CASE("a long session keeps the right answers as old ones are dropped and compacted",
          "[raft][sessions]") {
  client_sessions s;
  std::vector<index_t> applied;
  // A client with 100 in flight: acked_below trails seq by 100. Every 10th
  // command is first seen late (after the next nine), as a resend would be.
  index_t index = 1;
  for (std::uint64_t base = 1; base <= 5000; base += 10) {
    for (std::uint64_t seq = base + 1; seq < base + 10; ++seq)
      REQUIRE(apply(s, {3, seq, seq > 100 ? seq - 100 : 1}, index++, applied));
    REQUIRE(apply(s, {3, base, base > 100 ? base - 100 : 1}, index++, applied));
  }
  CHECK(applied.size() == 5000);
  CHECK(s.answers() <= 110);
  // Every answer from the client's acked_below (4900) on is kept, and is
  // the one recorded for its command; below it, refused.
  for (std::uint64_t seq = 4900; seq <= 5000; ++seq) {
    INFO("seq " << seq);
    auto a = s.check({3, seq, 4900}, index++);
    REQUIRE(a);
    CHECK(a->output == "out" + std::to_string(a->index));
    CHECK(a->status == outcome::committed);
  }
  auto old = s.check({3, 4899, 4900}, index++);
  REQUIRE(old);
  CHECK(old->status == outcome::rejected);
  // And a snapshot of it restores to the same answers.
  client_sessions t;
  REQUIRE(t.restore_from(s.snapshot_with("")));
  CHECK(t.snapshot_with("") == s.snapshot_with(""));
}
