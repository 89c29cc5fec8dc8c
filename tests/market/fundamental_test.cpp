/// Specification of the correlated mean-reverting fundamental values
/// (src/market/fundamental.hpp). The statistical tests are seeded, so they are
/// deterministic; their tolerances are five standard errors of the estimate,
/// derived below from the model, so any seed passes with overwhelming
/// probability rather than one seed happening to.

#include "market/fundamental.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

namespace {

using namespace marketsim::market;
using Catch::Contains;

using matrix = std::vector<std::vector<double>>;

fundamental_params one_symbol(price_t tick, double mean, double kappa, double sigma,
                              double initial = 0) {
  fundamental_params p;
  p.symbols = {{"X", tick, mean, kappa, sigma, initial}};
  p.seed = 7;
  return p;
}

fundamental_params with_correlation(matrix c) {
  fundamental_params p = three_stock_preset(1);
  p.correlation = std::move(c);
  return p;
}

double mean_of(const std::vector<double>& xs) {
  double sum = 0;
  for (double x : xs)
    sum += x;
  return sum / static_cast<double>(xs.size());
}

double correlation_of(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = mean_of(x);
  double my = mean_of(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

} // namespace

// -- determinism -----------------------------------------------------------------------

TEST_CASE("The same seed and steps give the same path", "[fundamental]") {
  fundamental_process a{three_stock_preset(42)};
  fundamental_process b{three_stock_preset(42)};
  double total = 0;
  for (int i = 0; i < 2'000; ++i) {
    double dt = 0.05 * (1 + i % 7); // uneven steps, as an event loop gives them
    total += dt;
    a.step(dt);
    b.step(dt);
    REQUIRE(a.prices() == b.prices());
    for (std::size_t s = 0; s < a.size(); ++s)
      REQUIRE(a.value(s) == b.value(s));
  }
  CHECK(a.time() == total);
}

TEST_CASE("Different seeds give different paths", "[fundamental]") {
  fundamental_process a{three_stock_preset(1)};
  fundamental_process b{three_stock_preset(2)};
  int differing = 0;
  for (int i = 0; i < 1'000; ++i) {
    a.step(1);
    b.step(1);
    differing += a.prices() != b.prices() ? 1 : 0;
  }
  CHECK(differing > 990);
}

TEST_CASE("A zero step changes nothing and draws nothing", "[fundamental]") {
  fundamental_process a{three_stock_preset(5)};
  fundamental_process b{three_stock_preset(5)};
  a.step(0);
  CHECK(a.prices() == std::vector<price_t>{10'000, 5'000, 20'000});
  a.step(1);
  b.step(1);
  CHECK(a.prices() == b.prices());
  CHECK(a.value(0) == b.value(0));
  CHECK_THROWS_AS(a.step(-1), std::invalid_argument);
  CHECK_THROWS_AS(a.step(std::numeric_limits<double>::quiet_NaN()),
                  std::invalid_argument);
}

// -- the model --------------------------------------------------------------------------

TEST_CASE("Without volatility the value decays to the mean as exp(-kappa t)",
          "[fundamental]") {
  fundamental_process p{one_symbol(1, 10'000, 0.1, 0, 12'000)};
  CHECK(p.price(0) == 12'000);
  for (int i = 0; i < 10; ++i)
    p.step(1);
  // 10'000 + 2'000 e^-1 = 10'735.76; stepping finely or at once is the same.
  CHECK(p.value(0) == Approx(10'000 + 2'000 * std::exp(-1.0)).epsilon(1e-12));
  CHECK(p.price(0) == 10'736);

  fundamental_process once{one_symbol(1, 10'000, 0.1, 0, 12'000)};
  once.step(10);
  CHECK(once.value(0) == Approx(p.value(0)).epsilon(1e-12));
}

TEST_CASE("Over many steps the level averages the mean with spread sigma/sqrt(2 kappa)",
          "[fundamental][statistics]") {
  // Sampled every dt, the process is AR(1) with phi = e^{-kappa dt} and
  // stationary variance v = sigma^2 / (2 kappa). Starting at the mean, the
  // sample mean is unbiased with variance v (1 + phi) / (1 - phi) / n, and
  // the sample variance has standard error about v sqrt(2 (1 + phi^2) /
  // (1 - phi^2) / n).
  const auto seed = GENERATE(11u, 12u);
  fundamental_params params = three_stock_preset(seed);
  fundamental_process p{params};
  constexpr int n = 200'000;
  constexpr double dt = 1.0;
  std::vector<std::vector<double>> levels(p.size());
  for (int i = 0; i < n; ++i) {
    p.step(dt);
    for (std::size_t s = 0; s < p.size(); ++s)
      levels[s].push_back(static_cast<double>(p.price(s)));
  }
  for (std::size_t s = 0; s < p.size(); ++s) {
    const auto& sym = params.symbols[s];
    double phi = std::exp(-sym.kappa * dt);
    double v = sym.sigma * sym.sigma / (2 * sym.kappa);
    double mean_se = std::sqrt(v * (1 + phi) / (1 - phi) / n);
    double var_se = v * std::sqrt(2 * (1 + phi * phi) / (1 - phi * phi) / n);

    double m = mean_of(levels[s]);
    double var = 0;
    for (double x : levels[s])
      var += (x - m) * (x - m);
    var /= n - 1;
    INFO(sym.name << " seed " << seed << ": mean " << m << " (se " << mean_se
                  << "), variance " << var << " vs " << v << " (se " << var_se << ")");
    // Rounding to the tick adds at most half a tick to the mean and about
    // 1/12 tick^2 to the variance.
    CHECK(std::abs(m - sym.mean) < 5 * mean_se + 0.5);
    CHECK(std::abs(var - v) < 5 * var_se + 1);
  }
}

TEST_CASE("Increments are correlated as configured", "[fundamental][statistics]") {
  // With one kappa for all symbols (the preset) the exact transition gives
  // increments whose correlation is exactly the configured one. The sample
  // correlation of n pairs has standard error about (1 - rho^2) / sqrt(n);
  // tick rounding adds noise of variance 1/6 to increments of variance
  // sigma^2 (1 - phi) / kappa (about 900 for STOCK_B), which is negligible.
  const auto seed = GENERATE(21u, 22u);
  fundamental_params params = three_stock_preset(seed);
  fundamental_process p{params};
  constexpr int n = 200'000;
  std::vector<std::vector<double>> increments(p.size());
  std::vector<price_t> last = p.prices();
  for (int i = 0; i < n; ++i) {
    p.step(1);
    for (std::size_t s = 0; s < p.size(); ++s) {
      increments[s].push_back(static_cast<double>(p.price(s) - last[s]));
      last[s] = p.price(s);
    }
  }
  for (std::size_t i = 0; i < p.size(); ++i)
    for (std::size_t j = i + 1; j < p.size(); ++j) {
      double rho = params.correlation[i][j];
      double se = (1 - rho * rho) / std::sqrt(static_cast<double>(n));
      double r = correlation_of(increments[i], increments[j]);
      INFO("pair " << i << "," << j << " seed " << seed << ": sample " << r
                   << ", configured " << rho << ", se " << se);
      CHECK(std::abs(r - rho) < 5 * se);
    }
}

TEST_CASE("Prices stay on the tick and at least one tick", "[fundamental]") {
  // A volatile symbol near zero: its value goes negative often.
  fundamental_process p{one_symbol(5, 20, 0.5, 50)};
  int at_floor = 0;
  int above_floor = 0;
  for (int i = 0; i < 10'000; ++i) {
    p.step(0.25);
    price_t x = p.price(0);
    REQUIRE(x % 5 == 0);
    REQUIRE(x >= 5);
    at_floor += x == 5 ? 1 : 0;
    above_floor += x > 5 ? 1 : 0;
  }
  CHECK(at_floor > 100);
  CHECK(above_floor > 100);

  CHECK(to_tick_price(102.4, 5) == 100);
  CHECK(to_tick_price(102.6, 5) == 105);
  CHECK(to_tick_price(2.4, 5) == 5);
  CHECK(to_tick_price(-300, 5) == 5);
  CHECK(to_tick_price(std::numeric_limits<double>::quiet_NaN(), 5) == 5);
  CHECK(to_tick_price(1e300, 1) == 1'000'000'000'000'000);
}

// -- validation -------------------------------------------------------------------------

TEST_CASE("An invalid correlation matrix is refused with a clear message",
          "[fundamental][validation]") {
  CHECK_THROWS_WITH(fundamental_process{with_correlation(
                        {{1, 0.3, -0.2}, {0.31, 1, 0.1}, {-0.2, 0.1, 1}})},
                    Contains("not symmetric") && Contains("correlation[1][0]"));
  CHECK_THROWS_WITH(fundamental_process{with_correlation(
                        {{1, 0.3, -0.2}, {0.3, 0.9, 0.1}, {-0.2, 0.1, 1}})},
                    Contains("diagonal must be 1"));
  CHECK_THROWS_WITH(
      fundamental_process{with_correlation({{1, 1.5, 0}, {1.5, 1, 0}, {0, 0, 1}})},
      Contains("outside [-1, 1]"));
  // Each pair is a valid correlation, the three together are impossible.
  CHECK_THROWS_WITH(fundamental_process{with_correlation(
                        {{1, 0.9, -0.9}, {0.9, 1, 0.9}, {-0.9, 0.9, 1}})},
                    Contains("not positive definite"));
  // Perfect correlation is singular: no variance left for one combination.
  CHECK_THROWS_WITH(
      fundamental_process{with_correlation({{1, 1, 0}, {1, 1, 0}, {0, 0, 1}})},
      Contains("not positive definite"));
  CHECK_THROWS_WITH(fundamental_process{with_correlation({{1, 0.3}, {0.3, 1}})},
                    Contains("one row per symbol"));
  CHECK_THROWS_WITH(
      fundamental_process{with_correlation({{1, 0.3, 0}, {0.3, 1}, {0, 0, 1}})},
      Contains("must be square"));
  CHECK_THROWS_WITH(
      fundamental_process{with_correlation(
          {{1, std::numeric_limits<double>::quiet_NaN(), 0}, {0, 1, 0}, {0, 0, 1}})},
      Contains("not finite"));
}

TEST_CASE("Invalid symbol parameters are refused", "[fundamental][validation]") {
  CHECK_THROWS_AS(fundamental_process{one_symbol(0, 100, 0.1, 1)}, std::invalid_argument);
  CHECK_THROWS_AS(fundamental_process{one_symbol(1, 0, 0.1, 1)}, std::invalid_argument);
  CHECK_THROWS_AS(fundamental_process{one_symbol(1, 100, -0.1, 1)},
                  std::invalid_argument);
  CHECK_THROWS_AS(fundamental_process{one_symbol(1, 100, 0.1, -1)},
                  std::invalid_argument);
  CHECK_THROWS_AS(fundamental_process{fundamental_params{}}, std::invalid_argument);
  // No matrix: independent symbols.
  CHECK_NOTHROW(fundamental_process{one_symbol(1, 100, 0, 1)});
}

TEST_CASE("The Cholesky factor reproduces the correlation matrix", "[fundamental]") {
  matrix two = correlation_cholesky({{1, 0.6}, {0.6, 1}});
  CHECK(two[0][0] == Approx(1));
  CHECK(two[0][1] == 0);
  CHECK(two[1][0] == Approx(0.6));
  CHECK(two[1][1] == Approx(0.8));

  matrix c = three_stock_preset(0).correlation;
  matrix l = correlation_cholesky(c);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      double sum = 0;
      for (std::size_t k = 0; k < 3; ++k)
        sum += l[i][k] * l[j][k];
      CHECK(sum == Approx(c[i][j]).margin(1e-12));
    }
}

TEST_CASE("The three-stock preset is the reference case", "[fundamental]") {
  fundamental_params p = three_stock_preset(99);
  REQUIRE(p.symbols.size() == 3);
  CHECK(p.symbols[0].name == "STOCK_A");
  CHECK(p.symbols[1].name == "STOCK_B");
  CHECK(p.symbols[2].name == "STOCK_C");
  CHECK(p.symbols[0].mean == 10'000);
  CHECK(p.symbols[1].mean == 5'000);
  CHECK(p.symbols[2].mean == 20'000);
  CHECK(p.correlation[0][1] == 0.3);
  CHECK(p.correlation[0][2] == -0.2);
  CHECK(p.correlation[1][2] == 0.1);
  CHECK(p.seed == 99);
  fundamental_process process{p};
  CHECK(process.prices() == std::vector<price_t>{10'000, 5'000, 20'000});
}

// -- private noisy views ----------------------------------------------------------------

TEST_CASE("A noisy observation is the truth plus unbiased noise of the given spread",
          "[fundamental][observation]") {
  // n draws: the mean has standard error noise / sqrt(n), the sample standard
  // deviation about noise / sqrt(2 n).
  std::mt19937_64 rng(3);
  constexpr int n = 20'000;
  constexpr double noise = 50;
  std::vector<double> seen;
  for (int i = 0; i < n; ++i) {
    price_t x = noisy_observation(10'000, noise, 1, rng);
    REQUIRE(x >= 1);
    seen.push_back(static_cast<double>(x));
  }
  double m = mean_of(seen);
  double var = 0;
  for (double x : seen)
    var += (x - m) * (x - m);
  double sd = std::sqrt(var / (n - 1));
  CHECK(std::abs(m - 10'000) < 5 * noise / std::sqrt(n) + 0.5);
  CHECK(std::abs(sd - noise) < 5 * noise / std::sqrt(2.0 * n) + 0.1);
}

TEST_CASE("Noisy observations are private, on tick, and exact without noise",
          "[fundamental][observation]") {
  std::mt19937_64 agent_a(1);
  std::mt19937_64 agent_b(2);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    price_t a = noisy_observation(20'000, 100, 5, agent_a);
    price_t b = noisy_observation(20'000, 100, 5, agent_b);
    REQUIRE(a % 5 == 0);
    REQUIRE(b % 5 == 0);
    differ += a != b ? 1 : 0;
  }
  CHECK(differ > 80);

  std::mt19937_64 rng(4);
  std::mt19937_64 untouched(4);
  CHECK(noisy_observation(10'003, 0, 5, rng) == 10'005);
  CHECK(rng == untouched); // no noise, no draw
  CHECK(noisy_observation(2, 1e6, 1, rng) >= 1);
  CHECK_THROWS_AS(noisy_observation(100, -1, 1, rng), std::invalid_argument);
}
