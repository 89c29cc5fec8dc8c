#include "consensus/bft/price_band.hpp"

namespace marketsim::consensus::bft {

std::string_view to_string(band_verdict x) {
  switch (x) {
  case band_verdict::within_band:
    return "within_band";
  case band_verdict::no_finalized_price:
    return "no_finalized_price";
  case band_verdict::above_band:
    return "above_band";
  case band_verdict::below_band:
    return "below_band";
  case band_verdict::bad_price:
    return "bad_price";
  }
  return "band_verdict?";
}

market::reject_reason to_reject_reason(band_verdict v) {
  if (accepted(v))
    return market::reject_reason::none;
  if (v == band_verdict::bad_price)
    return market::reject_reason::bad_price;
  return market::reject_reason::outside_price_band;
}

band_verdict check_band(price_ticks price, std::optional<price_ticks> finalized,
                        const price_band_params& params) {
  if (price <= 0)
    return band_verdict::bad_price;
  if (!finalized)
    return band_verdict::no_finalized_price;
  if (market::within_band(price, *finalized, params.max_deviation_bps))
    return band_verdict::within_band;
  return price > *finalized ? band_verdict::above_band : band_verdict::below_band;
}

bool price_band::on_finalized(epoch_t epoch, price_ticks price) {
  return guard_.on_finalized(epoch, price);
}

} // namespace marketsim::consensus::bft
