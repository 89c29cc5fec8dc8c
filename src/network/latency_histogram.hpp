#pragma once

/// A log-scaled histogram of latencies in ns, for percentiles with bounded
/// memory and no sampling (so statistics stay deterministic). Used by
/// link_model (per link) and by the route statistics of the link actors (per
/// (from, to) pair).
///
/// Values below 32 ns have a bucket each (exact); above, every power of two
/// [2^e, 2^(e+1)) is split into 32 equal buckets, so a reported percentile
/// (the midpoint of the bucket that holds the rank-th smallest value, kept
/// within [min, max]) is within 1/32 (3.1 %) of the true sample percentile.
/// min and max are exact. It holds the counters from the lowest bucket used
/// to the highest (at most 1,888; a few dozen for latencies within a factor
/// of two or three of each other, as a route's usually are), so one per
/// route stays small. Negative values count in the bucket of 0 (min stays
/// exact).
///
/// Histograms merge exactly: merge() adds the buckets, so the percentiles of
/// a merged histogram are those of one histogram fed every value, never an
/// average of percentiles. nonzero_buckets() and from_buckets() carry one
/// through a message (actors::net_route_count::latency_buckets).

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace marketsim::network {

class latency_histogram {
public:
  /// Values below sub_count have a bucket each; above, a power of two
  /// [2^e, 2^(e+1)) is split into sub_count equal buckets.
  static constexpr int sub_bits = 5;
  static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;

  /// One non-empty bucket: `count` values fell into bucket `index`.
  struct bucket {
    std::uint32_t index = 0;
    std::uint64_t count = 0;
    friend bool operator==(const bucket&, const bucket&) = default;
  };

  /// The bucket that holds `ns`.
  static constexpr std::uint32_t bucket_of(std::int64_t ns) {
    const auto v = static_cast<std::uint64_t>(ns < 0 ? 0 : ns);
    if (v < sub_count)
      return static_cast<std::uint32_t>(v);
    const int e = std::bit_width(v) - 1; // >= sub_bits
    const std::uint64_t sub = (v >> (e - sub_bits)) & (sub_count - 1);
    return static_cast<std::uint32_t>(sub_count + (e - sub_bits) * sub_count + sub);
  }

  // Inline with bucket_of: it runs for every transmitted message of a link
  // and every delivered message of a route.
  void record(std::int64_t ns) {
    if (count_ == 0) {
      min_ = ns;
      max_ = ns;
    } else {
      min_ = std::min(min_, ns);
      max_ = std::max(max_, ns);
    }
    ++count_;
    const auto b = bucket_of(ns);
    if (b < first_ || b - first_ >= counts_.size())
      make_room(b);
    ++counts_[b - first_];
  }

  /// Adds every value of `other`, as if each had been recorded here.
  void merge(const latency_histogram& other);

  std::uint64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::int64_t min() const { return min_; } ///< 0 when empty
  std::int64_t max() const { return max_; } ///< 0 when empty

  /// The percentile q in [0, 1] (clamped): the rank-th smallest value,
  /// rank = ceil(q * count) and at least 1, within the precision above and
  /// never outside [min(), max()]; 0 when empty.
  std::int64_t percentile(double q) const;

  /// The non-empty buckets, by ascending index.
  std::vector<bucket> nonzero_buckets() const;

  /// The histogram whose nonzero_buckets(), min() and max() are the given
  /// ones. Throws std::invalid_argument if they cannot come from one: an
  /// index out of range or not ascending, a zero count, min or max outside
  /// the first or last bucket.
  static latency_histogram from_buckets(const std::vector<bucket>& buckets,
                                        std::int64_t min, std::int64_t max);

  friend bool operator==(const latency_histogram&, const latency_histogram&) = default;

private:
  /// Widens counts_ to hold bucket b.
  void make_room(std::uint32_t b);

  std::uint64_t count_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  std::uint32_t first_ = 0; ///< the bucket of counts_[0]
  /// The counts of buckets first_, first_ + 1, ...; empty, or its first and
  /// last elements are non-zero (so equal histograms compare equal).
  std::vector<std::uint64_t> counts_;
};

} // namespace marketsim::network
