#pragma once

/// Value types of the market core: integers only, no CAF, no clocks.

#include <cstdint>
#include <string>
#include <string_view>

namespace marketsim::market {

/// A price in integer price units (e.g. cents). Must be a multiple of the
/// symbol's tick size.
using price_t = std::int64_t;
/// A quantity in integer units (shares, contracts). Must be a multiple of the
/// symbol's lot size.
using qty_t = std::int64_t;
/// Exchange-wide order id, assigned by the caller of the book (the shard).
/// Zero is never a valid id.
using order_id = std::uint64_t;
/// The account that owns an order; self-trade prevention works per owner.
using owner_id = std::uint64_t;
/// Index into the symbol table.
using symbol_id = std::uint32_t;

enum class side : std::uint8_t { buy, sell };

enum class order_type : std::uint8_t {
  limit,      ///< rests at its price (unless IOC/FOK)
  market,     ///< takes whatever liquidity there is, never rests
  stop,       ///< becomes a market order when the last trade reaches stop_price
  stop_limit, ///< becomes a limit order at `price` when triggered
};

enum class time_in_force : std::uint8_t {
  gtc, ///< good till cancelled
  day, ///< cancelled by end_of_day()
  ioc, ///< immediate or cancel: the remainder is cancelled, never rests
  fok, ///< fill or kill: filled completely at once, or rejected untouched
};

enum class reject_reason : std::uint8_t {
  none,
  unknown_symbol,
  bad_price,          ///< zero or negative price
  off_tick_price,     ///< price not a multiple of the tick size
  bad_stop_price,     ///< zero, negative or off-tick stop price
  bad_quantity,       ///< zero or negative quantity, or above the symbol's maximum
  off_lot_quantity,   ///< quantity not a multiple of the lot size
  duplicate_order_id, ///< id is zero or already live in this book
  unknown_order_id,   ///< cancel/modify of an id that is not live
  not_owner,          ///< cancel/modify by someone other than the order's owner
  post_only_would_cross,
  fok_not_fillable,
  no_liquidity,       ///< market order against an empty opposite side
  bad_order_combination, ///< post-only with market, stop, stop-limit, IOC or FOK
  not_modifiable,     ///< modify of a stop order that has not triggered
  unchanged,          ///< modify that changes nothing
  // -- account pre-trade checks (account.hpp) --
  insufficient_cash,     ///< buy needs more cash than is free (no margin allowed)
  insufficient_position, ///< sell needs more shares than are free (no shorting allowed)
  short_limit,           ///< sell would take the position below the maximum short
  margin_limit,          ///< buy would take cash below the margin floor
  no_reference_price,    ///< market buy without a positive reference price to reserve at
  malformed_request,     ///< a field no valid request can have (e.g. an enum value out
                         ///< of range, as a peer on the wire may send)
  // -- consensus-aware checks (market/price_band_guard.hpp, exchange_shard.hpp) --
  outside_price_band, ///< price too far from the latest finalized consensus price
  // -- runs across hosts (distributed/shard_relay.hpp) --
  venue_unreachable, ///< the shard's host was lost with the request in flight, or before
  // -- a halt decided by the validators (actors::trading_halt) --
  trading_halted, ///< the shard is halted: no new order or modify
};

enum class cancel_reason : std::uint8_t {
  none,
  user,          ///< the owner asked
  ioc_remainder, ///< IOC or market order remainder after matching
  self_trade,    ///< self-trade prevention (see order_book.hpp for the policy)
  expired,       ///< day order at end of day
  outside_price_band, ///< left outside the price band when it moved (exchange_shard.hpp)
};

/// Everything needed to enter a new order.
struct order_request {
  order_id id = 0;
  owner_id owner = 0;
  symbol_id symbol = 0;
  market::side side = side::buy;
  order_type type = order_type::limit;
  time_in_force tif = time_in_force::gtc;
  price_t price = 0;      ///< limit price (limit, stop_limit); ignored otherwise
  price_t stop_price = 0; ///< trigger (stop, stop_limit); ignored otherwise
  qty_t qty = 0;
  bool post_only = false; ///< reject instead of taking liquidity
};

struct cancel_request {
  order_id id = 0;
  symbol_id symbol = 0;
};

/// Change price and/or quantity of a resting order. Reducing the quantity at
/// the same price keeps time priority; any price change or quantity increase
/// re-queues the order (it may then trade, as a cancel/replace would).
struct modify_request {
  order_id id = 0;
  symbol_id symbol = 0;
  price_t new_price = 0;
  qty_t new_qty = 0; ///< new remaining (open) quantity
};

enum class event_kind : std::uint8_t {
  accepted,       ///< order entered (resting, pending stop, or about to match)
  rejected,       ///< request refused; `reject` says why; nothing changed
  trade,          ///< a match between a resting maker and an incoming taker
  cancelled,      ///< order removed with `cancel` as the reason
  stop_triggered, ///< a stop order became a market/limit order
  modified,       ///< modify applied; `qty` is the new open quantity, `price` the new price
  done,           ///< order fully filled; it is no longer live
};

/// One thing that happened in the book. A flat struct so a vector of them can
/// be reused without allocation and sent as a message as it is. Which fields
/// each kind sets is specified in order_book.hpp.
struct book_event {
  event_kind kind = event_kind::accepted;
  reject_reason reject = reject_reason::none;
  cancel_reason cancel = cancel_reason::none;
  market::side side = side::buy;
  symbol_id symbol = 0;
  order_id id = 0;
  owner_id owner = 0;
  order_id maker = 0;
  owner_id maker_owner = 0;
  price_t price = 0;
  qty_t qty = 0;
  qty_t leaves = 0;
  qty_t maker_leaves = 0;

  friend bool operator==(const book_event&, const book_event&) = default;
};

/// Per-symbol trading rules.
struct symbol_spec {
  std::string name;
  price_t tick_size = 1;
  qty_t lot_size = 1;
  qty_t max_order_qty = 1'000'000'000;
};

std::string_view to_string(side x);
std::string_view to_string(order_type x);
std::string_view to_string(time_in_force x);
std::string_view to_string(reject_reason x);
std::string_view to_string(cancel_reason x);
std::string_view to_string(event_kind x);
/// One line, for logs and test failure messages.
std::string to_string(const book_event& x);

constexpr side opposite(side s) { return s == side::buy ? side::sell : side::buy; }

} // namespace marketsim::market
