#pragma once

/// Simulated price feeds (AAPL-like) for the price consensus: a moving
/// reference price and several sources quoting around it, each with its own
/// seeded random stream, so the same seed gives the same quotes everywhere.
/// Faulty sources (stale, outlier, zero volume) exist for tests and Byzantine
/// scenarios. Pure: no CAF, no clock (the caller passes `now`).

#include "actors/random.hpp"
#include "consensus/bft/price_types.hpp"

#include <cstdint>
#include <vector>

namespace marketsim::consensus::bft {

enum class source_fault : std::uint8_t {
  none,
  stale,       ///< freezes after its first quote: same price, same old timestamp
  outlier,     ///< quotes outlier_bps above or below the reference (random side)
  zero_volume, ///< honest price, volume 0
};

std::string_view to_string(source_fault x);

struct feed_source_params {
  source_id id = 0;
  std::uint64_t seed = 1;
  std::int64_t noise_bps = 5;    ///< std deviation of the quote around the reference
  volume_units min_volume = 100; ///< volume is uniform in [min_volume, max_volume]
  volume_units max_volume = 5'000;
  source_fault fault = source_fault::none;
  std::int64_t outlier_bps = 2'000; ///< distance of an outlier source's quotes (20%)
};

/// One feed source. Quotes are rounded to whole ticks and never below 1 tick.
class feed_source {
public:
  explicit feed_source(feed_source_params params);

  price_quote quote(price_ticks reference, time_ns now);

  const feed_source_params& params() const { return params_; }

private:
  feed_source_params params_;
  actors::random_stream rng_;
  bool has_frozen_ = false;
  price_quote frozen_;
};

struct reference_walk_params {
  price_ticks start = 15'000; ///< $150.00 in cents
  std::int64_t step_bps = 10; ///< std deviation of one step (0.1%)
  price_ticks floor = 1;      ///< the walk never goes below
};

/// A Gaussian random walk in basis points of the current price, rounded to
/// ticks: the "true" price the sources observe.
class reference_walk {
public:
  reference_walk(reference_walk_params params, std::uint64_t seed);

  price_ticks current() const { return current_; }
  /// Moves one step and returns the new reference.
  price_ticks step();

private:
  reference_walk_params params_;
  actors::random_stream rng_;
  price_ticks current_;
};

/// A reference walk and its sources: each sample() moves the reference one
/// step and returns one quote per source, in source order.
class simulated_feeds {
public:
  simulated_feeds(reference_walk_params walk, std::vector<feed_source_params> sources,
                  std::uint64_t seed);

  std::vector<price_quote> sample(time_ns now);
  price_ticks reference() const { return walk_.current(); }

private:
  reference_walk walk_;
  std::vector<feed_source> sources_;
};

/// `n` honest sources with ids 1..n, seeds derived from `seed`, default noise.
std::vector<feed_source_params> honest_sources(std::size_t n, std::uint64_t seed);

} // namespace marketsim::consensus::bft
