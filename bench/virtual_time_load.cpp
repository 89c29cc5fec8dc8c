#include "virtual_time_load.hpp"

#include "actors/interfaces.hpp"
#include "actors/random.hpp"
#include "market/exchange_shard.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

namespace marketsim::bench {

namespace {

using namespace marketsim::market;
using wall_clock = std::chrono::steady_clock;

constexpr symbol_id load_symbol = 0;
constexpr price_t mid = 10'000;
constexpr std::int64_t price_band = 10; ///< ticks either side of mid

/// What one agent counted; written by the agent, read after the run (virtual
/// time runs on the calling thread, so no synchronisation is needed).
struct agent_counters {
  std::uint64_t ticks = 0;
  std::uint64_t replies = 0;
  std::uint64_t trades = 0;
  std::uint64_t reports = 0; ///< execution reports (fills as maker)
  order_id last_id = 0;
};

struct agent_state {
  static inline const char* name = "marketsim.virtual_load_agent";
  actors::random_stream rng;
  caf::actor exchange;
  owner_id owner = 0;
  std::chrono::nanoseconds interval{};
  std::uint64_t next_client_id = 1;
  agent_counters* counters = nullptr;
};

using agent_ptr = caf::stateful_actor<agent_state>*;

/// Sets the agent's next timer: uniform in [0.5, 1.5) intervals (`first`:
/// [0, 1) intervals, so that the agents do not all start at once).
void schedule_tick(agent_ptr self, bool first) {
  auto& st = self->state;
  auto mean = static_cast<double>(st.interval.count());
  auto factor = first ? st.rng.uniform() : 0.5 + st.rng.uniform();
  auto delay = std::chrono::nanoseconds{static_cast<std::int64_t>(mean * factor)};
  self->delayed_send(self, delay, caf::tick_atom::value);
}

actors::new_order random_order(agent_state& st) {
  actors::new_order x;
  x.client_order_id = st.next_client_id++;
  x.order.owner = st.owner;
  x.order.symbol = load_symbol;
  x.order.side = st.rng.bernoulli(0.5) ? side::buy : side::sell;
  x.order.type = order_type::limit;
  x.order.tif = st.rng.bernoulli(0.5) ? time_in_force::gtc : time_in_force::ioc;
  x.order.price = mid + st.rng.uniform_int(-price_band, price_band);
  x.order.qty = st.rng.uniform_int(1, 10);
  return x;
}

caf::behavior agent(agent_ptr self, caf::actor exchange, bool real_shard, owner_id owner,
                    std::chrono::nanoseconds interval, std::uint64_t seed,
                    agent_counters* counters) {
  auto& st = self->state;
  st.rng.reseed(seed);
  st.exchange = std::move(exchange);
  st.owner = owner;
  st.interval = interval;
  st.counters = counters;
  if (real_shard) // fills of its resting orders come as execution reports
    self->send(st.exchange,
               actors::register_owner{
                   owner, caf::actor_cast<actors::order_listener_actor>(self)});
  schedule_tick(self, true);
  return {
      [self](caf::tick_atom) {
        auto& st = self->state;
        ++st.counters->ticks;
        self->send(st.exchange, random_order(st));
        schedule_tick(self, false);
      },
      [self](const actors::order_reply& r) {
        auto& c = *self->state.counters;
        ++c.replies;
        c.last_id = r.id;
        for (const auto& ev : r.events)
          if (ev.kind == event_kind::trade)
            ++c.trades;
      },
      [self](const actors::execution_report&) { ++self->state.counters->reports; },
  };
}

/// The cheapest possible exchange: answers every order with an ack that
/// carries a fresh id and no events.
caf::behavior echo_exchange(caf::event_based_actor*) {
  auto next_id = std::make_shared<order_id>(0);
  return {
      [next_id](const actors::new_order& x) {
        return actors::order_reply{x.client_order_id, ++*next_id, {}};
      },
  };
}

caf::actor spawn_exchange(caf::actor_system& sys, bool real_shard) {
  if (!real_shard)
    return sys.spawn(echo_exchange);
  shard_params p;
  p.symbols.add({"LOAD", 1, 1, 1'000'000});
  p.traded = {load_symbol};
  return caf::actor_cast<caf::actor>(spawn_exchange_shard(sys, std::move(p)));
}

std::uint64_t digest(const std::vector<agent_counters>& counters) {
  std::uint64_t h = 1469598103934665603ull; // FNV-1a
  auto mix = [&h](std::uint64_t x) {
    for (int i = 0; i < 8; ++i) {
      h ^= (x >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (const auto& c : counters) {
    mix(c.ticks);
    mix(c.replies);
    mix(c.last_id);
  }
  return h;
}

double seconds(wall_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

} // namespace

virtual_load_result run_virtual_time_load(const virtual_load_params& params) {
  if (params.agents == 0)
    throw std::invalid_argument("virtual time load: agents must be positive");
  if (params.duration <= std::chrono::nanoseconds::zero() ||
      params.interval <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument(
        "virtual time load: duration and interval must be positive");

  actors::runtime rt; // virtual time
  if (params.progress)
    rt.on_progress(params.progress, params.progress_interval);

  auto spawn_start = wall_clock::now();
  std::vector<caf::actor> actors;
  actors.reserve(params.agents + 1);
  actors.push_back(spawn_exchange(rt.system(), params.real_shard));
  std::vector<agent_counters> counters(params.agents);
  for (std::uint32_t i = 0; i < params.agents; ++i)
    actors.push_back(rt.system().spawn(
        agent, actors.front(), params.real_shard, owner_id{i + 1}, params.interval,
        actors::derive_seed(params.seed, i), &counters[i]));
  rt.drain(); // the agents' start-up
  auto run_start = wall_clock::now();
  auto cpu_start = std::clock();
  auto events_before = rt.events_processed();
  rt.run_until(params.duration.count());
  auto cpu_end = std::clock();
  auto run_end = wall_clock::now();

  virtual_load_result r;
  r.agents = params.agents;
  r.real_shard = params.real_shard;
  r.sim_ns = rt.now();
  for (const auto& c : counters) {
    r.ticks += c.ticks;
    r.orders += c.replies;
    r.trades += c.trades;
    r.reports += c.reports;
  }
  // run_until returns only when no job is ready: every order sent has been
  // answered, so requests delivered = replies delivered.
  r.messages = r.ticks + 2 * r.orders + r.reports;
  r.events = rt.events_processed() - events_before;
  r.spawn_seconds = seconds(run_start - spawn_start);
  r.wall_seconds = seconds(run_end - run_start);
  r.cpu_seconds = static_cast<double>(cpu_end - cpu_start) / CLOCKS_PER_SEC;
  if (r.wall_seconds > 0) {
    r.messages_per_sec = static_cast<double>(r.messages) / r.wall_seconds;
    r.sim_per_wall = static_cast<double>(r.sim_ns) * 1e-9 / r.wall_seconds;
  }
  if (r.cpu_seconds > 0)
    r.messages_per_cpu_sec = static_cast<double>(r.messages) / r.cpu_seconds;
  r.digest = digest(counters);
  rt.shutdown(actors);
  return r;
}

std::string to_string(const virtual_load_result& r) {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "virtual time, %u agents, %s: %.2fM messages/s wall, %.2fM per CPU s "
      "(%llu messages: %llu ticks, %llu orders answered, %llu execution reports; "
      "%llu trades; %llu jobs) "
      "in %.3f s wall, %.3f s CPU for %.1f s simulated (x%.1f); spawn %.3f s; "
      "digest %016llx",
      r.agents, r.real_shard ? "exchange shard" : "echo exchange",
      r.messages_per_sec / 1e6, r.messages_per_cpu_sec / 1e6,
      static_cast<unsigned long long>(r.messages),
      static_cast<unsigned long long>(r.ticks), static_cast<unsigned long long>(r.orders),
      static_cast<unsigned long long>(r.reports),
      static_cast<unsigned long long>(r.trades),
      static_cast<unsigned long long>(r.events), r.wall_seconds, r.cpu_seconds,
      static_cast<double>(r.sim_ns) * 1e-9, r.sim_per_wall, r.spawn_seconds,
      static_cast<unsigned long long>(r.digest));
  return buf;
}

} // namespace marketsim::bench
