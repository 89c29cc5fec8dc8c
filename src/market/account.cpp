#include "market/account.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace marketsim::market {

namespace {

using wide = __int128;

constexpr wide bps_per_unit = 10'000;

/// ceil(x / d) towards plus infinity, for d > 0. C++ division truncates
/// towards zero, which already is the ceiling for a negative quotient.
wide ceil_div(wide x, wide d) {
  wide q = x / d;
  return (x % d > 0) ? q + 1 : q;
}

wide fee_wide(wide notional, std::int32_t bps) {
  return ceil_div(notional * bps, bps_per_unit);
}

std::string to_decimal(wide x) {
  if (x == 0)
    return "0";
  bool negative = x < 0;
  std::string digits;
  while (x != 0) {
    int d = static_cast<int>(x % 10);
    digits.push_back(static_cast<char>('0' + (negative ? -d : d)));
    x /= 10;
  }
  if (negative)
    digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

void validate(const account_params& p) {
  auto fail = [](const std::string& what) {
    throw std::invalid_argument("account_params: " + what);
  };
  auto bps_ok = [](std::int32_t bps) { return bps >= -10'000 && bps <= 10'000; };
  if (!bps_ok(p.fees.maker_bps) || !bps_ok(p.fees.taker_bps))
    fail("fee bps must be within [-10000, 10000]");
  if (p.max_short < 0)
    fail("max_short must not be negative");
  if (p.max_borrow < 0)
    fail("max_borrow must not be negative");
  if (p.market_collar_bps < 0 || p.market_collar_bps > 10'000)
    fail("market_collar_bps must be within [0, 10000]");
  money_t floor = p.allow_margin ? -p.max_borrow : 0;
  if (p.cash < floor)
    fail("initial cash " + std::to_string(p.cash) + " is below the cash floor " +
         std::to_string(floor));
  for (const auto& [s, h] : p.positions) {
    std::string where = "symbol " + std::to_string(s) + ": ";
    if (h.cost < 0)
      fail(where + "cost must not be negative");
    if (h.qty < 0 && !p.allow_short)
      fail(where + "short initial position without allow_short");
    if (h.qty < 0 && -h.qty > p.max_short)
      fail(where + "initial short position beyond max_short");
  }
}

// -- sorted vectors of (key, value) pairs ---------------------------------------------

template <class Vector, class Key>
auto find_key(Vector& v, Key k) {
  auto i = std::lower_bound(v.begin(), v.end(), k,
                            [](const auto& e, Key key) { return e.first < key; });
  return i != v.end() && i->first == k ? i : v.end();
}

/// The value of `k`, inserted value-initialised if missing (map::operator[]).
template <class Vector, class Key>
auto& entry(Vector& v, Key k) {
  auto i = std::lower_bound(v.begin(), v.end(), k,
                            [](const auto& e, Key key) { return e.first < key; });
  if (i == v.end() || i->first != k)
    i = v.emplace(i, k, typename Vector::value_type::second_type{});
  return i->second;
}

template <class Vector, class Key>
void erase_key(Vector& v, Key k) {
  if (auto i = find_key(v, k); i != v.end())
    v.erase(i);
}

std::shared_ptr<const account_params> checked(std::shared_ptr<const account_params> p) {
  if (p == nullptr)
    throw std::invalid_argument("account_params: null");
  validate(*p);
  return p;
}

/// One immutable default for every default-constructed account.
const std::shared_ptr<const account_params>& default_params() {
  static const auto defaults = std::make_shared<const account_params>();
  return defaults;
}

} // namespace

money_t fee_for(price_t price, qty_t qty, std::int32_t bps) {
  return static_cast<money_t>(fee_wide(wide{price} * qty, bps));
}

// -- account: construction and state ---------------------------------------------

account::account() : account(default_params()) {}

account::account(account_params params)
    : account(std::make_shared<const account_params>(std::move(params))) {}

account::account(std::shared_ptr<const account_params> params)
    : params_(checked(std::move(params))) {
  cash_ = params_->cash;
  wide total_basis = 0;
  positions_.reserve(params_->positions.size());
  for (const auto& [s, h] : params_->positions) {
    if (h.qty == 0)
      continue;
    wide basis = wide{h.qty} * h.cost;
    entry(positions_, s) = open_position{h.qty, static_cast<money_t>(basis)};
    total_basis += basis;
  }
  book_value_at_start_ = wide{cash_} + total_basis;
}

qty_t account::position(symbol_id s) const {
  auto i = find_key(positions_, s);
  return i == positions_.end() ? 0 : i->second.qty;
}

money_t account::basis(symbol_id s) const {
  auto i = find_key(positions_, s);
  return i == positions_.end() ? 0 : i->second.basis;
}

qty_t account::reserved_to_sell(symbol_id s) const {
  auto i = find_key(reserved_to_sell_, s);
  return i == reserved_to_sell_.end() ? 0 : i->second;
}

money_t account::unrealised(const mark_prices& marks) const {
  wide sum = 0;
  for (const auto& [s, p] : positions_) {
    auto m = marks.find(s);
    if (m != marks.end())
      sum += wide{p.qty} * m->second - p.basis;
  }
  return static_cast<money_t>(sum);
}

money_t account::equity(const mark_prices& marks) const {
  wide sum = cash_;
  for (const auto& [s, p] : positions_) {
    auto m = marks.find(s);
    sum += m != marks.end() ? wide{p.qty} * m->second : wide{p.basis};
  }
  return static_cast<money_t>(sum);
}

// -- account: orders --------------------------------------------------------------

price_t account::buy_reserve_price(const order_request& req,
                                   price_t reference_price) const {
  auto collar = [this](price_t base) {
    return static_cast<price_t>(
        ceil_div(wide{base} * (bps_per_unit + params_->market_collar_bps), bps_per_unit));
  };
  switch (req.type) {
  case order_type::limit:
  case order_type::stop_limit:
    return req.price > 0 ? req.price : 0;
  case order_type::market:
    return reference_price > 0 ? collar(reference_price) : 0;
  case order_type::stop:
    // A triggered buy stop trades at or above its stop price: that is the
    // reference a market order would take at the moment it becomes one.
    return req.stop_price > 0 ? collar(req.stop_price) : 0;
  }
  return 0;
}

wide account::fee_budget(const order_request& req, wide notional) const {
  const auto& f = params_->fees;
  std::int32_t worst = req.post_only ? f.maker_bps : std::max(f.maker_bps, f.taker_bps);
  if (worst <= 0)
    return 0;
  bool both_roles_charge = !req.post_only && f.maker_bps > 0 && f.taker_bps > 0;
  return fee_wide(notional, worst) + (both_roles_charge ? 1 : 0);
}

reject_reason account::check(const order_request& req, price_t reference_price) const {
  if (req.qty <= 0)
    return reject_reason::bad_quantity;
  if (req.id == 0 || find_key(reservations_, req.id) != reservations_.end())
    return reject_reason::duplicate_order_id;

  if (req.side == side::buy) {
    price_t price = buy_reserve_price(req, reference_price);
    if (price <= 0) {
      switch (req.type) {
      case order_type::market:
        return reject_reason::no_reference_price;
      case order_type::stop:
        return reject_reason::bad_stop_price;
      default:
        return reject_reason::bad_price;
      }
    }
    wide notional = wide{price} * req.qty;
    wide need = notional + fee_budget(req, notional);
    wide free = wide{cash_} - reserved_cash_;
    if (need <= free)
      return reject_reason::none;
    if (!params_->allow_margin)
      return reject_reason::insufficient_cash;
    return need <= free + params_->max_borrow ? reject_reason::none
                                              : reject_reason::margin_limit;
  }

  wide after = wide{position(req.symbol)} - reserved_to_sell(req.symbol) - req.qty;
  if (after >= 0)
    return reject_reason::none;
  if (!params_->allow_short)
    return reject_reason::insufficient_position;
  return after >= -wide{params_->max_short} ? reject_reason::none
                                            : reject_reason::short_limit;
}

reject_reason account::reserve(const order_request& req, price_t reference_price) {
  reject_reason why = check(req, reference_price);
  if (why != reject_reason::none)
    return why;
  reservation r;
  r.symbol = req.symbol;
  r.side = req.side;
  r.qty = req.qty;
  if (req.side == side::buy) {
    r.price = buy_reserve_price(req, reference_price);
    wide notional = wide{r.price} * r.qty;
    r.fee_budget = static_cast<money_t>(fee_budget(req, notional));
    r.cash = static_cast<money_t>(notional + r.fee_budget);
    reserved_cash_ += r.cash;
  } else {
    entry(reserved_to_sell_, req.symbol) += req.qty;
  }
  entry(reservations_, req.id) = r;
  return reject_reason::none;
}

bool account::release(order_id id) {
  auto i = find_key(reservations_, id);
  if (i == reservations_.end())
    return false;
  const reservation& r = i->second;
  if (r.side == side::buy) {
    reserved_cash_ -= r.cash;
  } else {
    auto& held = entry(reserved_to_sell_, r.symbol);
    held -= r.qty;
    if (held == 0)
      erase_key(reserved_to_sell_, r.symbol);
  }
  reservations_.erase(i);
  return true;
}

// -- account: fills ---------------------------------------------------------------

money_t account::on_fill(const fill& f) {
  // Only a hold of this very order counts; a mismatching side or symbol is a
  // caller bug, and the fill is then settled without touching any hold.
  auto i = f.id == 0 ? reservations_.end() : find_key(reservations_, f.id);
  reservation* held = nullptr;
  if (i != reservations_.end() && i->second.side == f.side &&
      i->second.symbol == f.symbol)
    held = &i->second;

  wide notional = wide{f.price} * f.qty;
  money_t fee = fee_of(f, held);
  if (f.side == side::buy)
    cash_ = static_cast<money_t>(wide{cash_} - notional - fee);
  else
    cash_ = static_cast<money_t>(wide{cash_} + notional - fee);
  fees_paid_ += fee;
  apply_to_position(f.symbol, f.side == side::buy ? f.qty : -f.qty, f.price);
  if (held != nullptr)
    consume_reservation(f, *held, f.id);
  return fee;
}

money_t account::fee_of(const fill& f, reservation* held) {
  std::int32_t bps = f.is_maker ? params_->fees.maker_bps : params_->fees.taker_bps;
  wide notional = wide{f.price} * f.qty;
  if (held == nullptr)
    return static_cast<money_t>(fee_wide(notional, bps));
  // Round the order's running total, not each fill (see "Fees").
  wide& total = f.is_maker ? held->maker_notional : held->taker_notional;
  wide before = fee_wide(total, bps);
  total += notional;
  auto fee = static_cast<money_t>(fee_wide(total, bps) - before);
  held->fees_charged += fee;
  return fee;
}

void account::apply_to_position(symbol_id s, qty_t signed_qty, price_t price) {
  open_position& p = entry(positions_, s);
  qty_t rest = signed_qty;
  bool reduces = p.qty != 0 && ((p.qty > 0) != (signed_qty > 0));
  if (reduces) {
    qty_t open = p.qty > 0 ? p.qty : -p.qty;
    qty_t wanted = rest > 0 ? rest : -rest;
    qty_t closed = std::min(open, wanted);
    // Closing everything removes the whole basis, so no rounding remainder
    // can outlive the position.
    wide removed = closed == open ? wide{p.basis} : wide{p.basis} * closed / open;
    // Received when closing a long, paid when covering a short.
    wide proceeds = wide{price} * closed;
    wide pnl = p.qty > 0 ? proceeds - removed : -removed - proceeds;
    realised_ = static_cast<money_t>(wide{realised_} + pnl);
    p.basis = static_cast<money_t>(wide{p.basis} - removed);
    qty_t step = p.qty > 0 ? -closed : closed;
    p.qty += step;
    rest -= step;
  }
  if (rest != 0) {
    p.qty += rest;
    p.basis = static_cast<money_t>(wide{p.basis} + wide{rest} * price);
  }
  if (p.qty == 0)
    erase_key(positions_, s);
}

void account::consume_reservation(const fill& f, reservation& r, order_id id) {
  qty_t used = std::min(r.qty, f.qty);
  r.qty -= used;
  if (r.side == side::buy) {
    // The open rest at the reserve price plus what the fee budget has left:
    // cash spent so far plus this hold never exceeds the first hold while the
    // order fills at or below its reserve price.
    wide still =
        wide{r.price} * r.qty + std::max<wide>(0, wide{r.fee_budget} - r.fees_charged);
    if (r.qty == 0)
      still = 0;
    reserved_cash_ -= r.cash - static_cast<money_t>(still);
    r.cash = static_cast<money_t>(still);
  } else {
    auto& held = entry(reserved_to_sell_, r.symbol);
    held -= used;
    if (held == 0)
      erase_key(reserved_to_sell_, r.symbol);
  }
  if (r.qty == 0) // a used-up buy hold was set to zero cash above
    erase_key(reservations_, id);
}

// -- account: invariants ------------------------------------------------------------

std::string account::check_invariants() const {
  wide cash_held = 0;
  std::map<symbol_id, wide> shares_held;
  for (const auto& [id, r] : reservations_) {
    if (r.qty <= 0)
      return "order " + std::to_string(id) + " holds a non-positive quantity";
    if (r.side == side::buy)
      cash_held += r.cash;
    else
      shares_held[r.symbol] += r.qty;
  }
  if (cash_held != reserved_cash_)
    return "reserved cash " + std::to_string(reserved_cash_) + " != sum of buy holds " +
           to_decimal(cash_held);
  for (const auto& [s, q] : reserved_to_sell_)
    if (q <= 0 || shares_held[s] != q)
      return "reserved to sell on symbol " + std::to_string(s) + " is " +
             std::to_string(q) + ", sell holds sum to " + to_decimal(shares_held[s]);
  for (const auto& [s, q] : shares_held)
    if (find_key(reserved_to_sell_, s) == reserved_to_sell_.end())
      return "sell holds on symbol " + std::to_string(s) + " missing from the total";

  wide book_value = wide{cash_} + fees_paid_ - realised_;
  for (const auto& [s, p] : positions_) {
    if (p.qty == 0)
      return "flat position kept for symbol " + std::to_string(s);
    // Zero is allowed: a holding may have been received at no cost.
    if ((p.qty > 0 && p.basis < 0) || (p.qty < 0 && p.basis > 0))
      return "symbol " + std::to_string(s) + ": basis " + std::to_string(p.basis) +
             " has the opposite sign of quantity " + std::to_string(p.qty);
    book_value += p.basis;
  }
  if (book_value != book_value_at_start_)
    return "cash + basis + fees - realised is " + to_decimal(book_value) + ", was " +
           to_decimal(book_value_at_start_);
  return {};
}

// -- ledger -----------------------------------------------------------------------

account& ledger::open(owner_id owner, account_params params) {
  if (accounts_.count(owner) != 0)
    throw std::invalid_argument("ledger: owner " + std::to_string(owner) +
                                " already has an account");
  auto [it, inserted] = accounts_.emplace(owner, account{std::move(params)});
  initial_cash_ += it->second.cash();
  for (const auto& [s, p] : it->second.positions())
    initial_shares_[s] += p.qty;
  return it->second;
}

account* ledger::find(owner_id owner) {
  auto i = accounts_.find(owner);
  return i == accounts_.end() ? nullptr : &i->second;
}

const account* ledger::find(owner_id owner) const {
  auto i = accounts_.find(owner);
  return i == accounts_.end() ? nullptr : &i->second;
}

bool ledger::apply(const book_event& trade) {
  if (trade.kind != event_kind::trade)
    return false;
  account* taker = find(trade.owner);
  account* maker = find(trade.maker_owner);
  if (taker == nullptr || maker == nullptr)
    return false;
  fees_collected_ += taker->on_fill(
      fill{trade.id, trade.symbol, trade.side, trade.price, trade.qty, false});
  fees_collected_ += maker->on_fill(fill{trade.maker, trade.symbol, opposite(trade.side),
                                         trade.price, trade.qty, true});
  return true;
}

std::string ledger::check_conservation() const {
  wide cash = fees_collected_;
  wide fees = 0;
  std::map<symbol_id, wide> shares;
  for (const auto& [owner, a] : accounts_) {
    std::string broken = a.check_invariants();
    if (!broken.empty())
      return "owner " + std::to_string(owner) + ": " + broken;
    cash += a.cash();
    fees += a.fees_paid();
    for (const auto& [s, p] : a.positions())
      shares[s] += p.qty;
  }
  if (cash != initial_cash_)
    return "total cash " + to_decimal(cash) + " (incl. fees collected) != initial " +
           to_decimal(initial_cash_);
  if (fees != fees_collected_)
    return "fees paid " + to_decimal(fees) + " != fees collected " +
           std::to_string(fees_collected_);
  // Either map may lack a symbol whose total is zero on that side.
  std::map<symbol_id, wide> all = initial_shares_;
  for (const auto& [s, q] : shares)
    all.try_emplace(s, 0);
  for (const auto& [s, initial] : all) {
    auto i = shares.find(s);
    wide now = i == shares.end() ? 0 : i->second;
    if (now != initial)
      return "symbol " + std::to_string(s) + ": total position " + to_decimal(now) +
             " != initial " + to_decimal(initial);
  }
  return {};
}

} // namespace marketsim::market
