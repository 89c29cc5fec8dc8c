#pragma once

/// The strategy API: what a trading strategy sees and what it may ask for.
///
/// A strategy is a small class deriving from `strategy`. The trader actor
/// (trader.hpp) hosts one; the strategy never touches CAF, never reads a
/// clock and never draws randomness except from `context::rng()`. It is
/// called back on events and answers with *intents* recorded on the context
/// (submit, cancel, modify, publish a signal, set a timer, subscribe); the host
/// carries them out after the callback returns, in the order they were made.
/// So a strategy is a pure object: tests drive it with a hand-made context and
/// read the intents back (see tests/strategies/).
///
/// Time is `time_ns`, nanoseconds since the start of the run, in virtual or
/// real time alike: a strategy cannot tell which.

#include "actors/random.hpp"
#include "market/account.hpp"
#include "market/order_book.hpp"
#include "market/symbol_table.hpp"
#include "market/types.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace marketsim::strategies {

using time_ns = std::int64_t;
using duration_ns = std::int64_t;
/// The strategy's own name for one of its orders: 1, 2, ... per agent. The
/// exchange's order id stays with the host.
using local_order_id = std::uint64_t;

// -- what a strategy sees --------------------------------------------------------

/// What the agent knows of one symbol's market: the last L1 it received
/// (subscribed or requested) and the last public trade.
struct market_view {
  market::l1_quote quote;
  /// When the venue published the quote, on the run's clock (the exchange's
  /// timestamp): `now() - quote_time` is how old it is, and at on_quote the
  /// one-way delay of the market data. -1: no quote received yet.
  time_ns quote_time = -1;
  /// When the quote reached the agent (-1: none yet), so that the delay it
  /// travelled, quote_arrival_time - quote_time, stays known after on_quote.
  time_ns quote_arrival_time = -1;
  market::price_t last_price = 0; ///< 0: no trade seen yet
  market::qty_t last_qty = 0;
  time_ns last_trade_time = -1;

  bool has_bid() const { return quote.bid_qty > 0; }
  bool has_ask() const { return quote.ask_qty > 0; }
  /// Mid price (rounded down) when both sides are quoted, else 0.
  market::price_t mid() const {
    return has_bid() && has_ask() ? (quote.bid_price + quote.ask_price) / 2 : 0;
  }
};

/// The exchange shard that trades a symbol, as the host numbers them: symbols
/// of one venue share its latency.
using venue_id = std::uint32_t;

/// The agent's measured round-trip time to one venue: from sending a request
/// (new order, cancel, modify, quote request) to receiving its reply, on the
/// run's clock. Without a network it is about 0 in virtual time.
struct latency_estimate {
  /// Weight of the newest sample in `ewma` (TCP's smoothed RTT uses 1/8).
  static constexpr double ewma_weight = 0.125;

  duration_ns last = 0; ///< the latest round trip
  double ewma = 0;      ///< exponentially weighted mean; the first sample sets it
  duration_ns min = 0;  ///< the shortest round trip seen
  std::uint64_t samples = 0;

  /// The one-way delay this suggests: half the smoothed round trip.
  double one_way() const { return ewma / 2; }
};

/// A public trade on a subscribed symbol (the tape).
struct public_trade {
  market::symbol_id symbol = 0;
  market::price_t price = 0;
  market::qty_t qty = 0;
  market::side aggressor = market::side::buy;
  time_ns time = 0;
};

/// A new order as the strategy asks for it.
struct order_spec {
  market::symbol_id symbol = 0;
  market::side side = market::side::buy;
  market::order_type type = market::order_type::limit;
  market::time_in_force tif = market::time_in_force::gtc;
  market::price_t price = 0;      ///< limit and stop-limit
  market::price_t stop_price = 0; ///< stop and stop-limit
  market::qty_t qty = 0;
  bool post_only = false;
};

/// One of the agent's own orders as the host tracks it.
struct own_order {
  local_order_id id = 0;
  order_spec spec;
  market::qty_t open = 0;   ///< open quantity (spec.qty until fills or modifies)
  market::price_t price = 0; ///< current limit price (after modifies)
  bool acknowledged = false; ///< the exchange accepted it
};

/// Something that happened to one of the agent's own orders.
struct order_update {
  enum class kind : std::uint8_t {
    accepted,       ///< the exchange took it
    rejected,       ///< refused: by the host's pre-trade check or the exchange
    filled,         ///< a (partial) fill: price, qty, leaves, maker
    cancelled,      ///< gone with `cancel` as the reason; qty = what was cancelled
    modified,       ///< price and qty are the new ones
    stop_triggered, ///< a stop became live
    done,           ///< completely filled and gone
  };
  kind what = kind::accepted;
  local_order_id id = 0;
  market::symbol_id symbol = 0;
  market::side side = market::side::buy;
  market::price_t price = 0;
  market::qty_t qty = 0;
  market::qty_t leaves = 0;
  bool maker = false;
  market::reject_reason reject = market::reject_reason::none;
  market::cancel_reason cancel = market::cancel_reason::none;
};

/// A message between agents: published on a topic, delivered to every agent
/// subscribed to it (the publisher excluded). Fundamental values reach value
/// agents this way too (topic "fundamental", `value` = price in price units).
struct signal {
  std::string topic;
  market::symbol_id symbol = 0;
  double value = 0;
  /// Who published it: agent index + 1 for an agent, 0 for the platform (the
  /// fundamental oracle), so that agent 0 and the platform differ.
  std::uint64_t from = 0;
  time_ns time = 0;
};

// -- intents ---------------------------------------------------------------------

struct submit_intent {
  local_order_id id = 0;
  order_spec spec;
};
struct cancel_intent {
  local_order_id id = 0;
};
struct modify_intent {
  local_order_id id = 0;
  market::price_t price = 0;
  market::qty_t qty = 0;
};
struct publish_intent {
  signal what;
};
struct timer_intent {
  duration_ns after = 0;
  std::uint64_t tag = 0;
};
/// Market data for a symbol: L1 changes (and the first quote at once), public
/// trades if `trades`.
struct subscribe_market_intent {
  market::symbol_id symbol = 0;
  bool trades = false;
};
/// Ask once for the current L1 of a symbol (answered by on_quote).
struct request_quote_intent {
  market::symbol_id symbol = 0;
};
struct subscribe_signal_intent {
  std::string topic;
};
/// The agent is done: no more callbacks; its orders stay.
struct stop_intent {};

using intent = std::variant<submit_intent, cancel_intent, modify_intent, publish_intent,
                            timer_intent, subscribe_market_intent, request_quote_intent,
                            subscribe_signal_intent, stop_intent>;

// -- the context -----------------------------------------------------------------

/// The strategy's window on the world during one callback. The host owns it
/// and keeps it up to date; tests build one by hand with the host-side setters.
class context {
public:
  context(std::uint64_t agent_index, std::uint64_t seed, const market::symbol_table& symbols,
          market::account_params account);
  /// The same with account params shared with other agents (immutable).
  context(std::uint64_t agent_index, std::uint64_t seed,
          const market::symbol_table& symbols,
          std::shared_ptr<const market::account_params> account);

  // -- what the strategy sees -------------------------------------------------

  time_ns now() const { return now_; }
  std::uint64_t agent_index() const { return agent_index_; }
  actors::random_stream& rng() { return rng_; }
  const market::account& account() const { return account_; }
  const market::symbol_table& symbols() const { return *symbols_; }
  /// The last known market of a symbol (a default view if nothing is known).
  const market_view& market(market::symbol_id s) const;
  /// The agent's live orders (submitted and not yet done, cancelled or
  /// rejected), by local id. submit() enters an order here at once
  /// (acknowledged = false), so a strategy sees its own in-flight orders; the
  /// host removes it again on a reject (pre-trade or exchange), the cancel
  /// or the last fill.
  const std::map<local_order_id, own_order>& orders() const { return orders_; }
  const own_order* order(local_order_id id) const;
  /// The measured round trip to the venue trading `s`; none before the first
  /// reply from it (any request measures: a request_quote is a cheap probe).
  std::optional<latency_estimate> latency(market::symbol_id s) const;

  // -- metrics ---------------------------------------------------------------

  /// Sets a named number the agent reports at the end of the run (in
  /// agent_report::metrics), e.g. a reaction time or a count; the last value
  /// recorded under a name wins. Not an intent: it is kept even if the
  /// callback later throws.
  void record_metric(std::string_view name, double value);
  /// The metrics recorded so far, in the order of their first recording.
  const std::vector<std::pair<std::string, double>>& metrics() const { return metrics_; }

  // -- intents ---------------------------------------------------------------

  /// Records a new order and returns its local id. The host checks it against
  /// the account (pre-trade) when it carries the intent out; a refusal comes
  /// back as order_update::rejected.
  local_order_id submit(const order_spec& spec);
  /// Convenience: a GTC limit order.
  local_order_id buy_limit(market::symbol_id s, market::price_t price, market::qty_t qty);
  local_order_id sell_limit(market::symbol_id s, market::price_t price, market::qty_t qty);
  /// Convenience: an IOC market order.
  local_order_id buy_market(market::symbol_id s, market::qty_t qty);
  local_order_id sell_market(market::symbol_id s, market::qty_t qty);
  /// Cancels a live order. An id that is not live comes back as
  /// order_update::rejected (unknown_order_id). Cancelling an order that a
  /// cancel is already under way for does nothing. A cancel or modify made
  /// before the exchange acknowledged the order is sent when it does (of
  /// several modifies then, only the last).
  void cancel(local_order_id id);
  /// Cancels every live order (of every symbol, or of one).
  void cancel_all();
  void cancel_all(market::symbol_id s);
  /// Changes price and open quantity of a resting limit order (see
  /// order_book.hpp for priority). The host checks the changed order against
  /// the account first. A refused modify (or cancel) comes back as
  /// order_update::rejected for the order's id, and the order stays as it
  /// was: `order(id)` tells whether it is still live. An order a cancel is
  /// under way for cannot be modified (unknown_order_id).
  void modify(local_order_id id, market::price_t price, market::qty_t qty);
  void publish(std::string topic, market::symbol_id s, double value);
  void set_timer(duration_ns after, std::uint64_t tag = 0);
  void subscribe_market(market::symbol_id s, bool trades = false);
  void request_quote(market::symbol_id s);
  void subscribe_signal(std::string topic);
  void stop();

  // -- host side -------------------------------------------------------------

  const std::vector<intent>& intents() const { return intents_; }
  void clear_intents() { intents_.clear(); }
  /// Moves the recorded intents out (the context's list is empty after).
  std::vector<intent> take_intents();
  void set_now(time_ns t) { now_ = t; }
  market::account& mutable_account() { return account_; }
  market_view& mutable_market(market::symbol_id s);
  std::map<local_order_id, own_order>& mutable_orders() { return orders_; }
  bool stopped() const { return stopped_; }
  /// Which venue trades a symbol (none: no venue). Without one set, every
  /// symbol is its own venue (venue id = symbol id), as tests want.
  using venue_map = std::function<std::optional<venue_id>(market::symbol_id)>;
  void set_venue_map(venue_map f) { venue_of_ = std::move(f); }
  /// Adds a measured round trip to the estimate of the venue trading `s`.
  void record_round_trip(market::symbol_id s, duration_ns rtt);

private:
  std::optional<venue_id> venue_of(market::symbol_id s) const;

  std::uint64_t agent_index_;
  actors::random_stream rng_;
  const market::symbol_table* symbols_;
  market::account account_;
  time_ns now_ = 0;
  /// The symbols the agent has heard of, sorted by id: a trader knows few of
  /// the table's symbols, and a million traders must not each hold a view of
  /// every symbol.
  std::vector<std::pair<market::symbol_id, market_view>> markets_;
  std::map<local_order_id, own_order> orders_;
  local_order_id next_id_ = 1;
  std::vector<intent> intents_;
  bool stopped_ = false;
  venue_map venue_of_;
  /// Sorted by venue; an agent talks to few venues.
  std::vector<std::pair<venue_id, latency_estimate>> latencies_;
  std::vector<std::pair<std::string, double>> metrics_;
};

// -- the strategy --------------------------------------------------------------

/// Base class of every strategy. All callbacks default to doing nothing. A
/// callback that throws stops the agent (the host reports it; the run goes on).
class strategy {
public:
  virtual ~strategy() = default;

  /// Once, at the agent's start (time 0 or its start time): subscribe, set the
  /// first timer.
  virtual void on_start(context&) {}
  /// A timer it set has fired.
  virtual void on_timer(context&, std::uint64_t /*tag*/) {}
  /// A new L1 for a symbol (subscribed or requested); ctx.market(s) has it.
  virtual void on_quote(context&, market::symbol_id) {}
  /// A public trade on a symbol subscribed with trades.
  virtual void on_trade(context&, const public_trade&) {}
  /// Something happened to one of its own orders (the account and
  /// ctx.orders() are already updated).
  virtual void on_order(context&, const order_update&) {}
  /// A signal on a topic it subscribed to.
  virtual void on_signal(context&, const signal&) {}
};

} // namespace marketsim::strategies
