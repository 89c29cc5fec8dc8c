/// The latency histogram (network/latency_histogram.hpp): exact small
/// values, percentiles within 1/32 of the exact sample percentile, exact
/// merging, and the trip through its non-empty buckets.

#include "actors/random.hpp"
#include "network/latency_histogram.hpp"
#include "sample_percentile.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

using marketsim::network::latency_histogram;

namespace {

/// `n` log-normal-ish latencies: 10 us to a few ms, many distinct buckets.
std::vector<std::int64_t> spread_latencies(std::uint64_t seed, int n) {
  marketsim::actors::random_stream rng{seed};
  std::vector<std::int64_t> out;
  for (int i = 0; i < n; ++i)
    out.push_back(10'000 + static_cast<std::int64_t>(std::exp(12.0 * rng.uniform())));
  return out;
}

} // namespace

TEST_CASE("An empty histogram reports zeros", "[latency_histogram]") {
  latency_histogram h;
  CHECK(h.empty());
  CHECK(h.count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.percentile(0.5) == 0);
  CHECK(h.nonzero_buckets().empty());
}

TEST_CASE("Values below 32 ns are exact", "[latency_histogram]") {
  latency_histogram h;
  for (std::int64_t v = 0; v < 32; ++v)
    h.record(v);
  CHECK(h.count() == 32);
  for (std::int64_t v = 0; v < 32; ++v) {
    INFO("rank " << v + 1);
    CHECK(h.percentile(static_cast<double>(v + 1) / 32) == v);
  }
  CHECK(h.nonzero_buckets().size() == 32);
}

TEST_CASE("Percentiles are within 1/32 of the sample percentiles, min and max exact",
          "[latency_histogram]") {
  auto values = spread_latencies(3, 50'000);
  latency_histogram h;
  for (auto v : values)
    h.record(v);
  std::sort(values.begin(), values.end());
  CHECK(h.count() == values.size());
  CHECK(h.min() == values.front());
  CHECK(h.max() == values.back());
  for (double q : {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999}) {
    INFO("q = " << q);
    const auto exact = net_test::sample_percentile(values, q);
    CHECK(std::abs(h.percentile(q) - exact) <= exact / 32);
  }
  // The extremes are bucket midpoints too, kept within what was observed.
  CHECK(h.percentile(0) >= values.front());
  CHECK(h.percentile(0) - values.front() <= values.front() / 32);
  CHECK(h.percentile(1) <= values.back());
  CHECK(values.back() - h.percentile(1) <= values.back() / 32);
}

TEST_CASE("Merged histograms equal one histogram fed every value",
          "[latency_histogram]") {
  auto low = spread_latencies(5, 3'000);
  auto high = spread_latencies(6, 1'000);
  for (auto& v : high)
    v *= 40; // other buckets, and a longer vector than `low`'s
  latency_histogram a, b, all;
  for (auto v : low) {
    a.record(v);
    all.record(v);
  }
  for (auto v : high) {
    b.record(v);
    all.record(v);
  }
  auto ab = a;
  ab.merge(b);
  auto ba = b;
  ba.merge(a);
  CHECK(ab == all);
  CHECK(ba == all);
  for (double q : {0.5, 0.9, 0.99})
    CHECK(ab.percentile(q) == all.percentile(q));
  // Not an average of percentiles: the merged median is low's p67 or so.
  CHECK(ab.percentile(0.5) != (a.percentile(0.5) + b.percentile(0.5)) / 2);

  auto with_empty = a;
  with_empty.merge(latency_histogram{});
  CHECK(with_empty == a);
  latency_histogram into_empty;
  into_empty.merge(a);
  CHECK(into_empty == a);
}

TEST_CASE("The same values in any order give equal histograms", "[latency_histogram]") {
  // Rising values grow the counters at the top, falling ones at the bottom.
  // 1 ms to 3 ms spans under two powers of two: at most 64 buckets.
  latency_histogram up, down;
  for (std::int64_t v = 1'000'000; v <= 3'000'000; v += 1'000)
    up.record(v);
  for (std::int64_t v = 3'000'000; v >= 1'000'000; v -= 1'000)
    down.record(v);
  CHECK(up == down);
  const auto buckets = up.nonzero_buckets();
  CHECK(buckets.size() <= 64);
  CHECK(buckets.front().index == latency_histogram::bucket_of(1'000'000));
  CHECK(buckets.back().index == latency_histogram::bucket_of(3'000'000));
}

TEST_CASE("A histogram survives the trip through its buckets", "[latency_histogram]") {
  latency_histogram h;
  for (auto v : spread_latencies(9, 2'000))
    h.record(v);
  h.record(7);
  h.record(std::numeric_limits<std::int64_t>::max()); // the last bucket
  auto back = latency_histogram::from_buckets(h.nonzero_buckets(), h.min(), h.max());
  CHECK(back == h);
  CHECK(latency_histogram::from_buckets({}, 0, 0) == latency_histogram{});

  using bucket = latency_histogram::bucket;
  const auto b40 = latency_histogram::bucket_of(40);
  const auto b90 = latency_histogram::bucket_of(90);
  CHECK(latency_histogram::from_buckets({{b40, 1}, {b90, 2}}, 40, 90).count() == 3);
  // Not from any histogram: rejected.
  CHECK_THROWS_AS(latency_histogram::from_buckets({}, 0, 5), std::invalid_argument);
  CHECK_THROWS_AS(
      latency_histogram::from_buckets({bucket{b90, 1}, bucket{b40, 1}}, 40, 90),
      std::invalid_argument);
  const auto b200 = latency_histogram::bucket_of(200);
  CHECK_THROWS_AS(latency_histogram::from_buckets(
                      {bucket{b40, 1}, bucket{b200, 1}, bucket{b90, 1}}, 40, 90),
                  std::invalid_argument);
  CHECK_THROWS_AS(latency_histogram::from_buckets({bucket{b40, 0}}, 40, 40),
                  std::invalid_argument);
  CHECK_THROWS_AS(latency_histogram::from_buckets({bucket{b40, 1}}, 40, 90),
                  std::invalid_argument);
  CHECK_THROWS_AS(latency_histogram::from_buckets({bucket{5'000, 1}}, 0, 0),
                  std::invalid_argument);
}
