#pragma once

/// Throughput of the virtual-time runtime on one core: N agents, each with its
/// own timer; on every tick an agent sends a new order to an exchange and
/// the exchange answers it. The exchange is either a minimal echo actor (the
/// cost of the platform alone: timers, scheduling, message passing) or a real
/// exchange shard matching random limit orders (platform plus book).

#include "actors/runtime.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace marketsim::bench {

struct virtual_load_params {
  std::uint32_t agents = 1'000;
  /// Simulated time to run.
  std::chrono::nanoseconds duration{std::chrono::seconds{60}};
  /// Mean time between two ticks of one agent; each interval is drawn
  /// uniformly from [0.5, 1.5] of it (the agent's own random stream), the
  /// first tick uniformly from [0, 1) of it.
  std::chrono::nanoseconds interval{std::chrono::milliseconds{100}};
  /// false: an echo exchange; true: an exchange shard with one symbol that
  /// gets random limit orders (half GTC, half IOC, within 10 ticks of a fixed
  /// mid price).
  bool real_shard = false;
  std::uint64_t seed = 1;
  /// Called while the run goes (see actors::runtime::on_progress).
  actors::progress_callback progress;
  std::chrono::nanoseconds progress_interval{std::chrono::seconds{1}};
};

struct virtual_load_result {
  std::uint32_t agents = 0;
  bool real_shard = false;
  std::int64_t sim_ns = 0;
  std::uint64_t ticks = 0;  ///< timer messages handled by agents
  std::uint64_t orders = 0; ///< orders answered (each: a request and a reply)
  std::uint64_t trades = 0; ///< trades (real shard only)
  /// Execution reports received (real shard only: fills of resting orders;
  /// the agents register as their orders' listeners).
  std::uint64_t reports = 0;
  /// Messages delivered: ticks + requests + replies + execution reports.
  std::uint64_t messages = 0;
  std::uint64_t events = 0; ///< jobs the runtime ran (runtime::events_processed)
  double spawn_seconds = 0; ///< wall time to spawn the actors
  double wall_seconds = 0;  ///< wall time of the run itself
  /// CPU time of the process during the run: on a shared machine the fairer
  /// measure (the run is single-threaded).
  double cpu_seconds = 0;
  double messages_per_sec = 0;     ///< per wall second
  double messages_per_cpu_sec = 0; ///< per CPU second
  double sim_per_wall = 0;         ///< simulated seconds per wall second
  /// The hash of every agent's (ticks, replies, last reply's order id):
  /// equal for equal params.
  std::uint64_t digest = 0;
};

/// Runs the load in its own virtual-time runtime. Throws
/// std::invalid_argument on zero agents or a duration or interval that is
/// not positive.
virtual_load_result run_virtual_time_load(const virtual_load_params&);

/// One line: messages/s, events, simulated time per wall time.
std::string to_string(const virtual_load_result&);

} // namespace marketsim::bench
