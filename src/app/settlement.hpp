#pragma once

/// Trade settlement on a validator group (Raft, or Streamlet with
/// Byzantine validators), for `marketsim run` with a
/// `settlement:` section (scenario.hpp): the validators with the settlement
/// ledger as their state machine, a client that finds the leader, a feeder
/// per shard that submits every trade the shard prints, and the scheduled
/// leader crash (and restart).
///
/// With Streamlet each shard's feeder signs its trades with the shard's
/// Ed25519 key (derived from the scenario seed); every validator holds the
/// shards' public keys and refuses a block with a trade no shard signed or a
/// trade its chain settled already (streamlet_trades.hpp), so a Byzantine
/// leader's fake trades (`byzantine: {i: fake_txs}`) or double settlement
/// (`double_spend`) never reach the accounts, and convict it. After the run, settle() waits until every submitted
/// trade has an answer and gathers what happened.

#include "app/scenario.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace marketsim::actors {
class runtime;
} // namespace marketsim::actors

namespace marketsim::app {

struct trade_record;

struct settlement_result {
  std::string protocol; ///< raft | streamlet
  std::uint32_t validators = 0;
  std::uint64_t submitted = 0; ///< trades the feeder submitted
  std::uint64_t committed = 0;
  std::uint64_t rejected = 0;
  std::uint64_t gave_up = 0;
  std::uint64_t retries = 0; ///< redirects, timeouts and lost entries resent
  std::int64_t latency_p50_ns = 0;
  std::int64_t latency_p90_ns = 0;
  std::int64_t latency_p99_ns = 0;
  std::int64_t latency_max_ns = 0;
  /// Committed trades per second of run time, from the first commit to the
  /// last.
  double committed_per_second = 0;
  /// The longest wait between two commits (a failover shows here).
  std::int64_t longest_gap_ns = 0;
  std::optional<std::uint32_t> crashed; ///< the leader that was killed
  std::int64_t crash_at_ns = -1;        ///< run time of the crash
  /// From the crash to a new leader's election (run time, ns).
  std::optional<std::int64_t> failover_ns;
  std::optional<std::uint32_t> new_leader;
  bool restarted = false;
  /// Every live validator applied as far as the others, with the same hash.
  bool replicas_agree = false;
  std::uint64_t applied_index = 0;
  std::string state_hash;
  /// The replicas' ledger equals the ledger of the run's own tape.
  bool matches_tape = false;
  std::string tape_hash;
  bool settled = false; ///< every submitted trade got an answer in time
  /// Streamlet: transactions in honest validators' finalized blocks that are
  /// not trades signed by a shard, and trades finalized a second time on one
  /// validator's chain; the payload rule keeps both at 0 (settled neither).
  std::uint64_t unsigned_finalized = 0;
  std::uint64_t finalized_twice = 0;
  /// Streamlet: the shard-signed batches that carried the trades (as
  /// finalized by the first honest validator).
  std::uint64_t batches = 0;
  /// Streamlet: misbehaviour the honest validators proved (one line per
  /// culprit and offence).
  std::vector<std::string> misbehaviour;
};

class settlement {
public:
  /// Spawns the validators, the client and the feeder, and subscribes the
  /// feeder to every shard's trades. `persist_dir` is used with
  /// `persist: true` (one folder per validator inside it); `symbols` are
  /// the scenario's symbol names, by symbol id.
  settlement(actors::runtime& rt, const settlement_config& cfg, std::uint64_t seed,
             const std::vector<caf::actor>& shards, std::string persist_dir,
             std::vector<std::string> symbols);
  ~settlement();

  settlement(const settlement&) = delete;
  settlement& operator=(const settlement&) = delete;

  /// Every actor it spawned that is still running (to quit at the end).
  std::vector<caf::actor> actors() const;

  /// After the shards have printed their last trade: runs the runtime until
  /// every submitted trade is answered (at most `max_wait` more), then asks
  /// every validator for its status and compares the replicas' ledger with
  /// the ledger of `tape`.
  settlement_result settle(const std::vector<trade_record>& tape,
                           std::chrono::nanoseconds max_wait);

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace marketsim::app
