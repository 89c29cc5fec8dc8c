#include "market/fundamental.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace marketsim::market {

namespace {

// Symmetry and the unit diagonal are checked with a tolerance so that a
// matrix written out in decimal (or computed) is not refused for rounding.
constexpr double matrix_tolerance = 1e-12;
constexpr double max_price_units = 1e15;

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("fundamental: " + what);
}

std::string entry(std::size_t i, std::size_t j, double x) {
  std::ostringstream os;
  os << "correlation[" << i << "][" << j << "] = " << x;
  return os.str();
}

void validate_symbols(const fundamental_params& p) {
  if (p.symbols.empty())
    fail("no symbols");
  for (const auto& s : p.symbols) {
    std::string where = "symbol '" + s.name + "': ";
    if (s.tick <= 0)
      fail(where + "tick must be positive");
    if (!std::isfinite(s.mean) || s.mean <= 0)
      fail(where + "mean must be positive and finite");
    if (!std::isfinite(s.kappa) || s.kappa < 0)
      fail(where + "kappa must be non-negative and finite");
    if (!std::isfinite(s.sigma) || s.sigma < 0)
      fail(where + "sigma must be non-negative and finite");
    if (!std::isfinite(s.initial))
      fail(where + "initial value must be finite");
  }
}

/// Uniform on [0, 1) from the top 53 bits: every value a double can hold
/// exactly at that spacing, independent of the standard library.
double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

/// sd of the exact OU transition over dt (see the header).
double transition_sd(double kappa, double sigma, double dt) {
  if (kappa == 0)
    return sigma * std::sqrt(dt);
  // -expm1 keeps precision when kappa * dt is tiny.
  return sigma * std::sqrt(-std::expm1(-2 * kappa * dt) / (2 * kappa));
}

} // namespace

std::vector<std::vector<double>>
correlation_cholesky(const std::vector<std::vector<double>>& c) {
  const std::size_t n = c.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (c[i].size() != n)
      fail("correlation row " + std::to_string(i) + " has " +
           std::to_string(c[i].size()) + " entries, expected " + std::to_string(n) +
           " (the matrix must be square)");
    for (std::size_t j = 0; j < n; ++j)
      if (!std::isfinite(c[i][j]))
        fail(entry(i, j, c[i][j]) + " is not finite");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (std::abs(c[i][i] - 1) > matrix_tolerance)
      fail(entry(i, i, c[i][i]) + ": the diagonal must be 1");
    for (std::size_t j = 0; j < i; ++j) {
      if (std::abs(c[i][j] - c[j][i]) > matrix_tolerance)
        fail(entry(i, j, c[i][j]) + " but " + entry(j, i, c[j][i]) + ": not symmetric");
      if (std::abs(c[i][j]) > 1)
        fail(entry(i, j, c[i][j]) + " is outside [-1, 1]");
    }
  }
  // Cholesky-Banachiewicz; a non-positive pivot means the matrix is not
  // positive definite (some combination of symbols would have zero or
  // negative variance).
  std::vector<std::vector<double>> l(n, std::vector<double>(n, 0.0));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      double sum = c[i][j];
      for (std::size_t k = 0; k < j; ++k)
        sum -= l[i][k] * l[j][k];
      if (i == j) {
        if (!(sum > matrix_tolerance))
          fail("correlation matrix is not positive definite (Cholesky pivot " +
               std::to_string(sum) + " at row " + std::to_string(i) + ")");
        l[i][i] = std::sqrt(sum);
      } else {
        l[i][j] = sum / l[j][j];
      }
    }
  }
  return l;
}

fundamental_process::fundamental_process(fundamental_params params)
    : params_(std::move(params)), rng_(params_.seed) {
  validate_symbols(params_);
  const std::size_t n = params_.symbols.size();
  if (params_.correlation.empty()) {
    params_.correlation.assign(n, std::vector<double>(n, 0.0));
    for (std::size_t i = 0; i < n; ++i)
      params_.correlation[i][i] = 1;
  }
  if (params_.correlation.size() != n)
    fail("correlation matrix is " + std::to_string(params_.correlation.size()) +
         " x ..., expected " + std::to_string(n) + " x " + std::to_string(n) +
         " (one row per symbol)");
  cholesky_ = correlation_cholesky(params_.correlation);
  normals_.resize(n);
  for (const auto& s : params_.symbols) {
    values_.push_back(s.initial != 0 ? s.initial : s.mean);
    prices_.push_back(to_tick_price(values_.back(), s.tick));
  }
}

void fundamental_process::step(double dt) {
  if (!std::isfinite(dt) || dt < 0)
    fail("step dt must be non-negative and finite, got " + std::to_string(dt));
  if (dt == 0)
    return;
  const std::size_t n = values_.size();
  for (auto& z : normals_)
    z = standard_normal(rng_);
  for (std::size_t i = 0; i < n; ++i) {
    double shock = 0;
    for (std::size_t k = 0; k <= i; ++k)
      shock += cholesky_[i][k] * normals_[k];
    const auto& s = params_.symbols[i];
    double decay = std::exp(-s.kappa * dt);
    values_[i] = s.mean + (values_[i] - s.mean) * decay +
                 transition_sd(s.kappa, s.sigma, dt) * shock;
    prices_[i] = to_tick_price(values_[i], s.tick);
  }
  time_ += dt;
}

price_t to_tick_price(double value, price_t tick) {
  if (!(value >= static_cast<double>(tick))) // also catches NaN
    return tick;
  double capped = std::min(value, max_price_units);
  auto ticks = static_cast<price_t>(std::llround(capped / static_cast<double>(tick)));
  return std::max(ticks, price_t{1}) * tick;
}

double standard_normal(std::mt19937_64& rng) {
  // Marsaglia's polar method; the second variate of each pair is dropped so
  // that the function keeps no state besides the generator.
  for (;;) {
    double u = 2 * uniform01(rng) - 1;
    double v = 2 * uniform01(rng) - 1;
    double s = u * u + v * v;
    if (s > 0 && s < 1)
      return u * std::sqrt(-2 * std::log(s) / s);
  }
}

price_t noisy_observation(price_t true_value, double noise_sigma, price_t tick,
                          std::mt19937_64& rng) {
  if (!std::isfinite(noise_sigma) || noise_sigma < 0)
    fail("observation noise sigma must be non-negative and finite");
  double seen = static_cast<double>(true_value);
  if (noise_sigma > 0)
    seen += noise_sigma * standard_normal(rng);
  return to_tick_price(seen, tick);
}

fundamental_params three_stock_preset(std::uint64_t seed) {
  fundamental_params p;
  p.symbols = {
      {"STOCK_A", 1, 10'000, 0.05, 30, 0},
      {"STOCK_B", 1, 5'000, 0.05, 15, 0},
      {"STOCK_C", 1, 20'000, 0.05, 60, 0},
  };
  p.correlation = {
      {1.0, 0.3, -0.2},
      {0.3, 1.0, 0.1},
      {-0.2, 0.1, 1.0},
  };
  p.seed = seed;
  return p;
}

} // namespace marketsim::market
