#pragma once

/// A zero-intelligence trader (Gode & Sunder): on a timer, it sends random
/// limit orders around a reference price, sometimes market orders, sometimes
/// cancels of its own resting orders. It is the first population of the
/// simulator and a load with a realistic mix; it does not try to make money.
///
/// ## What it does on each tick
/// Draws u in [0, 1) from its own RNG stream and picks one of its symbols:
/// - cancel (u < cancel_share, or when it already has max_resting orders
///   live or in flight): one of its own live orders, chosen at random; with
///   no live order it skips the cancel and sends a limit order instead (or,
///   at the cap, does nothing this tick);
/// - market order (cancel_share <= u < cancel_share + market_order_share):
///   random side, IOC;
/// - otherwise a GTC limit order: random side, price = reference +- up to
///   price_band ticks (at least one tick).
/// Quantities are 1..max_quantity lots. The reference is the last trade
/// price of the symbol the trader has seen in its own fills, else the
/// configured reference price. The next tick comes after interval +-
/// jitter (uniform; at least 1 us), the first one after a random phase in
/// [0, interval) so that a population does not act in lockstep.
///
/// Its own orders are tracked from its replies and execution reports
/// (accepted -> live; done or cancelled -> gone), so it only ever cancels
/// orders it owns.
///
/// ## Determinism
/// All randomness comes from one splitmix64 stream per trader, seeded from
/// (scenario seed, trader index); timers use the actor system's clock. Under
/// a deterministic scheduler, the same seed gives the same orders.

#include "actors/interfaces.hpp"
#include "market/shard_router.hpp"
#include "market/types.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

namespace marketsim::strategies {

/// A ZI trader: an order listener with its own timer and control messages.
using zi_trader_actor = actors::order_listener_actor::extend<
    caf::reacts_to<actors::trader_tick>, caf::reacts_to<actors::trader_stop>,
    caf::replies_to<actors::trader_stats_request>::with<actors::trader_stats>>;

/// What the trader needs to know about one symbol it trades.
struct zi_symbol {
  market::symbol_id id = 0;
  market::price_t tick_size = 1;
  market::qty_t lot_size = 1;
  market::price_t reference_price = 0; ///< a multiple of tick_size
};

struct zi_params {
  std::uint64_t seed = 0;     ///< the scenario seed
  std::uint64_t index = 0;    ///< the trader's index in the population
  market::owner_id owner = 0; ///< non-zero, unique per trader
  std::vector<zi_symbol> symbols;
  std::chrono::nanoseconds interval{std::chrono::milliseconds{10}};
  std::chrono::nanoseconds jitter{0}; ///< 0 <= jitter <= interval
  std::int64_t price_band_ticks = 10;
  double market_order_share = 0.1;
  double cancel_share = 0.2;
  std::int64_t max_quantity_lots = 10;
  std::uint32_t max_resting = 10;
};

/// The seed of trader `index`'s RNG stream: output number index + 1 of a
/// splitmix64 stream seeded with the scenario seed, so that streams of
/// neighbouring traders are unrelated.
std::uint64_t stream_seed(std::uint64_t scenario_seed, std::uint64_t index);

/// Spawns a trader that registers itself with the shards of its symbols and
/// starts its timer. Throws std::invalid_argument for params out of range or
/// a symbol `router` does not route.
zi_trader_actor spawn_zi_trader(caf::actor_system& sys, zi_params params,
                                market::shard_router router);

} // namespace marketsim::strategies
