/// The network as one actor per directed link (network/link_actor.hpp) plus
/// a controller, on CAF's deterministic scheduler: the sender the
/// destination sees, exact serialization under a bandwidth factor, a message
/// in flight rerouted or stopped by a partition, the network port giving the
/// same run as the controller, the same seed giving the same times, and the
/// statistics equal to the pure link models fed the same traffic.

#include "net_fixture.hpp"

#include "actors/random.hpp"
#include "network/link_model.hpp"

#include <algorithm>
#include <cmath>

using namespace net_test;

TEST_CASE("the destination sees reply_to as the sender when it is set", "[link_actor]") {
  for (bool via_port : {false, true}) {
    INFO("through the " << (via_port ? "port" : "controller"));
    net_fixture fx{triangle()};
    auto client_log = std::make_shared<actor_log>();
    auto proxy_log = std::make_shared<actor_log>();
    auto server_log = std::make_shared<actor_log>();
    auto client = fx.spawn_endpoint(client_log, false, via_port);
    auto proxy = fx.spawn_endpoint(proxy_log);
    auto server = fx.spawn_endpoint(server_log, true);

    // Without reply_to the server sees the client; with it, the proxy.
    caf::anon_send(client, actors::net_send{a, c, server, caf::make_message(1), {}});
    caf::anon_send(client, actors::net_send{a, c, server, caf::make_message(2), proxy});
    fx.run_all();

    REQUIRE(server_log->arrivals.size() == 2);
    CHECK(server_log->arrivals[0].value == 1);
    CHECK(server_log->arrivals[0].sender == client.address());
    CHECK(server_log->arrivals[1].value == 2);
    CHECK(server_log->arrivals[1].sender == proxy.address());
    // Each answer went to the sender the server saw.
    REQUIRE(client_log->replies.size() == 1);
    CHECK(client_log->replies[0] == "ack 1");
    REQUIRE(proxy_log->replies.size() == 1);
    CHECK(proxy_log->replies[0] == "ack 2");
  }
}

TEST_CASE("a bandwidth factor slows serialization exactly, per direction",
          "[link_actor]") {
  net_fixture fx{triangle()};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log);
  const auto bytes = fx.size_of(0);
  REQUIRE(bytes > 0);

  // a->b keeps 30% of 8 Gbit/s: 2.4 Gbit/s, ceil(bytes * 8e9 / 2.4e9) ns per
  // message, i.e. ceil(10 bytes / 3); b->a keeps its full 1 ns per byte.
  fx.control(actors::net_congestion{a, b, 1.0, 0.3});
  const auto slow = (bytes * 10 + 2) / 3;
  constexpr int n = 4;
  for (int i = 0; i < n; ++i)
    fx.send(client, a, b, server, i);
  fx.send(client, b, a, server, 100);
  fx.run_all();

  REQUIRE(server_log->arrivals.size() == n + 1);
  CHECK(server_log->arrivals[0].value == 100); // the other direction: no queue
  CHECK(server_log->arrivals[0].time_ns == bytes + 1'000);
  for (int i = 0; i < n; ++i) {
    INFO("message " << i);
    const auto& x = server_log->arrivals[static_cast<std::size_t>(i) + 1];
    CHECK(x.value == i);
    // The burst queues: i messages ahead, each `slow` ns on the wire.
    CHECK(x.time_ns == (i + 1) * slow + 1'000);
  }
  auto s = fx.stats();
  CHECK(link_of(s, a, b).total_queueing_ns == (0 + 1 + 2 + 3) * slow);
  CHECK(link_of(s, a, b).max_queueing_ns == (n - 1) * slow);
  CHECK(link_of(s, b, a).total_queueing_ns == 0);

  // Both knobs at once, then back to normal; a later message pays the new
  // price only.
  fx.control(actors::net_congestion{a, b, 2.0, 0.5});
  auto t1 = fx.now_ns();
  fx.send(client, a, b, server, 7);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == n + 2);
  CHECK(server_log->arrivals.back().time_ns == t1 + 2 * bytes + 2'000);
  fx.control(actors::net_congestion{a, b, 1.0, 1.0});
  auto t2 = fx.now_ns();
  fx.send(client, a, b, server, 8);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == n + 3);
  CHECK(server_log->arrivals.back().time_ns == t2 + bytes + 1'000);

  // An invalid factor changes nothing.
  fx.control(actors::net_congestion{a, b, 1.0, 0.0});
  auto t3 = fx.now_ns();
  fx.send(client, a, b, server, 9);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == n + 4);
  CHECK(server_log->arrivals.back().time_ns == t3 + bytes + 1'000);
}

TEST_CASE("a message in flight follows a reroute when a link goes down", "[link_actor]") {
  for (bool via_port : {false, true}) {
    INFO("through the " << (via_port ? "port" : "controller"));
    net_fixture fx{triangle()};
    auto client_log = std::make_shared<actor_log>();
    auto server_log = std::make_shared<actor_log>();
    auto client = fx.spawn_endpoint(client_log, false, via_port);
    auto server = fx.spawn_endpoint(server_log);
    const auto bytes = fx.size_of(1);

    // On a->b (arrives at b at bytes + 1 us) when b-c goes down: from b the
    // route to c is now b->a->c.
    fx.send(client, a, c, server, 1);
    fx.run_until(bytes / 2);
    fx.control(actors::net_link_state{b, c, false});
    fx.run_all();

    REQUIRE(server_log->arrivals.size() == 1);
    CHECK(server_log->arrivals[0].time_ns ==
          (bytes + 1'000) + (bytes + 1'000) + (bytes + 10'000));
    auto s = fx.stats();
    CHECK(link_of(s, a, b).messages == 1);
    CHECK(link_of(s, b, c).messages == 0);
    CHECK(link_of(s, b, a).messages == 1);
    CHECK(link_of(s, a, c).messages == 1);
    CHECK(route_of(s, a, c).sent == 1);
    CHECK(route_of(s, a, c).delivered == 1);
    CHECK(route_of(s, a, c).unroutable == 0);
  }
}

TEST_CASE("a partition stops a message in flight and healing restores delivery",
          "[link_actor]") {
  net_fixture fx{triangle()};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log);
  const auto bytes = fx.size_of(1);

  // Cut c off while the message is on a->b: b has no route on.
  fx.send(client, a, c, server, 1);
  fx.run_until(bytes / 2);
  fx.control(actors::net_link_state{b, c, false});
  fx.control(actors::net_link_state{a, c, false});
  fx.run_all();
  CHECK(server_log->arrivals.empty());
  auto s = fx.stats();
  CHECK(link_of(s, a, b).messages == 1);
  CHECK(link_of(s, b, c).messages == 0);
  CHECK(route_of(s, a, c).unroutable == 1);
  CHECK(route_of(s, a, c).delivered == 0);

  // Healed: delivered again on the two-hop route.
  fx.control(actors::net_link_state{b, c, true});
  auto t1 = fx.now_ns();
  fx.send(client, a, c, server, 2);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == 1);
  CHECK(server_log->arrivals[0].value == 2);
  CHECK(server_log->arrivals[0].time_ns == t1 + (bytes + 1'000) + (bytes + 2'000));

  // The destination site down while a message is on its way: unroutable at
  // b; up again, delivered.
  fx.send(client, a, c, server, 3);
  fx.run_until(fx.now_ns() + bytes / 2);
  fx.control(actors::net_site_state{c, false});
  fx.run_all();
  CHECK(server_log->arrivals.size() == 1);
  fx.control(actors::net_site_state{c, true});
  fx.send(client, a, c, server, 4);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == 2);
  CHECK(server_log->arrivals[1].value == 4);
  s = fx.stats();
  CHECK(route_of(s, a, c).sent == 4);
  CHECK(route_of(s, a, c).delivered == 2);
  CHECK(route_of(s, a, c).unroutable == 2);
}

namespace {

/// A ring of `n` sites, 1 us apart, at 8 Gbit/s with a jittery, lossy
/// propagation: each site's endpoint sends to a site farther along, values
/// interleaved in time. Returns (value, time) of every arrival in order, and
/// the statistics.
struct ring_run {
  std::vector<std::int64_t> arrivals;
  actors::net_stats stats;
};

ring_run jittery_ring(std::uint64_t seed, bool via_port) {
  constexpr site_id n = 6;
  network::topology t;
  const char* names[n] = {"s0", "s1", "s2", "s3", "s4", "s5"};
  for (site_id i = 0; i < n; ++i)
    t.add_site({names[i], network::site_kind::host, 0, 0});
  network::link_props p;
  p.latency_ns = 1'000;
  p.bandwidth_bps = gbps8;
  p.loss_rate = 0.05;
  for (site_id i = 0; i < n; ++i)
    t.connect(i, (i + 1) % n, p);
  network::network_params params;
  params.seed = seed;
  params.make_link = [](const network::directed_link& l) {
    auto lp = network::default_link_params(l);
    lp.propagation = network::latency::normal{l.props.latency_ns, 150};
    return lp;
  };
  net_fixture fx{t, params};
  auto log = std::make_shared<actor_log>();
  std::vector<caf::actor> clients;
  for (site_id i = 0; i < n; ++i)
    clients.push_back(fx.spawn_endpoint(log, false, via_port));
  auto server = fx.spawn_endpoint(log);
  actors::random_stream rng{seed + 1'000}; // the traffic, independent of the network's
  for (int k = 0; k < 600; ++k) {
    auto from = static_cast<site_id>(k % n);
    auto to = static_cast<site_id>((from + 1 + rng.uniform_int(0, n - 2)) % n);
    caf::anon_send(clients[from],
                   actors::net_send{from, to, server, caf::make_message(k), {}});
    fx.sched.run();
    if (k % 3 == 2) // bursts of three, 50 ns apart
      fx.advance_to(fx.now_ns() + 50);
  }
  fx.run_all();
  ring_run out;
  for (const auto& x : log->arrivals) {
    out.arrivals.push_back(x.value);
    out.arrivals.push_back(x.time_ns);
  }
  out.stats = fx.stats();
  return out;
}

} // namespace

TEST_CASE("the same seed gives the same run over many link actors, through either "
          "entry",
          "[link_actor]") {
  auto first = jittery_ring(7, false);
  auto second = jittery_ring(7, false);
  auto by_port = jittery_ring(7, true);
  auto other = jittery_ring(8, false);
  CHECK(first.arrivals.size() > 2 * 500);
  CHECK(first.arrivals == second.arrivals);
  CHECK(first.stats == second.stats);
  // The port only saves the controller's job: same links, same times.
  CHECK(first.arrivals == by_port.arrivals);
  CHECK(first.stats == by_port.stats);
  CHECK(first.arrivals != other.arrivals);
  // Every message sent is accounted for, once.
  std::uint64_t sent = 0, ended = 0;
  for (const auto& r : first.stats.routes) {
    sent += r.sent;
    ended += r.delivered + r.dropped + r.unroutable;
  }
  CHECK(sent == 600);
  CHECK(ended == 600);
}

TEST_CASE("the statistics equal the pure link models fed the same traffic",
          "[link_actor]") {
  // Messages a -> c over a -> b -> c, sent 300 ns apart (bursts queue at
  // 1 ns per byte only when jitter bunches them), with jitter and loss on
  // both links. The one-actor network transmitted each link's messages in
  // the order they reached it; so must the link actors. Reference: the two
  // link models driven by hand in that order.
  constexpr std::uint64_t seed = 4242;
  constexpr int n = 400;
  auto make = [](const network::directed_link& l) {
    auto lp = network::default_link_params(l);
    lp.propagation = network::latency::normal{l.props.latency_ns, 300};
    return lp;
  };
  network::network_params params;
  params.seed = seed;
  params.make_link = make;
  net_fixture fx{triangle(0.1), params};
  auto log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(log);
  auto server = fx.spawn_endpoint(log);
  const auto bytes = static_cast<std::size_t>(fx.size_of(0));
  for (int i = 0; i < n; ++i) {
    fx.send(client, a, c, server, i);
    fx.advance_to(std::int64_t{300} * (i + 1));
  }
  fx.run_all();
  auto s = fx.stats();

  auto topo = triangle(0.1);
  auto model_of = [&](site_id x, site_id y) {
    network::directed_link l{x, y, *topo.find_link(x, y)};
    return network::link_model{make(l),
                               actors::derive_seed(seed, network::link_stream(x, y))};
  };
  auto ab = model_of(a, b);
  auto bc = model_of(b, c);
  std::vector<std::int64_t> at_b;
  std::uint64_t dropped = 0;
  for (int i = 0; i < n; ++i) {
    auto d = ab.transmit(std::int64_t{300} * i, bytes);
    if (d.lost)
      ++dropped;
    else
      at_b.push_back(d.deliver_at_ns);
  }
  // Ordered link: arrivals at b are in sending order, so b->c sees them so.
  REQUIRE(std::is_sorted(at_b.begin(), at_b.end()));
  std::vector<std::int64_t> at_c;
  for (auto t : at_b) {
    auto d = bc.transmit(t, bytes);
    if (d.lost)
      ++dropped;
    else
      at_c.push_back(d.deliver_at_ns);
  }

  auto expect_link = [&](const actors::net_link_stats& got,
                         const network::link_model& m) {
    auto e = m.stats();
    CHECK(got.messages == e.messages);
    CHECK(got.bytes == e.bytes);
    CHECK(got.drops == e.drops);
    CHECK(got.total_queueing_ns == e.total_queueing_ns);
    CHECK(got.max_queueing_ns == e.max_queueing_ns);
    CHECK(got.latency_min_ns == e.latency_min_ns);
    CHECK(got.latency_p50_ns == e.latency_p50_ns);
    CHECK(got.latency_p90_ns == e.latency_p90_ns);
    CHECK(got.latency_p99_ns == e.latency_p99_ns);
    CHECK(got.latency_max_ns == e.latency_max_ns);
  };
  expect_link(link_of(s, a, b), ab);
  expect_link(link_of(s, b, c), bc);
  CHECK(link_of(s, a, c).messages == 0);
  CHECK(ab.stats().drops > 0); // the comparison covers loss
  const auto& r = route_of(s, a, c);
  CHECK(r.sent == n);
  CHECK(r.dropped == dropped);
  CHECK(r.delivered == at_c.size());
  REQUIRE(log->arrivals.size() == at_c.size());
  for (std::size_t i = 0; i < at_c.size(); ++i)
    REQUIRE(log->arrivals[i].time_ns == at_c[i]);
  CHECK(s.routes.size() == 1);
  CHECK(s.links.size() == 6);
}

TEST_CASE("a burst through the port reaches each first link in one piece, on time",
          "[link_actor]") {
  // From a: three messages that start on a->b (two for b, one for c), one
  // within a (delivered at once), one to nobody (the controller counts it);
  // and one from b. Through send_burst and through separate sends alike.
  auto run = [](bool burst) {
    net_fixture fx{triangle()};
    auto client_log = std::make_shared<actor_log>();
    auto server_log = std::make_shared<actor_log>();
    auto client = fx.spawn_endpoint(client_log, false, true);
    auto server = fx.spawn_endpoint(server_log);
    std::vector<actors::net_send> msgs;
    msgs.push_back({a, b, server, caf::make_message(1), {}});
    msgs.push_back({a, c, server, caf::make_message(2), {}});
    msgs.push_back({a, a, server, caf::make_message(3), {}});
    msgs.push_back({a, b, server, caf::make_message(4), {}});
    msgs.push_back({a, b, caf::actor{}, caf::make_message(5), {}});
    msgs.push_back({b, c, server, caf::make_message(6), {}});
    if (burst) {
      caf::anon_send(client, std::move(msgs));
    } else {
      for (auto& m : msgs)
        caf::anon_send(client, std::move(m));
    }
    fx.run_all();
    std::vector<std::int64_t> out;
    for (const auto& x : server_log->arrivals) {
      out.push_back(x.value);
      out.push_back(x.time_ns);
      CHECK(x.sender == client.address());
    }
    auto s = fx.stats();
    CHECK(link_of(s, a, b).messages == 3);
    CHECK(link_of(s, b, c).messages == 2);
    CHECK(route_of(s, a, b).sent == 3);
    CHECK(route_of(s, a, b).delivered == 2);
    CHECK(route_of(s, a, b).unroutable == 1); // no destination actor
    CHECK(route_of(s, a, c).delivered == 1);
    CHECK(route_of(s, a, a).delivered == 1);
    CHECK(route_of(s, b, c).delivered == 1);
    return out;
  };
  auto separate = run(false);
  auto together = run(true);
  CHECK(together == separate);
  REQUIRE(separate.size() == 10);
  // a->b queues three messages back to back: 1, 2 (on to c), then 4; b->c
  // carries 6 at once and 2 when it reaches b (the wire idle again by then).
  net_fixture fx{triangle()};
  const auto bytes = fx.size_of(1);
  const std::vector<std::int64_t> expected{
      3, 0,                                      // within a site: at once
      1, bytes + 1'000,                          // a->b, first on the wire
      4, 3 * bytes + 1'000,                      // a->b, third on the wire
      6, bytes + 2'000,                          // b->c from b
      2, (2 * bytes + 1'000) + (bytes + 2'000)}; // a->b second, then b->c
  CHECK(separate == expected);
}
