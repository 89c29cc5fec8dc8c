#pragma once

/// Validation of one feed quote against the price consensus rules. Pure.

#include "consensus/bft/price_types.hpp"

#include <optional>

namespace marketsim::consensus::bft {

/// The first rule `q` breaks (quote_reject::none if it passes), checked in
/// order: price sign, bounds, volume, staleness, future, move from the last
/// finalized price (skipped when nothing is finalized yet: the bounds are
/// then the only guard). Duplicate sources are the aggregator's concern.
quote_reject validate_quote(const price_quote& q, const quote_rules& rules,
                            std::optional<price_ticks> last_finalized, time_ns now);

} // namespace marketsim::consensus::bft
