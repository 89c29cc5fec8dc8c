#include "network/link_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace marketsim::network {

namespace {

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  return r;
}

} // namespace

link_model::link_model(link_params params, std::uint64_t seed)
    : params_(std::move(params)), rng_(seed), effective_bps_(params_.bandwidth_bps),
      busy_until_(std::numeric_limits<std::int64_t>::min()),
      last_deliver_at_(std::numeric_limits<std::int64_t>::min()) {
  if (params_.bandwidth_bps <= 0)
    throw std::invalid_argument("link: bandwidth must be positive, got " +
                                std::to_string(params_.bandwidth_bps));
  if (!(params_.loss_rate >= 0 && params_.loss_rate <= 1))
    throw std::invalid_argument("link: loss rate must be in [0, 1]");
}

void link_model::set_bandwidth_factor(double f) {
  if (!(f > 0 && f <= 1))
    throw std::invalid_argument("link: bandwidth factor must be in (0, 1]");
  bandwidth_factor_ = f;
  effective_bps_ = std::max<std::int64_t>(
      1, std::llround(static_cast<double>(params_.bandwidth_bps) * f));
}

void link_model::set_latency_multiplier(double m) {
  if (!(m >= 1) || !std::isfinite(m))
    throw std::invalid_argument("link: latency multiplier must be finite and >= 1");
  latency_multiplier_ = m;
}

std::int64_t link_model::serialization_ns(std::size_t bytes) const {
  // ceil(bytes * 8e9 / bps) in 128 bits: exact for any message size.
  const auto bits_ns = static_cast<unsigned __int128>(bytes) * 8u * 1'000'000'000u;
  const auto bps = static_cast<unsigned __int128>(effective_bps_);
  const auto ns = (bits_ns + bps - 1) / bps;
  constexpr auto cap =
      static_cast<unsigned __int128>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(ns, cap));
}

delivery link_model::transmit(std::int64_t now_ns, std::size_t bytes) {
  delivery d;
  const std::int64_t start = std::max(now_ns, busy_until_);
  d.queueing_ns = start - now_ns;
  d.serialization_ns = serialization_ns(bytes);
  busy_until_ = saturating_add(start, d.serialization_ns);

  std::int64_t propagation = params_.propagation.sample(rng_);
  if (latency_multiplier_ != 1)
    propagation = std::llround(static_cast<double>(propagation) * latency_multiplier_);
  d.deliver_at_ns = saturating_add(busy_until_, propagation);
  d.lost = rng_.bernoulli(params_.loss_rate);
  if (!d.lost && params_.ordered)
    d.deliver_at_ns = std::max(d.deliver_at_ns, last_deliver_at_);

  ++stats_.messages;
  stats_.bytes += bytes;
  stats_.total_queueing_ns = saturating_add(stats_.total_queueing_ns, d.queueing_ns);
  stats_.max_queueing_ns = std::max(stats_.max_queueing_ns, d.queueing_ns);
  if (d.lost) {
    ++stats_.drops;
  } else {
    ++stats_.delivered;
    last_deliver_at_ = std::max(last_deliver_at_, d.deliver_at_ns);
    latency_.record(d.deliver_at_ns - now_ns);
  }
  return d;
}

link_stats link_model::stats() const {
  link_stats s = stats_;
  s.latency_min_ns = latency_.min();
  s.latency_max_ns = latency_.max();
  s.latency_p50_ns = latency_percentile(0.50);
  s.latency_p90_ns = latency_percentile(0.90);
  s.latency_p99_ns = latency_percentile(0.99);
  return s;
}

} // namespace marketsim::network
