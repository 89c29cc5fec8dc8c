#include "consensus/bft/price_types.hpp"

namespace marketsim::consensus::bft {

std::string_view to_string(quote_reject x) {
  switch (x) {
  case quote_reject::none:
    return "none";
  case quote_reject::duplicate_source:
    return "duplicate_source";
  case quote_reject::bad_price:
    return "bad_price";
  case quote_reject::below_min_price:
    return "below_min_price";
  case quote_reject::above_max_price:
    return "above_max_price";
  case quote_reject::low_volume:
    return "low_volume";
  case quote_reject::stale:
    return "stale";
  case quote_reject::from_future:
    return "from_future";
  case quote_reject::too_far_from_finalized:
    return "too_far_from_finalized";
  }
  return "quote_reject?";
}

std::string_view to_string(no_proposal_reason x) {
  switch (x) {
  case no_proposal_reason::none:
    return "none";
  case no_proposal_reason::too_few_sources:
    return "too_few_sources";
  }
  return "no_proposal_reason?";
}

std::string_view to_string(proposal_verdict x) {
  switch (x) {
  case proposal_verdict::accept:
    return "accept";
  case proposal_verdict::wrong_symbol:
    return "wrong_symbol";
  case proposal_verdict::wrong_epoch:
    return "wrong_epoch";
  case proposal_verdict::malformed:
    return "malformed";
  case proposal_verdict::too_few_sources:
    return "too_few_sources";
  case proposal_verdict::price_out_of_bounds:
    return "price_out_of_bounds";
  case proposal_verdict::too_far_from_finalized:
    return "too_far_from_finalized";
  case proposal_verdict::no_own_view:
    return "no_own_view";
  case proposal_verdict::price_disagrees:
    return "price_disagrees";
  case proposal_verdict::vwap_disagrees:
    return "vwap_disagrees";
  }
  return "proposal_verdict?";
}

std::string to_string(const price_proposal& x) {
  std::string s = x.symbol + " epoch=" + std::to_string(x.epoch) +
                  " price=" + std::to_string(x.price) +
                  " vwap=" + std::to_string(x.vwap) +
                  " volume=" + std::to_string(x.volume) + " sources=[";
  for (std::size_t i = 0; i < x.sources.size(); ++i) {
    if (i > 0)
      s += ',';
    s += std::to_string(x.sources[i]);
  }
  return s + "]";
}

bool within_bps(price_ticks a, price_ticks b, price_ticks reference, std::int64_t bps) {
  const __int128 diff =
      a > b ? static_cast<__int128>(a) - b : static_cast<__int128>(b) - a;
  return diff * bps_per_unit <= static_cast<__int128>(reference) * bps;
}

} // namespace marketsim::consensus::bft
