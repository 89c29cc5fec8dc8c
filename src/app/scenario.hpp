#pragma once

/// Scenario files: YAML -> validated plain parameter structs. Nothing here
/// knows about actors; run.cpp turns a scenario into actors.
///
/// ## Schema
///
/// ```yaml
/// name: default            # optional; default: the file name without .yaml
/// seed: 42                 # required; every RNG stream derives from it
/// duration: 3s             # required; integer + unit: ns, us, ms, s, m
/// output: runs/default     # optional; default: runs/<name>
/// scheduler:               # optional
///   threads: 2             # optional; 0 (default) = one per core
///   policy: sharing        # optional; stealing (default) | sharing
/// symbols:                 # required, at least one
///   - name: ACME           # unique
///     tick_size: 1         # price units per tick, > 0
///     lot_size: 1          # quantity units per lot, > 0
///     reference_price: 10000  # > 0, a multiple of tick_size
///     max_order_qty: 1000000  # optional, > 0
/// shards:                  # required; every symbol on exactly one shard
///   - symbols: [ACME, INIT]
/// traders:                 # required, at least one group
///   - count: 50            # > 0
///     strategy: zero_intelligence
///     symbols: [ACME]      # optional; default: all symbols
///     interval: 20ms       # mean time between two actions, > 0
///     jitter: 10ms         # optional, 0 <= jitter <= interval; default interval/2
///     price_band: 20       # ticks either side of the reference, >= 0
///     market_order_share: 0.1  # in [0, 1]
///     cancel_share: 0.3        # in [0, 1]; market + cancel <= 1
///     max_quantity: 10     # lots, > 0
///     max_resting: 10      # optional, > 0; default 10
/// ```
///
/// Unknown keys are errors, never ignored.

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::app {

/// A bad scenario file. what() is `file:line: what is wrong` (`file: ...`
/// when there is no line, e.g. a file that cannot be opened).
class scenario_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

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

enum class strategy_kind { zero_intelligence };

struct trader_group_config {
  std::uint32_t count = 0;
  strategy_kind strategy = strategy_kind::zero_intelligence;
  /// Names of the symbols the group trades (each in `scenario::symbols`).
  std::vector<std::string> symbols;
  std::chrono::nanoseconds interval{0};
  std::chrono::nanoseconds jitter{0};
  std::int64_t price_band_ticks = 0;
  double market_order_share = 0;
  double cancel_share = 0;
  std::int64_t max_quantity_lots = 1;
  std::uint32_t max_resting = 10;

  friend bool operator==(const trader_group_config&,
                         const trader_group_config&) = default;
};

enum class scheduler_policy { stealing, sharing };

std::string_view to_string(scheduler_policy x);

struct scheduler_config {
  std::uint32_t threads = 0; ///< 0: one per core
  scheduler_policy policy = scheduler_policy::stealing;

  friend bool operator==(const scheduler_config&, const scheduler_config&) = default;
};

struct scenario {
  std::string name;
  std::uint64_t seed = 0;
  std::chrono::nanoseconds duration{0};
  std::string output;
  scheduler_config scheduler;
  std::vector<symbol_config> symbols;
  std::vector<shard_config> shards;
  std::vector<trader_group_config> traders;

  /// Index of `name` in `symbols`; throws std::out_of_range when absent
  /// (cannot happen for a validated scenario's own names).
  std::size_t symbol_index(std::string_view name) const;
  /// Total number of traders over all groups.
  std::uint64_t trader_count() const;
};

/// Reads and validates a scenario file; throws scenario_error.
scenario load_scenario(const std::string& path);

/// Parses and validates YAML text; `file` names it in error messages and
/// gives the default scenario name (its stem). Throws scenario_error.
scenario parse_scenario(std::string_view yaml, const std::string& file);

/// Parses `5s`, `500ms`, `250us`, `100ns`, `2m`; throws std::invalid_argument.
std::chrono::nanoseconds parse_duration(std::string_view text);

} // namespace marketsim::app
