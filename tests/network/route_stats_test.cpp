/// Statistics per route ((from, to) pair) on CAF's deterministic scheduler:
/// bytes, queueing summed over the hops, and end-to-end latency of the
/// delivered messages, exact on a handcrafted route, merged exactly when a
/// route's messages end at several link actors, and percentiles within the
/// histogram's precision under jitter.

#include "net_fixture.hpp"
#include "sample_percentile.hpp"

#include "network/latency.hpp"
#include "network/latency_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

using namespace net_test;

namespace {

/// `r`'s latency fields are those of a histogram fed exactly `latencies`:
/// the same buckets, min, max and percentiles.
void check_latencies(const actors::net_route_count& r,
                     const std::vector<std::int64_t>& latencies) {
  network::latency_histogram h;
  for (auto l : latencies)
    h.record(l);
  CHECK(r.delivered == latencies.size());
  CHECK(r.latency_min_ns == h.min());
  CHECK(r.latency_max_ns == h.max());
  CHECK(r.latency_p50_ns == h.percentile(0.50));
  CHECK(r.latency_p90_ns == h.percentile(0.90));
  CHECK(r.latency_p99_ns == h.percentile(0.99));
  std::vector<actors::net_latency_bucket> buckets;
  for (const auto& b : h.nonzero_buckets())
    buckets.push_back({b.index, b.count});
  CHECK(r.latency_buckets == buckets);
}

std::int64_t sum(const std::vector<std::int64_t>& xs) {
  return std::accumulate(xs.begin(), xs.end(), std::int64_t{0});
}

} // namespace

TEST_CASE("a two-hop route reports exact latency, bytes and queueing of a burst",
          "[route_stats]") {
  for (bool via_port : {false, true}) {
    INFO("through the " << (via_port ? "port" : "controller"));
    net_fixture fx{triangle()};
    auto log = std::make_shared<actor_log>();
    auto client = fx.spawn_endpoint(log, false, via_port);
    auto server = fx.spawn_endpoint(log);
    const auto bytes = fx.size_of(0);

    // a -> c goes a -> b (1 us, 1 ns per byte) -> c (2 us, at half its
    // bandwidth: 2 ns per byte), so a burst queues on both links. Message i
    // waits i * bytes on a->b; it reaches b `bytes` after message i - 1,
    // which holds b->c 2 * bytes: another i * bytes there.
    fx.control(actors::net_congestion{b, c, 1.0, 0.5});
    fx.advance_to(5'000); // latency counts from entering, not from 0
    const auto t0 = fx.now_ns();
    constexpr int n = 8;
    std::vector<actors::net_send> burst;
    for (int i = 0; i < n; ++i)
      burst.push_back({a, c, server, caf::make_message(i), {}});
    burst.push_back({a, a, server, caf::make_message(100), {}}); // within a site
    caf::anon_send(client, std::move(burst));
    fx.run_all();

    REQUIRE(log->arrivals.size() == n + 1);
    CHECK(log->arrivals[0].value == 100);
    std::vector<std::int64_t> latencies;
    for (int i = 0; i < n; ++i) {
      INFO("message " << i);
      const auto& x = log->arrivals[static_cast<std::size_t>(i) + 1];
      REQUIRE(x.value == i);
      const auto propagation = 1'000 + 2'000;
      const auto serialization = bytes + 2 * bytes;
      const auto queueing = i * bytes + i * bytes;
      CHECK(x.time_ns - t0 == propagation + serialization + queueing);
      latencies.push_back(x.time_ns - t0);
    }

    auto s = fx.stats();
    const auto& r = route_of(s, a, c);
    CHECK(r.sent == n);
    CHECK(r.dropped == 0);
    CHECK(r.bytes == static_cast<std::uint64_t>(n * bytes));
    CHECK(r.total_queueing_ns == 2 * bytes * (n * (n - 1) / 2));
    CHECK(r.max_queueing_ns == 2 * bytes * (n - 1));
    // The route's queueing is its links' (it is their only traffic).
    CHECK(r.total_queueing_ns ==
          link_of(s, a, b).total_queueing_ns + link_of(s, b, c).total_queueing_ns);
    CHECK(r.latency_min_ns == 3'000 + 3 * bytes);
    CHECK(r.latency_max_ns == 3'000 + 3 * bytes + 2 * bytes * (n - 1));
    check_latencies(r, latencies);

    // Within a site: delivered at once, its bytes counted, no wait.
    const auto& here = route_of(s, a, a);
    CHECK(here.delivered == 1);
    CHECK(here.bytes == static_cast<std::uint64_t>(bytes));
    CHECK(here.latency_max_ns == 0);
    CHECK(here.total_queueing_ns == 0);
  }
}

TEST_CASE("a route's statistics merge over the link actors its messages end at",
          "[route_stats]") {
  // Two routes end at c, a -> c and b -> c. Before b-c goes down both end on
  // b->c (a -> b -> c, and b -> c); after, both end on a->c (a -> c, and
  // b -> a -> c). Each route's numbers come from two link actors; they must
  // be those of all its messages together.
  net_fixture fx{triangle()};
  auto log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(log);
  auto server = fx.spawn_endpoint(log);
  const auto bytes = fx.size_of(0);
  constexpr int k = 6;

  struct phase_route {
    site_id from;
    int first_value;
    std::int64_t unqueued; ///< propagation plus serialization on its path
  };
  std::map<int, std::int64_t> sent_at;     // by value
  std::map<int, std::int64_t> unqueued_of; // by value
  auto send_phase = [&](const std::vector<phase_route>& routes) {
    std::vector<actors::net_send> burst;
    for (int i = 0; i < k; ++i) // interleaved, one instant
      for (const auto& pr : routes) {
        const int v = pr.first_value + i;
        burst.push_back({pr.from, c, server, caf::make_message(v), {}});
        sent_at[v] = fx.now_ns();
        unqueued_of[v] = pr.unqueued;
      }
    caf::anon_send(client, std::move(burst));
    fx.run_all();
  };
  send_phase({{a, 100, (bytes + 1'000) + (bytes + 2'000)}, {b, 200, bytes + 2'000}});
  fx.control(actors::net_link_state{b, c, false});
  fx.advance_to(fx.now_ns() + 50'000);
  send_phase({{a, 300, bytes + 10'000}, {b, 400, (bytes + 1'000) + (bytes + 10'000)}});

  REQUIRE(log->arrivals.size() == 4 * k);
  std::map<site_id, std::vector<std::int64_t>> latency, queueing;
  for (const auto& x : log->arrivals) {
    const site_id from = (x.value / 100) % 2 == 1 ? a : b;
    const auto l = x.time_ns - sent_at.at(x.value);
    latency[from].push_back(l);
    queueing[from].push_back(l - unqueued_of.at(x.value));
  }
  auto s = fx.stats();
  // Both last links carried both routes' messages.
  CHECK(link_of(s, b, c).messages == 2 * k);
  CHECK(link_of(s, a, c).messages == 2 * k);
  for (site_id from : {a, b}) {
    INFO("route " << from << " -> c");
    const auto& r = route_of(s, from, c);
    CHECK(r.sent == 2 * k);
    CHECK(r.bytes == static_cast<std::uint64_t>(2 * k * bytes));
    check_latencies(r, latency[from]);
    CHECK(r.total_queueing_ns == sum(queueing[from]));
    CHECK(r.max_queueing_ns ==
          *std::max_element(queueing[from].begin(), queueing[from].end()));
    CHECK(r.max_queueing_ns > 0);
  }
}

TEST_CASE("route latency percentiles under jitter match the sample within 1/32",
          "[route_stats]") {
  // a -> c over a -> b -> c with jittery propagation and loss; 2,000
  // messages 700 ns apart. The exact latencies are the arrival times minus
  // the sending times.
  network::network_params params;
  params.seed = 99;
  params.make_link = [](const network::directed_link& l) {
    auto lp = network::default_link_params(l);
    lp.propagation = network::latency::normal{l.props.latency_ns, 400};
    return lp;
  };
  net_fixture fx{triangle(0.05), params};
  auto log = std::make_shared<actor_log>();
  auto client = fx.spawn_endpoint(log, false, true);
  auto server = fx.spawn_endpoint(log);
  constexpr int n = 2'000;
  std::vector<std::int64_t> sent_at;
  for (int i = 0; i < n; ++i) {
    sent_at.push_back(fx.now_ns());
    fx.send(client, a, c, server, i);
    fx.advance_to(std::int64_t{700} * (i + 1));
  }
  fx.run_all();

  std::vector<std::int64_t> latencies;
  for (const auto& x : log->arrivals)
    latencies.push_back(x.time_ns - sent_at.at(static_cast<std::size_t>(x.value)));
  auto s = fx.stats();
  const auto& r = route_of(s, a, c);
  REQUIRE(latencies.size() > n * 8 / 10);
  CHECK(r.delivered == latencies.size());
  CHECK(r.dropped == n - latencies.size());
  CHECK(r.bytes == latencies.size() * static_cast<std::uint64_t>(fx.size_of(0)));
  std::sort(latencies.begin(), latencies.end());
  CHECK(r.latency_min_ns == latencies.front());
  CHECK(r.latency_max_ns == latencies.back());
  auto exact = [&](double q) { return sample_percentile(latencies, q); };
  CHECK(std::abs(r.latency_p50_ns - exact(0.50)) <= exact(0.50) / 32);
  CHECK(std::abs(r.latency_p90_ns - exact(0.90)) <= exact(0.90) / 32);
  CHECK(std::abs(r.latency_p99_ns - exact(0.99)) <= exact(0.99) / 32);
  // Jitter spreads them over many buckets: the percentiles differ.
  CHECK(r.latency_p50_ns < r.latency_p90_ns);
  CHECK(r.latency_p90_ns < r.latency_p99_ns);
}
