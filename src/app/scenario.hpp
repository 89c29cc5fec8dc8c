#pragma once

/// Scenario files: YAML -> validated plain parameter structs. Nothing here
/// knows about actors; run.cpp turns a scenario into actors.
///
/// ## Schema
///
/// ```yaml
/// name: default            # optional; default: the file name without .yaml
/// clock: virtual           # optional; virtual (default) | real
/// seed: 42                 # required; every RNG stream derives from it
/// duration: 3s             # required; simulated (virtual) or wall (real) time;
///                          # integer + unit: ns, us, ms, s, m
/// output:                  # optional (a plain string is the folder)
///   folder: runs/default   # optional; default: runs/<name>
///   l1_sample: 100ms       # optional; L1 sampling period for l1.csv, > 0
/// scheduler:               # optional; real time only
///   threads: 2             # optional; 0 (default) = one per core
///   policy: sharing        # optional; sharing (default) | stealing; stealing
///                          # goes quadratic when one actor fans out to very many
/// symbols:                 # required, at least one
///   - name: ACME           # unique
///     tick_size: 1         # price units per tick, > 0
///     lot_size: 1          # quantity units per lot, > 0
///     reference_price: 10000  # > 0, a multiple of tick_size
///     max_order_qty: 1000000  # optional, > 0
/// shards:                  # required; every symbol on exactly one shard
///   - symbols: [ACME, INIT]
/// fundamentals:            # optional: hidden values, published as signals
///   period: 1s             # optional; publication period, > 0 (default 1s)
///   preset: three_stocks   # either a preset (its symbols must be defined) ...
///   symbols:               # ... or one entry per symbol (time unit: 1 s)
///     - {symbol: ACME, mean: 10000, kappa: 0.05, sigma: 30}
///   correlation:           # optional with `symbols`; n x n, symbol order
///     - [1.0, 0.3]
///     - [0.3, 1.0]
/// agents:                  # required, at least one agent in all
///   - count: 50            # >= 0
///     strategy: zero_intelligence  # a registered strategy (`marketsim strategies`)
///     params: {...}        # optional; checked against the strategy's parameters
///     symbols: [ACME]      # optional; default: all symbols
///     start: 0s            # optional; when the group starts acting (>= 0)
///     account:             # optional; default: no cash, no positions, no fees
///       cash: 10000000     # money units (price units x quantity units)
///       positions: {ACME: 100}  # starting holdings, cost = reference price
///       fees: {maker_bps: -1, taker_bps: 3}  # each in [-10000, 10000]
///       allow_short: false
///       max_short: 0       # units per symbol, >= 0
///       allow_margin: false
///       max_borrow: 0      # money units, >= 0
/// ```
///
/// Unknown keys are errors, never ignored. Every error is `file:line: what`,
/// the line being that of the offending key or value.
///
/// Strategy parameters are checked against the strategy's declaration
/// (strategies/params.hpp) and its own `make` (combinations). Two are filled
/// in from the group when the strategy declares them and the file does not
/// give them: `symbols` (the group's `symbols`, comma-separated; giving both
/// is an error) and `reference_price` (the reference price of the group's
/// symbols, when they all share one). A strategy's `symbols` parameter given
/// in `params` also sets the symbols the agents trade.

#include "strategies/params.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::strategies {
class strategy_registry;
} // namespace marketsim::strategies

namespace marketsim::market {
struct account_params;
struct fundamental_params;
} // namespace marketsim::market

namespace marketsim::app {

/// A bad scenario file. what() is `file:line: what is wrong` (`file: ...`
/// when there is no line, e.g. a file that cannot be opened).
class scenario_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Which clock drives a run.
enum class clock_mode {
  virtual_time, ///< deterministic discrete-event loop, one thread
  real_time,    ///< CAF's scheduler, wall-clock timers
};

std::string_view to_string(clock_mode x);

/// Parses `virtual` or `real`; throws std::invalid_argument otherwise.
clock_mode parse_clock(std::string_view text);

struct symbol_config {
  std::string name;
  std::int64_t tick_size = 1;
  std::int64_t lot_size = 1;
  std::int64_t reference_price = 0;
  std::int64_t max_order_qty = 1'000'000'000;

  friend bool operator==(const symbol_config&, const symbol_config&) = default;
};

struct shard_config {
  /// Names of the symbols this shard trades (each in `scenario::symbols`).
  std::vector<std::string> symbols;

  friend bool operator==(const shard_config&, const shard_config&) = default;
};

/// One symbol's hidden value process (see market/fundamental.hpp).
struct fundamental_config {
  std::string symbol; ///< one of `scenario::symbols`
  double mean = 0;    ///< price units, > 0
  double kappa = 0;   ///< per second, >= 0
  double sigma = 0;   ///< price units per sqrt(second), >= 0

  friend bool operator==(const fundamental_config&, const fundamental_config&) = default;
};

struct fundamentals_config {
  /// "" or the name of a preset (`three_stocks`).
  std::string preset;
  /// Without a preset: the processes, in the order of the correlation rows.
  std::vector<fundamental_config> symbols;
  /// Empty: independent symbols.
  std::vector<std::vector<double>> correlation;
  std::chrono::nanoseconds period{std::chrono::seconds{1}};

  friend bool operator==(const fundamentals_config&,
                         const fundamentals_config&) = default;
};

struct account_config {
  std::int64_t cash = 0;
  /// Starting positions by symbol name (units, negative = short).
  std::map<std::string, std::int64_t> positions;
  std::int32_t maker_bps = 0;
  std::int32_t taker_bps = 0;
  bool allow_short = false;
  std::int64_t max_short = 0;
  bool allow_margin = false;
  std::int64_t max_borrow = 0;

  friend bool operator==(const account_config&, const account_config&) = default;
};

/// `count` agents running the same strategy with the same parameters (each
/// with its own random stream).
struct agent_group_config {
  std::uint32_t count = 0;
  std::string strategy;
  /// Checked by the strategy's declaration: complete, defaults filled in.
  strategies::param_values params;
  /// Names of the symbols the group trades (each in `scenario::symbols`).
  std::vector<std::string> symbols;
  std::chrono::nanoseconds start{0};
  account_config account;
  /// Line of the group in the file (for errors found later, e.g. at spawn).
  int line = 0;
};

enum class scheduler_policy { stealing, sharing };

std::string_view to_string(scheduler_policy x);

struct scheduler_config {
  std::uint32_t threads = 0; ///< 0: one per core
  scheduler_policy policy = scheduler_policy::sharing;

  friend bool operator==(const scheduler_config&, const scheduler_config&) = default;
};

struct scenario {
  std::string name;
  std::string file; ///< where it was loaded from
  clock_mode clock = clock_mode::virtual_time;
  std::uint64_t seed = 0;
  std::chrono::nanoseconds duration{0};
  std::string output;
  std::chrono::nanoseconds l1_sample{std::chrono::milliseconds{100}};
  scheduler_config scheduler;
  std::vector<symbol_config> symbols;
  std::vector<shard_config> shards;
  /// True when the file has `fundamentals:`.
  bool has_fundamentals = false;
  fundamentals_config fundamentals;
  std::vector<agent_group_config> agents;

  /// Index of `name` in `symbols`; throws std::out_of_range when absent
  /// (cannot happen for a validated scenario's own names).
  std::size_t symbol_index(std::string_view name) const;
  /// Total number of agents over all groups.
  std::uint64_t agent_count() const;
};

/// The fundamental processes of a scenario with `fundamentals:`, symbols
/// named as in the scenario, seeded with `seed`. Throws std::invalid_argument
/// when the scenario has none.
market::fundamental_params make_fundamental_params(const scenario& sc,
                                                   std::uint64_t seed);

/// An agent's starting account: symbol names resolved to ids, starting
/// positions at a cost of their symbol's reference price.
market::account_params make_account_params(const scenario& sc, const account_config& a);

/// Reads and validates a scenario file against the strategies of `registry`;
/// throws scenario_error.
scenario load_scenario(const std::string& path,
                       const strategies::strategy_registry& registry);

/// Parses and validates YAML text; `file` names it in error messages and
/// gives the default scenario name (its stem). Throws scenario_error.
scenario parse_scenario(std::string_view yaml, const std::string& file,
                        const strategies::strategy_registry& registry);

/// Parses `5s`, `500ms`, `250us`, `100ns`, `2m`; throws std::invalid_argument.
std::chrono::nanoseconds parse_duration(std::string_view text);

/// The largest unit that divides `d` exactly: 1500000000 ns -> `1500ms`,
/// 2000000000 -> `2s`; parse_duration reads it back.
std::string format_duration(std::chrono::nanoseconds d);

} // namespace marketsim::app
