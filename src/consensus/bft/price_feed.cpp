#include "consensus/bft/price_feed.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace marketsim::consensus::bft {

namespace {

/// `price` moved by `bps` basis points, rounded to a tick, at least `floor`.
price_ticks moved(price_ticks price, double bps, price_ticks floor) {
  const double p = static_cast<double>(price) * (1.0 + bps / bps_per_unit);
  return std::max(floor, static_cast<price_ticks>(std::llround(p)));
}

} // namespace

std::string_view to_string(source_fault x) {
  switch (x) {
  case source_fault::none:
    return "none";
  case source_fault::stale:
    return "stale";
  case source_fault::outlier:
    return "outlier";
  case source_fault::zero_volume:
    return "zero_volume";
  }
  return "source_fault?";
}

// -- feed_source --

feed_source::feed_source(feed_source_params params)
    : params_(params), rng_(params.seed) {}

price_quote feed_source::quote(price_ticks reference, time_ns now) {
  if (params_.fault == source_fault::stale && has_frozen_)
    return frozen_;
  price_quote q;
  q.source = params_.id;
  q.time = now;
  q.price = moved(reference, rng_.normal(0.0, static_cast<double>(params_.noise_bps)), 1);
  q.volume = rng_.uniform_int(params_.min_volume, params_.max_volume);
  switch (params_.fault) {
  case source_fault::none:
    break;
  case source_fault::stale:
    has_frozen_ = true;
    frozen_ = q;
    break;
  case source_fault::outlier: {
    const double sign = rng_.bernoulli(0.5) ? 1.0 : -1.0;
    q.price = moved(reference, sign * static_cast<double>(params_.outlier_bps), 1);
    break;
  }
  case source_fault::zero_volume:
    q.volume = 0;
    break;
  }
  return q;
}

// -- reference_walk --

reference_walk::reference_walk(reference_walk_params params, std::uint64_t seed)
    : params_(params), rng_(seed), current_(params.start) {}

price_ticks reference_walk::step() {
  current_ = moved(current_, rng_.normal(0.0, static_cast<double>(params_.step_bps)),
                   params_.floor);
  return current_;
}

// -- simulated_feeds --

simulated_feeds::simulated_feeds(reference_walk_params walk,
                                 std::vector<feed_source_params> sources,
                                 std::uint64_t seed)
    : walk_(walk, actors::derive_seed(seed, 0)) {
  sources_.reserve(sources.size());
  for (auto& p : sources)
    sources_.emplace_back(p);
}

std::vector<price_quote> simulated_feeds::sample(time_ns now) {
  const price_ticks ref = walk_.step();
  std::vector<price_quote> out;
  out.reserve(sources_.size());
  for (auto& s : sources_)
    out.push_back(s.quote(ref, now));
  return out;
}

std::vector<feed_source_params> honest_sources(std::size_t n, std::uint64_t seed) {
  std::vector<feed_source_params> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].id = static_cast<source_id>(i + 1);
    out[i].seed = actors::derive_seed(seed, i + 1);
  }
  return out;
}

} // namespace marketsim::consensus::bft
