/// A validator's restart path, end to end without actors: the log and a
/// snapshot of both state machines on disk (raft_storage), a crash that tears
/// the last write, then recovery: restore the snapshot, apply the entries the
/// log still holds, and arrive at the state of a replica that never crashed.

#include "consensus/raft/raft_storage.hpp"
#include "consensus/raft/shard_state_machine.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using namespace marketsim::consensus::raft;
using namespace marketsim::market;
namespace fs = std::filesystem;

symbol_table one_symbol() {
  symbol_table t;
  t.add({"AAA", 1, 1, 1'000});
  return t;
}

shard_params params() {
  shard_params p;
  p.symbols = one_symbol();
  p.listed = {0};
  for (owner_id o = 1; o <= 5; ++o)
    p.funding.push_back({o, 1'000'000, 0, 500});
  return p;
}

/// One validator's state machine, checked after every entry.
struct replica {
  shard_state_machine machine{params()};

  void apply(const log_entry& e) {
    const auto& r = machine.apply(e);
    REQUIRE(r.index == e.index);
    REQUIRE(r.ok());
  }
};

std::vector<log_entry> random_orders(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  std::vector<log_entry> log;
  for (index_t i = 1; i <= n; ++i) {
    order_request r;
    r.id = i;
    r.owner = static_cast<owner_id>(pick(1, 5));
    r.side = pick(0, 1) ? side::buy : side::sell;
    r.tif = pick(0, 3) == 0 ? time_in_force::ioc : time_in_force::gtc;
    r.price = 100 + pick(-5, 5);
    r.qty = pick(1, 10);
    log.push_back({1 + i / 100, i, entry_kind::command, encode(exchange_command{r})});
  }
  return log;
}

} // namespace

TEST_CASE("A replica restarted from a snapshot and a torn log catches up exactly",
          "[raft_storage][replicated_exchange]") {
  fs::path dir =
      fs::temp_directory_path() / ("replica_recovery_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::size_t n = 2'000;
  const index_t snap_at = 1'200;
  auto log = random_orders(42, n);

  {
    auto opened = raft_storage::open(dir, {sync_policy::manual});
    REQUIRE(opened.has_value());
    raft_storage& s = *opened;
    REQUIRE(s.save_hard_state({log.back().term, 1}).ok());
    replica live;
    for (std::size_t from = 0; from < n; from += 50) {
      std::vector<log_entry> batch(log.begin() + static_cast<std::ptrdiff_t>(from),
                                   log.begin() + static_cast<std::ptrdiff_t>(from + 50));
      REQUIRE(s.append(batch).ok());
      REQUIRE(s.sync().ok()); // committed only once durable
      for (const auto& e : batch) {
        live.apply(e);
        if (e.index == snap_at) {
          snapshot snap;
          snap.meta.last_index = snap_at;
          snap.meta.last_term = e.term;
          snap.meta.config.voters = {1, 2, 3};
          snap.data = live.machine.snapshot();
          REQUIRE(s.save_snapshot(snap).ok());
          REQUIRE(s.compact_prefix(snap_at).ok());
        }
      }
    }
  }
  // The crash tears the last record: entry n is lost (it was never synced in
  // this story; had it been, the torn write could not have happened).
  fs::resize_file(dir / "raft.wal", fs::file_size(dir / "raft.wal") - 3);

  auto opened = raft_storage::open(dir, {sync_policy::manual});
  REQUIRE(opened.has_value());
  auto st = opened->load();
  REQUIRE(st.has_value());
  REQUIRE(st->torn.has_value());
  REQUIRE(st->snap.has_value());
  CHECK(st->snap->meta.last_index == snap_at);
  CHECK(st->base_index == snap_at);
  REQUIRE(st->last_index() == n - 1);

  replica restarted;
  REQUIRE(restarted.machine.restore(st->snap->data).empty());
  CHECK(restarted.machine.applied_index() == snap_at);
  for (const auto& e : st->entries)
    restarted.apply(e);

  replica reference; // never crashed, applied 1..n-1
  for (std::size_t i = 0; i + 1 < n; ++i)
    reference.apply(log[i]);
  CHECK(restarted.machine.state_hash() == reference.machine.state_hash());
  CHECK(restarted.machine.snapshot() == reference.machine.snapshot());
  CHECK(restarted.machine.check_invariants().empty());
  CHECK(reference.machine.exchange().trades_applied() > 100);
  CHECK(reference.machine.ledger().check_conservation().empty());
  fs::remove_all(dir);
}

TEST_CASE("The shard state machine refuses a bad snapshot whole",
          "[shard_state_machine]") {
  shard_state_machine m(params());
  auto log = random_orders(7, 50);
  for (const auto& e : log)
    REQUIRE(m.apply(e).ok());
  auto h = m.state_hash();
  CHECK(m.restore("\xff\xff") == "not a ShardSnapshot (protobuf parse failed)");
  shard_state_machine other(params());
  std::string good = other.snapshot();
  CHECK(m.state_hash() == h);
  REQUIRE(m.restore(good).empty());
  CHECK(m.state_hash() == other.state_hash());
  CHECK(m.applied_index() == 0);
  CHECK(m.check_invariants().empty());
}

TEST_CASE("Funding that overflows is refused at start-up", "[shard_state_machine]") {
  auto p = params();
  p.funding.push_back({1, INT64_MAX, 0, 0});
  CHECK_THROWS_AS(shard_state_machine(p), std::invalid_argument);
}
