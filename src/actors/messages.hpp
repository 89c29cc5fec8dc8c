#pragma once

/// The message vocabulary of marketsim: plain aggregates with a free
/// `inspect()`, so that every message can cross to another process. Every type
/// here is registered once, in add_message_types() (vocabulary.cpp), under the
/// name given in its inspect(); tests round-trip each through CAF's binary
/// serializer.

#include "market/order_book.hpp"
#include "market/types.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

// -- inspect() for the pure market value types -------------------------------
// They live in the market namespace so that argument-dependent lookup finds
// them; the market core itself stays free of CAF.

namespace marketsim::market {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_request& x) {
  return f(caf::meta::type_name("marketsim.order_request"), x.id, x.owner, x.symbol,
           x.side, x.type, x.tif, x.price, x.stop_price, x.qty, x.post_only);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_request& x) {
  return f(caf::meta::type_name("marketsim.cancel_request"), x.id, x.symbol);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, modify_request& x) {
  return f(caf::meta::type_name("marketsim.modify_request"), x.id, x.symbol,
           x.new_price, x.new_qty);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, book_event& x) {
  return f(caf::meta::type_name("marketsim.book_event"), x.kind, x.reject, x.cancel,
           x.side, x.symbol, x.id, x.owner, x.maker, x.maker_owner, x.price, x.qty,
           x.leaves, x.maker_leaves);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, l1_quote& x) {
  return f(caf::meta::type_name("marketsim.l1_quote"), x.bid_price, x.bid_qty,
           x.ask_price, x.ask_qty);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, depth_level& x) {
  return f(caf::meta::type_name("marketsim.depth_level"), x.price, x.qty, x.orders);
}

} // namespace marketsim::market

namespace marketsim::actors {

/// Nanoseconds on the actor system's clock (wall or virtual), as sent in
/// messages.
using timestamp_ns = std::int64_t;

// -- orders: trader -> shard ---------------------------------------------------

/// A new order. The shard assigns `order.id` (any value sent is ignored) and
/// answers with an order_reply carrying `client_order_id`.
struct new_order {
  std::uint64_t client_order_id = 0;
  market::order_request order;
};

struct cancel_order {
  std::uint64_t client_order_id = 0;
  market::owner_id owner = 0;
  market::cancel_request request;
};

struct modify_order {
  std::uint64_t client_order_id = 0;
  market::owner_id owner = 0;
  market::modify_request request;
};

/// The answer to new_order, cancel_order and modify_order: every event of the
/// requester's own orders that the request caused, in order (ack or reject,
/// fills as taker, cancels, done). Events of other owners' orders go to them
/// as execution_report.
struct order_reply {
  std::uint64_t client_order_id = 0;
  market::order_id id = 0; ///< shard-assigned id (0 if rejected before one was given)
  std::vector<market::book_event> events;
};

/// Events of an owner's resting orders caused by someone else's request
/// (fills as maker, self-trade cancels, stop triggers, expiry).
struct execution_report {
  market::owner_id owner = 0;
  std::vector<market::book_event> events;
};

/// Several new orders in one message, for throughput: the shard handles them
/// in order, exactly as if each had been sent alone, and answers with one
/// order_reply_batch whose replies are in the same order. Execution reports
/// for other owners are gathered over the whole batch (one per owner).
struct new_order_batch {
  std::vector<new_order> orders;
};

struct order_reply_batch {
  std::vector<order_reply> replies;
};

// -- market data: shard -> subscribers ----------------------------------------

struct trade_print {
  market::symbol_id symbol = 0;
  std::uint64_t seq = 0; ///< per-shard trade sequence number, from 1
  timestamp_ns time = 0;
  market::price_t price = 0;
  market::qty_t qty = 0;
  market::side aggressor = market::side::buy;
  market::order_id maker = 0;
  market::order_id taker = 0;
  market::owner_id maker_owner = 0;
  market::owner_id taker_owner = 0;
};

struct l1_update {
  market::symbol_id symbol = 0;
  timestamp_ns time = 0;
  market::l1_quote quote;
};

struct l2_snapshot {
  market::symbol_id symbol = 0;
  timestamp_ns time = 0;
  std::vector<market::depth_level> bids; ///< best first
  std::vector<market::depth_level> asks; ///< best first
};

/// Ask a shard for an L2 snapshot of one symbol (answered with l2_snapshot).
struct l2_request {
  market::symbol_id symbol = 0;
  std::uint32_t levels = 10;
};

// -- signals between agents -------------------------------------------------------

/// A signal on a topic: published to the signal hub, delivered by it to every
/// subscriber of the topic except the publisher. Fundamental values travel as
/// signals too (topic "fundamental", from = 0, value in price units).
struct signal_message {
  std::string topic;
  market::symbol_id symbol = 0;
  double value = 0;
  std::uint64_t from = 0; ///< publishing agent's index + 1; 0 for the platform
  timestamp_ns time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signal_message& x) {
  return f(caf::meta::type_name("marketsim.signal_message"), x.topic, x.symbol, x.value,
           x.from, x.time);
}

// -- statistics ----------------------------------------------------------------

struct stats_request {};

struct symbol_summary {
  market::symbol_id symbol = 0;
  std::uint64_t orders = 0;  ///< new orders accepted
  std::uint64_t rejects = 0; ///< requests rejected
  std::uint64_t trades = 0;
  market::qty_t volume = 0;
  double vwap = 0;
  market::l1_quote quote; ///< at the time of the request
  market::price_t last_price = 0;
};

struct shard_stats {
  std::uint32_t shard = 0;
  std::uint64_t requests = 0; ///< new, cancel and modify requests handled
  std::vector<symbol_summary> symbols;
  /// Execution reports dropped because their owner had no listener.
  std::uint64_t unroutable_reports = 0;
};

// -- inspect ---------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_order& x) {
  return f(caf::meta::type_name("marketsim.new_order"), x.client_order_id, x.order);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_order& x) {
  return f(caf::meta::type_name("marketsim.cancel_order"), x.client_order_id, x.owner,
           x.request);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, modify_order& x) {
  return f(caf::meta::type_name("marketsim.modify_order"), x.client_order_id, x.owner,
           x.request);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_reply& x) {
  return f(caf::meta::type_name("marketsim.order_reply"), x.client_order_id, x.id,
           x.events);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_order_batch& x) {
  return f(caf::meta::type_name("marketsim.new_order_batch"), x.orders);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_reply_batch& x) {
  return f(caf::meta::type_name("marketsim.order_reply_batch"), x.replies);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_report& x) {
  return f(caf::meta::type_name("marketsim.execution_report"), x.owner, x.events);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trade_print& x) {
  return f(caf::meta::type_name("marketsim.trade_print"), x.symbol, x.seq, x.time,
           x.price, x.qty, x.aggressor, x.maker, x.taker, x.maker_owner, x.taker_owner);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, l1_update& x) {
  return f(caf::meta::type_name("marketsim.l1_update"), x.symbol, x.time, x.quote);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, l2_snapshot& x) {
  return f(caf::meta::type_name("marketsim.l2_snapshot"), x.symbol, x.time, x.bids,
           x.asks);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, l2_request& x) {
  return f(caf::meta::type_name("marketsim.l2_request"), x.symbol, x.levels);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stats_request&) {
  return f(caf::meta::type_name("marketsim.stats_request"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, symbol_summary& x) {
  return f(caf::meta::type_name("marketsim.symbol_summary"), x.symbol, x.orders,
           x.rejects, x.trades, x.volume, x.vwap, x.quote, x.last_price);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_stats& x) {
  return f(caf::meta::type_name("marketsim.shard_stats"), x.shard, x.requests,
           x.symbols, x.unroutable_reports);
}

} // namespace marketsim::actors

// -- the strategy host (strategies/trader.hpp) -----------------------------------

namespace marketsim::actors {

/// A timer a strategy set: the trader sends it to itself with delayed_send, so
/// it follows the actor system's clock (real or virtual).
struct strategy_timer {
  std::uint64_t tag = 0;
};

/// The agent's start: the trader calls its strategy's on_start. Nothing is
/// called before it.
struct agent_start {};

/// The end of the run for the agent: no more strategy callbacks. Its orders
/// stay; replies and reports still in flight are applied to its account.
struct agent_stop {};

/// Asks a trader for its agent_report.
struct agent_report_request {};

/// A non-flat position: quantity and signed cost basis (market::account),
/// so that unrealised PnL at a mark is qty * mark - basis.
struct agent_position {
  market::symbol_id symbol = 0;
  market::qty_t qty = 0;
  std::int64_t basis = 0;
};

/// A named number a strategy recorded (strategies::context::record_metric),
/// e.g. a reaction time in ns or a count of opportunities seen.
struct agent_metric {
  std::string name;
  double value = 0;
};

/// What an agent did and holds. Money in price units times quantity units.
struct agent_report {
  std::uint64_t index = 0;
  market::owner_id owner = 0;
  std::string strategy; ///< the strategy's name in the scenario
  bool failed = false;  ///< a strategy callback threw; `error` says what
  std::string error;
  std::int64_t cash = 0;
  std::vector<agent_position> positions; ///< by symbol id
  std::int64_t realised = 0; ///< gross of fees
  std::int64_t fees = 0;     ///< fees paid net of rebates
  std::uint64_t orders_sent = 0;  ///< new_order messages
  std::uint64_t cancels_sent = 0; ///< cancel_order messages
  std::uint64_t modifies_sent = 0; ///< modify_order messages
  std::uint64_t fills = 0;        ///< trades of own orders, as taker or maker
  market::qty_t filled_qty = 0;
  std::uint64_t pretrade_rejects = 0; ///< refused by the host (account, unknown id)
  std::uint64_t exchange_rejects = 0; ///< rejected events in replies of the exchange
  std::uint64_t live_orders = 0;      ///< submitted and not yet gone
  /// What the strategy recorded, in the order of first recording.
  std::vector<agent_metric> metrics;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, strategy_timer& x) {
  return f(caf::meta::type_name("marketsim.strategy_timer"), x.tag);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_start&) {
  return f(caf::meta::type_name("marketsim.agent_start"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_stop&) {
  return f(caf::meta::type_name("marketsim.agent_stop"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_report_request&) {
  return f(caf::meta::type_name("marketsim.agent_report_request"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_position& x) {
  return f(caf::meta::type_name("marketsim.agent_position"), x.symbol, x.qty, x.basis);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_metric& x) {
  return f(caf::meta::type_name("marketsim.agent_metric"), x.name, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_report& x) {
  return f(caf::meta::type_name("marketsim.agent_report"), x.index, x.owner, x.strategy,
           x.failed, x.error, x.cash, x.positions, x.realised, x.fees, x.orders_sent,
           x.cancels_sent, x.modifies_sent, x.fills, x.filled_qty, x.pretrade_rejects,
           x.exchange_rejects, x.live_orders, x.metrics);
}

} // namespace marketsim::actors

// -- fundamental values (market/fundamental_oracle.hpp) --------------------------

namespace marketsim::actors {

/// Asks the fundamental oracle for the current values (answered with
/// fundamental_values).
struct fundamental_request {};

/// The fundamental oracle's own timer message: step the values and publish.
struct fundamental_tick {};

/// One symbol's fundamental value.
struct fundamental_value {
  market::symbol_id symbol = 0;
  double value = 0;          ///< exact value, price units
  market::price_t price = 0; ///< on the symbol's tick, at least one tick
};

/// The oracle's values as of its last step (the ones it last published).
struct fundamental_values {
  timestamp_ns time = 0; ///< actor clock time of the last step
  std::vector<fundamental_value> values; ///< in the oracle's symbol order
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fundamental_request&) {
  return f(caf::meta::type_name("marketsim.fundamental_request"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fundamental_tick&) {
  return f(caf::meta::type_name("marketsim.fundamental_tick"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fundamental_value& x) {
  return f(caf::meta::type_name("marketsim.fundamental_value"), x.symbol, x.value, x.price);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fundamental_values& x) {
  return f(caf::meta::type_name("marketsim.fundamental_values"), x.time, x.values);
}

} // namespace marketsim::actors

// -- the network (network/network_actor.hpp, link_actor.hpp, port.hpp) -----------

#include <caf/actor.hpp>
#include <caf/message.hpp>

namespace marketsim::actors {

/// Sends `payload` from site `from` to the actor `dest` at site `to` through
/// the network. The sender names sites, never a path: the network routes,
/// delays, may drop, and delivers `payload` to `dest` with the sender of the
/// net_send as its sender (so that a reply goes back to the real sender),
/// or with `reply_to` as its sender when that is set (a handle of the real
/// sender at `dest`'s site, so that replies travel the network too; see
/// network/endpoints.hpp).
struct net_send {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  caf::actor dest;
  caf::message payload;
  caf::actor reply_to; ///< the sender `dest` sees; null: the net_send's sender
};

/// The network's own message: a payload of `bytes` (serialized size) from
/// site `origin` has reached site `at` on its way to `to`. It goes to the
/// link actor of the next link (network/link_actor.hpp) at the time the
/// payload reaches `at`, with the original sender as its sender, so that
/// every link transmits its messages in time order; the controller takes it
/// too and hands it to the link of the current route from `at`.
struct net_hop {
  std::uint32_t origin = 0;
  std::uint32_t at = 0;
  std::uint32_t to = 0;
  /// Straight from a network_port (network/port.hpp), not yet counted as
  /// sent: the first link actor counts it and clears the flag. (Placed in
  /// the padding after `to`: every hop moves the whole struct into a new
  /// mailbox element, so its size counts.)
  bool fresh = false;
  std::uint64_t bytes = 0;
  /// When the message entered the network (the controller or a port took
  /// it), in ns since the network's start: the route's latency is measured
  /// from here.
  std::int64_t entered_ns = 0;
  /// Time spent waiting for wires on the links crossed so far (the sum of
  /// their queueing).
  std::int64_t queueing_ns = 0;
  caf::actor dest;
  caf::message payload;
  caf::actor reply_to; ///< as net_send::reply_to
};

/// Hops that reach the same link at the same instant from the same sender
/// (a burst through network_port::send_burst): the link actor handles them
/// in order in one job, exactly as it would the separate hops.
struct net_hop_batch {
  std::vector<net_hop> hops;
};

/// Sets both directions of the link between sites a and b up or down.
struct net_link_state {
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  bool up = true;
  friend bool operator==(const net_link_state&, const net_link_state&) = default;
};

/// Sets the congestion of the directed link a->b: its latency multiplier
/// (>= 1; also the routing weight) and its bandwidth factor (0 < f <= 1, the
/// share of its bandwidth left). {a, b, 1, 1} ends a congestion.
struct net_congestion {
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  double multiplier = 1;
  double bandwidth_factor = 1;
  friend bool operator==(const net_congestion&, const net_congestion&) = default;
};

/// Sets a site up or down.
struct net_site_state {
  std::uint32_t site = 0;
  bool up = true;
  friend bool operator==(const net_site_state&, const net_site_state&) = default;
};

/// Asks the network for its statistics (answered with net_stats).
struct net_stats_request {
  friend bool operator==(const net_stats_request&, const net_stats_request&) = default;
};

/// One directed link's statistics (network::link_stats).
struct net_link_stats {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  std::uint64_t messages = 0; ///< transmitted, lost or not
  std::uint64_t bytes = 0;
  std::uint64_t drops = 0;
  std::int64_t total_queueing_ns = 0;
  std::int64_t max_queueing_ns = 0;
  std::int64_t latency_min_ns = 0;
  std::int64_t latency_p50_ns = 0;
  std::int64_t latency_p90_ns = 0;
  std::int64_t latency_p99_ns = 0;
  std::int64_t latency_max_ns = 0;
  friend bool operator==(const net_link_stats&, const net_link_stats&) = default;
};

/// One non-empty bucket of a latency histogram
/// (network/latency_histogram.hpp): `count` latencies fell into bucket
/// `index`.
struct net_latency_bucket {
  std::uint32_t index = 0;
  std::uint64_t count = 0;
  friend bool operator==(const net_latency_bucket&, const net_latency_bucket&) = default;
};

/// What became of the messages sent from one site to another, and how long
/// the delivered ones took.
struct net_route_count {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  std::uint64_t sent = 0;      ///< net_send received for this pair
  std::uint64_t delivered = 0; ///< scheduled for delivery
  std::uint64_t dropped = 0;   ///< lost on a link
  std::uint64_t unroutable = 0;
  // -- the delivered messages (all 0 when none) --
  std::uint64_t bytes = 0; ///< serialized payload sizes, added up
  /// Time waiting for wires (queueing), summed over the hops of each message:
  /// added up, and the largest of one message.
  std::int64_t total_queueing_ns = 0;
  std::int64_t max_queueing_ns = 0;
  /// End-to-end latency: from entering the network (net_send taken by the
  /// controller or a port) to delivery at the destination. Percentiles within
  /// 1/32 relative, min and max exact (network/latency_histogram.hpp).
  std::int64_t latency_min_ns = 0;
  std::int64_t latency_p50_ns = 0;
  std::int64_t latency_p90_ns = 0;
  std::int64_t latency_p99_ns = 0;
  std::int64_t latency_max_ns = 0;
  /// The histogram behind the percentiles (non-empty buckets by ascending
  /// index; their counts add up to `delivered`), so that counts of the same
  /// pair from several places merge into exact percentiles.
  std::vector<net_latency_bucket> latency_buckets;
  friend bool operator==(const net_route_count&, const net_route_count&) = default;
};

/// The network's statistics: every directed link (ordered by (from, to)) and
/// every (from, to) pair that carried a net_send (ordered likewise).
struct net_stats {
  std::vector<net_link_stats> links;
  std::vector<net_route_count> routes;
  std::uint64_t unserializable = 0; ///< payloads the serializer refused
  friend bool operator==(const net_stats&, const net_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_send& x) {
  return f(caf::meta::type_name("marketsim.net_send"), x.from, x.to, x.dest, x.payload,
           x.reply_to);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_hop& x) {
  return f(caf::meta::type_name("marketsim.net_hop"), x.origin, x.at, x.to, x.fresh,
           x.bytes, x.entered_ns, x.queueing_ns, x.dest, x.payload, x.reply_to);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_hop_batch& x) {
  return f(caf::meta::type_name("marketsim.net_hop_batch"), x.hops);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_link_state& x) {
  return f(caf::meta::type_name("marketsim.net_link_state"), x.a, x.b, x.up);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_congestion& x) {
  return f(caf::meta::type_name("marketsim.net_congestion"), x.a, x.b, x.multiplier,
           x.bandwidth_factor);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_site_state& x) {
  return f(caf::meta::type_name("marketsim.net_site_state"), x.site, x.up);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_stats_request&) {
  return f(caf::meta::type_name("marketsim.net_stats_request"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_link_stats& x) {
  return f(caf::meta::type_name("marketsim.net_link_stats"), x.from, x.to, x.messages,
           x.bytes, x.drops, x.total_queueing_ns, x.max_queueing_ns, x.latency_min_ns,
           x.latency_p50_ns, x.latency_p90_ns, x.latency_p99_ns, x.latency_max_ns);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_latency_bucket& x) {
  return f(caf::meta::type_name("marketsim.net_latency_bucket"), x.index, x.count);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_route_count& x) {
  return f(caf::meta::type_name("marketsim.net_route_count"), x.from, x.to, x.sent,
           x.delivered, x.dropped, x.unroutable, x.bytes, x.total_queueing_ns,
           x.max_queueing_ns, x.latency_min_ns, x.latency_p50_ns, x.latency_p90_ns,
           x.latency_p99_ns, x.latency_max_ns, x.latency_buckets);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, net_stats& x) {
  return f(caf::meta::type_name("marketsim.net_stats"), x.links, x.routes,
           x.unserializable);
}

} // namespace marketsim::actors
