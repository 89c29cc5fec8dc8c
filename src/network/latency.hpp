#pragma once

/// Latency distributions of a link or a pair of sites: a small value type over
/// five models, sampled in integer nanoseconds from a caller-owned
/// `actors::random_stream`. Pure: no CAF, no clock, no I/O.
///
/// ## Models
///
/// - `constant{ns}`: always `ns`.
/// - `normal{mean_ns, stddev_ns}`: a normal **truncated at 0** -- negative draws
///   are redrawn (not clamped), so no mass piles up at zero and `mean()` is the
///   truncated normal's mean, mu + sigma phi(a) / (1 - Phi(a)) with a = -mu/sigma.
///   `mean_ns >= 0` is required, so at least half the draws are accepted.
/// - `exponential{mean_ns}`: exponential with that mean.
/// - `pareto{scale_ns, shape}`: Pareto type I, x_m = scale_ns, alpha = shape;
///   support [x_m, inf). The mean alpha x_m / (alpha - 1) is finite only for
///   alpha > 1: `mean()` returns +infinity otherwise. The variance is finite
///   only for alpha > 2.
/// - `cubic_jitter{min_ns, a, scale_ns, clip}`: ABIDES' cubic model
///   (abides `util/model/LatencyModel.py`):
///     latency = min + scale * a / x^3,  x uniform in (clip, 1].
///   ABIDES writes it as min_latency + (a / x^3) * (min_latency / jitter_unit)
///   with x ~ U(jitter_clip, 1], defaults a = 0.5, jitter_clip = 0.1,
///   jitter_unit = 10; that is our model with scale_ns = min_ns / jitter_unit.
///   We keep the scale separate so a pair can have jitter unrelated to its
///   minimum. The clip is the cap: the jitter never exceeds
///   scale * a / clip^3 (1,000 a scale for the default clip 0.1); clip must be
///   in (0, 1). E[x^-3] = (clip^-2 - 1) / (2 (1 - clip)), 55 for clip 0.1.
///
/// ## Units and saturation
///
/// Parameters and samples are nanoseconds. Every sample is rounded to the
/// nearest nanosecond and saturates at `max_latency_ns` (one day), so that
/// heavy tails (Pareto with a small alpha, a far exponential tail) can never
/// overflow `now + latency` in int64. `mean()` is the analytic mean of the
/// untruncated model (the saturation changes it by a negligible amount for any
/// sensible parameters).
///
/// ## Determinism
///
/// Sampling uses only `random_stream`'s bit-specified generators
/// (`uniform()`, `normal()`), never std::*_distribution, so the same seed gives
/// the same samples with every standard library.

#include "actors/random.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace marketsim::network {

/// Samples saturate here: one day in nanoseconds.
inline constexpr std::int64_t max_latency_ns = 86'400'000'000'000;

namespace latency {

struct constant {
  std::int64_t ns = 0;
  friend bool operator==(const constant&, const constant&) = default;
};

struct normal {
  std::int64_t mean_ns = 0;
  std::int64_t stddev_ns = 0;
  friend bool operator==(const normal&, const normal&) = default;
};

struct exponential {
  std::int64_t mean_ns = 0;
  friend bool operator==(const exponential&, const exponential&) = default;
};

struct pareto {
  std::int64_t scale_ns = 0; ///< x_m, the minimum
  double shape = 0;          ///< alpha
  friend bool operator==(const pareto&, const pareto&) = default;
};

struct cubic_jitter {
  std::int64_t min_ns = 0;
  double a = 0.5;
  std::int64_t scale_ns = 0;
  double clip = 0.1; ///< x is uniform in (clip, 1]
  friend bool operator==(const cubic_jitter&, const cubic_jitter&) = default;
};

} // namespace latency

/// One latency model with validated parameters.
class latency_distribution {
public:
  using model_type =
      std::variant<latency::constant, latency::normal, latency::exponential,
                   latency::pareto, latency::cubic_jitter>;

  /// Zero latency.
  latency_distribution() = default;

  /// Throws std::invalid_argument when a parameter is out of range (negative
  /// or over `max_latency_ns` durations, non-positive exponential mean or
  /// Pareto scale/shape, negative or non-finite cubic `a`, clip outside (0, 1)).
  latency_distribution(model_type model); // NOLINT: implicit on purpose

  /// Any one model converts, e.g. `latency_distribution d = latency::constant{5}`.
  template <class Model>
  requires std::is_constructible_v<model_type, Model>
  latency_distribution(Model model) // NOLINT: implicit on purpose
      : latency_distribution(model_type{model}) {}

  /// One latency in [0, max_latency_ns] nanoseconds.
  std::int64_t sample(actors::random_stream& rng) const;

  /// Analytic mean in nanoseconds; +infinity for Pareto with alpha <= 1.
  double mean() const;

  const model_type& model() const { return model_; }

  friend bool operator==(const latency_distribution&,
                         const latency_distribution&) = default;

private:
  model_type model_;
};

/// The text form `parse_latency` reads, e.g. "pareto(10ms, 2.5)".
std::string to_string(const latency_distribution& d);

/// Reads `constant(5ms)`, `normal(50ms, 10ms)`, `exponential(30ms)`,
/// `pareto(10ms, 2.5)`, `cubic(1ms, 0.5, 1ms)` or `cubic(1ms, 0.5, 1ms, 0.2)`
/// (the last argument is the clip, 0.1 if omitted). Durations need a unit (ns,
/// us, ms, s) and may be decimal ("1.5ms"; rounded to the nanosecond); spaces
/// are allowed around arguments. Throws std::invalid_argument saying what is
/// wrong.
latency_distribution parse_latency(std::string_view text);

} // namespace marketsim::network
