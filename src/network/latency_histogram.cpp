#include "network/latency_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace marketsim::network {

namespace {

// The bucket of INT64_MAX is the last one.
constexpr std::uint32_t bucket_limit =
    latency_histogram::bucket_of(std::numeric_limits<std::int64_t>::max()) + 1;

struct bucket_range {
  std::int64_t lo;
  std::int64_t width;
};

/// The values of bucket `index` (see bucket_of): [lo, lo + width).
bucket_range range_of(std::size_t index) {
  constexpr auto sub_count = latency_histogram::sub_count;
  if (index < sub_count)
    return {static_cast<std::int64_t>(index), 1};
  const std::uint64_t rest = index - sub_count;
  const int shift = static_cast<int>(rest / sub_count);
  const std::uint64_t sub = rest % sub_count;
  return {static_cast<std::int64_t>((sub_count + sub) << shift),
          static_cast<std::int64_t>(1) << shift};
}

} // namespace

void latency_histogram::make_room(std::uint32_t b) {
  if (counts_.empty()) {
    first_ = b;
    counts_.push_back(0);
  } else if (b < first_) {
    counts_.insert(counts_.begin(), first_ - b, 0);
    first_ = b;
  } else {
    counts_.resize(b - first_ + 1, 0);
  }
}

void latency_histogram::merge(const latency_histogram& other) {
  if (other.count_ == 0)
    return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  if (other.first_ < first_) {
    counts_.insert(counts_.begin(), first_ - other.first_, 0);
    first_ = other.first_;
  }
  const std::size_t offset = other.first_ - first_;
  if (counts_.size() < offset + other.counts_.size())
    counts_.resize(offset + other.counts_.size(), 0);
  for (std::size_t i = 0; i < other.counts_.size(); ++i)
    counts_[offset + i] += other.counts_[i];
}

std::int64_t latency_histogram::percentile(double q) const {
  if (count_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank-th smallest value, rank = ceil(q n), at least 1.
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const auto r = range_of(first_ + i);
      // The bucket's midpoint, never outside what was observed.
      return std::clamp(r.lo + (r.width - 1) / 2, min_, max_);
    }
  }
  return max_;
}

std::vector<latency_histogram::bucket> latency_histogram::nonzero_buckets() const {
  std::vector<bucket> out;
  for (std::size_t i = 0; i < counts_.size(); ++i)
    if (counts_[i] != 0)
      out.push_back({static_cast<std::uint32_t>(first_ + i), counts_[i]});
  return out;
}

latency_histogram latency_histogram::from_buckets(const std::vector<bucket>& buckets,
                                                  std::int64_t min, std::int64_t max) {
  latency_histogram h;
  if (buckets.empty()) {
    if (min != 0 || max != 0)
      throw std::invalid_argument("latency histogram: min and max without values");
    return h;
  }
  if (min > max || bucket_of(min) != buckets.front().index ||
      bucket_of(max) != buckets.back().index)
    throw std::invalid_argument("latency histogram: min or max outside its buckets");
  h.first_ = buckets.front().index;
  if (buckets.back().index < h.first_ || buckets.back().index >= bucket_limit)
    throw std::invalid_argument("latency histogram: bucket out of range");
  h.counts_.assign(static_cast<std::size_t>(buckets.back().index - h.first_) + 1, 0);
  std::int64_t previous = -1;
  for (const auto& b : buckets) {
    if (static_cast<std::int64_t>(b.index) <= previous ||
        b.index > buckets.back().index || b.count == 0)
      throw std::invalid_argument("latency histogram: buckets not ascending or empty");
    previous = b.index;
    h.counts_[b.index - h.first_] = b.count;
    h.count_ += b.count;
  }
  h.min_ = min;
  h.max_ = max;
  return h;
}

} // namespace marketsim::network
