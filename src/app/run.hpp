#pragma once

/// `marketsim run`: one scenario, in virtual time (a deterministic
/// discrete-event loop) or in real time (CAF's scheduler), from spawning the
/// shards, the signal hub, the fundamental oracle and the agents to the
/// collected results. No CAF in this header: the report and the CLI only see
/// plain results.

#include "app/scenario.hpp"
#include "market/types.hpp"

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::strategies {
class strategy_registry;
} // namespace marketsim::strategies

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

/// The best bid and offer of one symbol at one sampling time (a side without
/// orders has price and quantity 0).
struct l1_sample {
  std::int64_t time_ns = 0; ///< since the start of the run
  std::uint32_t symbol = 0; ///< index into run_result::symbols
  market::price_t bid = 0;
  market::qty_t bid_qty = 0;
  market::price_t ask = 0;
  market::qty_t ask_qty = 0;
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
  /// What positions are valued at: the last trade, else the final mid, else
  /// the reference price.
  market::price_t mark = 0;
};

/// One agent at the end of the run. Money in price units x quantity units.
struct agent_record {
  std::uint64_t index = 0; ///< 0.. in scenario order
  market::owner_id owner = 0;
  std::string strategy;
  std::int64_t cash = 0;
  /// Non-flat positions: symbol index, quantity.
  std::vector<std::pair<std::uint32_t, market::qty_t>> positions;
  std::int64_t realised = 0;
  std::int64_t unrealised = 0;
  std::int64_t equity = 0; ///< cash + positions at the marks
  std::int64_t fees = 0;   ///< paid, net of rebates
  /// Equity minus starting equity (cash + starting positions at the reference
  /// prices): realised + unrealised - fees.
  std::int64_t pnl = 0;
  std::uint64_t orders = 0;
  std::uint64_t fills = 0;
  std::uint64_t rejects = 0;
  bool failed = false;
  std::string error; ///< why it failed
};

struct run_result {
  std::string name;
  std::string file;
  clock_mode clock = clock_mode::virtual_time;
  std::uint64_t seed = 0;
  std::uint32_t threads = 1; ///< worker threads (1 in virtual time)
  scheduler_policy policy = scheduler_policy::sharing;
  std::size_t shards = 0;
  bool fundamentals = false;
  std::chrono::nanoseconds l1_sample_period{0};
  /// The scenario's agent groups: strategy and count, in order.
  std::vector<std::pair<std::string, std::uint32_t>> groups;
  /// Simulated time covered (virtual) or the run's duration (real).
  std::chrono::nanoseconds sim_time{0};
  /// Wall time from the agents' start to the end of run_until.
  std::chrono::nanoseconds elapsed{0};
  /// Virtual time: messages handled during the run (0 in real time).
  std::uint64_t events = 0;
  std::uint64_t shard_requests = 0; ///< new, cancel and modify requests handled
  std::uint64_t unroutable_reports = 0;
  std::vector<symbol_result> symbols; ///< in scenario order
  std::vector<agent_record> agents;   ///< by index
  std::vector<trade_record> tape; ///< ordered by time, then symbol, then shard sequence
  std::vector<l1_sample> l1;      ///< by time, then symbol

  /// Events per second of wall time (0 in real time).
  double events_per_second() const;
  /// Trades per second of wall time.
  double trades_per_second() const;
  /// New orders the agents sent, in all.
  std::uint64_t orders_sent() const;
  /// New orders sent per second of wall time.
  double orders_per_second() const;
};

struct run_options {
  /// Write a progress line (simulated time, events/s) to `progress_out`
  /// about every half second.
  bool progress = false;
  std::ostream* progress_out = nullptr;
};

/// Runs `sc` for its duration with the strategies of `registry` and collects
/// the results. Throws std::runtime_error if the actors do not answer at the
/// end (a bug), std::invalid_argument if an agent cannot be built.
run_result run_scenario(const scenario& sc, const strategies::strategy_registry& registry,
                        const run_options& options = {});

} // namespace marketsim::app
