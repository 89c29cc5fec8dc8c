#pragma once

/// The limit order book of one symbol: price-time priority matching, pure and
/// synchronous (no CAF, no clock, no I/O). Every call appends what happened to
/// an event vector the caller owns and reuses (it is never cleared here).
///
/// ## Contract (the randomized test's reference matcher follows it to the letter)
///
/// Every event carries `symbol`. Fields a kind does not list below are zero.
/// - accepted:       id, owner, side, price = limit price (0 for market and
///                   stop-market), qty = order quantity
/// - rejected:       id, owner, reject; side = the request's side for submit
///                   (buy for cancel/modify). For cancel/modify, id is the
///                   requested id and owner the *requester* (there may be no
///                   order to take an owner from).
/// - trade:          id = taker, owner = taker's owner, maker, maker_owner,
///                   side = aggressor (taker) side, price = maker's price, qty,
///                   leaves = taker's open qty after it, maker_leaves = maker's
/// - cancelled:      id, owner, side, price = limit price (0 for market and
///                   stop-market), qty = open quantity removed, cancel. For a
///                   self-trade cancel these are the resting order's fields.
/// - stop_triggered: id, owner, side, price = last trade price that triggered
///                   it, qty = open quantity
/// - modified:       id, owner, side, price = new price, qty = new open qty
/// - done:           id, owner, side (the order is fully filled and gone)
///
/// submit():
/// 1. Validation, first failing check wins, gives one `rejected` and nothing
///    else: duplicate_order_id (id 0 or live); bad_order_combination
///    (post-only with market, stop, stop-limit, IOC or FOK); bad_quantity
///    (<= 0 or > max_order_qty); off_lot_quantity; for limit and stop-limit:
///    bad_price (<= 0), off_tick_price; for stop and stop-limit: bad_stop_price
///    (<= 0 or off tick).
/// 2. Then, for orders that would match now (not pending stops):
///    post_only_would_cross (a post-only limit at or through the best
///    opposite price); fok_not_fillable (the liquidity of *other* owners at
///    acceptable prices is less than qty); no_liquidity (a non-FOK market order
///    against an empty opposite side). Each is a `rejected`. These checks
///    apply to limit and market orders only: a stop or stop-limit is never
///    rejected here, not even when it triggers at once (step 6 applies).
///    "Best opposite price" and "empty opposite side" count every resting
///    order, the incoming owner's own included (those are then cancelled as
///    self_trade when reached, see 4).
/// 3. `accepted`. A stop or stop-limit then waits unless its condition
///    already holds against the last trade price (no trade yet: it waits); if
///    it holds, it triggers at once (see 6).
/// 4. Matching against the opposite side in price-time order while the
///    incoming order crosses (market: any price; buy limit: ask <= limit;
///    sell limit: bid >= limit). For each resting order reached: same owner ->
///    `cancelled` (self_trade, its whole open qty) and go on; else `trade` at
///    the maker's price for min(open, open), then `done` for the maker if it
///    is filled. When the incoming order is filled: `done` for it. So a trade
///    that fills both gives trade, done (maker), done (taker), and matching
///    stops there: resting orders behind it are not reached. A FOK that passed
///    step 2 is filled completely here.
/// 5. A remainder of a GTC or day limit rests (no further event). A remainder
///    of a market order (any tif) or of an IOC limit: `cancelled`
///    (ioc_remainder, the remaining qty).
/// 6. Stops: while any pending stop's condition holds against the last trade
///    price (buy: last >= stop; sell: last <= stop), take the first in trigger
///    order -- if any buy stop holds, the buy with the lowest stop price, else
///    the sell with the highest stop price; ties by arrival -- emit
///    `stop_triggered` and run it as an incoming order (stop -> market,
///    stop-limit -> limit at its price, same tif) through steps 4 and 5 (no
///    rejects: a triggered market order on an empty side is simply cancelled
///    as ioc_remainder; a triggered FOK that is not fillable is cancelled as
///    ioc_remainder with nothing traded). Then look again (cascade).
///    "Arrival" of a pending stop is its submission. A triggered stop-limit
///    whose remainder rests joins the back of its level (priority from the
///    trigger) and is from then on an ordinary resting limit order
///    (modifiable, and a day one still expires at end_of_day()).
///
/// cancel(): unknown_order_id if not live, not_owner if the requester is not
/// the owner (both `rejected`); else `cancelled` (user). Pending stops too.
///
/// modify(): on a resting limit order only. Checks in order: unknown_order_id,
/// not_owner, not_modifiable (a pending stop), bad_quantity, off_lot_quantity,
/// bad_price, off_tick_price, unchanged (same price and qty), and for a price
/// change or quantity increase of a post-only order post_only_would_cross
/// (the order stays as it was). Same price and smaller qty: `modified`, the
/// order keeps its place. Otherwise the order leaves its place, `modified`,
/// and enters again as a new arrival with the same id: it matches if it
/// crosses (step 4), rests the remainder (5), and stops are processed (6).
/// This includes a quantity increase at the same price (back of the same
/// level). `modified` comes before any trade of the re-entry; trades count
/// `leaves` down from the new quantity. The order keeps its owner, side, tif
/// and post-only flag.
///
/// end_of_day(): every live day order, resting or pending stop, in ascending
/// order id: `cancelled` (expired).
///
/// cancel_outside(low, high): every live order with a limit price (resting,
/// or pending stop-limit) below low or above high, in ascending order id:
/// `cancelled` (outside_price_band).
///
/// Self-trade prevention policy: **cancel resting** (a.k.a. cancel oldest). An
/// incoming order never trades with a resting order of the same owner; each
/// such resting order is cancelled when the incoming order reaches it, and
/// matching continues behind it. Market makers replacing quotes are served by
/// it; the aggressor keeps its full intent.

#include "market/types.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace marketsim::market {

/// Best bid and ask. A missing side has price 0 and quantity 0.
struct l1_quote {
  price_t bid_price = 0;
  qty_t bid_qty = 0;
  price_t ask_price = 0;
  qty_t ask_qty = 0;

  friend bool operator==(const l1_quote&, const l1_quote&) = default;
};

/// One aggregated price level of an L2 snapshot.
struct depth_level {
  price_t price = 0;
  qty_t qty = 0;
  std::uint32_t orders = 0;

  friend bool operator==(const depth_level&, const depth_level&) = default;
};

/// A live order as the book holds it: what re-entering it needs.
struct live_order {
  /// id, owner, symbol, side, tif, post_only; type: limit once resting, stop
  /// or stop_limit while pending; price: the limit price (0 for a
  /// stop-market); stop_price: the trigger of a pending stop (0 once
  /// resting); qty: the open quantity.
  order_request request;
  bool pending_stop = false;
};

/// Running trade statistics since the book was created.
struct trade_stats {
  price_t last_price = 0; ///< 0 before the first trade
  qty_t last_qty = 0;
  qty_t volume = 0;
  std::uint64_t trades = 0;
  /// Sum of price * qty over all trades. 128-bit so it cannot overflow.
  __int128 notional = 0;

  /// Volume-weighted average price in price units; 0 before the first trade.
  double vwap() const {
    return volume == 0 ? 0.0 : static_cast<double>(notional) / static_cast<double>(volume);
  }
};

class order_book {
public:
  /// `expected_orders` pre-sizes the order pool and id index so that no
  /// allocation happens while fewer orders are live.
  order_book(symbol_id symbol, symbol_spec spec, std::size_t expected_orders = 1024);

  order_book(const order_book&) = delete;
  order_book& operator=(const order_book&) = delete;
  /// A moved-from book may only be destroyed or assigned to.
  order_book(order_book&&) noexcept;
  order_book& operator=(order_book&&) noexcept;
  ~order_book();

  // -- commands ------------------------------------------------------------

  /// Enters a new order: validates, matches, rests or cancels the remainder,
  /// then processes any stops the trades triggered.
  void submit(const order_request& req, std::vector<book_event>& out);

  /// Cancels a live order (resting or pending stop).
  void cancel(order_id id, owner_id requester, std::vector<book_event>& out);

  /// Changes price and/or open quantity of a resting limit order (see
  /// modify_request for priority rules).
  void modify(const modify_request& req, owner_id requester, std::vector<book_event>& out);

  /// Cancels every day order (resting or pending stop) with reason `expired`.
  void end_of_day(std::vector<book_event>& out);

  /// Cancels every live order whose limit price is outside [low, high]
  /// (resting limit orders and pending stop-limits; stop-market orders have
  /// no limit and stay) with reason `outside_price_band`, in ascending order
  /// id. The exchange shard's price band calls it when the band moves, so that
  /// nothing rests outside it.
  void cancel_outside(price_t low, price_t high, std::vector<book_event>& out);

  // -- market data -----------------------------------------------------------

  l1_quote l1() const;

  /// Appends up to `levels` levels of one side, best first.
  void depth(side s, std::size_t levels, std::vector<depth_level>& out) const;

  const trade_stats& stats() const;

  // -- introspection -----------------------------------------------------------

  symbol_id symbol() const;
  const symbol_spec& spec() const;
  /// Resting orders plus pending stops.
  std::size_t live_orders() const;
  bool is_live(order_id id) const;

  /// Appends every live order, oldest first by time priority (its arrival,
  /// a re-queueing modify or a stop's trigger): submitting the resting ones,
  /// then the pending stops, in this order to an empty book rebuilds the same
  /// queues in every level and the same trigger order. Walks every order and
  /// sorts: for snapshots.
  void list_live_orders(std::vector<live_order>& out) const;

  /// Checks the book's invariants: never crossed at rest, each level's total
  /// equals the sum of its orders and its count the number of them, FIFO
  /// within a level (arrival sequence increasing), each live order id in
  /// exactly one place (one level, or the stop list), index and storage agree,
  /// no empty level is stored, no pending stop's condition holds against the
  /// last trade price, and every pooled node and level is either in use or
  /// free. Slow (it walks everything): for tests.
  /// Returns an empty string when all hold, else a description of the first
  /// violation found.
  std::string check_invariants() const;

private:
  struct impl;
  // The implementation keeps its hot data in one block owned here; see
  // order_book.cpp.
  impl* impl_;
};

} // namespace marketsim::market
