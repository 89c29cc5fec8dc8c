/// Specification of the latency distributions (src/network/latency.hpp). The
/// statistical tests are seeded, so they are deterministic; their tolerances
/// are five standard errors of the estimate, computed from the model's own
/// moments (not tuned to a seed), so any seed passes with overwhelming
/// probability. For a sample of n draws with variance v and central fourth
/// moment mu4, the sample mean has standard error sqrt(v / n) and the sample
/// variance sqrt((mu4 - v^2) / n); an empirical proportion p has sqrt(p (1 - p)
/// / n).

#include "network/latency.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <vector>

namespace {

using namespace marketsim::network;
using marketsim::actors::random_stream;

constexpr std::int64_t us = 1'000;
constexpr std::int64_t ms = 1'000'000;
constexpr int n = 100'000;

/// The first four raw moments E[X^k] of a model, k = 1..4.
struct raw_moments {
  double m1, m2, m3, m4;

  double variance() const { return m2 - m1 * m1; }
  double central4() const {
    return m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1 * m1 * m1 * m1;
  }
};

std::vector<double> draw(const latency_distribution& d, std::uint64_t seed,
                         int count = n) {
  random_stream rng{seed};
  std::vector<double> xs;
  xs.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    xs.push_back(static_cast<double>(d.sample(rng)));
  return xs;
}

/// Checks the sample mean and variance of xs against the model, to five
/// standard errors.
void check_mean_and_variance(const std::vector<double>& xs, const raw_moments& model) {
  const double count = static_cast<double>(xs.size());
  double mean = 0;
  for (double x : xs)
    mean += x;
  mean /= count;
  double var = 0;
  for (double x : xs)
    var += (x - mean) * (x - mean);
  var /= count - 1;

  const double v = model.variance();
  const double mean_se = std::sqrt(v / count);
  const double var_se = std::sqrt((model.central4() - v * v) / count);
  INFO("mean " << mean << " expected " << model.m1 << " se " << mean_se);
  CHECK(std::abs(mean - model.m1) < 5 * mean_se);
  INFO("variance " << var << " expected " << v << " se " << var_se);
  CHECK(std::abs(var - v) < 5 * var_se);
}

/// Checks that the fraction of xs at or below the model's q-quantile is q, to
/// five standard errors.
void check_quantile(const std::vector<double>& xs, double q, double quantile) {
  double below = 0;
  for (double x : xs)
    below += x <= quantile ? 1 : 0;
  const double count = static_cast<double>(xs.size());
  const double p = below / count;
  const double se = std::sqrt(q * (1 - q) / count);
  INFO("q " << q << " quantile " << quantile << " empirical " << p << " se " << se);
  CHECK(std::abs(p - q) < 5 * se);
}

} // namespace

// -- determinism and parameters ---------------------------------------------------------

TEST_CASE("The same seed gives the same samples, a different seed different ones",
          "[latency]") {
  const std::vector<latency_distribution> models = {
      latency::normal{50 * ms, 10 * ms}, latency::exponential{30 * ms},
      latency::pareto{10 * ms, 2.5}, latency::cubic_jitter{1 * ms, 0.5, 1 * ms}};
  for (const auto& d : models) {
    INFO(to_string(d));
    CHECK(draw(d, 9, 1'000) == draw(d, 9, 1'000));
    CHECK(draw(d, 9, 1'000) != draw(d, 10, 1'000));
  }
}

TEST_CASE("A constant latency is always its value and draws nothing", "[latency]") {
  latency_distribution d = latency::constant{5 * ms};
  random_stream rng{3};
  random_stream untouched{3};
  for (int i = 0; i < 100; ++i)
    REQUIRE(d.sample(rng) == 5 * ms);
  CHECK(rng() == untouched());
  CHECK(d.mean() == 5.0 * ms);
  CHECK(latency_distribution{}.mean() == 0);
}

TEST_CASE("Bad parameters are rejected", "[latency]") {
  using E = std::invalid_argument;
  CHECK_THROWS_AS((latency_distribution{latency::constant{-1}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::constant{max_latency_ns + 1}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::normal{-1, 5}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::normal{5, -1}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::exponential{0}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::exponential{-3}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::pareto{0, 2}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::pareto{10, 0}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::pareto{10, -1}}), E);
  CHECK_THROWS_AS((latency_distribution{
                      latency::pareto{10, std::numeric_limits<double>::infinity()}}),
                  E);
  CHECK_THROWS_AS((latency_distribution{latency::pareto{10, std::nan("")}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::cubic_jitter{-1, 0.5, 10}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::cubic_jitter{1, -0.5, 10}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::cubic_jitter{1, 0.5, -10}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::cubic_jitter{1, 0.5, 10, 0}}), E);
  CHECK_THROWS_AS((latency_distribution{latency::cubic_jitter{1, 0.5, 10, 1}}), E);
  CHECK_NOTHROW((latency_distribution{latency::normal{0, 0}}));
  CHECK_NOTHROW((latency_distribution{latency::cubic_jitter{0, 0, 0}}));
}

// -- the models -------------------------------------------------------------------------

TEST_CASE("Normal latency has its mean and spread", "[latency][statistics]") {
  // At 5 sigma the truncation shifts the mean by sigma phi(5) = 15 ns, far
  // below the standard error (32 us): the untruncated moments apply.
  const double mu = 50.0 * ms, s = 10.0 * ms;
  latency_distribution d = latency::normal{50 * ms, 10 * ms};
  CHECK(d.mean() == Approx(mu).epsilon(1e-6));
  check_mean_and_variance(draw(d, 21),
                          {mu, mu * mu + s * s, mu * mu * mu + 3 * mu * s * s,
                           std::pow(mu, 4) + 6 * mu * mu * s * s + 3 * std::pow(s, 4)});
}

TEST_CASE("Normal latency is truncated at zero, not clamped", "[latency][statistics]") {
  // With mean 0 the truncated normal is the half-normal: E[X^k] is sigma^k
  // times sqrt(2/pi), 1, 2 sqrt(2/pi), 3 for k = 1..4.
  const double s = 10.0 * ms;
  const double r = std::sqrt(2 / std::numbers::pi);
  latency_distribution d = latency::normal{0, 10 * ms};
  CHECK(d.mean() == Approx(s * r).epsilon(1e-12));
  auto xs = draw(d, 22);
  double zeros = 0;
  for (double x : xs) {
    REQUIRE(x >= 0);
    zeros += x == 0 ? 1 : 0;
  }
  // Clamping would put half the mass at 0; truncation puts ~1 ns / s of it.
  CHECK(zeros < 10);
  check_mean_and_variance(xs, {s * r, s * s, 2 * r * s * s * s, 3 * std::pow(s, 4)});
}

TEST_CASE("Exponential latency has its mean and spread", "[latency][statistics]") {
  // E[X^k] = k! theta^k.
  const double t = 30.0 * ms;
  latency_distribution d = latency::exponential{30 * ms};
  CHECK(d.mean() == t);
  auto xs = draw(d, 23);
  for (double x : xs)
    REQUIRE(x >= 0);
  check_mean_and_variance(xs, {t, 2 * t * t, 6 * t * t * t, 24 * std::pow(t, 4)});
}

TEST_CASE("Pareto latency with a light tail has its mean and spread",
          "[latency][statistics]") {
  // alpha = 5 > 4, so the first four moments, alpha x_m^k / (alpha - k), are
  // finite and the variance's standard error exists.
  const double xm = 10.0 * ms, a = 5;
  latency_distribution d = latency::pareto{10 * ms, 5};
  auto moment = [&](int k) { return a * std::pow(xm, k) / (a - k); };
  CHECK(d.mean() == Approx(moment(1)).epsilon(1e-12));
  auto xs = draw(d, 24);
  for (double x : xs)
    REQUIRE(x >= xm);
  check_mean_and_variance(xs, {moment(1), moment(2), moment(3), moment(4)});
}

TEST_CASE("Pareto latency with a heavy tail has its quantiles", "[latency][statistics]") {
  // alpha = 1.5: the mean is finite (3 x_m) but the variance is not, so we test
  // quantiles x_m (1 - q)^(-1/alpha) instead; with alpha <= 1 the mean is
  // infinite.
  const double xm = 10.0 * ms, a = 1.5;
  latency_distribution d = latency::pareto{10 * ms, 1.5};
  CHECK(d.mean() == Approx(3 * xm).epsilon(1e-12));
  CHECK(std::isinf(latency_distribution{latency::pareto{10 * ms, 1.0}}.mean()));
  CHECK(std::isinf(latency_distribution{latency::pareto{10 * ms, 0.5}}.mean()));
  auto xs = draw(d, 25);
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999})
    check_quantile(xs, q, xm * std::pow(1 - q, -1 / a));
}

TEST_CASE("Pareto samples saturate at one day instead of overflowing", "[latency]") {
  // alpha = 0.05: a draw u gives x_m u^-20, beyond a day for u < ~0.44.
  latency_distribution d = latency::pareto{1 * ms, 0.05};
  auto xs = draw(d, 26, 10'000);
  double saturated = 0;
  for (double x : xs) {
    REQUIRE(x >= 1.0 * ms);
    REQUIRE(x <= static_cast<double>(max_latency_ns));
    saturated += x == static_cast<double>(max_latency_ns) ? 1 : 0;
  }
  // P(X > 1 day) = (1 ms / 1 day)^0.05 = 0.2822...
  const double p = std::pow(1.0 * ms / static_cast<double>(max_latency_ns), 0.05);
  CHECK(std::abs(saturated / 10'000 - p) < 5 * std::sqrt(p * (1 - p) / 10'000));
}

TEST_CASE("Cubic jitter follows ABIDES' min + a/x^3 scaled, capped by the clip",
          "[latency][statistics]") {
  // X = min + a scale Y with Y = x^-3, x uniform in (c, 1]:
  // E[Y^k] = (c^(1-3k) - 1) / ((3k - 1)(1 - c)); P(Y <= y) = (1 - y^(-1/3)) / (1 - c).
  const double c = 0.1, a = 0.5, scale = 1.0 * ms, min = 1.0 * ms;
  latency_distribution d = latency::cubic_jitter{1 * ms, 0.5, 1 * ms};
  auto y_moment = [&](int k) {
    return (std::pow(c, 1 - 3 * k) - 1) / ((3 * k - 1) * (1 - c));
  };
  CHECK(y_moment(1) == Approx(55));
  CHECK(d.mean() == Approx(min + a * scale * 55).epsilon(1e-12));

  auto xs = draw(d, 27);
  std::vector<double> ys;
  for (double x : xs) {
    REQUIRE(x >= min + a * scale);               // x = 1
    REQUIRE(x <= min + a * scale / (c * c * c)); // the cap, x = clip
    ys.push_back((x - min) / (a * scale));
  }
  // Rounding to the ns moves Y by at most 2e-6, far below the tolerances.
  check_mean_and_variance(ys, {y_moment(1), y_moment(2), y_moment(3), y_moment(4)});
  for (double q : {0.1, 0.5, 0.9, 0.99})
    check_quantile(ys, q, std::pow(1 - q * (1 - c), -3.0));
}

TEST_CASE("A cubic jitter with ABIDES' parameters matches its formula", "[latency]") {
  // ABIDES: min_latency + (a / x^3) * (min_latency / jitter_unit), unit 10.
  const std::int64_t min = 20 * ms;
  latency_distribution d = latency::cubic_jitter{min, 0.5, min / 10, 0.1};
  CHECK(d.mean() == Approx(20.0 * ms + 0.5 * 2.0 * ms * 55).epsilon(1e-12));
  // A zero a or scale is a constant latency.
  random_stream rng{1};
  CHECK(latency_distribution{latency::cubic_jitter{min, 0, 5 * ms}}.sample(rng) == min);
  CHECK(latency_distribution{latency::cubic_jitter{min, 0.5, 0}}.sample(rng) == min);
}

// -- text form --------------------------------------------------------------------------

TEST_CASE("Latency text is parsed with units", "[latency][parse]") {
  CHECK(parse_latency("constant(5ms)") ==
        latency_distribution{latency::constant{5 * ms}});
  CHECK(parse_latency(" normal( 50ms , 10ms ) ") ==
        latency_distribution{latency::normal{50 * ms, 10 * ms}});
  CHECK(parse_latency("exponential(30ms)") ==
        latency_distribution{latency::exponential{30 * ms}});
  CHECK(parse_latency("pareto(10ms, 2.5)") ==
        latency_distribution{latency::pareto{10 * ms, 2.5}});
  CHECK(parse_latency("cubic(1ms, 0.5, 1ms)") ==
        latency_distribution{latency::cubic_jitter{1 * ms, 0.5, 1 * ms, 0.1}});
  CHECK(parse_latency("cubic(1ms, 0.5, 1ms, 0.2)") ==
        latency_distribution{latency::cubic_jitter{1 * ms, 0.5, 1 * ms, 0.2}});
  CHECK(parse_latency("constant(1.5us)") ==
        latency_distribution{latency::constant{1'500}});
  CHECK(parse_latency("constant(2s)") ==
        latency_distribution{latency::constant{2'000'000'000}});
  CHECK(parse_latency("constant(7ns)") == latency_distribution{latency::constant{7}});
}

TEST_CASE("Bad latency text says what is wrong", "[latency][parse]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(parse_latency("constant(5)"), Contains("needs a unit"));
  CHECK_THROWS_WITH(parse_latency("constant(5 parsecs)"), Contains("needs a unit"));
  CHECK_THROWS_WITH(parse_latency("uniform(5ms)"), Contains("unknown distribution"));
  CHECK_THROWS_WITH(parse_latency("normal(5ms)"), Contains("takes 2 arguments"));
  CHECK_THROWS_WITH(parse_latency("cubic(1ms, 0.5)"), Contains("takes 3 or 4 arguments"));
  CHECK_THROWS_WITH(parse_latency("pareto(10ms, abc)"), Contains("expected a number"));
  CHECK_THROWS_WITH(parse_latency("pareto(10ms, 2x)"), Contains("unexpected 'x'"));
  CHECK_THROWS_WITH(parse_latency("constant 5ms"), Contains("expected name(arguments)"));
  CHECK_THROWS_WITH(parse_latency("constant(-5ms)"), Contains("must be in [0, 1 day]"));
  CHECK_THROWS_AS(parse_latency("exponential(0ms)"), std::invalid_argument);
  CHECK_THROWS_AS(parse_latency("pareto(10ms, 0)"), std::invalid_argument);
}

TEST_CASE("to_string reads back as the same distribution", "[latency][parse]") {
  const std::vector<latency_distribution> models = {
      latency::constant{0},
      latency::constant{5 * ms},
      latency::constant{1'500},
      latency::normal{50 * ms, 10 * ms},
      latency::exponential{30 * ms + 7},
      latency::pareto{10 * ms, 2.5},
      latency::pareto{3 * us, 1.0 / 3},
      latency::cubic_jitter{1 * ms, 0.5, 1 * ms},
      latency::cubic_jitter{2'000'000'000, 0.123456789, 250 * us, 0.05},
  };
  for (const auto& d : models) {
    INFO(to_string(d));
    CHECK(parse_latency(to_string(d)) == d);
  }
  CHECK(to_string(latency::pareto{10 * ms, 2.5}) == "pareto(10ms, 2.5)");
  CHECK(to_string(latency::cubic_jitter{1 * ms, 0.5, 1 * ms}) ==
        "cubic(1ms, 0.5, 1ms, 0.1)");
  CHECK(to_string(latency::constant{1'500}) == "constant(1500ns)");
}
