#pragma once

/// The consensus-aware price band of an exchange shard: an order or trade
/// price more than max_deviation_bps (default 5%) away from the latest
/// finalized consensus price of its symbol is rejected, with a reason. Pure:
/// the shard (or its actor) feeds finalized prices in and asks per price.
///
/// Policy without a finalized price (start of day, consensus not yet live):
/// accept (band_verdict::no_finalized_price, which is accepted). Refusing
/// would stop all trading whenever consensus lags; the shard's own checks
/// still apply. A shard that wants the opposite tests accepted() itself.
///
/// The arithmetic and the epoch rule are market::price_band_guard's (the
/// exchange shard uses that one directly, so the market does not depend on
/// consensus); this adds the verdicts the consensus side reports.

#include "consensus/bft/price_types.hpp"
#include "market/price_band_guard.hpp"
#include "market/types.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace marketsim::consensus::bft {

struct price_band_params {
  std::int64_t max_deviation_bps = 500; ///< inclusive: exactly 5% is inside
};

enum class band_verdict : std::uint8_t {
  within_band,
  no_finalized_price, ///< accepted by policy (see above)
  above_band,         ///< rejected: more than the band above the finalized price
  below_band,         ///< rejected: more than the band below the finalized price
  bad_price,          ///< rejected: zero or negative price
};

std::string_view to_string(band_verdict x);

/// True for within_band and no_finalized_price.
constexpr bool accepted(band_verdict v) {
  return v == band_verdict::within_band || v == band_verdict::no_finalized_price;
}

/// The market's reason for a band verdict: none when accepted,
/// reject_reason::bad_price for bad_price, else reject_reason::outside_price_band.
market::reject_reason to_reject_reason(band_verdict v);

/// The check itself, for callers that keep the finalized price elsewhere.
band_verdict check_band(price_ticks price, std::optional<price_ticks> finalized,
                        const price_band_params& params = {});

/// One symbol's band: the latest finalized price (by epoch) and the check.
class price_band {
public:
  explicit price_band(price_band_params params = {})
      : params_(params), guard_(params.max_deviation_bps) {}

  /// Records the price finalized in `epoch`. Finalizations may reach a shard
  /// late, twice or out of order: one not newer than the latest recorded is
  /// ignored (returns false). Non-positive prices are ignored too.
  bool on_finalized(epoch_t epoch, price_ticks price);

  std::optional<price_ticks> reference() const { return guard_.reference(); }
  std::optional<epoch_t> reference_epoch() const { return guard_.reference_epoch(); }

  band_verdict check(price_ticks price) const {
    return check_band(price, reference(), params_);
  }

  /// [lowest, highest] accepted price (nullopt without a finalized price).
  std::optional<std::pair<price_ticks, price_ticks>> limits() const {
    return guard_.limits();
  }

private:
  price_band_params params_;
  market::price_band_guard guard_;
};

} // namespace marketsim::consensus::bft
