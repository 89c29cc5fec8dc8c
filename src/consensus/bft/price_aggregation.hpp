#pragma once

/// Aggregation of validated quotes into a price proposal (what a Streamlet
/// leader proposes), and the validator-side check of a leader's proposal
/// against the validator's own view (so a voter can refuse a bad proposal).
/// Pure and deterministic: the result depends only on the arguments.
///
/// Why the median: with 2m+1 valid quotes, fewer than half of them (up to m)
/// lying sources can move the median only within the range of the honest
/// quotes, whereas one lying source moves a mean without bound (inside the
/// rule bounds). The VWAP is reported next to it for information; it is not
/// robust and is checked with a wider tolerance.

#include "consensus/bft/price_types.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace marketsim::consensus::bft {

/// What the aggregator did with each quote, in input order.
struct quote_verdict {
  price_quote quote;
  quote_reject why = quote_reject::none;
};

struct aggregation_result {
  std::optional<price_proposal> proposal; ///< set iff why == none
  no_proposal_reason why = no_proposal_reason::none;
  std::vector<quote_verdict> verdicts;
  std::size_t valid = 0; ///< quotes that passed
};

/// Validates every quote (validate_quote; a source's second quote in the
/// input is a duplicate_source), then, with at least rules.min_sources valid
/// quotes, proposes the median price (the mean of the two middle prices,
/// rounded down, for an even count), the VWAP (rounded to the nearest tick)
/// and the total volume of the valid quotes.
aggregation_result aggregate(const std::string& symbol, epoch_t epoch,
                             std::span<const price_quote> quotes,
                             const aggregation_rules& rules,
                             std::optional<price_ticks> last_finalized, time_ns now);

/// Median of non-empty `prices` (the mean of the two middle values, rounded
/// down, for an even count).
price_ticks median_price(std::vector<price_ticks> prices);

/// VWAP of quotes with positive total volume, rounded to the nearest tick.
price_ticks vwap(std::span<const price_quote> quotes);

/// How far a proposal may be from the validator's own view.
struct proposal_tolerance {
  std::int64_t price_bps = 50; ///< 0.5% of the validator's own median
  std::int64_t vwap_bps = 100; ///< 1% of the validator's own VWAP
};

/// The validator's own view, for check_proposal: what it would propose itself
/// for the same symbol and epoch (nullopt: it cannot form one).
struct validator_view {
  std::string symbol;
  epoch_t epoch = 0;
  std::optional<price_proposal> own;
  std::optional<price_ticks> last_finalized;
};

/// Accept `p` only if it is well formed, has a quorum of sources, respects
/// the bounds and the move limit, and its price and VWAP are within tolerance
/// of the validator's own. Policy: a validator without its own view refuses
/// (no_own_view): it cannot vouch for a price it cannot see, and Streamlet
/// only loses liveness, never safety, when validators abstain.
proposal_verdict check_proposal(const price_proposal& p, const validator_view& view,
                                const aggregation_rules& rules,
                                const proposal_tolerance& tolerance = {});

} // namespace marketsim::consensus::bft
