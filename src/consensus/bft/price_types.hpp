#pragma once

/// Value types of the price consensus: quotes from feed sources, the rules a
/// quote must pass, the proposal a Streamlet leader puts in a block, and the
/// reasons for every refusal. Integers only (prices in ticks, volumes in units,
/// times in nanoseconds): these values are hashed and signed. No CAF.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::consensus::bft {

using price_ticks = std::int64_t;
using volume_units = std::int64_t;
using time_ns = std::int64_t;
using source_id = std::uint32_t;
using epoch_t = std::uint64_t;

/// Percentages are integer basis points: 10'000 bps = 100%.
constexpr std::int64_t bps_per_unit = 10'000;

/// One observation of one feed source.
struct price_quote {
  source_id source = 0;
  price_ticks price = 0;
  volume_units volume = 0;
  time_ns time = 0; ///< when the source observed it

  friend bool operator==(const price_quote&, const price_quote&) = default;
};

/// What a single quote must satisfy (the seed's rules: $50..$500, at least 100
/// shares, at most 10% from the last finalized price; plus staleness).
struct quote_rules {
  price_ticks min_price = 5'000;     ///< inclusive; 5'000 cents = $50
  price_ticks max_price = 50'000;    ///< inclusive; $500
  volume_units min_volume = 100;     ///< inclusive
  std::int64_t max_move_bps = 1'000; ///< inclusive, from the last finalized price
  time_ns max_age = 2'000'000'000;   ///< inclusive; older quotes are stale
  time_ns max_future = 100'000'000;  ///< clock skew allowed for quotes "from the future"
};

/// Why a quote was not used. One reason per quote: the first failed check in
/// the order listed.
enum class quote_reject : std::uint8_t {
  none,
  duplicate_source, ///< a second quote of a source already counted
  bad_price,        ///< zero or negative
  below_min_price,
  above_max_price,
  low_volume,             ///< below min_volume (zero volume included)
  stale,                  ///< older than max_age
  from_future,            ///< newer than now + max_future
  too_far_from_finalized, ///< moves more than max_move_bps from the last finalized price
};

/// Aggregation rules: the quote rules plus the quorum of sources.
struct aggregation_rules {
  quote_rules quotes;
  std::size_t min_sources = 3; ///< K: fewer valid sources, no proposal
};

/// What a Streamlet leader proposes for one symbol in one epoch.
struct price_proposal {
  std::string symbol;
  epoch_t epoch = 0;
  price_ticks price = 0;          ///< median of the valid quotes' prices
  price_ticks vwap = 0;           ///< volume-weighted average of the same quotes
  std::vector<source_id> sources; ///< the sources used, ascending, distinct
  volume_units volume = 0;        ///< total volume of the quotes used

  friend bool operator==(const price_proposal&, const price_proposal&) = default;
};

/// Why no proposal was made.
enum class no_proposal_reason : std::uint8_t {
  none,
  too_few_sources, ///< fewer than min_sources valid quotes
};

/// A validator's verdict on a leader's proposal, checked against its own view.
enum class proposal_verdict : std::uint8_t {
  accept,
  wrong_symbol,
  wrong_epoch,
  malformed,              ///< sources not ascending/distinct, non-positive volume
  too_few_sources,        ///< claims fewer sources than the quorum
  price_out_of_bounds,    ///< price or vwap outside the quote rules' bounds
  too_far_from_finalized, ///< price moves more than max_move_bps
  no_own_view,            ///< the validator cannot form its own price: refuse
  price_disagrees,        ///< price beyond tolerance of the validator's own
  vwap_disagrees,         ///< vwap beyond tolerance of the validator's own
};

std::string_view to_string(quote_reject x);
std::string_view to_string(no_proposal_reason x);
std::string_view to_string(proposal_verdict x);
/// One line, for logs and test failure messages.
std::string to_string(const price_proposal& x);

/// True when |a - b| <= bps/10'000 of `reference` (> 0). Exact integer test
/// (128-bit products), so "exactly at the limit" is inside.
bool within_bps(price_ticks a, price_ticks b, price_ticks reference, std::int64_t bps);

} // namespace marketsim::consensus::bft
