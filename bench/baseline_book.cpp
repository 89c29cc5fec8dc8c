#include "bench/baseline_book.hpp"

#include <algorithm>
#include <iterator>

namespace marketsim::bench {

using namespace marketsim::market;

baseline_book::baseline_book(symbol_id symbol) : symbol_(symbol) {}

// -- events ----------------------------------------------------------------------

book_event baseline_book::make(event_kind kind, const order& o) const {
  book_event e;
  e.kind = kind;
  e.symbol = symbol_;
  e.id = o.id;
  e.owner = o.owner;
  e.side = o.side;
  return e;
}

void baseline_book::reject(std::vector<book_event>& out, order_id id, owner_id owner,
                           side s, reject_reason why) const {
  book_event e = make(event_kind::rejected, order{id, owner, s, 0, 0});
  e.reject = why;
  out.push_back(e);
}

// -- matching --------------------------------------------------------------------

template <class Levels>
qty_t baseline_book::match(Levels& opposite, const order& taker,
                           std::vector<book_event>& out) {
  qty_t qty = taker.qty;
  while (!opposite.empty()) {
    auto level = opposite.begin();
    const price_t price = level->first;
    if (taker.side == side::buy ? price > taker.price : price < taker.price)
      break;
    fifo& queue = level->second;
    for (auto it = queue.begin(); it != queue.end() && qty > 0;) {
      order& maker = *it;
      if (maker.owner == taker.owner) {
        // Self-trade prevention, cancel resting, as order_book does.
        book_event e = make(event_kind::cancelled, maker);
        e.price = maker.price;
        e.qty = maker.qty;
        e.cancel = cancel_reason::self_trade;
        out.push_back(e);
        index_.erase(maker.id);
        it = queue.erase(it);
        continue;
      }
      const qty_t q = std::min(qty, maker.qty);
      maker.qty -= q;
      qty -= q;
      ++trades_;
      book_event e = make(event_kind::trade, taker);
      e.maker = maker.id;
      e.maker_owner = maker.owner;
      e.price = price;
      e.qty = q;
      e.leaves = qty;
      e.maker_leaves = maker.qty;
      out.push_back(e);
      if (maker.qty == 0) {
        out.push_back(make(event_kind::done, maker));
        index_.erase(maker.id);
        it = queue.erase(it);
      } else {
        ++it;
      }
    }
    if (queue.empty())
      opposite.erase(level);
    if (qty == 0) {
      out.push_back(make(event_kind::done, taker));
      return 0;
    }
  }
  return qty;
}

void baseline_book::rest(const order& o) {
  fifo& queue = o.side == side::buy ? bids_[o.price] : asks_[o.price];
  queue.push_back(o);
  index_.emplace(o.id, std::prev(queue.end()));
}

void baseline_book::remove(order_id id, fifo::iterator it) {
  const price_t price = it->price;
  if (it->side == side::buy) {
    auto level = bids_.find(price);
    level->second.erase(it);
    if (level->second.empty())
      bids_.erase(level);
  } else {
    auto level = asks_.find(price);
    level->second.erase(it);
    if (level->second.empty())
      asks_.erase(level);
  }
  index_.erase(id);
}

void baseline_book::enter(order o, bool ioc, std::vector<book_event>& out) {
  o.qty = o.side == side::buy ? match(asks_, o, out) : match(bids_, o, out);
  if (o.qty == 0)
    return;
  if (ioc) {
    book_event c = make(event_kind::cancelled, o);
    c.price = o.price;
    c.qty = o.qty;
    c.cancel = cancel_reason::ioc_remainder;
    out.push_back(c);
    return;
  }
  rest(o);
}

// -- commands --------------------------------------------------------------------

void baseline_book::submit(const order_request& r, std::vector<book_event>& out) {
  if (r.id == 0 || index_.contains(r.id))
    return reject(out, r.id, r.owner, r.side, reject_reason::duplicate_order_id);
  if (r.type != order_type::limit || r.tif == time_in_force::fok || r.post_only)
    return reject(out, r.id, r.owner, r.side, reject_reason::bad_order_combination);
  if (r.qty <= 0)
    return reject(out, r.id, r.owner, r.side, reject_reason::bad_quantity);
  if (r.price <= 0)
    return reject(out, r.id, r.owner, r.side, reject_reason::bad_price);

  const order o{r.id, r.owner, r.side, r.price, r.qty};
  book_event acc = make(event_kind::accepted, o);
  acc.price = r.price;
  acc.qty = r.qty;
  out.push_back(acc);
  enter(o, r.tif == time_in_force::ioc, out);
}

void baseline_book::cancel(order_id id, owner_id requester,
                           std::vector<book_event>& out) {
  auto found = index_.find(id);
  if (found == index_.end())
    return reject(out, id, requester, side::buy, reject_reason::unknown_order_id);
  const order o = *found->second;
  if (o.owner != requester)
    return reject(out, id, requester, side::buy, reject_reason::not_owner);
  book_event e = make(event_kind::cancelled, o);
  e.price = o.price;
  e.qty = o.qty;
  e.cancel = cancel_reason::user;
  out.push_back(e);
  remove(id, found->second);
}

void baseline_book::modify(const modify_request& r, owner_id requester,
                           std::vector<book_event>& out) {
  auto found = index_.find(r.id);
  if (found == index_.end())
    return reject(out, r.id, requester, side::buy, reject_reason::unknown_order_id);
  order& o = *found->second;
  reject_reason why = reject_reason::none;
  if (o.owner != requester)
    why = reject_reason::not_owner;
  else if (r.new_qty <= 0)
    why = reject_reason::bad_quantity;
  else if (r.new_price <= 0)
    why = reject_reason::bad_price;
  else if (r.new_price == o.price && r.new_qty == o.qty)
    why = reject_reason::unchanged;
  if (why != reject_reason::none)
    return reject(out, r.id, requester, side::buy, why);

  book_event e = make(event_kind::modified, o);
  e.price = r.new_price;
  e.qty = r.new_qty;
  out.push_back(e);
  if (r.new_price == o.price && r.new_qty < o.qty) {
    o.qty = r.new_qty; // a pure reduction keeps its place
    return;
  }
  // Cancel and re-add: the order loses its place and enters as a new arrival.
  order moved = o;
  moved.price = r.new_price;
  moved.qty = r.new_qty;
  remove(r.id, found->second);
  enter(moved, false, out);
}

} // namespace marketsim::bench
