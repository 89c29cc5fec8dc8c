#include "market/price_band_guard.hpp"

namespace marketsim::market {

bool within_band(price_t price, price_t reference, std::int64_t bps) {
  const __int128 diff = price > reference ? static_cast<__int128>(price) - reference
                                          : static_cast<__int128>(reference) - price;
  return diff * basis_points_per_unit <= static_cast<__int128>(reference) * bps;
}

std::pair<price_t, price_t> band_limits(price_t reference, std::int64_t bps) {
  // The largest deviation d with d * 10'000 <= reference * bps.
  const auto d = static_cast<price_t>(static_cast<__int128>(reference) * bps /
                                      basis_points_per_unit);
  return {reference - d, reference + d};
}

bool price_band_guard::on_finalized(std::uint64_t epoch, price_t price) {
  if (price <= 0 || (epoch_ && epoch <= *epoch_))
    return false;
  epoch_ = epoch;
  reference_ = price;
  return true;
}

std::optional<std::pair<price_t, price_t>> price_band_guard::limits() const {
  if (!reference_)
    return std::nullopt;
  return band_limits(*reference_, bps_);
}

} // namespace marketsim::market
