#pragma once

/// Per-actor random streams derived from the scenario seed. Pure and
/// header-only: no CAF. The generators are specified here bit for bit (not
/// std::*_distribution, whose algorithms differ between standard libraries),
/// so the same seed gives the same run everywhere.

#include <cmath>
#include <cstdint>
#include <limits>

namespace marketsim::actors {

/// splitmix64 step: used to seed streams and to derive stream ids.
constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The seed of stream `stream` (e.g. an agent's index, or a role tag mixed
/// with an index) of a scenario: neighbouring streams are unrelated.
constexpr std::uint64_t derive_seed(std::uint64_t scenario_seed, std::uint64_t stream) {
  std::uint64_t s = scenario_seed ^ (stream * 0xD1B54A32D192ED03ull);
  splitmix64(s);
  return splitmix64(s);
}

/// xoshiro256** (Blackman & Vigna): small (32 bytes), fast, good quality.
class random_stream {
public:
  using result_type = std::uint64_t;

  explicit random_stream(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t s = seed;
    for (auto& x : s_)
      x = splitmix64(s);
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  result_type operator()() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1), 53 bits.
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [lo, hi] (inclusive; lo <= hi). Lemire's method
  /// without the rejection step: bias below 2^-64 * range, irrelevant here.
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {
    const auto range = static_cast<unsigned __int128>(static_cast<std::uint64_t>(hi - lo)) + 1;
    const auto r = (static_cast<unsigned __int128>((*this)()) * range) >> 64;
    return lo + static_cast<std::int64_t>(r);
  }

  /// True with probability p.
  bool bernoulli(double p) { return uniform() < p; }

  /// Standard normal (Marsaglia polar method; the spare value is kept).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double m = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * m;
    has_spare_ = true;
    return u * m;
  }

  double normal(double mean, double sigma) { return mean + sigma * normal(); }

  /// Exponential with the given mean (> 0).
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }

private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
  }

  std::uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

} // namespace marketsim::actors
