#include "population_load.hpp"

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "market/exchange_shard.hpp"
#include "market/shard_router.hpp"
#include "market/symbol_table.hpp"
#include "strategies/registry.hpp"
#include "strategies/signal_hub.hpp"
#include "strategies/strategy.hpp"
#include "strategies/trader.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

namespace marketsim::bench {

namespace {

using wall_clock = std::chrono::steady_clock;
using strategies::context;
using strategies::duration_ns;
using strategies::local_order_id;
using strategies::order_update;

constexpr market::price_t reference_price = 10'000;

// -- the driver's own strategy -------------------------------------------------------

struct poisson_limit_config {
  market::symbol_id symbol = 0;
  duration_ns mean_interval = 0;
  std::int64_t band = 0; ///< passive orders rest 1..band ticks from the reference
  double crossing = 0;   ///< chance that an order is marketable
};

/// See the file comment of population_load.hpp.
class poisson_limit final : public strategies::strategy {
public:
  explicit poisson_limit(poisson_limit_config c) : config_(c) {}

  void on_start(context& ctx) override { schedule(ctx); }

  void on_timer(context& ctx, std::uint64_t) override {
    if (resting_ != 0)
      ctx.cancel(resting_);
    const auto& spec = *ctx.symbols().find(config_.symbol);
    // Every draw on every wake, so that one wake does not shift the next.
    const bool buy = ctx.rng().bernoulli(0.5);
    const bool crosses = ctx.rng().bernoulli(config_.crossing);
    const auto away = ctx.rng().uniform_int(1, std::max<std::int64_t>(config_.band, 1));
    // Passive buys rest below the reference and sells above it, so they never
    // meet; a marketable order reaches `band` ticks across it.
    const auto ticks =
        crosses ? (buy ? config_.band : -config_.band) : (buy ? -away : away);
    const auto price = std::max(reference_price + ticks * spec.tick_size, spec.tick_size);
    resting_ = buy ? ctx.buy_limit(config_.symbol, price, spec.lot_size)
                   : ctx.sell_limit(config_.symbol, price, spec.lot_size);
    schedule(ctx);
  }

  void on_order(context& ctx, const order_update& u) override {
    if (u.id == resting_ && ctx.order(u.id) == nullptr)
      resting_ = 0;
  }

private:
  void schedule(context& ctx) {
    const auto wait = ctx.rng().exponential(static_cast<double>(config_.mean_interval));
    ctx.set_timer(std::max<duration_ns>(static_cast<duration_ns>(wait), 1));
  }

  poisson_limit_config config_;
  local_order_id resting_ = 0;
};

std::vector<strategies::param_spec> poisson_limit_params() {
  return {
      strategies::duration_param("interval", "mean of the exponential wait between wakes",
                                 10'000'000'000, 1e3, 8.64e13),
      strategies::integer_param(
          "band", "passive orders rest 1..band ticks from the reference", 5, 1, 1e6),
      strategies::number_param("crossing",
                               "chance that an order is marketable (crosses "
                               "the reference by band ticks)",
                               0.1, 0, 1),
  };
}

// -- parameters --------------------------------------------------------------------

/// `text` as a value of `spec`'s type (check_params then validates it).
strategies::param_value parse_value(const strategies::param_spec& spec,
                                    const std::string& text) {
  using strategies::param_type;
  try {
    switch (spec.type) {
    case param_type::integer:
      return std::int64_t{std::stoll(text)};
    case param_type::number:
      return std::stod(text);
    case param_type::boolean:
      if (text == "true" || text == "false")
        return text == "true";
      break;
    case param_type::text:
    case param_type::duration: // check_params reads 500ms, 10s, ...
      return text;
    }
  } catch (const std::logic_error&) {
  }
  throw std::invalid_argument("population load: parameter " + spec.name +
                              ": cannot read '" + text + "' as " +
                              std::string{strategies::to_string(spec.type)});
}

strategies::param_values
checked_params(const std::vector<strategies::param_spec>& specs,
               const std::vector<std::pair<std::string, std::string>>& given,
               const std::string& symbol_name) {
  strategies::param_values values;
  for (const auto& [key, text] : given) {
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const auto& s) { return s.name == key; });
    if (spec == specs.end())
      throw std::invalid_argument("population load: unknown strategy parameter " + key);
    values.set(key, parse_value(*spec, text));
  }
  auto declared = [&](const char* name) {
    return std::any_of(specs.begin(), specs.end(),
                       [&](const auto& s) { return s.name == name; });
  };
  if (declared("symbols"))
    values.set("symbols", symbol_name);
  if (declared("reference_price") && !values.has("reference_price"))
    values.set("reference_price", std::int64_t{reference_price});
  return strategies::check_params(specs, values);
}

/// Makes the strategy of one agent trading shard `shard`'s symbol.
class strategy_factory {
public:
  strategy_factory(const population_params& p, const market::symbol_table& symbols)
      : registry_(strategies::builtin_strategies()) {
    own_ = p.strategy == "poisson_limit";
    const auto* info = own_ ? nullptr : registry_.find(p.strategy);
    if (!own_ && info == nullptr)
      throw std::invalid_argument("population load: unknown strategy " + p.strategy);
    make_ = own_ ? nullptr : &info->make;
    const auto& specs = own_ ? poisson_limit_params() : info->params;
    for (std::uint32_t s = 0; s < p.shards; ++s)
      values_.push_back(
          checked_params(specs, p.strategy_params,
                         symbols.find(static_cast<market::symbol_id>(s))->name));
  }

  std::unique_ptr<strategies::strategy> make(std::uint32_t shard) const {
    const auto& v = values_[shard];
    if (own_)
      return std::make_unique<poisson_limit>(poisson_limit_config{
          static_cast<market::symbol_id>(shard), v.duration_ns("interval"),
          v.integer("band"), v.number("crossing")});
    return (*make_)(v);
  }

private:
  strategies::strategy_registry registry_;
  bool own_ = false;
  const std::function<std::unique_ptr<strategies::strategy>(
      const strategies::param_values&)>* make_ = nullptr;
  std::vector<strategies::param_values> values_;
};

// -- measuring ---------------------------------------------------------------------

double seconds(wall_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6;
  };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

void say(const population_params& p, const std::string& line) {
  if (p.verbose)
    std::cerr << "population load: " << line << std::endl;
}

std::string mib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

} // namespace

memory_sample sample_memory() {
  memory_sample m;
  std::ifstream status{"/proc/self/status"};
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (status >> key) {
    if (key == "VmRSS:" || key == "VmHWM:") {
      status >> kib >> unit;
      (key == "VmRSS:" ? m.rss : m.hwm) = kib * 1024;
    } else {
      status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
  }
  const auto info = mallinfo2();
  m.heap = info.uordblks + info.hblkhd;
  return m;
}

double population_result::rss_per_agent(const memory_sample& at) const {
  return (static_cast<double>(at.rss) - static_cast<double>(before.rss)) / params.agents;
}

double population_result::heap_per_agent(const memory_sample& at) const {
  return (static_cast<double>(at.heap) - static_cast<double>(before.heap)) /
         params.agents;
}

namespace {

/// The `bare_actor` baseline: N event-based actors with one handler and no
/// state, spawned and initialised, measured like the traders.
population_result run_bare_actors(const population_params& p) {
  population_result r;
  r.params = p;
  actors::runtime rt; // virtual time
  std::vector<caf::actor> all;
  all.reserve(p.agents);
  r.before = sample_memory();
  auto t0 = wall_clock::now();
  for (std::uint32_t i = 0; i < p.agents; ++i)
    all.push_back(rt.system().spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](std::int32_t x) { return x; }};
    }));
  auto t1 = wall_clock::now();
  rt.drain();
  r.spawn_seconds = seconds(t1 - t0);
  r.init_seconds = seconds(wall_clock::now() - t1);
  r.spawned = r.started = r.after_run = sample_memory();
  auto t2 = wall_clock::now();
  if (!rt.shutdown(all))
    throw std::runtime_error("population load: the actors did not terminate");
  r.shutdown_seconds = seconds(wall_clock::now() - t2);
  return r;
}

} // namespace

population_result run_population_load(const population_params& p) {
  if (p.agents == 0 || p.shards == 0)
    throw std::invalid_argument("population load: agents and shards must be positive");
  if (p.duration < std::chrono::nanoseconds::zero())
    throw std::invalid_argument("population load: the duration must not be negative");
  population_result r;
  if (p.strategy == "bare_actor")
    return run_bare_actors(p);
  r.params = p;

  market::symbol_table symbols; // outlives the traders that refer to it
  for (std::uint32_t s = 0; s < p.shards; ++s) {
    // Appended, not "S" + ...: g++ 12 warns (-Wrestrict) on that at -O3.
    std::string name = std::to_string(s);
    name.insert(name.begin(), 'S');
    symbols.add({std::move(name), 1, 1, 1'000'000});
  }
  strategy_factory factory{p, symbols};

  actors::runtime rt; // virtual time
  auto& sys = rt.system();
  std::vector<caf::actor> platform;
  auto router = std::make_shared<market::shard_router>();
  // A book's order storage is reserved up front: for about one order per
  // agent of the shard, as the driver's own strategy rests at most one.
  const std::size_t orders_per_book = std::max<std::size_t>(1024, p.agents / p.shards);
  for (std::uint32_t s = 0; s < p.shards; ++s) {
    auto shard = market::spawn_exchange_shard(
        sys, {s, symbols, {static_cast<market::symbol_id>(s)}, orders_per_book});
    router->add(shard, {static_cast<market::symbol_id>(s)});
    platform.push_back(caf::actor_cast<caf::actor>(shard));
  }
  auto hub = strategies::spawn_signal_hub(sys);
  platform.push_back(caf::actor_cast<caf::actor>(hub));
  rt.drain();
  const std::shared_ptr<const market::shard_router> shared_router = router;
  const auto start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            rt.start_time().time_since_epoch())
                            .count();

  // One group per shard: its agents share name, account params and symbols.
  std::vector<std::shared_ptr<const strategies::trader_group>> groups;
  for (std::uint32_t s = 0; s < p.shards; ++s) {
    strategies::trader_group g;
    g.strategy_name = p.strategy;
    g.account.cash = p.cash;
    g.account.positions[static_cast<market::symbol_id>(s)] = {p.shares, reference_price};
    g.symbols = {static_cast<market::symbol_id>(s)};
    g.start_ns = start_ns;
    groups.push_back(std::make_shared<const strategies::trader_group>(std::move(g)));
  }
  std::vector<strategies::trader_actor> traders;
  traders.reserve(p.agents);
  r.before = sample_memory();
  say(p, "before spawning: RSS " + mib(r.before.rss) + ", heap " + mib(r.before.heap));

  // -- spawn ----------------------------------------------------------------------
  auto t0 = wall_clock::now();
  for (std::uint32_t i = 0; i < p.agents; ++i) {
    const auto shard = i % p.shards;
    strategies::trader_params tp;
    tp.index = i;
    tp.owner = i + 1;
    tp.seed = p.seed;
    // Per-agent params: a group of one per agent, as a scenario loader that
    // copied params per agent would make.
    tp.group = p.shared_groups ? groups[shard]
                               : std::make_shared<const strategies::trader_group>(*groups[shard]);
    traders.push_back(strategies::spawn_trader(sys, std::move(tp), factory.make(shard),
                                               symbols, shared_router, hub));
  }
  auto t1 = wall_clock::now();
  rt.drain(); // every trader's initialisation
  auto t2 = wall_clock::now();
  r.spawn_seconds = seconds(t1 - t0);
  r.init_seconds = seconds(t2 - t1);
  r.spawned = sample_memory();
  say(p, "spawned " + std::to_string(p.agents) + " in " +
             std::to_string(r.spawn_seconds) + " s + " + std::to_string(r.init_seconds) +
             " s init: RSS " + mib(r.spawned.rss) + ", heap " + mib(r.spawned.heap));

  // -- start ----------------------------------------------------------------------
  auto events0 = rt.events_processed();
  for (const auto& t : traders)
    caf::anon_send(t, actors::agent_start{});
  rt.drain();
  auto t3 = wall_clock::now();
  r.start_seconds = seconds(t3 - t2);
  r.start_events = rt.events_processed() - events0;
  r.started = sample_memory();
  say(p, "started in " + std::to_string(r.start_seconds) + " s: RSS " +
             mib(r.started.rss) + ", heap " + mib(r.started.heap));

  // -- run ------------------------------------------------------------------------
  auto events1 = rt.events_processed();
  auto cpu0 = cpu_seconds();
  auto t4 = wall_clock::now();
  rt.run_until(p.duration.count());
  auto t5 = wall_clock::now();
  r.run_cpu_seconds = cpu_seconds() - cpu0;
  r.run_wall_seconds = seconds(t5 - t4);
  r.events = rt.events_processed() - events1;
  r.sim_ns = rt.now();
  r.after_run = sample_memory();
  say(p, "ran " + std::to_string(r.events) + " events in " +
             std::to_string(r.run_wall_seconds) + " s: RSS " + mib(r.after_run.rss) +
             ", heap " + mib(r.after_run.heap));

  for (const auto& t : traders) {
    auto rep = strategies::peek_agent_report(t);
    r.orders_sent += rep.orders_sent;
    r.cancels_sent += rep.cancels_sent;
    r.fills += rep.fills;
    r.live_orders += rep.live_orders;
    r.failed_agents += rep.failed ? 1 : 0;
  }

  // -- shutdown -------------------------------------------------------------------
  auto t6 = wall_clock::now();
  std::vector<caf::actor> all;
  all.reserve(traders.size() + platform.size());
  for (auto& t : traders)
    all.push_back(caf::actor_cast<caf::actor>(std::move(t)));
  traders.clear();
  traders.shrink_to_fit();
  all.insert(all.end(), platform.begin(), platform.end());
  platform.clear();
  if (!rt.shutdown(all))
    throw std::runtime_error("population load: the actors did not terminate");
  r.shutdown_seconds = seconds(wall_clock::now() - t6);
  return r;
}

std::string to_string(const population_result& r) {
  const auto& p = r.params;
  const double n = p.agents;
  char buf[2048];
  auto mem = [&](const char* what, const memory_sample& m) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "  %-9s RSS %8.1f MiB (%6.0f B/agent)  heap %8.1f MiB (%6.0f B/agent)  "
                  "peak RSS %8.1f MiB\n",
                  what, m.rss / 1048576.0, r.rss_per_agent(m), m.heap / 1048576.0,
                  r.heap_per_agent(m), m.hwm / 1048576.0);
    return std::string{line};
  };
  std::string params;
  for (const auto& [k, v] : p.strategy_params)
    params += " " + k + "=" + v;
  std::snprintf(
      buf, sizeof buf,
      "population load: %u agents (%s%s) on %u shard(s), %s groups, virtual time, "
      "%.1f s simulated\n"
      "  spawn     %.3f s (%.0f agents/s) + init %.3f s (%.0f agents/s incl. init)\n"
      "  start     %.3f s, %llu events\n"
      "  run       %llu events in %.3f s wall, %.3f s CPU: %.0f events/s wall, "
      "%.0f events/CPU s\n"
      "  agents    %llu orders, %llu cancels, %llu fills, %llu live orders at the end, "
      "%llu failed\n"
      "  shutdown  %.3f s\n",
      p.agents, p.strategy.c_str(), params.c_str(), p.shards,
      p.shared_groups ? "shared" : "per-agent", static_cast<double>(r.sim_ns) * 1e-9,
      r.spawn_seconds, n / r.spawn_seconds, r.init_seconds,
      n / (r.spawn_seconds + r.init_seconds), r.start_seconds,
      static_cast<unsigned long long>(r.start_events),
      static_cast<unsigned long long>(r.events), r.run_wall_seconds, r.run_cpu_seconds,
      r.events / std::max(r.run_wall_seconds, 1e-9),
      r.events / std::max(r.run_cpu_seconds, 1e-9),
      static_cast<unsigned long long>(r.orders_sent),
      static_cast<unsigned long long>(r.cancels_sent),
      static_cast<unsigned long long>(r.fills),
      static_cast<unsigned long long>(r.live_orders),
      static_cast<unsigned long long>(r.failed_agents), r.shutdown_seconds);
  return buf + mem("before", r.before) + mem("spawned", r.spawned) +
         mem("started", r.started) + mem("after run", r.after_run);
}

} // namespace marketsim::bench
