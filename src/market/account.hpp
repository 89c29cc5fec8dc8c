#pragma once

/// Trader accounts and the ledger that settles trades between them. Pure and
/// synchronous like the book: no CAF, no clock, no I/O, integers only.
///
/// ## Units
///
/// Cash is in price units times quantity units: with prices in cents and
/// quantities in shares, cash is in cents. Every product price * qty is formed
/// in 128 bits; balances themselves are int64 (about 9.2e18 units), which the
/// caller keeps them within.
///
/// ## Fees
///
/// A fee is ceil(notional * bps / 10'000) (`fee_for`), the ceiling taken
/// towards plus infinity: a charge is rounded up to the next whole unit and a
/// rebate (negative bps) is rounded *down* in size, so rounding always favours
/// the fee collector and never creates money for a trader. For an order the
/// account holds (reserved and not yet released) the rounding is applied to
/// the order's cumulative notional per role: a fill pays fee(total so far) -
/// fee(total before it). An order then pays in all fee(maker notional) +
/// fee(taker notional), however the book splits it, and a buy's hold can be
/// shown to cover it (see below). A fill of an order the account does not hold
/// (id 0, or released) is rounded on its own.
///
/// ## Realised PnL: average cost
///
/// Each symbol's open position carries a signed cost basis: the amount paid
/// for the units still held (long, positive) or received for the units still
/// owed (short, negative); basis / qty is the average cost per unit. A fill
/// that adds to the position adds price * qty to the basis. A fill that
/// reduces it removes the closed share of the basis, basis * closed / open,
/// truncated towards zero, and realises (price - average cost) * closed, signed
/// by the direction of the position. The truncation remainder stays with the
/// units still open, so a position closed completely has realised exactly its
/// proceeds minus its cost. A fill that crosses zero first closes the whole
/// position, then opens the rest at the fill price. Realised PnL is gross of
/// fees; `fees_paid()` holds them, so net PnL is realised - fees_paid. The
/// identity cash + basis + fees_paid - realised = its initial value holds after
/// every fill and is checked by `check_invariants()`.
///
/// ## Reservations (pre-trade risk)
///
/// `check()` and `reserve()` see the cash and shares that open orders already
/// hold. A buy reserves qty * reserve price + a fee budget: the fee on that
/// notional at the worse of the two rates (the maker rate alone for a post-only
/// order; a rebate is never counted on before it is earned), plus one unit when
/// both rates are positive and the order may trade in both roles, because
/// fee(x) + fee(y) can exceed fee(x + y) by one unit of rounding. As the order
/// fills, its hold is what the open rest needs at the reserve price plus what
/// is left of the fee budget. For a limit buy that fills at or below its
/// limit, cash therefore never falls below the floor through its fills. The
/// reserve price is the limit price
/// for limit and stop-limit orders; for a market order it is the caller's
/// reference price (last trade, or best ask) raised by `market_collar_bps`
/// (default 10%), and for a stop order the stop price raised the same way. The
/// collar is an estimate, not a limit the book enforces: a market buy that
/// fills above it still settles, and its reservation simply runs out. A sell
/// reserves shares: it may only take the position, less the shares open sells
/// already hold, down to zero, or to -max_short when shorting is allowed.
/// Cash may fall to -max_borrow when margin is allowed, else to zero.

#include "market/types.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::market {

/// Cash and other amounts of money, in price units times quantity units.
using money_t = std::int64_t;

/// Fees in basis points (1/100 of a percent) of a fill's notional.
struct fee_schedule {
  std::int32_t maker_bps = 0; ///< negative = a rebate paid to the maker
  std::int32_t taker_bps = 0;
};

/// ceil(notional * bps / 10'000) towards plus infinity (see "Fees" above).
money_t fee_for(price_t price, qty_t qty, std::int32_t bps);

/// A position an account starts with.
struct holding {
  qty_t qty = 0;    ///< negative = short (needs allow_short and max_short)
  price_t cost = 0; ///< average cost per unit: the basis realised PnL starts from
};

/// Validated at account construction (std::invalid_argument otherwise).
struct account_params {
  money_t cash = 0;
  std::map<symbol_id, holding> positions;
  fee_schedule fees; ///< each in [-10'000, 10'000]
  bool allow_short = false;
  qty_t max_short = 0; ///< largest short position per symbol, in units (>= 0)
  bool allow_margin = false;
  money_t max_borrow = 0; ///< cash may fall to -max_borrow (>= 0)
  /// Market buys reserve at reference * (10'000 + collar) / 10'000, rounded up;
  /// in [0, 10'000].
  std::int32_t market_collar_bps = 1'000;
};

/// One execution of one of the account's orders, from its own point of view.
struct fill {
  order_id id = 0; ///< the order that traded; 0 (or unknown) consumes no reservation
  symbol_id symbol = 0;
  market::side side = side::buy;
  price_t price = 0; ///< > 0
  qty_t qty = 0;     ///< > 0
  bool is_maker = false;
};

/// An open position: quantity and signed cost basis (see "Realised PnL").
struct open_position {
  qty_t qty = 0;
  money_t basis = 0;
};

/// Non-flat positions, sorted by symbol. A trader holds a handful at most, and
/// a million traders each keep one: a sorted vector costs a fraction of a
/// std::map's node per entry.
using position_list = std::vector<std::pair<symbol_id, open_position>>;

/// Prices to value positions at, per symbol (last trade or mid). A position
/// whose symbol has no mark is valued at its average cost: a symbol that has
/// not traded has no better price, and its unrealised PnL is then zero.
using mark_prices = std::map<symbol_id, price_t>;

class account {
public:
  /// Default params (no cash, no positions, no fees).
  account();
  /// Throws std::invalid_argument on invalid params (start-up only).
  explicit account(account_params params);
  /// The same, sharing immutable params with other accounts (the traders of
  /// one scenario group): an account then keeps no copy of its own. Also
  /// throws on null params.
  explicit account(std::shared_ptr<const account_params> params);

  // -- orders ------------------------------------------------------------------

  /// Pre-trade check against free cash and free shares (those not held by open
  /// orders). Returns none, or: bad_quantity (qty <= 0), duplicate_order_id
  /// (id 0 or already reserved), bad_price / bad_stop_price (a buy's limit or
  /// stop price <= 0), no_reference_price (market buy with reference <= 0),
  /// insufficient_cash, margin_limit, insufficient_position, short_limit.
  /// `reference_price` is used by market buys only.
  reject_reason check(const order_request& req, price_t reference_price) const;

  /// check(), and if it passes, holds the order's cash or shares until it is
  /// filled or released. Nothing changes on a reject.
  reject_reason reserve(const order_request& req, price_t reference_price);

  /// Frees what an open order still holds (on cancel, expiry, IOC remainder).
  /// Returns false if the id holds nothing (never reserved, or fully filled).
  bool release(order_id id);

  /// Settles one fill: cash, position, realised PnL, fee, and the order's
  /// reservation (by `f.id`, up to its open quantity). Returns the fee charged
  /// (negative: a rebate). Fills are facts: no limit is checked here.
  money_t on_fill(const fill& f);

  // -- state -------------------------------------------------------------------

  money_t cash() const { return cash_; }
  /// Cash held by open buy orders.
  money_t reserved_cash() const { return reserved_cash_; }
  qty_t position(symbol_id s) const;
  /// Signed cost basis of the open position (0 when flat).
  money_t basis(symbol_id s) const;
  /// Shares held by open sell orders of a symbol.
  qty_t reserved_to_sell(symbol_id s) const;
  /// Non-flat positions only, by symbol.
  const position_list& positions() const { return positions_; }
  std::size_t open_orders() const { return reservations_.size(); }

  money_t realised() const { return realised_; }
  /// Net of rebates: what the account has paid the fee collector in total.
  money_t fees_paid() const { return fees_paid_; }
  /// Sum over positions of qty * mark - basis.
  money_t unrealised(const mark_prices& marks) const;
  /// cash + sum over positions of qty * mark.
  money_t equity(const mark_prices& marks) const;

  const account_params& params() const { return *params_; }

  /// Reservation totals equal the sum of the open orders' holds, no flat
  /// position is kept, basis never has the opposite sign of quantity, and
  /// cash + basis + fees_paid - realised equals its initial value. Empty string
  /// when all hold, else the first violation.
  std::string check_invariants() const;

private:
  struct reservation {
    symbol_id symbol = 0;
    market::side side = side::buy;
    qty_t qty = 0;               ///< open quantity still held
    price_t price = 0;           ///< per-unit reserve price (buys)
    money_t fee_budget = 0;      ///< worst-case total fee of the order (buys), >= 0
    money_t fees_charged = 0;    ///< fees this order has paid so far
    money_t cash = 0;            ///< cash still held (buys)
    __int128 maker_notional = 0; ///< filled notional as maker, for fee rounding
    __int128 taker_notional = 0; ///< filled notional as taker
  };

  /// The per-unit price a buy reserves at; 0 when it has none (see check()).
  price_t buy_reserve_price(const order_request& req, price_t reference_price) const;
  /// The worst total fee of a buy of `notional` (see "Reservations").
  __int128 fee_budget(const order_request& req, __int128 notional) const;
  money_t fee_of(const fill& f, reservation* held);
  void apply_to_position(symbol_id s, qty_t signed_qty, price_t price);
  void consume_reservation(const fill& f, reservation& r, order_id id);

  /// Read-only after construction, so accounts may share them.
  std::shared_ptr<const account_params> params_;
  money_t cash_ = 0;
  money_t realised_ = 0;
  money_t fees_paid_ = 0;
  money_t reserved_cash_ = 0;
  /// cash + total basis + fees_paid - realised at construction.
  __int128 book_value_at_start_ = 0;
  // Sorted vectors, not maps: an account has few entries (see position_list).
  position_list positions_;
  std::vector<std::pair<symbol_id, qty_t>> reserved_to_sell_;  ///< non-zero only
  std::vector<std::pair<order_id, reservation>> reservations_; ///< by order id
};

/// The accounts of every owner on an exchange, settling trades between them,
/// plus the fee collector: a cash balance that receives every fee and pays
/// every rebate (it holds no shares, so a plain balance is all it needs).
class ledger {
public:
  /// Opens an account for `owner`. Throws std::invalid_argument if the owner
  /// already has one or the params are invalid (start-up only).
  account& open(owner_id owner, account_params params);

  account* find(owner_id owner);
  const account* find(owner_id owner) const;
  const std::map<owner_id, account>& accounts() const { return accounts_; }

  /// Settles a `trade` event (see order_book.hpp): the taker (owner, order id,
  /// aggressor side) and the maker (maker_owner, maker, the opposite side)
  /// exchange price * qty for qty shares, each pays its fee to the collector.
  /// Returns false and changes nothing if the event is not a trade or either
  /// owner has no account.
  bool apply(const book_event& trade);

  /// Fees received minus rebates paid (may be negative with generous rebates).
  money_t fees_collected() const { return fees_collected_; }

  /// Total cash including the collector's, and the total position of every
  /// symbol, equal their values when the accounts were opened; the collector
  /// holds exactly the fees the accounts paid; and every account's own
  /// invariants hold. Empty string when all hold, else a description.
  std::string check_conservation() const;

private:
  std::map<owner_id, account> accounts_;
  money_t fees_collected_ = 0;
  __int128 initial_cash_ = 0;
  std::map<symbol_id, __int128> initial_shares_;
};

} // namespace marketsim::market
