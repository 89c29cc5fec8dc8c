/// The network actor on CAF's deterministic scheduler with virtual time:
/// exact per-hop delays, congestion under bursts, the original sender kept,
/// rerouting around a down link, partitions counted as unroutable and healed,
/// loss at about its rate, and the same seed giving the same times.

#include "net_fixture.hpp"

using namespace net_test;

TEST_CASE("a message over two hops arrives after serialization plus propagation per hop",
          "[network_actor]") {
  net_fixture fx{triangle()};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log);

  fx.send(client, a, c, server, 7);
  CHECK(server_log->arrivals.empty()); // not before its time
  fx.run_all();

  const auto bytes = fx.size_of(7);
  REQUIRE(bytes > 0);
  // a->b: bytes ns on the wire + 1,000 ns; b->c: bytes ns + 2,000 ns.
  REQUIRE(server_log->arrivals.size() == 1);
  CHECK(server_log->arrivals[0].time_ns == (bytes + 1'000) + (bytes + 2'000));
  CHECK(server_log->arrivals[0].value == 7);

  auto s = fx.stats();
  CHECK(link_of(s, a, b).messages == 1);
  CHECK(link_of(s, a, b).bytes == static_cast<std::uint64_t>(bytes));
  CHECK(link_of(s, b, c).messages == 1);
  CHECK(link_of(s, b, c).latency_max_ns == bytes + 2'000);
  CHECK(link_of(s, a, c).messages == 0);
  CHECK(route_of(s, a, c).sent == 1);
  CHECK(route_of(s, a, c).delivered == 1);
  CHECK(route_of(s, a, c).dropped == 0);
  CHECK(route_of(s, a, c).unroutable == 0);
  CHECK(s.unserializable == 0);
}

TEST_CASE("a burst queues for the wire", "[network_actor]") {
  net_fixture fx{triangle()};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log);

  constexpr int n = 5;
  for (int i = 0; i < n; ++i)
    fx.send(client, a, b, server, i);
  fx.run_all();

  const auto bytes = fx.size_of(0);
  REQUIRE(server_log->arrivals.size() == n);
  for (int i = 0; i < n; ++i) {
    INFO("message " << i);
    CHECK(server_log->arrivals[i].value == i);
    // i messages ahead on the wire, then its own serialization, then 1 us.
    CHECK(server_log->arrivals[i].time_ns == (i + 1) * bytes + 1'000);
  }
  auto s = fx.stats();
  const auto& ab = link_of(s, a, b);
  CHECK(ab.messages == n);
  CHECK(ab.total_queueing_ns == (0 + 1 + 2 + 3 + 4) * bytes);
  CHECK(ab.max_queueing_ns == (n - 1) * bytes);
  CHECK(ab.latency_min_ns == bytes + 1'000);
  CHECK(ab.latency_max_ns == n * bytes + 1'000);
}

TEST_CASE("the destination sees the original sender and its reply reaches it",
          "[network_actor]") {
  net_fixture fx{triangle()};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log, true);

  fx.send(client, a, c, server, 42);
  fx.run_all();

  REQUIRE(server_log->arrivals.size() == 1);
  CHECK(server_log->arrivals[0].sender == client.address());
  CHECK(server_log->arrivals[0].sender != fx.net.address());
  REQUIRE(client_log->replies.size() == 1);
  CHECK(client_log->replies[0] == "ack 42");
}

TEST_CASE("a link down reroutes, a partition is unroutable, healing restores",
          "[network_actor]") {
  net_fixture fx{triangle()};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log);
  const auto bytes = fx.size_of(1);

  // b-c down: the route is the direct a->c link (10 us).
  fx.control(actors::net_link_state{b, c, false});
  auto t0 = ns_since(fx.sched.clock().now(), fx.start);
  fx.send(client, a, c, server, 1);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == 1);
  CHECK(server_log->arrivals[0].time_ns == t0 + bytes + 10'000);
  auto s = fx.stats();
  CHECK(link_of(s, a, c).messages == 1);
  CHECK(link_of(s, a, b).messages == 0);

  // a-c down too: c is cut off from a.
  fx.control(actors::net_link_state{a, c, false});
  fx.send(client, a, c, server, 2);
  fx.send(client, a, c, server, 3);
  fx.run_all();
  CHECK(server_log->arrivals.size() == 1);
  s = fx.stats();
  CHECK(route_of(s, a, c).unroutable == 2);
  CHECK(route_of(s, a, c).delivered == 1);

  // Heal b-c: the two-hop route again.
  fx.control(actors::net_link_state{b, c, true});
  auto t1 = ns_since(fx.sched.clock().now(), fx.start);
  fx.send(client, a, c, server, 4);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == 2);
  CHECK(server_log->arrivals[1].value == 4);
  CHECK(server_log->arrivals[1].time_ns == t1 + (bytes + 1'000) + (bytes + 2'000));

  // A site down partitions too; up again heals.
  fx.control(actors::net_site_state{b, false});
  fx.send(client, a, c, server, 5);
  fx.run_all();
  CHECK(server_log->arrivals.size() == 2);
  fx.control(actors::net_site_state{b, true});
  fx.send(client, a, c, server, 6);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == 3);
  CHECK(server_log->arrivals[2].value == 6);
  s = fx.stats();
  CHECK(route_of(s, a, c).sent == 6);
  CHECK(route_of(s, a, c).unroutable == 3);
  CHECK(route_of(s, a, c).delivered == 3);
}

TEST_CASE("congestion slows a link and can move the route", "[network_actor]") {
  net_fixture fx{triangle()};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log);
  const auto bytes = fx.size_of(1);

  // a->b at x3: 3 us + 2 us = 5 us, still below the direct 10 us.
  fx.control(actors::net_congestion{a, b, 3.0, 1.0});
  fx.send(client, a, c, server, 1);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == 1);
  CHECK(server_log->arrivals[0].time_ns == (bytes + 3'000) + (bytes + 2'000));

  // a->b at x9: 9 us + 2 us = 11 us, so the direct link wins.
  fx.control(actors::net_congestion{a, b, 9.0, 1.0});
  auto t1 = ns_since(fx.sched.clock().now(), fx.start);
  fx.send(client, a, c, server, 2);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == 2);
  CHECK(server_log->arrivals[1].time_ns == t1 + bytes + 10'000);
}

TEST_CASE("a lossy link drops at about its rate", "[network_actor]") {
  network::network_params params;
  params.seed = 1234;
  net_fixture fx{triangle(0.1), params};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log);

  constexpr int n = 10'000;
  for (int i = 0; i < n; ++i)
    fx.send(client, a, b, server, i);
  fx.run_all();

  auto s = fx.stats();
  const auto& r = route_of(s, a, b);
  CHECK(r.sent == n);
  CHECK(r.delivered + r.dropped == n);
  CHECK(server_log->arrivals.size() == r.delivered);
  CHECK(link_of(s, a, b).drops == r.dropped);
  // 10 % of 10,000: sd 30, so +-150 is five sd.
  CHECK(r.dropped > 850);
  CHECK(r.dropped < 1'150);
  // Ordered delivery: values arrive increasing.
  for (std::size_t i = 1; i < server_log->arrivals.size(); ++i)
    REQUIRE(server_log->arrivals[i - 1].value < server_log->arrivals[i].value);
}

namespace {

/// Inspectable, so it fits in a message, but never registered.
struct unregistered {
  int x = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregistered& x) {
  return f(caf::meta::type_name("unregistered"), x.x);
}

} // namespace

TEST_CASE("a send within a site is immediate, a bad payload or control is refused",
          "[network_actor]") {
  net_fixture fx{triangle()};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log, true);

  fx.send(client, b, b, server, 9);
  REQUIRE(server_log->arrivals.size() == 1);
  CHECK(server_log->arrivals[0].time_ns == 0);
  CHECK(server_log->arrivals[0].sender == client.address());

  // An unregistered payload has no serialized size: counted, not delivered
  // (were it delivered, the server's "unexpected message" error would go
  // back to the client, the original sender, and stop it).
  caf::anon_send(client,
                 actors::net_send{a, c, server, caf::make_message(unregistered{}), {}});
  fx.run_all();
  // Control messages naming no such link or site change nothing, and the
  // network keeps working.
  fx.control(actors::net_congestion{b, b, 2.0, 1.0});
  fx.control(actors::net_link_state{a, 7, false});
  fx.control(actors::net_site_state{7, false});
  fx.send(client, a, c, server, 10);
  fx.run_all();
  REQUIRE(server_log->arrivals.size() == 2);
  CHECK(server_log->arrivals[1].value == 10);
  const auto bytes = fx.size_of(10);
  CHECK(server_log->arrivals[1].time_ns == (bytes + 1'000) + (bytes + 2'000));
  auto s = fx.stats();
  CHECK(s.unserializable == 1);
  CHECK(route_of(s, b, b).delivered == 1);
}

namespace {

/// Arrival times of 500 messages over a jittery, lossy two-hop route.
std::vector<std::int64_t> jittery_run(std::uint64_t seed) {
  network::network_params params;
  params.seed = seed;
  params.make_link = [](const network::directed_link& l) {
    auto p = network::default_link_params(l);
    p.propagation = network::latency::normal{l.props.latency_ns, 200};
    return p;
  };
  net_fixture fx{triangle(0.05), params};
  auto client_log = std::make_shared<actor_log>();
  auto server_log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(client_log);
  auto server = fx.spawn_endpoint(server_log);
  for (int i = 0; i < 500; ++i) {
    fx.send(client, a, c, server, i);
    fx.sched.clock().advance_time(std::chrono::nanoseconds{100});
    fx.sched.run();
  }
  fx.run_all();
  std::vector<std::int64_t> out;
  for (const auto& x : server_log->arrivals) {
    out.push_back(x.time_ns);
    out.push_back(x.value);
  }
  return out;
}

} // namespace

TEST_CASE("the same seed gives the same delivery times", "[network_actor]") {
  auto first = jittery_run(99);
  auto second = jittery_run(99);
  auto other = jittery_run(100);
  CHECK(first.size() > 800);
  CHECK(first == second);
  CHECK(first != other);
}

TEST_CASE("a message that reaches a shared link first crosses it first",
          "[network_actor]") {
  // Message 1 goes a -> b -> c; message 2, sent at the same instant from b,
  // reaches the link b -> c long before message 1 does. A real queue serves
  // message 2 first and message 1 finds the link idle: neither waits. (A
  // network that booked message 1's downstream links when it entered would
  // make message 2 queue behind a message still upstream.)
  net_fixture fx{triangle()};
  auto log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(log);
  auto server = fx.spawn_endpoint(log);

  fx.send(client, a, c, server, 1);
  fx.send(client, b, c, server, 2);
  fx.run_all();

  const auto bytes = fx.size_of(1);
  REQUIRE(log->arrivals.size() == 2);
  CHECK(log->arrivals[0].value == 2);
  CHECK(log->arrivals[0].time_ns == bytes + 2'000);
  CHECK(log->arrivals[1].value == 1);
  CHECK(log->arrivals[1].time_ns == (bytes + 1'000) + (bytes + 2'000));
  const auto s = fx.stats();
  CHECK(link_of(s, b, c).messages == 2);
  CHECK(link_of(s, b, c).total_queueing_ns == 0);
}
