/// Specification of one directed link (src/network/link_model.hpp): exact
/// queueing and serialization arithmetic on handcrafted bursts, ordered
/// delivery, loss, congestion knobs and statistics. Statistical checks use
/// five standard errors computed from the model, as in the latency tests.

#include "network/link_model.hpp"
#include "sample_percentile.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace {

using namespace marketsim::network;

constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t mbit = 1'000'000;

link_params constant_link(std::int64_t bps, std::int64_t propagation_ns,
                          double loss = 0) {
  return {bps, latency::constant{propagation_ns}, loss, true};
}

} // namespace

// -- queueing and serialization ---------------------------------------------------------

TEST_CASE("A burst queues: each message waits for the one before it", "[link_model]") {
  // 1 Mbit/s: 1,250 bytes = 10,000 bits take 10 ms; propagation 5 ms.
  link_model link{constant_link(1 * mbit, 5 * ms), 1};
  auto a = link.transmit(0, 1'250);
  auto b = link.transmit(0, 1'250);
  auto c = link.transmit(0, 1'250);
  CHECK(a.serialization_ns == 10 * ms);
  CHECK(b.serialization_ns == 10 * ms);
  CHECK(c.serialization_ns == 10 * ms);
  CHECK(a.queueing_ns == 0);
  CHECK(b.queueing_ns == 10 * ms);
  CHECK(c.queueing_ns == 20 * ms);
  CHECK(a.deliver_at_ns == 15 * ms);
  CHECK(b.deliver_at_ns == 25 * ms);
  CHECK(c.deliver_at_ns == 35 * ms);
  CHECK(!a.lost);
  CHECK(!b.lost);
  CHECK(!c.lost);
  CHECK(link.busy_until_ns() == 30 * ms);

  // Arriving while the wire is busy: waits for the rest of the burst only.
  auto d = link.transmit(25 * ms, 1'250);
  CHECK(d.queueing_ns == 5 * ms);
  CHECK(d.deliver_at_ns == 45 * ms);
  // Arriving after the wire went idle: no wait at all.
  auto e = link.transmit(100 * ms, 125);
  CHECK(e.queueing_ns == 0);
  CHECK(e.serialization_ns == 1 * ms);
  CHECK(e.deliver_at_ns == 106 * ms);
}

TEST_CASE("Serialization rounds up to the next nanosecond", "[link_model]") {
  link_model slow{constant_link(3, 0), 1};
  CHECK(slow.serialization_ns(1) == 2'666'666'667); // 8e9 / 3 = 2,666,666,666.67
  CHECK(slow.serialization_ns(0) == 0);
  link_model fast{constant_link(10'000'000'000, 0), 1}; // 10 Gbit/s
  CHECK(fast.serialization_ns(1) == 1);                 // 0.8 ns
  CHECK(fast.serialization_ns(1'500) == 1'200);
  // 1 GB: bytes * 8e9 = 8e18 exceeds int64, the 128-bit product does not.
  CHECK(slow.serialization_ns(1'000'000'000) == 2'666'666'666'666'666'667);
  // Beyond int64 nanoseconds (85 years) the time saturates.
  CHECK(slow.serialization_ns(1'000'000'000'000) == INT64_MAX);
}

TEST_CASE("The bandwidth factor changes later serialization exactly", "[link_model]") {
  link_model link{constant_link(1 * mbit, 5 * ms), 1};
  auto before = link.transmit(0, 1'250);
  link.set_bandwidth_factor(0.5); // 500 kbit/s
  CHECK(link.effective_bandwidth_bps() == 500'000);
  auto after = link.transmit(0, 1'250);
  CHECK(before.serialization_ns == 10 * ms);
  CHECK(before.deliver_at_ns == 15 * ms); // already on the wire: unchanged
  CHECK(after.queueing_ns == 10 * ms);
  CHECK(after.serialization_ns == 20 * ms);
  CHECK(after.deliver_at_ns == 35 * ms);
  link.set_bandwidth_factor(0.3); // 300 kbit/s: 10,000 bits take 33,333,333.3 ns
  CHECK(link.transmit(100 * ms, 1'250).serialization_ns == 33'333'334);
  link.set_bandwidth_factor(1);
  CHECK(link.transmit(200 * ms, 1'250).serialization_ns == 10 * ms);

  CHECK_THROWS_AS(link.set_bandwidth_factor(0), std::invalid_argument);
  CHECK_THROWS_AS(link.set_bandwidth_factor(1.5), std::invalid_argument);
  CHECK_THROWS_AS(link.set_bandwidth_factor(-0.5), std::invalid_argument);
  CHECK_THROWS_AS(link.set_bandwidth_factor(std::nan("")), std::invalid_argument);
}

TEST_CASE("The latency multiplier scales later propagation", "[link_model]") {
  link_model link{constant_link(1 * mbit, 5 * ms), 1};
  link.set_latency_multiplier(2.5);
  auto d = link.transmit(0, 1'250);
  CHECK(d.deliver_at_ns == 10 * ms + 12'500'000);
  link.set_latency_multiplier(1);
  CHECK(link.transmit(100 * ms, 1'250).deliver_at_ns == 115 * ms);
  CHECK_THROWS_AS(link.set_latency_multiplier(0.5), std::invalid_argument);
  CHECK_THROWS_AS(link.set_latency_multiplier(INFINITY), std::invalid_argument);
}

TEST_CASE("Bad link parameters are rejected", "[link_model]") {
  CHECK_THROWS_AS(link_model(constant_link(0, 0), 1), std::invalid_argument);
  CHECK_THROWS_AS(link_model(constant_link(-5, 0), 1), std::invalid_argument);
  CHECK_THROWS_AS(link_model(constant_link(1, 0, -0.1), 1), std::invalid_argument);
  CHECK_THROWS_AS(link_model(constant_link(1, 0, 1.1), 1), std::invalid_argument);
  CHECK_NOTHROW(link_model(constant_link(1, 0, 1), 1));
}

// -- order and loss ---------------------------------------------------------------------

TEST_CASE("An ordered link never lets a message overtake", "[link_model]") {
  // Heavy jitter, messages 100 us apart: without ordering they overtake; with
  // it, each delivery is exactly the running maximum of the unordered ones
  // (same seed, so the same propagation samples).
  link_params p{100 * mbit, latency::pareto{1 * ms, 1.2}, 0, true};
  link_params q = p;
  q.ordered = false;
  link_model ordered{p, 42};
  link_model unordered{q, 42};
  std::int64_t running_max = 0;
  std::int64_t last = 0;
  int overtakes = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::int64_t now = i * 100'000;
    auto o = ordered.transmit(now, 100);
    auto u = unordered.transmit(now, 100);
    overtakes += u.deliver_at_ns < running_max ? 1 : 0;
    running_max = std::max(running_max, u.deliver_at_ns);
    REQUIRE(o.deliver_at_ns == running_max);
    REQUIRE(o.deliver_at_ns >= last);
    last = o.deliver_at_ns;
  }
  CHECK(overtakes > 1'000);
}

TEST_CASE("Loss happens at its rate and lost messages still used the wire",
          "[link_model][statistics]") {
  const double p = 0.1;
  constexpr int n = 100'000;
  link_model link{constant_link(1 * mbit, 5 * ms, p), 7};
  std::int64_t last_delivered = 0;
  int lost = 0;
  for (int i = 0; i < n; ++i) {
    auto d = link.transmit(0, 125); // a burst: 1 ms each
    // Queueing is i ms whether or not earlier messages were lost.
    REQUIRE(d.queueing_ns == i * ms);
    REQUIRE(d.deliver_at_ns == (i + 1) * ms + 5 * ms);
    if (d.lost) {
      ++lost;
    } else {
      REQUIRE(d.deliver_at_ns > last_delivered);
      last_delivered = d.deliver_at_ns;
    }
  }
  const double se = std::sqrt(p * (1 - p) / n);
  CHECK(std::abs(static_cast<double>(lost) / n - p) < 5 * se);
  CHECK(link.stats().drops == static_cast<std::uint64_t>(lost));

  link_model black_hole{constant_link(1 * mbit, 0, 1), 7};
  for (int i = 0; i < 100; ++i)
    REQUIRE(black_hole.transmit(i, 1).lost);
}

TEST_CASE("A lost message holds back nothing behind it on an ordered link",
          "[link_model]") {
  // Find, with a fixed seed, a lost message whose would-be arrival is later
  // than its successor's: the successor must still arrive on its own time.
  link_params p{1'000 * mbit, latency::exponential{10 * ms}, 0.5, true};
  link_model link{p, 3};
  bool seen = false;
  delivery previous = link.transmit(0, 1);
  for (int i = 1; i < 1'000 && !seen; ++i) {
    auto d = link.transmit(i * 1'000, 1);
    if (previous.lost && !d.lost && d.deliver_at_ns < previous.deliver_at_ns)
      seen = true;
    previous = d;
  }
  CHECK(seen);
}

TEST_CASE("The same seed gives the same deliveries", "[link_model]") {
  link_params p{10 * mbit, latency::cubic_jitter{1 * ms, 0.5, 1 * ms}, 0.2, false};
  link_model a{p, 99};
  link_model b{p, 99};
  link_model c{p, 100};
  int differing = 0;
  for (int i = 0; i < 1'000; ++i) {
    auto x = a.transmit(i * 50'000, 200);
    auto y = b.transmit(i * 50'000, 200);
    auto z = c.transmit(i * 50'000, 200);
    REQUIRE(x.lost == y.lost);
    REQUIRE(x.deliver_at_ns == y.deliver_at_ns);
    REQUIRE(x.queueing_ns == y.queueing_ns);
    differing += x.deliver_at_ns != z.deliver_at_ns ? 1 : 0;
  }
  CHECK(differing > 900);
}

// -- statistics -------------------------------------------------------------------------

TEST_CASE("Statistics add up", "[link_model]") {
  link_params p{2 * mbit, latency::exponential{5 * ms}, 0.05, true};
  link_model link{p, 11};
  std::uint64_t bytes = 0;
  std::uint64_t drops = 0;
  std::int64_t total_queueing = 0, max_queueing = 0;
  std::vector<std::int64_t> latencies;
  for (int i = 0; i < 20'000; ++i) {
    const std::int64_t now = static_cast<std::int64_t>(i) * 600'000; // 0.6 ms apart
    const std::size_t size = 50 + static_cast<std::size_t>(i % 7) * 40;
    auto d = link.transmit(now, size);
    bytes += size;
    total_queueing += d.queueing_ns;
    max_queueing = std::max(max_queueing, d.queueing_ns);
    if (d.lost)
      ++drops;
    else
      latencies.push_back(d.deliver_at_ns - now);
  }
  auto s = link.stats();
  CHECK(s.messages == 20'000);
  CHECK(s.bytes == bytes);
  CHECK(s.drops == drops);
  CHECK(s.delivered == latencies.size());
  CHECK(s.delivered + s.drops == s.messages);
  CHECK(s.total_queueing_ns == total_queueing);
  CHECK(s.max_queueing_ns == max_queueing);
  CHECK(max_queueing > 0); // sizes up to 290 bytes take up to 1.16 ms: some queueing

  std::sort(latencies.begin(), latencies.end());
  CHECK(s.latency_min_ns == latencies.front());
  CHECK(s.latency_max_ns == latencies.back());
  auto exact = [&](double q) {
    return static_cast<double>(net_test::sample_percentile(latencies, q));
  };
  // The histogram's promise: within 1/32 of the exact sample percentile.
  CHECK(std::abs(s.latency_p50_ns - exact(0.50)) <= exact(0.50) / 32);
  CHECK(std::abs(s.latency_p90_ns - exact(0.90)) <= exact(0.90) / 32);
  CHECK(std::abs(s.latency_p99_ns - exact(0.99)) <= exact(0.99) / 32);
  CHECK(link.latency_percentile(0) == s.latency_min_ns);
  CHECK(link.latency_percentile(1) == s.latency_max_ns);
}

TEST_CASE("Percentiles are exact for small latencies and zero without deliveries",
          "[link_model]") {
  link_model empty{constant_link(1 * mbit, 5 * ms, 1), 1};
  empty.transmit(0, 100);
  auto e = empty.stats();
  CHECK(e.messages == 1);
  CHECK(e.delivered == 0);
  CHECK(e.latency_p50_ns == 0);
  CHECK(e.latency_max_ns == 0);

  // 1 byte at 8 Gbit/s takes 1 ns; constant propagation 20 ns: latency 21.
  link_model tiny{constant_link(8'000'000'000, 20), 1};
  for (int i = 0; i < 10; ++i)
    tiny.transmit(i * 100, 1);
  auto t = tiny.stats();
  CHECK(t.latency_min_ns == 21);
  CHECK(t.latency_p50_ns == 21);
  CHECK(t.latency_p99_ns == 21);
  CHECK(t.latency_max_ns == 21);
  CHECK(t.total_queueing_ns == 0);
}
