#pragma once

/// The exchange shard actor: owns the books of a set of symbols (through a
/// matching_engine) and turns messages into book calls and book events into
/// replies, execution reports and market data.
///
/// ## What it sends where
/// - new_order / cancel_order / modify_order: answered with an order_reply that
///   holds every event of the requester's own orders the request caused (ack or
///   reject, fills as taker, and as maker when a stop it triggered hit them).
///   A new_order_batch is handled order by order and answered with one
///   order_reply_batch.
/// - Events of other owners' orders (maker fills, self-trade cancels of resting
///   orders, triggered stops and their fills, expiries) go as one
///   execution_report per affected owner per request (per batch) to the
///   listener registered for that owner with register_owner (a null listener
///   unregisters). Reports for an owner without a listener are dropped and
///   counted (shard_stats::unroutable_reports); the first one is logged.
/// - Market data to md_subscribe subscribers: a trade_print per trade
///   (sequence numbers per shard, from 1), an l1_update when a symbol's best
///   bid or ask changes, and periodic l2_snapshots (timer on the actor
///   system's clock, so it runs in virtual time too). The timer only runs
///   while some subscriber asked for snapshots: a pending timer keeps the shard
///   alive, so quit the shard (an exit message) at shutdown.
/// - l2_request and stats_request are answered with l2_snapshot and
///   shard_stats; an l2_request for a symbol not traded here gets
///   sec::invalid_argument.
/// - end_of_day cancels every day order; each owner gets its cancels as an
///   execution_report.
///
/// ## Bad input
/// Unknown symbols and invalid requests are rejected with the book's
/// reject_reason. Enum values out of range (they can arrive over the wire) are
/// rejected with reject_reason::bad_order_combination before they reach the
/// book. Listeners and subscribers are monitored and dropped when they die.
///
/// ## Price band (consensus-aware trading)
/// With shard_params::price_band_bps > 0 the shard keeps, per traded symbol,
/// a market::price_band_guard fed by actors::finalized_price messages (an
/// epoch not newer than the symbol's latest is ignored, as is a symbol not
/// traded here). Once a symbol has a finalized price P, nothing trades more
/// than the band away from P. The rule, exactly:
/// - A new limit or stop-limit order whose limit price is outside
///   [P - d, P + d] (d = P * bps / 10'000, rounded down: exactly at the edge
///   is inside) is rejected with reject_reason::outside_price_band, before
///   the book's own checks. So is a modify to a new price outside it. Market
///   and stop orders carry no price and are not checked on entry.
/// - When the band moves (a newer finalized price, the first one included),
///   every live order of the symbol with a limit price outside the new band
///   (resting, or a pending stop-limit) is cancelled with
///   cancel_reason::outside_price_band; owners get the cancels as
///   execution_reports.
/// So the book only ever holds orders priced inside the band, and since every
/// trade is at a resting (maker) order's price, every trade is inside it: a
/// market order (or a triggered stop) sweeps at most to the band's edge, and
/// its remainder is cancelled as usual (ioc_remainder). This is the collar of
/// real exchanges, kept by the book's content rather than by repricing takers.
/// Without a finalized price every price is accepted (consensus lagging must
/// not stop trading). price_band_bps = 0 (the default) turns all of it off:
/// finalized_price messages are then ignored.
///
/// ## Order ids
/// The shard assigns ids: shard index in the top 16 bits, a per-shard
/// sequence from 1 in the low 48, so ids are unique across shards.

#include "actors/interfaces.hpp"
#include "market/symbol_table.hpp"

#include <caf/fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace marketsim::market {

struct shard_params {
  /// Distinguishes the shard in order ids (must be below 2^16) and stats.
  std::uint32_t index = 0;
  symbol_table symbols;
  /// The symbols of `symbols` this shard trades; others are rejected.
  std::vector<symbol_id> traded;
  std::size_t expected_orders_per_book = 1024;
  /// Width of the price band around the latest finalized price, in basis
  /// points (500 = 5%); 0 turns the band off. See "Price band" above.
  std::int64_t price_band_bps = 0;
};

/// Number of low bits of an order id that hold the per-shard sequence.
inline constexpr unsigned order_id_sequence_bits = 48;

/// The shard index encoded in an order id the shard assigned.
constexpr std::uint32_t shard_of(order_id id) {
  return static_cast<std::uint32_t>(id >> order_id_sequence_bits);
}

/// Spawns a shard. Throws std::invalid_argument if `params.index` does not fit
/// the order id layout, a traded symbol is not in the table or
/// `params.price_band_bps` is negative.
actors::exchange_shard_actor spawn_exchange_shard(caf::actor_system& sys,
                                                  shard_params params);

} // namespace marketsim::market
