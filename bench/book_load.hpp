#pragma once

/// Load driver for the pure order book: replays a pre-generated stream of
/// orders, cancels and modifies against one book and reports throughput and
/// per-operation latency. Used by `marketsim bench book`. Pure: links only the
/// market core.

#include <cstdint>
#include <string>

namespace marketsim::bench {

struct book_load_params {
  /// "exchange-core": exchange-core's published benchmark mix (82% move of a
  /// resting order, 9% new GTC limit, 6% cancel, 3% IOC, ~1,000 resting orders);
  /// "add-cancel": 50% new limit, 45% cancel, 5% IOC.
  std::string mix = "exchange-core";
  /// Operations measured, after the book is filled with `resting_orders`.
  std::uint64_t operations = 10'000'000;
  /// Resting orders the generator keeps the book near.
  std::size_t resting_orders = 1000;
  std::uint64_t seed = 1;
  /// Also run a second pass that times every operation (rdtsc, calibrated
  /// against steady_clock, timer overhead subtracted).
  bool measure_latency = true;
  /// Also replay the same stream through baseline_book (std::map + std::list,
  /// see baseline_book.hpp) right after the throughput pass, for a same-run
  /// ratio.
  bool baseline = true;
};

struct book_load_result {
  std::string mix;
  std::uint64_t operations = 0;
  /// Wall time of the throughput pass (no per-operation timing), excluding
  /// operation generation.
  double seconds = 0;
  double ops_per_sec = 0;
  /// Per-operation latency percentiles; 0 when not measured.
  double p50_ns = 0, p99_ns = 0, p999_ns = 0;
  /// Trades and events produced by the measured operations.
  std::uint64_t trades = 0;
  std::uint64_t events = 0;

  /// The baseline pass (when book_load_params::baseline): its throughput on
  /// the same stream, timed the same way, and what it produced.
  bool baseline_run = false;
  double baseline_seconds = 0;
  double baseline_ops_per_sec = 0;
  std::uint64_t baseline_trades = 0;
  std::uint64_t baseline_events = 0;
  /// ops_per_sec / baseline_ops_per_sec; 0 without a baseline pass.
  double ratio = 0;

  /// Both books produced the same trades and events: the ratio compares the
  /// same work.
  bool same_work() const {
    return baseline_run && trades == baseline_trades && events == baseline_events;
  }
};

/// Runs the load. Throws std::invalid_argument on an unknown mix or zero
/// resting orders.
book_load_result run_book_load(const book_load_params&);

/// A short human-readable multi-line report.
std::string to_string(const book_load_result&);

} // namespace marketsim::bench
