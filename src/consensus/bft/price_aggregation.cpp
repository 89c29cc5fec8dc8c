#include "consensus/bft/price_aggregation.hpp"

#include "consensus/bft/price_validation.hpp"

#include <algorithm>
#include <set>

namespace marketsim::consensus::bft {

price_ticks median_price(std::vector<price_ticks> prices) {
  std::sort(prices.begin(), prices.end());
  const std::size_t n = prices.size();
  if (n % 2 == 1)
    return prices[n / 2];
  const price_ticks lo = prices[n / 2 - 1];
  const price_ticks hi = prices[n / 2];
  return lo + (hi - lo) / 2;
}

price_ticks vwap(std::span<const price_quote> quotes) {
  __int128 notional = 0;
  __int128 volume = 0;
  for (const auto& q : quotes) {
    notional += static_cast<__int128>(q.price) * q.volume;
    volume += q.volume;
  }
  return static_cast<price_ticks>((notional + volume / 2) / volume);
}

aggregation_result aggregate(const std::string& symbol, epoch_t epoch,
                             std::span<const price_quote> quotes,
                             const aggregation_rules& rules,
                             std::optional<price_ticks> last_finalized, time_ns now) {
  aggregation_result out;
  std::set<source_id> seen;
  std::vector<price_quote> valid;
  for (const auto& q : quotes) {
    quote_reject why = seen.insert(q.source).second
                           ? validate_quote(q, rules.quotes, last_finalized, now)
                           : quote_reject::duplicate_source;
    out.verdicts.push_back({q, why});
    if (why == quote_reject::none)
      valid.push_back(q);
  }
  out.valid = valid.size();
  if (valid.empty() || valid.size() < rules.min_sources) {
    out.why = no_proposal_reason::too_few_sources;
    return out;
  }
  std::sort(valid.begin(), valid.end(), [](const price_quote& a, const price_quote& b) {
    return a.source < b.source;
  });
  price_proposal p;
  p.symbol = symbol;
  p.epoch = epoch;
  std::vector<price_ticks> prices;
  for (const auto& q : valid) {
    prices.push_back(q.price);
    p.sources.push_back(q.source);
    p.volume += q.volume;
  }
  p.price = median_price(std::move(prices));
  p.vwap = vwap(valid);
  out.proposal = std::move(p);
  return out;
}

namespace {

bool well_formed(const price_proposal& p) {
  return p.volume > 0 && std::adjacent_find(p.sources.begin(), p.sources.end(),
                                            [](source_id a, source_id b) {
                                              return a >= b;
                                            }) == p.sources.end();
}

bool in_bounds(price_ticks x, const quote_rules& r) {
  return x >= r.min_price && x <= r.max_price && x > 0;
}

} // namespace

proposal_verdict check_proposal(const price_proposal& p, const validator_view& view,
                                const aggregation_rules& rules,
                                const proposal_tolerance& tolerance) {
  if (p.symbol != view.symbol)
    return proposal_verdict::wrong_symbol;
  if (p.epoch != view.epoch)
    return proposal_verdict::wrong_epoch;
  if (!well_formed(p))
    return proposal_verdict::malformed;
  if (p.sources.size() < rules.min_sources)
    return proposal_verdict::too_few_sources;
  if (!in_bounds(p.price, rules.quotes) || !in_bounds(p.vwap, rules.quotes))
    return proposal_verdict::price_out_of_bounds;
  const auto& last = view.last_finalized;
  if (last && *last > 0 && !within_bps(p.price, *last, *last, rules.quotes.max_move_bps))
    return proposal_verdict::too_far_from_finalized;
  if (!view.own)
    return proposal_verdict::no_own_view;
  if (!within_bps(p.price, view.own->price, view.own->price, tolerance.price_bps))
    return proposal_verdict::price_disagrees;
  if (!within_bps(p.vwap, view.own->vwap, view.own->vwap, tolerance.vwap_bps))
    return proposal_verdict::vwap_disagrees;
  return proposal_verdict::accept;
}

} // namespace marketsim::consensus::bft
