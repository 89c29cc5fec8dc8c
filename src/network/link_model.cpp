#include "network/link_model.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace marketsim::network {

namespace {

// -- log-scaled histogram --
// Values below 2^sub_bits have a bucket each; above, a power of two
// [2^e, 2^(e+1)) is split into 2^sub_bits equal buckets.
constexpr int sub_bits = 5;
constexpr std::uint64_t sub_count = 1u << sub_bits;

std::size_t bucket_of(std::int64_t ns) {
  auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
  if (v < sub_count)
    return static_cast<std::size_t>(v);
  const int e = std::bit_width(v) - 1; // >= sub_bits
  const std::uint64_t sub = (v >> (e - sub_bits)) & (sub_count - 1);
  return static_cast<std::size_t>(sub_count + (e - sub_bits) * sub_count + sub);
}

struct bucket_range {
  std::int64_t lo;
  std::int64_t width;
};

bucket_range range_of(std::size_t index) {
  if (index < sub_count)
    return {static_cast<std::int64_t>(index), 1};
  const std::uint64_t rest = index - sub_count;
  const int shift = static_cast<int>(rest / sub_count);
  const std::uint64_t sub = rest % sub_count;
  return {static_cast<std::int64_t>((sub_count + sub) << shift),
          static_cast<std::int64_t>(1) << shift};
}

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
    record_latency(d.deliver_at_ns - now_ns);
  }
  return d;
}

void link_model::record_latency(std::int64_t ns) {
  if (stats_.delivered == 1) {
    stats_.latency_min_ns = ns;
    stats_.latency_max_ns = ns;
  } else {
    stats_.latency_min_ns = std::min(stats_.latency_min_ns, ns);
    stats_.latency_max_ns = std::max(stats_.latency_max_ns, ns);
  }
  const std::size_t b = bucket_of(ns);
  if (histogram_.size() <= b)
    histogram_.resize(b + 1, 0);
  ++histogram_[b];
}

std::int64_t link_model::latency_percentile(double q) const {
  if (stats_.delivered == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank-th smallest sample, rank = ceil(q n), at least 1.
  auto rank =
      static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(stats_.delivered)));
  rank = std::clamp<std::uint64_t>(rank, 1, stats_.delivered);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < histogram_.size(); ++i) {
    seen += histogram_[i];
    if (seen >= rank) {
      const auto r = range_of(i);
      // The bucket's midpoint, never outside what was observed.
      return std::clamp(r.lo + (r.width - 1) / 2, stats_.latency_min_ns,
                        stats_.latency_max_ns);
    }
  }
  return stats_.latency_max_ns;
}

link_stats link_model::stats() const {
  link_stats s = stats_;
  s.latency_p50_ns = latency_percentile(0.50);
  s.latency_p90_ns = latency_percentile(0.90);
  s.latency_p99_ns = latency_percentile(0.99);
  return s;
}

} // namespace marketsim::network
