#pragma once

/// End-to-end load through one exchange shard actor on CAF's real scheduler:
/// several sender actors each keep a window of orders outstanding, every
/// order is answered, and the round trip of each request is timed.

#include <cstddef>
#include <cstdint>
#include <string>

namespace marketsim::bench {

struct shard_load_params {
  std::uint32_t senders = 4;
  std::uint64_t orders_per_sender = 250'000;
  std::size_t threads = 2;         ///< scheduler.max-threads
  std::string policy = "stealing"; ///< scheduler.policy: "stealing" or "sharing"
  std::uint32_t in_flight = 256;   ///< orders outstanding per sender
  std::uint32_t batch = 1;         ///< > 1: new orders go as new_order_batch of this size
  std::uint64_t seed = 1;
  /// Record every request the senders send and afterwards replay them, in the
  /// order the shard handled them, straight into a matching_engine in the
  /// calling thread (no actors), for a same-run actor / direct ratio.
  bool direct = true;
};

struct shard_load_result {
  std::uint64_t orders = 0; ///< requests answered: new orders and cancels
  double seconds = 0;
  double orders_per_sec = 0;
  /// Round trip of one request (a single order, a cancel, or a whole batch).
  double rtt_p50_us = 0, rtt_p99_us = 0;
  std::uint64_t trades = 0;
  std::uint32_t senders = 0, batch = 1;

  /// The direct replay (shard_load_params::direct); its time is the median
  /// of 3 replays. It covers only the matching engine's work on the recorded
  /// requests: not drawing them, not messaging, scheduling, the shard's
  /// routing of events, or the senders following the replies. New orders
  /// replay in the shard's order exactly; a cancel is placed just before its
  /// sender's next new order (the shard handled it somewhere between that
  /// and the previous one), so the trades can differ slightly from the
  /// shard's.
  bool direct_run = false;
  std::uint64_t direct_orders = 0;
  double direct_seconds = 0;
  double direct_orders_per_sec = 0;
  std::uint64_t direct_trades = 0;
  /// Resting orders cancelled by self-trade prevention in the replay (an
  /// extra, untimed replay counts them).
  std::uint64_t direct_self_trade_cancels = 0;
  /// orders_per_sec / direct_orders_per_sec; 0 without a direct replay.
  double ratio = 0;
};

/// Runs the load in its own actor system and returns when every order has been
/// answered. Throws std::invalid_argument on bad params (zero senders,
/// orders, threads, window or batch, a batch larger than the window, an
/// unknown policy).
shard_load_result run_shard_load(const shard_load_params&);

/// One line: throughput, round trips, trades; with a direct replay, two more
/// lines: its figures and the ratio.
std::string to_string(const shard_load_result&);

} // namespace marketsim::bench
