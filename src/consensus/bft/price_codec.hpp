#pragma once

/// Canonical bytes of a price proposal: what a Streamlet block carries as its
/// payload and what validators hash and sign (rules: crypto/canonical.hpp).
///   tag "marketsim/price-proposal/v1", bytes symbol, u64 epoch, i64 price,
///   i64 vwap, u32 count + u32 per source (ascending), i64 volume

#include "consensus/bft/price_types.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace marketsim::consensus::bft {

std::string encode(const price_proposal& p);

/// nullopt on a wrong tag, truncated or trailing bytes, or a source count
/// larger than the bytes could hold.
std::optional<price_proposal> decode_price_proposal(std::string_view bytes);

} // namespace marketsim::consensus::bft
