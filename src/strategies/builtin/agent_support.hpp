#pragma once

/// Small pieces the built-in agents (zero_intelligence, noise, value) share:
/// which symbols an agent trades, how much of an order its account can cover,
/// prices on the tick grid, and the bookkeeping of its resting orders. Pure,
/// like the strategies themselves: no CAF.

#include "strategies/params.hpp"
#include "strategies/strategy.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::strategies::builtin {

/// The `symbols` parameter every built-in agent declares: a comma-separated
/// list of symbol names, empty for every symbol of the exchange.
param_spec symbols_param();

/// The symbols named in `list` (see symbols_param), in list order without
/// repetition; every symbol of `table` in id order when `list` is empty.
/// Throws std::invalid_argument naming a symbol the table does not know.
std::vector<market::symbol_id> resolve_symbols(const market::symbol_table& table,
                                               std::string_view list);

/// The quantity-in-lots parameters (`min_quantity`, `max_quantity`) and the
/// check `make` runs on them (min <= max).
std::vector<param_spec> quantity_params(std::int64_t default_max);
void check_quantity_params(const param_values& v);

/// The largest multiple of `lot` in [lot, spec.qty] that the account can
/// cover now (account::check with that quantity passes), or 0 when not even
/// one lot. Quantity is the only thing that can make a feasible order out of
/// an infeasible one (cash and shares needed grow with it), so a binary search
/// over lots finds it. `reference` is the price a market buy reserves at.
///
/// The check sees the account as the host left it before this callback:
/// cancels asked for in this callback have not released their holds yet, so
/// the answer is conservative, never optimistic.
market::qty_t affordable_qty(const context& ctx, order_spec spec,
                             market::price_t reference, market::qty_t lot);

/// A size uniform in [min_lots, max_lots] lots of `symbol`, cut down to the
/// largest multiple of its lot that its max_order_qty allows (the exchange
/// would refuse more).
market::qty_t draw_qty(actors::random_stream& rng, std::int64_t min_lots,
                       std::int64_t max_lots, const market::symbol_spec& symbol);

/// The multiple of `tick` at or below `price`, at least one tick.
market::price_t floor_to_tick(double price, market::price_t tick);
/// The multiple of `tick` at or above `price`, at least one tick.
market::price_t ceil_to_tick(double price, market::price_t tick);

/// The agent's own price reference for a symbol: the mid when both sides are
/// quoted, else the last trade, else `fallback` (0: none).
market::price_t reference_price(const market_view& view, market::price_t fallback);

/// A price sample in ticks (fractional for a mid): the mid when both sides are
/// quoted, else the last trade (`prefer_mid`), or the other way round; none
/// when neither is known.
std::optional<double> price_in_ticks(const market_view& view, market::price_t tick,
                                     bool prefer_mid);

/// How a trend or reversion agent takes liquidity: a market order, or an IOC
/// limit at the opposite best plus `limit_offset_ticks` (a cap on slippage).
struct taker_style {
  bool market_orders = true;
  std::int64_t limit_offset_ticks = 0;
};

/// What a trend or reversion agent (momentum, mean_reversion) shares: which
/// price it samples, its order size and position limit in lots, and how it
/// takes liquidity.
struct taker_config {
  bool use_mid = true; ///< sample the L1 mid (else the last trade)
  std::int64_t order_size = 1;
  std::int64_t max_position = 10;
  taker_style style;
};

/// Their parameters: `price` (mid | last), `order_size`, `max_position`,
/// `order_type` (market | limit), `limit_offset`. `order_size_description`
/// says what an order is for (entry orders, every order ...).
std::vector<param_spec> taker_params(std::string order_size_description);

/// Reads taker_params. Throws std::invalid_argument, naming `strategy`, when
/// order_size exceeds max_position (the agent could never trade).
taker_config read_taker_params(const param_values& v, std::string_view strategy);

/// Submits an IOC order of `qty` taking liquidity on `side` and returns its
/// local id, or 0 when it sends nothing: the opposite side is empty, or the
/// account cannot cover the whole quantity (all or nothing, so the agent
/// does not send orders the host would refuse).
local_order_id take_liquidity(context& ctx, market::symbol_id s, market::side side,
                              market::qty_t qty, const taker_style& style);

/// A draw from [0, n) (n > 0).
std::size_t pick(actors::random_stream& rng, std::size_t n);

/// The agent's orders that may still rest, oldest first, so it can cancel
/// stale ones. Fed by the agent itself (submitted) and by its order updates:
/// an order the host no longer lists as live (rejected, cancelled, done) is
/// forgotten. A cancel asked for is remembered, so a later callback does not
/// ask again while it is in flight; a refused cancel (a reject for an order
/// still live) makes the order count as live again.
class resting_orders {
public:
  void submitted(local_order_id id, market::symbol_id s, market::side side, time_ns at);
  void on_update(const context& ctx, const order_update& u);

  /// Asks to cancel every order older than `max_age` (0: no age limit) and
  /// then the oldest ones until fewer than `max_live` are left, so that one
  /// new order keeps the agent within `max_live`. Returns how many it asked
  /// to cancel.
  std::size_t cancel_stale(context& ctx, std::size_t max_live, duration_ns max_age);
  /// Asks to cancel every order of one symbol.
  std::size_t cancel_symbol(context& ctx, market::symbol_id s);
  /// Asks to cancel the oldest order holding what an order on `side` of `s`
  /// would need: any buy (they share the cash), or a sell of `s` (its
  /// shares). An agent whose budget is all held by resting orders calls it
  /// so that a later action can trade again; false when there is none.
  bool cancel_oldest_holding(context& ctx, market::side side, market::symbol_id s);

  /// Orders not yet gone and not being cancelled.
  std::size_t live() const;

private:
  struct entry {
    market::symbol_id symbol = 0;
    market::side side = market::side::buy;
    time_ns at = 0;
    bool cancelling = false;
  };
  void cancel(context& ctx, local_order_id id, entry& e);

  std::map<local_order_id, entry> orders_; ///< local ids grow with time: oldest first
};

} // namespace marketsim::strategies::builtin
