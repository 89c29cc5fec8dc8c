#pragma once

/// A large population of trader actors (strategies/trader.hpp) in virtual
/// time: what one agent costs in memory and how fast a population is spawned
/// and run. N traders, each hosting its own strategy instance, trade one
/// symbol per exchange shard (agent i trades the symbol of shard i % shards)
/// through the real shards and signal hub, driven by actors::runtime.
///
/// ## Phases and what is measured
/// 1. before: the runtime, the shards and the hub exist;
/// 2. spawned: every trader spawned and initialised (its behaviour ran and
///    its register_owner reached the shard): an idle agent;
/// 3. started: agent_start delivered and everything it caused run (the
///    strategy's subscriptions and first timer): an active agent;
/// 4. after the run of `duration` simulated seconds.
/// At each phase: resident memory (VmRSS, and the peak VmHWM, from
/// /proc/self/status) and the heap in use (mallinfo2); per agent = the growth
/// since `before` divided by N. The run reports the jobs the runtime ran
/// (each one message handled by one actor, timers included) per wall second
/// and per CPU second (getrusage: the run is single-threaded).
///
/// ## Strategies
/// Any built-in strategy by name with `key=value` parameters (the `symbols`
/// parameter is set per agent; `reference_price` defaults to the symbol's
/// reference when the strategy declares it), or `poisson_limit`, the
/// driver's own: at exponential times (mean `interval`) it cancels its
/// resting order, if any, and sends one limit order of one lot, a buy or a
/// sell with equal chance: with chance `crossing` a marketable one (`band`
/// ticks across the reference price), else a passive one 1..`band` ticks
/// behind it (a buy below, a sell above; passive orders never meet). So it
/// holds at most one live order (rarely two, while a cancel is in flight) and
/// one timer, and subscribes to no market data. `bare_actor` spawns no
/// traders but as many event-based actors with one handler and no state, the
/// baseline of what CAF itself costs per actor (spawned phase only). Every built-in strategy
/// subscribes to its symbols' market data, which makes every quote change a
/// message to each agent of the shard.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::bench {

struct population_params {
  std::uint32_t agents = 100'000;
  std::uint32_t shards = 1; ///< one symbol each
  /// `poisson_limit` or a built-in strategy's name.
  std::string strategy = "poisson_limit";
  /// Strategy parameters as `key=value`, converted by the declared type
  /// (durations like 500ms or 10s).
  std::vector<std::pair<std::string, std::string>> strategy_params;
  /// Simulated time to run after the start.
  std::chrono::nanoseconds duration{std::chrono::seconds{10}};
  std::uint64_t seed = 1;
  /// Every agent starts with this cash (price units times lots) and this
  /// many units of its symbol.
  std::int64_t cash = 1'000'000'000;
  std::int64_t shares = 1'000;
  /// true: the agents of a shard share one strategies::trader_group (name,
  /// account params, symbols); false: each gets its own copy through the
  /// per-trader fields of trader_params, as a caller that does not share.
  bool shared_groups = true;
  /// Prints a line per phase to stderr while the load runs.
  bool verbose = true;
};

/// Memory of the process at one moment.
struct memory_sample {
  std::uint64_t rss = 0;  ///< VmRSS, bytes
  std::uint64_t hwm = 0;  ///< VmHWM (peak resident), bytes
  std::uint64_t heap = 0; ///< malloc'd bytes in use (mallinfo2 uordblks + hblkhd)
};

/// Reads /proc/self/status and mallinfo2.
memory_sample sample_memory();

struct population_result {
  population_params params;
  memory_sample before, spawned, started, after_run;
  double spawn_seconds = 0; ///< wall: spawn_trader calls
  double init_seconds = 0;  ///< wall: running the traders' initialisation
  double start_seconds = 0; ///< wall: agent_start and what it caused
  std::uint64_t start_events = 0;
  // -- the run -------------------------------------------------------------------
  std::int64_t sim_ns = 0;
  std::uint64_t events = 0; ///< jobs run during the run
  double run_wall_seconds = 0;
  double run_cpu_seconds = 0;
  // -- what the agents did (their reports, read after the run) ---------------------
  std::uint64_t orders_sent = 0;
  std::uint64_t cancels_sent = 0;
  std::uint64_t fills = 0;
  std::uint64_t live_orders = 0;
  std::uint64_t failed_agents = 0;
  double shutdown_seconds = 0;

  /// Growth of resident memory (heap in use) since `before`, per agent.
  double rss_per_agent(const memory_sample& at) const;
  double heap_per_agent(const memory_sample& at) const;
};

/// Runs the load. Throws std::invalid_argument on bad params (zero agents or
/// shards, an unknown strategy or parameter).
population_result run_population_load(const population_params&);

/// A multi-line report of every figure.
std::string to_string(const population_result&);

} // namespace marketsim::bench
