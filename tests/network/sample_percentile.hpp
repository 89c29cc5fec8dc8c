#pragma once

/// The exact sample percentile that the latency histograms
/// (network/latency_histogram.hpp) approximate within 1/32.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace net_test {

/// The rank-th smallest of `sorted` (ascending, not empty), rank = ceil(q n)
/// and at least 1.
inline std::int64_t sample_percentile(const std::vector<std::int64_t>& sorted, double q) {
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

} // namespace net_test
