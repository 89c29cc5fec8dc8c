#pragma once

/// A price band around a reference price: the market side of consensus-aware
/// trading. Pure (no CAF, no clock): the exchange shard keeps one per traded
/// symbol, feeds it finalized prices and asks it per price; the consensus
/// module's price_band (consensus/bft/price_band.hpp) is a thin user of it, so
/// the band's arithmetic lives in one place and the market does not depend on
/// the consensus module.
///
/// The band is inclusive: a price exactly max_deviation_bps away from the
/// reference is inside (exact integer arithmetic, 128-bit products).
/// Without a reference (no finalized price yet) every price is admitted: the
/// band never stops trading because consensus lags.

#include "market/types.hpp"

#include <cstdint>
#include <optional>
#include <utility>

namespace marketsim::market {

/// Basis points: 10'000 bps = 100%.
inline constexpr std::int64_t basis_points_per_unit = 10'000;

/// True when |price - reference| <= bps / 10'000 of reference (> 0).
bool within_band(price_t price, price_t reference, std::int64_t bps);

/// The lowest and highest price within `bps` of `reference` (> 0), inclusive.
std::pair<price_t, price_t> band_limits(price_t reference, std::int64_t bps);

/// One symbol's band: the reference price of the latest epoch and the check.
class price_band_guard {
public:
  explicit price_band_guard(std::int64_t max_deviation_bps = 500)
      : bps_(max_deviation_bps) {}

  /// Records the reference price of `epoch`. Updates may arrive late, twice or
  /// out of order: one whose epoch is not newer than the latest recorded is
  /// ignored (returns false), and so is a non-positive price.
  bool on_finalized(std::uint64_t epoch, price_t price);

  std::optional<price_t> reference() const { return reference_; }
  std::optional<std::uint64_t> reference_epoch() const { return epoch_; }
  std::int64_t max_deviation_bps() const { return bps_; }

  /// True without a reference, else when `price` is within the band. Says
  /// nothing about non-positive prices (the book rejects those).
  bool admits(price_t price) const {
    return !reference_ || within_band(price, *reference_, bps_);
  }

  /// [lowest, highest] admitted price; nullopt without a reference.
  std::optional<std::pair<price_t, price_t>> limits() const;

private:
  std::int64_t bps_;
  std::optional<price_t> reference_;
  std::optional<std::uint64_t> epoch_;
};

} // namespace marketsim::market
