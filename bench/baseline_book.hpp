#pragma once

/// A textbook limit order book, the yardstick `marketsim bench book` measures
/// our order_book against in the same run: per side a std::map from price to a
/// std::list FIFO of orders, and a std::unordered_map from order id to the
/// order's list iterator. It is what one writes first, with no pooling and no
/// cache-conscious layout.
///
/// It implements the part of order_book's contract (order_book.hpp) that the
/// book load mixes use, and emits the same events in the same order, so that
/// both books do the same work on the same stream (the driver checks that the
/// trade and event counts agree):
/// - submit() of a limit order, GTC or day (both rest) or IOC (the remainder
///   is cancelled): accepted, then price-time matching with self-trade
///   prevention "cancel resting", then done / ioc_remainder as order_book
///   does. Market, stop and FOK orders and post-only are outside its scope
///   and rejected with bad_order_combination; duplicate ids, non-positive
///   quantities or prices are rejected as order_book rejects them. Tick and
///   lot sizes are taken as 1, and there is no maximum quantity.
/// - cancel(): unknown_order_id, not_owner, else cancelled (user).
/// - modify(): unknown_order_id, not_owner, bad_quantity, bad_price,
///   unchanged; a smaller quantity at the same price keeps the order's place;
///   anything else is a cancel and re-add with the same id (modified, then
///   matching as a new arrival).

#include "market/types.hpp"

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <unordered_map>
#include <vector>

namespace marketsim::bench {

class baseline_book {
public:
  explicit baseline_book(market::symbol_id symbol);

  void submit(const market::order_request& req, std::vector<market::book_event>& out);
  void cancel(market::order_id id, market::owner_id requester,
              std::vector<market::book_event>& out);
  void modify(const market::modify_request& req, market::owner_id requester,
              std::vector<market::book_event>& out);

  std::uint64_t trades() const { return trades_; }
  std::size_t live_orders() const { return index_.size(); }

private:
  struct order {
    market::order_id id = 0;
    market::owner_id owner = 0;
    market::side side = market::side::buy;
    market::price_t price = 0;
    market::qty_t qty = 0;
  };
  using fifo = std::list<order>;
  /// Best level first on both sides.
  using bid_levels = std::map<market::price_t, fifo, std::greater<>>;
  using ask_levels = std::map<market::price_t, fifo, std::less<>>;

  /// Matches an incoming order against `opposite`; returns its open quantity.
  template <class Levels>
  market::qty_t match(Levels& opposite, const order& taker,
                      std::vector<market::book_event>& out);
  /// Matches `o` as a new arrival and rests its remainder unless `ioc`.
  void enter(order o, bool ioc, std::vector<market::book_event>& out);
  void rest(const order& o);
  /// Unlinks a resting order (and its level if emptied) and forgets its id.
  void remove(market::order_id id, std::list<order>::iterator it);

  market::book_event make(market::event_kind kind, const order& o) const;
  void reject(std::vector<market::book_event>& out, market::order_id id,
              market::owner_id owner, market::side s, market::reject_reason why) const;

  market::symbol_id symbol_;
  bid_levels bids_;
  ask_levels asks_;
  std::unordered_map<market::order_id, fifo::iterator> index_;
  std::uint64_t trades_ = 0;
};

} // namespace marketsim::bench
