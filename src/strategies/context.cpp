#include "strategies/strategy.hpp"

#include <algorithm>
#include <utility>

namespace marketsim::strategies {

namespace {

/// Orders an entry of context::markets_ against a symbol id.
bool symbol_before(const std::pair<market::symbol_id, market_view>& entry,
                   market::symbol_id s) {
  return entry.first < s;
}

} // namespace

context::context(std::uint64_t agent_index, std::uint64_t seed,
                 const market::symbol_table& symbols, market::account_params account)
    : agent_index_(agent_index), rng_(seed), symbols_(&symbols),
      account_(std::move(account)) {}

context::context(std::uint64_t agent_index, std::uint64_t seed,
                 const market::symbol_table& symbols,
                 std::shared_ptr<const market::account_params> account)
    : agent_index_(agent_index), rng_(seed), symbols_(&symbols),
      account_(std::move(account)) {}

// -- what the strategy sees -------------------------------------------------------

const market_view& context::market(market::symbol_id s) const {
  static const market_view nothing_known;
  auto i = std::lower_bound(markets_.begin(), markets_.end(), s, symbol_before);
  return i != markets_.end() && i->first == s ? i->second : nothing_known;
}

const own_order* context::order(local_order_id id) const {
  auto i = orders_.find(id);
  return i == orders_.end() ? nullptr : &i->second;
}

std::optional<latency_estimate> context::latency(market::symbol_id s) const {
  const auto v = venue_of(s);
  if (!v)
    return std::nullopt;
  auto i = std::lower_bound(latencies_.begin(), latencies_.end(), *v,
                            [](const auto& e, venue_id x) { return e.first < x; });
  if (i == latencies_.end() || i->first != *v)
    return std::nullopt;
  return i->second;
}

// -- metrics ----------------------------------------------------------------------

void context::record_metric(std::string_view name, double value) {
  auto i = std::find_if(metrics_.begin(), metrics_.end(),
                        [&](const auto& m) { return m.first == name; });
  if (i != metrics_.end())
    i->second = value;
  else
    metrics_.emplace_back(std::string{name}, value);
}

// -- intents ----------------------------------------------------------------------

local_order_id context::submit(const order_spec& spec) {
  local_order_id id = next_id_++;
  own_order entry;
  entry.id = id;
  entry.spec = spec;
  entry.open = spec.qty;
  entry.price = spec.price;
  orders_.emplace(id, entry);
  intents_.emplace_back(submit_intent{id, spec});
  return id;
}

local_order_id context::buy_limit(market::symbol_id s, market::price_t price,
                                  market::qty_t qty) {
  order_spec spec;
  spec.symbol = s;
  spec.side = market::side::buy;
  spec.price = price;
  spec.qty = qty;
  return submit(spec);
}

local_order_id context::sell_limit(market::symbol_id s, market::price_t price,
                                   market::qty_t qty) {
  order_spec spec;
  spec.symbol = s;
  spec.side = market::side::sell;
  spec.price = price;
  spec.qty = qty;
  return submit(spec);
}

local_order_id context::buy_market(market::symbol_id s, market::qty_t qty) {
  order_spec spec;
  spec.symbol = s;
  spec.side = market::side::buy;
  spec.type = market::order_type::market;
  spec.tif = market::time_in_force::ioc;
  spec.qty = qty;
  return submit(spec);
}

local_order_id context::sell_market(market::symbol_id s, market::qty_t qty) {
  order_spec spec;
  spec.symbol = s;
  spec.side = market::side::sell;
  spec.type = market::order_type::market;
  spec.tif = market::time_in_force::ioc;
  spec.qty = qty;
  return submit(spec);
}

void context::cancel(local_order_id id) {
  intents_.emplace_back(cancel_intent{id});
}

void context::cancel_all() {
  for (const auto& [id, o] : orders_)
    cancel(id);
}

void context::cancel_all(market::symbol_id s) {
  for (const auto& [id, o] : orders_)
    if (o.spec.symbol == s)
      cancel(id);
}

void context::modify(local_order_id id, market::price_t price, market::qty_t qty) {
  intents_.emplace_back(modify_intent{id, price, qty});
}

void context::publish(std::string topic, market::symbol_id s, double value) {
  intents_.emplace_back(
      publish_intent{signal{std::move(topic), s, value, agent_index_ + 1, now_}});
}

void context::set_timer(duration_ns after, std::uint64_t tag) {
  intents_.emplace_back(timer_intent{after, tag});
}

void context::subscribe_market(market::symbol_id s, bool trades) {
  intents_.emplace_back(subscribe_market_intent{s, trades});
}

void context::request_quote(market::symbol_id s) {
  intents_.emplace_back(request_quote_intent{s});
}

void context::subscribe_signal(std::string topic) {
  intents_.emplace_back(subscribe_signal_intent{std::move(topic)});
}

void context::stop() {
  stopped_ = true;
  intents_.emplace_back(stop_intent{});
}

// -- host side --------------------------------------------------------------------

std::vector<intent> context::take_intents() {
  std::vector<intent> out;
  out.swap(intents_);
  return out;
}

std::optional<venue_id> context::venue_of(market::symbol_id s) const {
  if (!venue_of_)
    return static_cast<venue_id>(s);
  return venue_of_(s);
}

void context::record_round_trip(market::symbol_id s, duration_ns rtt) {
  const auto v = venue_of(s);
  if (!v)
    return;
  auto i = std::lower_bound(latencies_.begin(), latencies_.end(), *v,
                            [](const auto& e, venue_id x) { return e.first < x; });
  if (i == latencies_.end() || i->first != *v)
    i = latencies_.emplace(i, *v, latency_estimate{});
  auto& e = i->second;
  const auto sample = static_cast<double>(rtt);
  e.ewma = e.samples == 0 ? sample
                          : e.ewma + latency_estimate::ewma_weight * (sample - e.ewma);
  e.min = e.samples == 0 ? rtt : std::min(e.min, rtt);
  e.last = rtt;
  ++e.samples;
}

market_view& context::mutable_market(market::symbol_id s) {
  auto i = std::lower_bound(markets_.begin(), markets_.end(), s, symbol_before);
  if (i == markets_.end() || i->first != s)
    i = markets_.emplace(i, s, market_view{});
  return i->second;
}

} // namespace marketsim::strategies
