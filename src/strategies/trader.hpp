#pragma once

/// The trader actor: hosts one strategy (strategy.hpp) and is its only link
/// to the world. It keeps the strategy's context up to date, calls it back on
/// events, and carries out the intents it records, in order, after each
/// callback.
///
/// ## Intents -> messages
/// - submit: pre-trade check and hold on the account (`account::reserve`,
///   keyed by the local order id); a refusal becomes order_update::rejected
///   with the account's reason and nothing is sent. Otherwise new_order to the
///   shard the router names (register_owner to that shard first, once). A
///   market buy reserves at the best ask it knows, else the last trade price;
///   knowing neither, it is refused (no_reference_price): subscribe first.
/// - cancel / modify: cancel_order / modify_order with the exchange's id. An
///   id that is not live is refused (unknown_order_id) without a message; an
///   order the exchange has not acknowledged yet gets the request when the
///   acknowledgement arrives. A modify is first checked against the account
///   as if the order had the new price and quantity, and holds for those.
/// - set_timer: a strategy_timer{tag} delayed_send to itself.
/// - subscribe_market: md_subscribe to the symbol's shard (with every symbol
///   subscribed on that shard, as a shard keeps one subscription per
///   listener) and an l2_request of one level for the current quote;
///   request_quote: that l2_request alone. Quotes of both end in on_quote.
/// - publish: signal_message to the hub (from = the agent index);
///   subscribe_signal: signal_subscribe. Both do nothing without a hub.
///
/// ## Book events -> order updates
/// Replies (own requests) and execution reports (own resting orders) are
/// applied to the account (on_fill; release on cancel, done, reject) and
/// ctx.orders() before the strategy hears of them, one order_update per
/// event. This goes on after agent_stop and after a failure: the account
/// stays exact to the end, and agent_report tells it.
///
/// ## Latency
/// The host times every request it sends (new_order, cancel_order,
/// modify_order by client_order_id; l2_request by symbol, answered in order)
/// from the send to its reply on the actor system's clock, and adds the round
/// trip to the context's estimate for the request's shard
/// (context::latency). A reply lost on the network leaves its request
/// pending; past 64 pending the oldest is given up. Quotes also record when
/// they arrived (market_view::quote_arrival_time).
///
/// ## Time
/// The context's time is the actor system's clock (real or virtual) minus
/// `trader_group::start_ns`, the run's start on the same clock.
///
/// ## Failure
/// A callback that throws marks the agent failed with the exception's
/// what(), discards what that callback recorded, cancels the agent's live
/// orders and never calls the strategy again; it is logged once. The actor
/// itself keeps running (reports, replies, agent_report).

#include "actors/interfaces.hpp"
#include "market/account.hpp"
#include "market/shard_router.hpp"
#include "market/symbol_table.hpp"
#include "strategies/strategy.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace marketsim::strategies {

using actors::trader_actor;

/// What the traders of one scenario group have in common, immutable: made
/// once and shared by the group's traders (trader_params::group), so that a
/// million traders do not each keep a copy of the strategy name and of the
/// account params with their initial holdings.
struct trader_group {
  std::string strategy_name; ///< for reports
  market::account_params account;
  /// Symbols the agents trade: checked to be routed, and their shards get
  /// the register_owner at spawn. Orders for other routed symbols work too.
  std::vector<market::symbol_id> symbols;
  /// The run's start on the actor system's clock, in ns since its epoch.
  std::int64_t start_ns = 0;
  /// With a network model (network/endpoints.hpp): the trader's own handle as
  /// the actor behind `peer` (a shard or hub handle it was given) should see
  /// it, i.e. its network port at the peer's site. Used for the listener in
  /// register_owner, md_subscribe and signal_subscribe, so that reports,
  /// market data and signals travel the network too. Null: no network, the
  /// trader hands out its own handle. Set: spawn_trader spawns the trader
  /// lazily (it first runs on its first message, e.g. agent_start), so that
  /// the caller can place it at its site before it hands out any handle.
  std::function<caf::actor(const caf::actor& self, const caf::actor& peer)> present{};
};

struct trader_params {
  std::uint64_t index = 0;    ///< the agent's index; seeds its RNG stream
  market::owner_id owner = 0; ///< non-zero, unique per agent
  std::uint64_t seed = 0;     ///< the scenario seed
  /// What the agents of a group share (required). One copy per group, not
  /// per agent: it is most of a trader's memory that is not CAF's own.
  std::shared_ptr<const trader_group> group;
};

/// Spawns a trader hosting `strat`. `symbols` must outlive the trader (the
/// context refers to it); the router is shared by every trader. `hub` may be
/// null (publish and subscribe_signal then do nothing). Throws
/// std::invalid_argument on a zero owner, a null strategy, router or group,
/// a symbol not routed, or invalid account params.
trader_actor spawn_trader(caf::actor_system& sys, trader_params params,
                          std::unique_ptr<strategy> strat,
                          const market::symbol_table& symbols,
                          std::shared_ptr<const market::shard_router> router,
                          actors::signal_hub_actor hub);

/// Test support for the deterministic scheduler: the agent_report the trader
/// would answer now, read from its state without a message. A request would
/// queue behind the messages in flight, which is what a check after every
/// single step must not wait for. Valid only while the actor does not run
/// concurrently (the testing scheduler). An empty report (owner 0) before the
/// trader first ran (its initialisation is a scheduler step) and after it
/// exited.
actors::agent_report peek_agent_report(const trader_actor& trader);

} // namespace marketsim::strategies
