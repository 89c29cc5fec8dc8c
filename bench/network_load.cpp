#include "network_load.hpp"

#include "actors/interfaces.hpp"
#include "actors/random.hpp"
#include "actors/runtime.hpp"
#include "actors/runtime_ask.hpp"
#include "network/generators.hpp"
#include "network/network_actor.hpp"
#include "network/port.hpp"
#include "network/topology.hpp"

#include <caf/all.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace marketsim::bench {

namespace {

using wall_clock = std::chrono::steady_clock;

/// Written by the actors, read after the pass (virtual time runs on the
/// calling thread).
struct pass_counters {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
};

struct sender_state {
  static inline const char* name = "marketsim.network_load_sender";
  actors::random_stream rng;
  std::uint32_t site = 0;
  std::uint32_t sites = 0;
  std::uint32_t ticks_left = 0;
  std::uint32_t burst = 0;
  std::chrono::nanoseconds interval{};
  std::uint64_t next_payload = 0;
  actors::network_actor net;             ///< null: send directly
  network::network_port port;            ///< set: send through it rather than net
  bool send_burst = false;               ///< through port.send_burst
  std::vector<actors::net_send> pending; ///< a tick's burst
  const std::vector<caf::actor>* sinks = nullptr;
  pass_counters* counters = nullptr;
};

using sender_ptr = caf::stateful_actor<sender_state>*;

caf::behavior sender(sender_ptr self, std::uint32_t site, std::uint32_t sites,
                     const network_load_params* p, std::uint64_t seed,
                     actors::network_actor net, network::network_port port,
                     const std::vector<caf::actor>* sinks, pass_counters* counters) {
  auto& st = self->state;
  st.rng.reseed(seed);
  st.site = site;
  st.sites = sites;
  st.ticks_left = p->ticks;
  st.burst = p->burst;
  st.interval = p->interval;
  st.net = std::move(net);
  st.port = std::move(port);
  st.send_burst = st.port && p->ingress == network_ingress::burst;
  st.sinks = sinks;
  st.counters = counters;
  auto phase = static_cast<std::int64_t>(static_cast<double>(st.interval.count()) *
                                         st.rng.uniform());
  self->delayed_send(self, std::chrono::nanoseconds{phase}, caf::tick_atom::value);
  return {
      [self](caf::tick_atom) {
        auto& st = self->state;
        for (std::uint32_t k = 0; k < st.burst; ++k) {
          // A uniformly drawn site other than our own.
          auto offset = static_cast<std::uint32_t>(
              st.rng.uniform_int(1, static_cast<std::int64_t>(st.sites) - 1));
          auto to = (st.site + offset) % st.sites;
          const auto& sink = (*st.sinks)[to];
          if (st.send_burst)
            st.pending.push_back(actors::net_send{
                st.site, to, sink, caf::make_message(st.next_payload), {}});
          else if (st.port)
            st.port.send(self,
                         actors::net_send{
                             st.site, to, sink, caf::make_message(st.next_payload), {}});
          else if (st.net)
            self->send(st.net,
                       actors::net_send{
                           st.site, to, sink, caf::make_message(st.next_payload), {}});
          else
            self->send(sink, st.next_payload);
          ++st.next_payload;
        }
        if (st.send_burst)
          st.port.send_burst(self, st.pending);
        st.counters->sent += st.burst;
        if (--st.ticks_left > 0)
          self->delayed_send(self, st.interval, caf::tick_atom::value);
      },
  };
}

caf::behavior sink(caf::event_based_actor*, pass_counters* counters) {
  return {
      [counters](std::uint64_t) { ++counters->received; },
  };
}

double cpu_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

network::topology make_topology(const network_load_params& p) {
  network::link_props props;
  props.latency_ns = p.latency_ns;
  props.bandwidth_bps = p.bandwidth_bps;
  switch (p.shape) {
  case network_shape::ring:
    return network::ring(p.sites, props);
  case network_shape::star:
    return network::star(p.sites, props);
  case network_shape::tree:
    return network::tree(p.sites, p.tree_branching, props);
  }
  throw std::invalid_argument("network load: unknown shape");
}

struct pass_output {
  network_pass_result result;
  actors::net_stats stats; ///< network pass only
};

pass_output run_pass(const network_load_params& p, const network::topology* topo) {
  actors::runtime rt; // virtual time
  auto& sys = rt.system();
  pass_counters counters;
  std::vector<caf::actor> all;
  std::vector<caf::actor> sinks;
  sinks.reserve(p.sites);
  for (std::uint32_t s = 0; s < p.sites; ++s)
    sinks.push_back(sys.spawn(sink, &counters));
  actors::network_actor net;
  network::network_port port;
  if (topo) {
    network::network_params np;
    np.seed = p.seed;
    auto spawned = network::spawn_network_with_port(sys, *topo, np);
    net = spawned.controller;
    if (p.ingress != network_ingress::controller)
      port = spawned.port;
    all.push_back(caf::actor_cast<caf::actor>(net));
  }
  for (std::uint32_t i = 0; i < p.senders; ++i)
    all.push_back(sys.spawn(sender, i % p.sites, p.sites, &p,
                            actors::derive_seed(p.seed, i), net, port, &sinks,
                            &counters));
  port = {};
  rt.drain(); // start-up: first timers set

  auto events_before = rt.events_processed();
  auto sim_before = rt.now();
  auto wall_start = wall_clock::now();
  auto cpu_start = cpu_now();
  rt.run_until(INT64_MAX); // senders stop after their ticks: runs until idle
  auto cpu_end = cpu_now();
  auto wall_end = wall_clock::now();

  pass_output out;
  auto& r = out.result;
  r.sent = counters.sent;
  r.received = counters.received;
  r.events = rt.events_processed() - events_before;
  r.sim_ns = rt.now() - sim_before;
  r.wall_seconds = std::chrono::duration<double>(wall_end - wall_start).count();
  r.cpu_seconds = cpu_end - cpu_start;
  if (topo) {
    auto answers = actors::ask_all<actors::net_stats>(
        rt, std::vector<actors::network_actor>{net}, actors::net_stats_request{});
    if (answers.size() != 1 || !answers.front())
      throw std::runtime_error("network load: the network did not report its statistics");
    out.stats = std::move(*answers.front());
  }
  net = nullptr;
  for (auto& s : sinks)
    all.push_back(s);
  sinks.clear();
  if (!rt.shutdown(all))
    throw std::runtime_error("network load: actors did not shut down");
  return out;
}

} // namespace

std::string to_string(network_shape x) {
  switch (x) {
  case network_shape::ring:
    return "ring";
  case network_shape::star:
    return "star";
  case network_shape::tree:
    return "tree";
  }
  return "?";
}

std::string to_string(network_ingress x) {
  switch (x) {
  case network_ingress::controller:
    return "controller";
  case network_ingress::port:
    return "port";
  case network_ingress::burst:
    return "burst";
  }
  return "?";
}

network_load_result run_network_load(const network_load_params& p) {
  if (p.sites < 2 || p.senders == 0 || p.ticks == 0 || p.burst == 0)
    throw std::invalid_argument(
        "network load: need at least 2 sites and positive senders, ticks and burst");
  if (p.interval <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument("network load: interval must be positive");
  if (p.shape == network_shape::tree && p.tree_branching == 0)
    throw std::invalid_argument("network load: tree branching must be positive");

  auto topo = make_topology(p);
  network_load_result r;
  r.params = p;
  auto net_pass = run_pass(p, &topo);
  auto direct_pass = run_pass(p, nullptr); // same-run baseline, right after
  r.net = net_pass.result;
  r.direct = direct_pass.result;

  for (const auto& l : net_pass.stats.links) {
    r.hops += l.messages;
    r.hop_bytes += l.bytes;
    r.max_queueing_ns = std::max(r.max_queueing_ns, l.max_queueing_ns);
    r.max_link_p99_ns = std::max(r.max_link_p99_ns, l.latency_p99_ns);
  }
  for (const auto& c : net_pass.stats.routes) {
    r.delivered += c.delivered;
    r.dropped += c.dropped;
    r.unroutable += c.unroutable;
    auto route = topo.route(c.from, c.to);
    if (route && route->hops.size() > 1)
      r.route_hops += c.delivered * (route->hops.size() - 1);
  }
  if (r.delivered != r.net.received || r.net.received != r.net.sent ||
      r.direct.received != r.direct.sent || r.direct.sent != r.net.sent ||
      (r.dropped == 0 && r.route_hops != r.hops))
    throw std::runtime_error("network load: counts do not add up (sent " +
                             std::to_string(r.net.sent) + ", network delivered " +
                             std::to_string(r.delivered) + ", sinks received " +
                             std::to_string(r.net.received) + " / direct " +
                             std::to_string(r.direct.received) + ")");

  auto sent = static_cast<double>(r.net.sent);
  if (r.net.wall_seconds > 0)
    r.hops_per_sec = static_cast<double>(r.hops) / r.net.wall_seconds;
  if (r.net.cpu_seconds > 0) {
    r.hops_per_cpu_sec = static_cast<double>(r.hops) / r.net.cpu_seconds;
    r.net_msgs_per_cpu_sec = sent / r.net.cpu_seconds;
  }
  if (r.direct.cpu_seconds > 0) {
    r.direct_msgs_per_cpu_sec = sent / r.direct.cpu_seconds;
    r.cost_ratio = r.net.cpu_seconds / r.direct.cpu_seconds;
  }
  return r;
}

std::string to_string(const network_load_result& r) {
  const auto& p = r.params;
  auto u = [](std::uint64_t x) { return static_cast<unsigned long long>(x); };
  char buf[2048];
  std::snprintf(
      buf, sizeof buf,
      "network load, virtual time: %s of %u sites, %lld ns latency, %lld bit/s per link; "
      "%u senders x %u ticks x %u payloads every %.3f ms; seed %llu; ingress %s\n"
      "  network: %llu messages (%llu delivered, %llu dropped, %llu unroutable), "
      "%llu link hops (%.2f per message; route sum %llu; %.1f bytes per hop), %llu jobs, "
      "%.3f s simulated; worst link: queueing %lld ns, p99 latency %lld ns\n"
      "           %.3f s wall, %.3f s CPU: %.2fM hops/s wall, %.2fM hops per CPU s, "
      "%.2fM messages per CPU s\n"
      "  direct:  %llu messages, %llu jobs, %.3f s simulated, %.3f s wall, %.3f s CPU: "
      "%.2fM messages per CPU s\n"
      "  cost per message, network / direct (CPU): %.2f\n"
      "  target 2,000,000 link hops/s on one core: %s (%.2fM per CPU s)\n",
      to_string(p.shape).c_str(), p.sites, static_cast<long long>(p.latency_ns),
      static_cast<long long>(p.bandwidth_bps), p.senders, p.ticks, p.burst,
      static_cast<double>(p.interval.count()) * 1e-6, u(p.seed),
      to_string(p.ingress).c_str(), u(r.net.sent), u(r.delivered), u(r.dropped),
      u(r.unroutable), u(r.hops),
      r.net.sent ? static_cast<double>(r.hops) / static_cast<double>(r.net.sent) : 0.0,
      u(r.route_hops),
      r.hops ? static_cast<double>(r.hop_bytes) / static_cast<double>(r.hops) : 0.0,
      u(r.net.events), static_cast<double>(r.net.sim_ns) * 1e-9,
      static_cast<long long>(r.max_queueing_ns),
      static_cast<long long>(r.max_link_p99_ns), r.net.wall_seconds, r.net.cpu_seconds,
      r.hops_per_sec / 1e6, r.hops_per_cpu_sec / 1e6, r.net_msgs_per_cpu_sec / 1e6,
      u(r.direct.sent), u(r.direct.events), static_cast<double>(r.direct.sim_ns) * 1e-9,
      r.direct.wall_seconds, r.direct.cpu_seconds, r.direct_msgs_per_cpu_sec / 1e6,
      r.cost_ratio, r.hops_per_cpu_sec >= 2e6 ? "met" : "NOT met",
      r.hops_per_cpu_sec / 1e6);
  return buf;
}

} // namespace marketsim::bench
