#include "consensus/bft/price_validation.hpp"

namespace marketsim::consensus::bft {

quote_reject validate_quote(const price_quote& q, const quote_rules& rules,
                            std::optional<price_ticks> last_finalized, time_ns now) {
  if (q.price <= 0)
    return quote_reject::bad_price;
  if (q.price < rules.min_price)
    return quote_reject::below_min_price;
  if (q.price > rules.max_price)
    return quote_reject::above_max_price;
  if (q.volume < rules.min_volume || q.volume <= 0)
    return quote_reject::low_volume;
  if (now - q.time > rules.max_age)
    return quote_reject::stale;
  if (q.time - now > rules.max_future)
    return quote_reject::from_future;
  if (last_finalized && *last_finalized > 0 &&
      !within_bps(q.price, *last_finalized, *last_finalized, rules.max_move_bps))
    return quote_reject::too_far_from_finalized;
  return quote_reject::none;
}

} // namespace marketsim::consensus::bft
