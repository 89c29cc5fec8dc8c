#pragma once

/// The hidden "true" values of several symbols: a mean-reverting
/// (Ornstein-Uhlenbeck) process per symbol, driven by correlated shocks. Pure:
/// time is an input (`step(dt)`), the randomness is a seeded generator owned
/// here, nothing reads a clock or a file.
///
/// ## Model
///
/// Symbol i follows dX = kappa_i (mean_i - X) dt + sigma_i dW_i, where the
/// Brownian motions W have the configured correlation matrix. `step(dt)` uses
/// the exact transition of each symbol,
///   X' = mean + (X - mean) a + sigma sqrt((1 - a^2) / (2 kappa)) Z,  a = e^{-kappa dt}
/// (sigma sqrt(dt) Z when kappa = 0: a random walk). There is no
/// discretisation error: the distribution of the values at a time does not
/// depend on how finely the caller steps to it. Z = L N with L the
/// Cholesky factor of the correlation matrix and N independent standard
/// normals. This is exact when all symbols share one kappa (the preset); with
/// different kappas the true shock correlation differs from the configured one
/// by a term of order ((kappa_i - kappa_j) dt)^2, negligible for the small
/// steps a market simulation takes.
///
/// Values are unbounded reals (an OU process can go below zero); the prices
/// handed out are rounded to the symbol's tick and never below one tick.
///
/// ## Determinism
///
/// The generator is std::mt19937_64, whose output the standard fixes. Normal
/// variates come from our own polar method rather than std::normal_distribution
/// (whose algorithm each standard library chooses), so the same seed and the
/// same sequence of `dt` give the same path with any standard library.

#include "market/types.hpp"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace marketsim::market {

/// One symbol's process. Prices are in price units (ticks of size 1 when the
/// symbol's tick is 1).
struct fundamental_symbol {
  std::string name;
  price_t tick = 1;   ///< > 0; prices are multiples of it
  double mean = 0;    ///< long-run mean, price units; > 0
  double kappa = 0;   ///< mean-reversion rate per unit time; >= 0 (0: random walk)
  double sigma = 0;   ///< volatility, price units per sqrt(unit time); >= 0
  double initial = 0; ///< starting value; 0 means "start at the mean"
};

/// Validated by the fundamental_process constructor (std::invalid_argument).
struct fundamental_params {
  std::vector<fundamental_symbol> symbols;
  /// n x n correlation of the shocks, rows in symbol order: symmetric, unit
  /// diagonal, positive definite. Empty means independent symbols.
  std::vector<std::vector<double>> correlation;
  std::uint64_t seed = 0;
};

/// The lower-triangular L with L L^T = `correlation`. Throws
/// std::invalid_argument, naming the offending entry, unless the matrix is
/// square, finite, symmetric, has a unit diagonal, off-diagonal entries in
/// [-1, 1], and is positive definite.
std::vector<std::vector<double>>
correlation_cholesky(const std::vector<std::vector<double>>& correlation);

class fundamental_process {
public:
  /// Throws std::invalid_argument on invalid params (start-up only).
  explicit fundamental_process(fundamental_params params);

  /// Advances every symbol by `dt` time units (the caller's clock). dt = 0
  /// changes nothing and draws nothing. Throws std::invalid_argument on a
  /// negative or non-finite dt: that is a bug in the caller.
  void step(double dt);

  std::size_t size() const { return values_.size(); }
  /// Total time stepped so far.
  double time() const { return time_; }
  /// The exact (unrounded) value of symbol `i` (index into params().symbols).
  double value(std::size_t i) const { return values_.at(i); }
  /// Symbol `i`'s value on its tick, at least one tick.
  price_t price(std::size_t i) const { return prices_.at(i); }
  /// All prices, in symbol order.
  const std::vector<price_t>& prices() const { return prices_; }
  const fundamental_params& params() const { return params_; }

private:
  fundamental_params params_;
  std::vector<std::vector<double>> cholesky_;
  std::vector<double> values_;
  std::vector<price_t> prices_;
  std::vector<double> normals_; ///< scratch for one step's independent draws
  double time_ = 0;
  std::mt19937_64 rng_;
};

/// `value` rounded to the nearest multiple of `tick` (> 0), never below one
/// tick (also for NaN), and never above a bound far beyond any real price
/// (1e15 price units), so the conversion to an integer is always defined.
price_t to_tick_price(double value, price_t tick);

/// A standard normal variate by Marsaglia's polar method (see "Determinism").
double standard_normal(std::mt19937_64& rng);

/// An agent's private, noisy view of a true value: truth + N(0, noise_sigma^2)
/// in price units, on `tick`, at least one tick. Each call is an independent
/// observation drawn from the agent's own generator. noise_sigma = 0 returns
/// the truth (on tick). Throws std::invalid_argument on a negative or
/// non-finite noise_sigma.
price_t noisy_observation(price_t true_value, double noise_sigma, price_t tick,
                          std::mt19937_64& rng);

/// The reference case of the multi-symbol milestone: STOCK_A, STOCK_B, STOCK_C
/// with tick 1 and means 10000, 5000, 20000 (100.00, 50.00, 200.00 in units of
/// 0.01), correlations A-B 0.3, A-C -0.2, B-C 0.1. The time unit is one second
/// of simulated time: kappa 0.05 per second (a half-life of about 14 s) and
/// sigma 30, 15, 60 per sqrt(second) for all three, so each stationary
/// standard deviation, sigma / sqrt(2 kappa), is about 0.95% of its mean.
fundamental_params three_stock_preset(std::uint64_t seed);

} // namespace marketsim::market
