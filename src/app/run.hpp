#pragma once

/// `marketsim run`: one scenario in real time (CAF's scheduler, wall-clock
/// timers), from spawning the shards and traders to the collected results.
/// No CAF in this header: the report and the CLI only see plain results.

#include "app/scenario.hpp"
#include "market/types.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace marketsim::app {

/// One line of the trade tape.
struct trade_record {
  std::uint64_t seq = 0;    ///< 1.. over the whole run, in tape order
  std::int64_t time_ns = 0; ///< since the start of the run
  std::string symbol;
  market::price_t price = 0;
  market::qty_t qty = 0;
  market::side aggressor = market::side::buy;
  market::order_id maker_id = 0;
  market::order_id taker_id = 0;
  market::owner_id maker_owner = 0;
  market::owner_id taker_owner = 0;
};

struct symbol_result {
  std::string name;
  std::uint64_t orders = 0;  ///< new orders the shard accepted
  std::uint64_t rejects = 0; ///< requests the shard rejected
  std::uint64_t trades = 0;
  market::qty_t volume = 0;
  double vwap = 0; ///< 0 without trades
  market::price_t last_price = 0;
  std::uint64_t l1_updates = 0;
  /// Time-weighted over the time both sides were quoted; none if never.
  std::optional<double> average_spread;
  /// At the end of the run; none unless both sides are quoted.
  std::optional<market::price_t> final_spread;
};

/// Sums over every trader.
struct trader_totals {
  std::uint64_t traders = 0;
  std::uint64_t orders = 0; ///< new orders sent
  std::uint64_t cancels = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejects = 0;
  std::uint64_t fills = 0;
  market::qty_t filled_qty = 0;
  std::uint64_t resting = 0; ///< still live at the end
};

struct run_result {
  std::string name;
  std::uint64_t seed = 0;
  std::uint32_t threads = 0; ///< worker threads actually used
  scheduler_policy policy = scheduler_policy::stealing;
  std::size_t shards = 0;
  /// Wall time from the traders' start to their stop.
  std::chrono::nanoseconds elapsed{0};
  std::uint64_t shard_requests = 0;   ///< new, cancel and modify requests handled
  std::vector<symbol_result> symbols; ///< in scenario order
  trader_totals traders;
  std::vector<trade_record> tape; ///< ordered by time, then symbol, then shard sequence

  /// New orders sent per second of elapsed time.
  double orders_per_second() const;
};

/// Runs `sc` in real time for its duration and collects the results. Throws
/// std::runtime_error if the actors do not answer at the end (a bug).
run_result run_scenario(const scenario& sc);

} // namespace marketsim::app
