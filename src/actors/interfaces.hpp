#pragma once

/// The typed actor interface of every role, declared in one place. A role's
/// contract is its line here; messages that carry actor handles live here too.

#include "actors/messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <vector>

namespace marketsim::actors {

/// Receives reports about its resting orders (fills as maker, ...).
using order_listener_actor = caf::typed_actor<caf::reacts_to<execution_report>>;

/// Receives market data it subscribed to.
using md_listener_actor = caf::typed_actor<caf::reacts_to<trade_print>,
                                           caf::reacts_to<l1_update>,
                                           caf::reacts_to<l2_snapshot>>;

/// Tells a shard where to send execution reports for an owner's resting
/// orders. Re-registering an owner replaces its listener.
struct register_owner {
  market::owner_id owner = 0;
  order_listener_actor listener;
};

/// Subscribes `listener` to market data of `symbols` (all symbols of the
/// shard when empty). A listener subscribing again replaces its subscription.
struct md_subscribe {
  md_listener_actor listener;
  std::vector<market::symbol_id> symbols;
  bool trades = true;
  bool l1 = true;             ///< an l1_update whenever best bid/ask changes
  std::uint32_t l2_levels = 0; ///< depth of periodic snapshots (0: none)
  std::int64_t l2_period_ms = 0; ///< period of L2 snapshots (0: none)
};

struct md_unsubscribe {
  md_listener_actor listener;
};

/// Receives signals of the topics it subscribed to.
using signal_listener_actor = caf::typed_actor<caf::reacts_to<signal_message>>;

/// Subscribes `listener` to `topic`; `from` is the listener's own agent index + 1
/// so that it does not receive its own signals (0: receive everything).
struct signal_subscribe {
  std::string topic;
  std::uint64_t from = 0;
  signal_listener_actor listener;
};

/// Unsubscribes `listener` from every topic.
struct signal_unsubscribe {
  signal_listener_actor listener;
};

/// The signal hub: a signal_message sent to it goes to every subscriber of
/// its topic except its publisher.
using signal_hub_actor = caf::typed_actor<caf::reacts_to<signal_message>,
                                          caf::reacts_to<signal_subscribe>,
                                          caf::reacts_to<signal_unsubscribe>>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signal_subscribe& x) {
  return f(caf::meta::type_name("marketsim.signal_subscribe"), x.topic, x.from,
           x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signal_unsubscribe& x) {
  return f(caf::meta::type_name("marketsim.signal_unsubscribe"), x.listener);
}

/// Internal timer message of the shard: publish periodic L2 snapshots.
struct l2_publish_tick {};

/// Cancels every day order of the shard (the session's close).
struct end_of_day {};

/// The price of `symbol` finalized by consensus in `epoch`: the reference of a
/// shard's price band (market/exchange_shard.hpp). A shard without a band, or
/// not trading the symbol, ignores it; so does one that already has a newer
/// (or the same) epoch for the symbol.
struct finalized_price {
  market::symbol_id symbol = 0;
  std::uint64_t epoch = 0;
  market::price_t price = 0;

  friend bool operator==(const finalized_price&, const finalized_price&) = default;
};

/// Halts trading on a shard (every symbol), e.g. when a group of validators
/// has agreed on it by Byzantine broadcast: from then on new orders and
/// modifies are rejected with reject_reason::trading_halted; cancels still
/// work, and resting orders stay (the halt is a pause, not a clean-up).
struct trading_halt {
  std::string reason;

  friend bool operator==(const trading_halt&, const trading_halt&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trading_halt& x) {
  return f(caf::meta::type_name("marketsim.trading_halt"), x.reason);
}

/// An exchange shard: owns the order books of a set of symbols.
using exchange_shard_actor = caf::typed_actor<
    caf::replies_to<new_order>::with<order_reply>,
    caf::replies_to<cancel_order>::with<order_reply>,
    caf::replies_to<modify_order>::with<order_reply>,
    caf::replies_to<new_order_batch>::with<order_reply_batch>,
    caf::reacts_to<register_owner>,
    caf::reacts_to<md_subscribe>,
    caf::reacts_to<md_unsubscribe>,
    caf::replies_to<l2_request>::with<l2_snapshot>,
    caf::replies_to<stats_request>::with<shard_stats>,
    caf::reacts_to<end_of_day>,
    caf::reacts_to<finalized_price>,
    caf::reacts_to<trading_halt>,
    caf::reacts_to<l2_publish_tick>>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_owner& x) {
  return f(caf::meta::type_name("marketsim.register_owner"), x.owner, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, md_subscribe& x) {
  return f(caf::meta::type_name("marketsim.md_subscribe"), x.listener, x.symbols,
           x.trades, x.l1, x.l2_levels, x.l2_period_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, md_unsubscribe& x) {
  return f(caf::meta::type_name("marketsim.md_unsubscribe"), x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, l2_publish_tick&) {
  return f(caf::meta::type_name("marketsim.l2_publish_tick"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, end_of_day&) {
  return f(caf::meta::type_name("marketsim.end_of_day"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, finalized_price& x) {
  return f(caf::meta::type_name("marketsim.finalized_price"), x.symbol, x.epoch, x.price);
}

} // namespace marketsim::actors

namespace marketsim::actors {

/// A trader hosting one strategy (strategies/trader.hpp): it listens to its
/// orders' replies and reports, market data and signals, and takes its own
/// timers and the run's control messages. It sends its requests to shards
/// with `send`, so their replies (order_reply, l2_snapshot) arrive as
/// messages.
using trader_actor =
    order_listener_actor::extend_with<md_listener_actor, signal_listener_actor>::extend<
        caf::reacts_to<order_reply>, caf::reacts_to<strategy_timer>,
        caf::reacts_to<agent_start>, caf::reacts_to<agent_stop>,
        caf::replies_to<agent_report_request>::with<agent_report>>;

} // namespace marketsim::actors

namespace marketsim::actors {

/// The fundamental oracle (market/fundamental_oracle.hpp): steps the true
/// values on its own timer, publishes them to the signal hub, and answers
/// requests for the values of its last step.
using fundamental_oracle_actor =
    caf::typed_actor<caf::replies_to<fundamental_request>::with<fundamental_values>,
                     caf::reacts_to<fundamental_tick>>;

} // namespace marketsim::actors

namespace marketsim::actors {

/// The network's controller (network/network_actor.hpp): takes net_send
/// payloads in and hands them to the link actors, dispatches a net_hop at its
/// site by the current route, takes link and site state changes, reports
/// statistics (gathered from the link actors).
using network_actor =
    caf::typed_actor<caf::reacts_to<net_send>, caf::reacts_to<net_hop>,
                     caf::reacts_to<net_link_state>,
                     caf::reacts_to<net_congestion>, caf::reacts_to<net_site_state>,
                     caf::replies_to<net_stats_request>::with<net_stats>>;

/// One directed link of the network (network/link_actor.hpp): transmits the
/// hops that reach it, takes its congestion, reports its own statistics (its
/// one link, and the route counts it made).
using link_actor =
    caf::typed_actor<caf::reacts_to<net_hop>, caf::reacts_to<net_hop_batch>,
                     caf::reacts_to<net_congestion>,
                     caf::replies_to<net_stats_request>::with<net_stats>>;

} // namespace marketsim::actors
