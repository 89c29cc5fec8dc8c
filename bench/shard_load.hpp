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
};

struct shard_load_result {
  std::uint64_t orders = 0; ///< requests answered: new orders and cancels
  double seconds = 0;
  double orders_per_sec = 0;
  /// Round trip of one request (a single order, a cancel, or a whole batch).
  double rtt_p50_us = 0, rtt_p99_us = 0;
  std::uint64_t trades = 0;
  std::uint32_t senders = 0, batch = 1;
};

/// Runs the load in its own actor system and returns when every order has been
/// answered. Throws std::invalid_argument on bad params (zero senders,
/// orders, threads, window or batch, a batch larger than the window, an
/// unknown policy).
shard_load_result run_shard_load(const shard_load_params&);

/// One line: throughput, round trips, trades.
std::string to_string(const shard_load_result&);

} // namespace marketsim::bench
