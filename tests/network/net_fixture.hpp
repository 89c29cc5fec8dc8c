#pragma once

/// The fixture of the network actor tests: a network on CAF's deterministic
/// scheduler (virtual time: the test clock moves only when a timer fires),
/// endpoint actors that log what reaches them, and the triangle topology.

#include "actors/interfaces.hpp"
#include "actors/messages.hpp"
#include "actors/vocabulary.hpp"
#include "network/network_actor.hpp"
#include "network/port.hpp"
#include "network/topology.hpp"

#include <caf/all.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace net_test {

using namespace marketsim;
using network::site_id;

struct arrival {
  std::int64_t time_ns = 0;
  int value = 0;
  caf::actor_addr sender;
};

struct actor_log {
  std::vector<arrival> arrivals;
  std::vector<std::string> replies;
};

inline std::int64_t ns_since(caf::actor_clock::time_point t,
                             caf::actor_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - start).count();
}

/// Logs int payloads with their arrival time and sender, and (with `reply`)
/// answers each sender with "ack <value>". Logs string replies. Forwards a
/// net_send (or a burst of them) it is given to the network, as its own: to
/// the controller, or through `port` (send_burst for a burst) when it is set.
inline caf::behavior endpoint(caf::event_based_actor* self,
                              std::shared_ptr<actor_log> log,
                              caf::actor_clock::time_point start,
                              actors::network_actor net, bool reply,
                              network::network_port port = {}) {
  return {
      [=](int v) {
        auto sender = self->current_sender();
        log->arrivals.push_back({ns_since(self->clock().now(), start), v,
                                 caf::actor_cast<caf::actor_addr>(sender)});
        if (reply)
          self->send(caf::actor_cast<caf::actor>(sender), "ack " + std::to_string(v));
      },
      [=](const std::string& s) { log->replies.push_back(s); },
      [=](actors::net_send& m) mutable {
        if (port)
          port.send(self, std::move(m));
        else
          self->send(net, std::move(m));
      },
      [=](std::vector<actors::net_send>& burst) mutable {
        if (port) {
          port.send_burst(self, burst);
          return;
        }
        for (auto& m : burst)
          self->send(net, std::move(m));
      },
  };
}

struct test_config : caf::actor_system_config {
  test_config() {
    actors::add_message_types(*this);
    set("scheduler.policy", caf::atom("testing"));
  }
};

// Sites of the test topology: a -(1 us)- b -(2 us)- c, and a -(10 us)- c.
constexpr site_id a = 0;
constexpr site_id b = 1;
constexpr site_id c = 2;

/// 8 Gbit/s: serialization takes exactly one ns per byte.
constexpr std::int64_t gbps8 = 8'000'000'000;

inline network::topology triangle(double ab_loss = 0) {
  network::topology t;
  t.add_site({"a", network::site_kind::host, 0, 0});
  t.add_site({"b", network::site_kind::host, 0, 0});
  t.add_site({"c", network::site_kind::exchange, 0, 0});
  network::link_props ab;
  ab.latency_ns = 1'000;
  ab.bandwidth_bps = gbps8;
  ab.loss_rate = ab_loss;
  t.connect(a, b, ab);
  network::link_props bc;
  bc.latency_ns = 2'000;
  bc.bandwidth_bps = gbps8;
  t.connect(b, c, bc);
  network::link_props ac;
  ac.latency_ns = 10'000;
  ac.bandwidth_bps = gbps8;
  t.connect(a, c, ac);
  return t;
}

struct net_fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::actor_clock::time_point start = sched.clock().now();
  std::optional<caf::scoped_actor> self{std::in_place, sys};
  actors::network_actor net;
  network::network_port port;
  std::vector<caf::actor> to_quit;

  explicit net_fixture(network::topology topo, network::network_params params = {}) {
    auto spawned =
        network::spawn_network_with_port(sys, std::move(topo), std::move(params));
    net = spawned.controller;
    port = spawned.port;
    to_quit.push_back(caf::actor_cast<caf::actor>(net));
    sched.run();
  }

  ~net_fixture() {
    port = {};
    for (auto& x : to_quit)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    sched.run();
    self.reset();
  }

  /// An endpoint; with `via_port`, it sends through the network port.
  caf::actor spawn_endpoint(std::shared_ptr<actor_log> log, bool reply = false,
                            bool via_port = false) {
    auto x = sys.spawn(endpoint, log, start, net, reply,
                       via_port ? port : network::network_port{});
    to_quit.push_back(x);
    sched.run();
    return x;
  }

  /// Runs every ready job, then fires the next timer, until nothing is left.
  void run_all() {
    sched.run();
    while (sched.clock().trigger_timeout())
      sched.run();
  }

  /// The virtual time now, ns since the fixture started.
  std::int64_t now_ns() { return ns_since(sched.clock().now(), start); }

  /// Fires timers until the next one would be due after `t_ns` (a message
  /// under test is then in flight), running every ready job on the way.
  void run_until(std::int64_t t_ns) {
    sched.run();
    while (sched.clock().has_pending_timeout() &&
           ns_since(sched.clock().schedule().begin()->first, start) <= t_ns) {
      sched.clock().trigger_timeout();
      sched.run();
    }
  }

  /// Moves virtual time to `t_ns`, firing every timer due until then at its
  /// own time (the test clock's advance_time would fire them all at `t_ns`,
  /// so that their receivers would act late).
  void advance_to(std::int64_t t_ns) {
    run_until(t_ns);
    auto now = now_ns();
    if (now < t_ns)
      sched.clock().advance_time(std::chrono::nanoseconds{t_ns - now});
    sched.run();
  }

  /// `from` (an endpoint) sends `v` from site s to `dest` at site d.
  void send(const caf::actor& from, site_id s, site_id d, const caf::actor& dest, int v) {
    caf::anon_send(from, actors::net_send{s, d, dest, caf::make_message(v), {}});
    sched.run();
  }

  template <class Msg>
  void control(Msg m) {
    caf::anon_send(net, std::move(m));
    sched.run();
  }

  actors::net_stats stats() {
    auto handle = (*self)->request(net, caf::infinite, actors::net_stats_request{});
    sched.run();
    std::optional<actors::net_stats> out;
    handle.receive([&](actors::net_stats& s) { out = std::move(s); },
                   [&](caf::error& e) { FAIL("stats failed: " << sys.render(e)); });
    REQUIRE(out.has_value());
    return *out;
  }

  /// The serialized size of a payload, as the network measures it.
  std::int64_t size_of(int v) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto msg = caf::make_message(v);
    REQUIRE(!sink(msg));
    return static_cast<std::int64_t>(buf.size());
  }
};

inline const actors::net_link_stats& link_of(const actors::net_stats& s, site_id from,
                                             site_id to) {
  for (const auto& l : s.links)
    if (l.from == from && l.to == to)
      return l;
  FAIL("no link " << from << "->" << to);
  return s.links.front();
}

inline const actors::net_route_count& route_of(const actors::net_stats& s, site_id from,
                                               site_id to) {
  for (const auto& r : s.routes)
    if (r.from == from && r.to == to)
      return r;
  FAIL("no route count " << from << "->" << to);
  return s.routes.front();
}

} // namespace net_test
