/// Specification of the pure order book (src/market/order_book.hpp). Each test
/// compares the whole event sequence a command produces with the one the
/// header's contract prescribes, and checks the book's invariants after every
/// step.

#include "market/order_book.hpp"

#include "event_matchers.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <sstream>
#include <string>
#include <vector>


namespace {

using namespace marketsim::market;

// -- the book under test -------------------------------------------------------

/// A non-zero symbol id, so that a book that forgets to stamp `symbol` on an
/// event is caught.
constexpr symbol_id sym = 7;

/// Tick 5 and lot 10, so that off-tick and off-lot inputs exist.
symbol_spec test_spec() {
  return symbol_spec{"TEST", 5, 10, 10'000};
}

constexpr owner_id alice = 1;
constexpr owner_id bob = 2;
constexpr owner_id carol = 3;
constexpr owner_id dave = 4;

using testing::events;
using testing::require_events;

/// Wraps a book; every command returns the events it produced and checks the
/// invariants afterwards.
struct fixture {
  order_book book{sym, test_spec()};

  void require_invariants() const {
    const std::string violation = book.check_invariants();
    INFO(violation);
    REQUIRE(violation.empty());
  }

  events submit(const order_request& req) {
    events out;
    book.submit(req, out);
    require_invariants();
    return out;
  }

  events cancel(order_id id, owner_id requester) {
    events out;
    book.cancel(id, requester, out);
    require_invariants();
    return out;
  }

  events modify(order_id id, owner_id requester, price_t price, qty_t qty) {
    events out;
    book.modify(modify_request{id, sym, price, qty}, requester, out);
    require_invariants();
    return out;
  }

  events end_of_day() {
    events out;
    book.end_of_day(out);
    require_invariants();
    return out;
  }

  events cancel_outside(price_t low, price_t high) {
    events out;
    book.cancel_outside(low, high, out);
    require_invariants();
    return out;
  }

  std::vector<depth_level> depth(side s, std::size_t levels = 100) const {
    std::vector<depth_level> out;
    book.depth(s, levels, out);
    return out;
  }
};

// -- requests --------------------------------------------------------------------

order_request limit(order_id id, owner_id owner, side s, price_t price, qty_t qty,
                    time_in_force tif = time_in_force::gtc) {
  order_request r;
  r.id = id;
  r.owner = owner;
  r.symbol = sym;
  r.side = s;
  r.type = order_type::limit;
  r.tif = tif;
  r.price = price;
  r.qty = qty;
  return r;
}

order_request post_only(order_id id, owner_id owner, side s, price_t price, qty_t qty,
                        time_in_force tif = time_in_force::gtc) {
  auto r = limit(id, owner, s, price, qty, tif);
  r.post_only = true;
  return r;
}

order_request market(order_id id, owner_id owner, side s, qty_t qty,
                     time_in_force tif = time_in_force::ioc) {
  auto r = limit(id, owner, s, 0, qty, tif);
  r.type = order_type::market;
  return r;
}

order_request stop(order_id id, owner_id owner, side s, price_t stop_price, qty_t qty,
                   time_in_force tif = time_in_force::gtc) {
  auto r = limit(id, owner, s, 0, qty, tif);
  r.type = order_type::stop;
  r.stop_price = stop_price;
  return r;
}

order_request stop_limit(order_id id, owner_id owner, side s, price_t stop_price,
                         price_t price, qty_t qty,
                         time_in_force tif = time_in_force::gtc) {
  auto r = limit(id, owner, s, price, qty, tif);
  r.type = order_type::stop_limit;
  r.stop_price = stop_price;
  return r;
}

// -- expected events (fields per order_book.hpp) ---------------------------------

book_event base(event_kind k, order_id id, owner_id owner, side s) {
  book_event e;
  e.kind = k;
  e.symbol = sym;
  e.id = id;
  e.owner = owner;
  e.side = s;
  return e;
}

book_event accepted(order_id id, owner_id owner, side s, price_t price, qty_t qty) {
  auto e = base(event_kind::accepted, id, owner, s);
  e.price = price;
  e.qty = qty;
  return e;
}

book_event rejected(order_id id, owner_id owner, side s, reject_reason why) {
  auto e = base(event_kind::rejected, id, owner, s);
  e.reject = why;
  return e;
}

struct trade_fields {
  order_id taker;
  owner_id taker_owner;
  side taker_side;
  order_id maker;
  owner_id maker_owner;
  price_t price;
  qty_t qty;
  qty_t leaves;
  qty_t maker_leaves;
};

book_event trade(const trade_fields& t) {
  auto e = base(event_kind::trade, t.taker, t.taker_owner, t.taker_side);
  e.maker = t.maker;
  e.maker_owner = t.maker_owner;
  e.price = t.price;
  e.qty = t.qty;
  e.leaves = t.leaves;
  e.maker_leaves = t.maker_leaves;
  return e;
}

book_event cancelled(order_id id, owner_id owner, side s, price_t price, qty_t qty,
                     cancel_reason why) {
  auto e = base(event_kind::cancelled, id, owner, s);
  e.price = price;
  e.qty = qty;
  e.cancel = why;
  return e;
}

book_event triggered(order_id id, owner_id owner, side s, price_t last, qty_t qty) {
  auto e = base(event_kind::stop_triggered, id, owner, s);
  e.price = last;
  e.qty = qty;
  return e;
}

book_event modified(order_id id, owner_id owner, side s, price_t price, qty_t qty) {
  auto e = base(event_kind::modified, id, owner, s);
  e.price = price;
  e.qty = qty;
  return e;
}

book_event done(order_id id, owner_id owner, side s) {
  return base(event_kind::done, id, owner, s);
}

constexpr auto buy = side::buy;
constexpr auto sell = side::sell;

} // namespace

// == limit orders =================================================================

TEST_CASE("A non-crossing GTC limit order is accepted and rests", "[order_book]") {
  fixture f;
  require_events(f.submit(limit(1, alice, buy, 100, 30)),
                 {accepted(1, alice, buy, 100, 30)});
  require_events(f.submit(limit(2, bob, sell, 105, 20)),
                 {accepted(2, bob, sell, 105, 20)});

  CHECK(f.book.l1() == l1_quote{100, 30, 105, 20});
  CHECK(f.book.live_orders() == 2);
  CHECK(f.book.is_live(1));
  CHECK(f.book.is_live(2));
  CHECK_FALSE(f.book.is_live(3));
  CHECK(f.book.stats().trades == 0);
}

TEST_CASE("A crossing limit order trades at the maker's price", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 20));
  require_events(f.submit(limit(2, bob, buy, 110, 20)),
                 {accepted(2, bob, buy, 110, 20),
                  trade({2, bob, buy, 1, alice, 105, 20, 0, 0}), done(1, alice, sell),
                  done(2, bob, buy)});
  CHECK(f.book.live_orders() == 0);
  CHECK(f.book.l1() == l1_quote{});
}

TEST_CASE("A partially filled limit remainder rests at its limit price", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  require_events(f.submit(limit(2, bob, buy, 110, 30)),
                 {accepted(2, bob, buy, 110, 30),
                  trade({2, bob, buy, 1, alice, 105, 10, 20, 0}), done(1, alice, sell)});
  CHECK(f.book.l1() == l1_quote{110, 20, 0, 0});
  CHECK(f.book.is_live(2));
  CHECK_FALSE(f.book.is_live(1));
}

TEST_CASE("A partially filled maker keeps its place with the rest", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 50));
  f.submit(limit(2, carol, sell, 105, 10));
  require_events(f.submit(limit(3, bob, buy, 105, 20)),
                 {accepted(3, bob, buy, 105, 20),
                  trade({3, bob, buy, 1, alice, 105, 20, 0, 30}), done(3, bob, buy)});
  // Order 1 is still first in the queue with its remaining 30.
  require_events(f.submit(limit(4, bob, buy, 105, 30)),
                 {accepted(4, bob, buy, 105, 30),
                  trade({4, bob, buy, 1, alice, 105, 30, 0, 0}), done(1, alice, sell),
                  done(4, bob, buy)});
  CHECK(f.book.l1() == l1_quote{0, 0, 105, 10});
}

TEST_CASE("A sell limit sweeps bids best first and stops at its limit", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));
  f.submit(limit(2, alice, buy, 110, 10));
  f.submit(limit(3, carol, buy, 105, 10));
  f.submit(limit(4, carol, buy, 95, 10));
  require_events(f.submit(limit(5, bob, sell, 100, 50)),
                 {accepted(5, bob, sell, 100, 50),
                  trade({5, bob, sell, 2, alice, 110, 10, 40, 0}), done(2, alice, buy),
                  trade({5, bob, sell, 3, carol, 105, 10, 30, 0}), done(3, carol, buy),
                  trade({5, bob, sell, 1, alice, 100, 10, 20, 0}), done(1, alice, buy)});
  CHECK(f.book.l1() == l1_quote{95, 10, 100, 20});
}

TEST_CASE("Price-time priority: better price first, then earlier arrival",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, carol, sell, 105, 10));
  f.submit(limit(3, alice, sell, 105, 10));
  f.submit(limit(4, carol, sell, 100, 10)); // later, but a better price
  require_events(f.submit(limit(5, bob, buy, 105, 30)),
                 {accepted(5, bob, buy, 105, 30),
                  trade({5, bob, buy, 4, carol, 100, 10, 20, 0}), done(4, carol, sell),
                  trade({5, bob, buy, 1, alice, 105, 10, 10, 0}), done(1, alice, sell),
                  trade({5, bob, buy, 2, carol, 105, 10, 0, 0}), done(2, carol, sell),
                  done(5, bob, buy)});
  CHECK(f.book.is_live(3));
  CHECK(f.book.l1() == l1_quote{0, 0, 105, 10});
}

TEST_CASE("A day order rests like GTC and end_of_day expires it, GTC survives",
          "[order_book]") {
  fixture f;
  f.submit(limit(5, alice, buy, 100, 10, time_in_force::day));
  f.submit(limit(3, bob, sell, 110, 20, time_in_force::gtc));
  f.submit(limit(2, carol, sell, 115, 30, time_in_force::day));
  f.submit(stop(9, bob, buy, 120, 10, time_in_force::day));
  f.submit(stop_limit(4, alice, sell, 90, 85, 10, time_in_force::day));
  f.submit(stop(8, carol, sell, 90, 10, time_in_force::gtc));
  CHECK(f.book.l1() == l1_quote{100, 10, 110, 20});

  // Resting and pending day orders, in ascending order id.
  require_events(f.end_of_day(),
                 {cancelled(2, carol, sell, 115, 30, cancel_reason::expired),
                  cancelled(4, alice, sell, 85, 10, cancel_reason::expired),
                  cancelled(5, alice, buy, 100, 10, cancel_reason::expired),
                  cancelled(9, bob, buy, 0, 10, cancel_reason::expired)});
  CHECK(f.book.live_orders() == 2);
  CHECK(f.book.is_live(3));
  CHECK(f.book.is_live(8));
  CHECK(f.book.l1() == l1_quote{0, 0, 110, 20});
  require_events(f.end_of_day(), {});
}

TEST_CASE("cancel_outside cancels every priced order outside the range, stop-market "
          "orders stay",
          "[order_book]") {
  fixture f;
  f.submit(limit(5, alice, buy, 95, 10));
  f.submit(limit(3, bob, sell, 110, 20));
  f.submit(limit(2, carol, sell, 115, 30));
  f.submit(limit(6, carol, buy, 100, 10));
  f.submit(stop(9, bob, buy, 200, 10));
  f.submit(stop_limit(4, alice, sell, 90, 85, 10));
  f.submit(stop_limit(7, alice, buy, 105, 110, 10));

  // [100, 110] is inclusive: 100 and 110 stay; the pending stop-limit is
  // judged by its limit price, the stop-market order has none.
  require_events(f.cancel_outside(100, 110),
                 {cancelled(2, carol, sell, 115, 30, cancel_reason::outside_price_band),
                  cancelled(4, alice, sell, 85, 10, cancel_reason::outside_price_band),
                  cancelled(5, alice, buy, 95, 10, cancel_reason::outside_price_band)});
  CHECK(f.book.live_orders() == 4);
  CHECK(f.book.is_live(9));
  CHECK(f.book.is_live(7));
  CHECK(f.book.l1() == l1_quote{100, 10, 110, 20});
  require_events(f.cancel_outside(100, 110), {});
}

TEST_CASE("end_of_day expires a partially filled day order with its open quantity",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 50, time_in_force::day));
  f.submit(limit(2, bob, sell, 100, 20));
  require_events(f.end_of_day(),
                 {cancelled(1, alice, buy, 100, 30, cancel_reason::expired)});
  CHECK(f.book.live_orders() == 0);
}

// == market, IOC, FOK ==============================================================

TEST_CASE("A market order takes liquidity at any price; its remainder is cancelled",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, carol, sell, 200, 10));
  f.submit(limit(3, carol, buy, 95, 10));
  require_events(f.submit(market(4, bob, buy, 50, time_in_force::gtc)),
                 {accepted(4, bob, buy, 0, 50),
                  trade({4, bob, buy, 1, alice, 105, 10, 40, 0}), done(1, alice, sell),
                  trade({4, bob, buy, 2, carol, 200, 10, 30, 0}), done(2, carol, sell),
                  cancelled(4, bob, buy, 0, 30, cancel_reason::ioc_remainder)});
  CHECK_FALSE(f.book.is_live(4));
  CHECK(f.book.l1() == l1_quote{95, 10, 0, 0});
}

TEST_CASE("A market order's price field is ignored", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 20));
  auto req = market(2, bob, sell, 20, time_in_force::day);
  req.price = -3; // neither validated nor reported
  require_events(f.submit(req), {accepted(2, bob, sell, 0, 20),
                                 trade({2, bob, sell, 1, alice, 100, 20, 0, 0}),
                                 done(1, alice, buy), done(2, bob, sell)});
}

TEST_CASE("A market order against an empty opposite side is rejected (no_liquidity)",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 20)); // own side only
  for (auto tif : {time_in_force::gtc, time_in_force::day, time_in_force::ioc}) {
    require_events(f.submit(market(2, bob, buy, 10, tif)),
                   {rejected(2, bob, buy, reject_reason::no_liquidity)});
  }
  CHECK(f.book.live_orders() == 1);
}

TEST_CASE("IOC remainder is cancelled, never rests", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, alice, sell, 110, 10));
  require_events(f.submit(limit(3, bob, buy, 105, 30, time_in_force::ioc)),
                 {accepted(3, bob, buy, 105, 30),
                  trade({3, bob, buy, 1, alice, 105, 10, 20, 0}), done(1, alice, sell),
                  cancelled(3, bob, buy, 105, 20, cancel_reason::ioc_remainder)});
  CHECK_FALSE(f.book.is_live(3));
  CHECK(f.book.l1() == l1_quote{0, 0, 110, 10});
}

TEST_CASE("An IOC that does not cross is cancelled whole", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  require_events(f.submit(limit(2, bob, buy, 100, 30, time_in_force::ioc)),
                 {accepted(2, bob, buy, 100, 30),
                  cancelled(2, bob, buy, 100, 30, cancel_reason::ioc_remainder)});
  CHECK(f.book.live_orders() == 1);
}

TEST_CASE("A fully filled IOC ends with done", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 30));
  require_events(f.submit(limit(2, bob, buy, 105, 30, time_in_force::ioc)),
                 {accepted(2, bob, buy, 105, 30),
                  trade({2, bob, buy, 1, alice, 105, 30, 0, 0}), done(1, alice, sell),
                  done(2, bob, buy)});
}

TEST_CASE("FOK fills completely at once when the liquidity is there", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, carol, sell, 110, 20));
  f.submit(limit(3, carol, sell, 115, 20));
  require_events(f.submit(limit(4, bob, buy, 110, 30, time_in_force::fok)),
                 {accepted(4, bob, buy, 110, 30),
                  trade({4, bob, buy, 1, alice, 105, 10, 20, 0}), done(1, alice, sell),
                  trade({4, bob, buy, 2, carol, 110, 20, 0, 0}), done(2, carol, sell),
                  done(4, bob, buy)});
  CHECK(f.book.l1() == l1_quote{0, 0, 115, 20});
}

TEST_CASE("FOK that cannot fill completely is rejected untouched", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, carol, sell, 110, 20));
  f.submit(limit(3, carol, sell, 115, 20)); // beyond the limit
  require_events(f.submit(limit(4, bob, buy, 110, 40, time_in_force::fok)),
                 {rejected(4, bob, buy, reject_reason::fok_not_fillable)});
  CHECK(f.book.live_orders() == 3);
  CHECK(f.depth(sell) ==
        std::vector<depth_level>{{105, 10, 1}, {110, 20, 1}, {115, 20, 1}});
  CHECK(f.book.stats().trades == 0);
  CHECK_FALSE(f.book.is_live(4));
}

TEST_CASE("FOK counts only other owners' liquidity; own orders it reaches are cancelled",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, bob, sell, 105, 20));
  f.submit(limit(2, alice, sell, 105, 10));
  f.submit(limit(3, bob, sell, 110, 10));
  f.submit(limit(4, carol, sell, 110, 10));
  // 50 in total at acceptable prices, but only 20 from others than bob.
  require_events(f.submit(limit(5, bob, buy, 110, 30, time_in_force::fok)),
                 {rejected(5, bob, buy, reject_reason::fok_not_fillable)});
  CHECK(f.book.live_orders() == 4);

  require_events(f.submit(limit(6, bob, buy, 110, 20, time_in_force::fok)),
                 {accepted(6, bob, buy, 110, 20),
                  cancelled(1, bob, sell, 105, 20, cancel_reason::self_trade),
                  trade({6, bob, buy, 2, alice, 105, 10, 10, 0}), done(2, alice, sell),
                  cancelled(3, bob, sell, 110, 10, cancel_reason::self_trade),
                  trade({6, bob, buy, 4, carol, 110, 10, 0, 0}), done(4, carol, sell),
                  done(6, bob, buy)});
  CHECK(f.book.live_orders() == 0);
}

TEST_CASE("A FOK market order needs enough liquidity at any price", "[order_book]") {
  fixture f;
  // Empty opposite side: fok_not_fillable is checked before no_liquidity.
  require_events(f.submit(market(1, bob, buy, 10, time_in_force::fok)),
                 {rejected(1, bob, buy, reject_reason::fok_not_fillable)});
  f.submit(limit(2, alice, sell, 105, 10));
  f.submit(limit(3, alice, sell, 500, 10));
  require_events(f.submit(market(4, bob, buy, 30, time_in_force::fok)),
                 {rejected(4, bob, buy, reject_reason::fok_not_fillable)});
  require_events(f.submit(market(5, bob, buy, 20, time_in_force::fok)),
                 {accepted(5, bob, buy, 0, 20),
                  trade({5, bob, buy, 2, alice, 105, 10, 10, 0}), done(2, alice, sell),
                  trade({5, bob, buy, 3, alice, 500, 10, 0, 0}), done(3, alice, sell),
                  done(5, bob, buy)});
}

// == post-only =======================================================================

TEST_CASE("A post-only limit that does not cross rests like any limit", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  require_events(f.submit(post_only(2, bob, buy, 100, 20)),
                 {accepted(2, bob, buy, 100, 20)});
  require_events(f.submit(post_only(3, bob, buy, 100, 20, time_in_force::day)),
                 {accepted(3, bob, buy, 100, 20)});
  CHECK(f.book.l1() == l1_quote{100, 40, 105, 10});
  require_events(f.end_of_day(),
                 {cancelled(3, bob, buy, 100, 20, cancel_reason::expired)});
}

TEST_CASE("A post-only limit at or through the best opposite price is rejected",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, alice, buy, 95, 10));
  require_events(f.submit(post_only(3, bob, buy, 105, 10)),
                 {rejected(3, bob, buy, reject_reason::post_only_would_cross)});
  require_events(f.submit(post_only(4, bob, buy, 120, 10)),
                 {rejected(4, bob, buy, reject_reason::post_only_would_cross)});
  require_events(f.submit(post_only(5, bob, sell, 95, 10)),
                 {rejected(5, bob, sell, reject_reason::post_only_would_cross)});
  // Even when the opposite best belongs to the same owner.
  require_events(f.submit(post_only(6, alice, sell, 90, 10)),
                 {rejected(6, alice, sell, reject_reason::post_only_would_cross)});
  CHECK(f.book.live_orders() == 2);
  CHECK(f.book.stats().trades == 0);
}

TEST_CASE("Post-only with market, stop, stop-limit, IOC or FOK is a bad combination",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  std::vector<order_request> bad = {
      market(2, bob, buy, 10, time_in_force::gtc),
      stop(3, bob, buy, 110, 10),
      stop_limit(4, bob, buy, 110, 115, 10),
      limit(5, bob, buy, 100, 10, time_in_force::ioc),
      limit(6, bob, buy, 100, 10, time_in_force::fok),
  };
  for (auto req : bad) {
    req.post_only = true;
    require_events(f.submit(req),
                   {rejected(req.id, bob, buy, reject_reason::bad_order_combination)});
  }
  CHECK(f.book.live_orders() == 1);
}

// == validation =======================================================================

TEST_CASE("Each invalid submit is rejected with its reason and changes nothing",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));
  f.submit(stop(2, alice, buy, 120, 10));

  struct reject_case {
    order_request req;
    reject_reason why;
  };
  const std::vector<reject_case> cases = {
      {limit(0, bob, sell, 105, 10), reject_reason::duplicate_order_id},
      {limit(1, bob, sell, 105, 10), reject_reason::duplicate_order_id},
      {limit(2, bob, sell, 105, 10), reject_reason::duplicate_order_id}, // a pending stop
      {limit(3, bob, sell, 105, 0), reject_reason::bad_quantity},
      {limit(3, bob, sell, 105, -10), reject_reason::bad_quantity},
      {limit(3, bob, sell, 105, 10'010), reject_reason::bad_quantity},
      {market(3, bob, sell, 0), reject_reason::bad_quantity},
      {stop(3, bob, sell, 90, -10), reject_reason::bad_quantity},
      {limit(3, bob, sell, 105, 15), reject_reason::off_lot_quantity},
      {market(3, bob, sell, 5), reject_reason::off_lot_quantity},
      {limit(3, bob, sell, 0, 10), reject_reason::bad_price},
      {limit(3, bob, sell, -5, 10), reject_reason::bad_price},
      {stop_limit(3, bob, sell, 90, 0, 10), reject_reason::bad_price},
      {limit(3, bob, sell, 107, 10), reject_reason::off_tick_price},
      {stop_limit(3, bob, sell, 90, 88, 10), reject_reason::off_tick_price},
      {stop(3, bob, sell, 0, 10), reject_reason::bad_stop_price},
      {stop(3, bob, sell, -5, 10), reject_reason::bad_stop_price},
      {stop(3, bob, sell, 92, 10), reject_reason::bad_stop_price},
      {stop_limit(3, bob, sell, 0, 90, 10), reject_reason::bad_stop_price},
      {stop_limit(3, bob, sell, 91, 90, 10), reject_reason::bad_stop_price},
  };
  for (const auto& c : cases) {
    INFO("request id " << c.req.id << " type " << to_string(c.req.type) << " qty "
                       << c.req.qty << " price " << c.req.price << " stop "
                       << c.req.stop_price << " -> " << to_string(c.why));
    require_events(f.submit(c.req), {rejected(c.req.id, bob, sell, c.why)});
  }
  CHECK(f.book.live_orders() == 2);
  CHECK(f.depth(buy) == std::vector<depth_level>{{100, 10, 1}});
  CHECK(f.depth(sell).empty());
}

TEST_CASE("The first failing check decides the reject reason", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));

  auto dup_and_bad_qty = limit(1, bob, sell, 105, 0);
  require_events(f.submit(dup_and_bad_qty),
                 {rejected(1, bob, sell, reject_reason::duplicate_order_id)});

  auto combo_and_bad_qty = limit(2, bob, sell, -5, 0, time_in_force::ioc);
  combo_and_bad_qty.post_only = true;
  require_events(f.submit(combo_and_bad_qty),
                 {rejected(2, bob, sell, reject_reason::bad_order_combination)});

  require_events(f.submit(limit(3, bob, sell, -5, 15)),
                 {rejected(3, bob, sell, reject_reason::off_lot_quantity)});
  require_events(f.submit(limit(4, bob, sell, -5, 10'005)),
                 {rejected(4, bob, sell, reject_reason::bad_quantity)});
  require_events(f.submit(stop_limit(5, bob, sell, -1, 107, 10)),
                 {rejected(5, bob, sell, reject_reason::off_tick_price)});
  // Validation comes before the market checks.
  require_events(f.submit(post_only(6, bob, sell, 98, 10)),
                 {rejected(6, bob, sell, reject_reason::off_tick_price)});
}

TEST_CASE("A limit order's stop price is ignored", "[order_book]") {
  fixture f;
  auto req = limit(1, alice, buy, 100, 10);
  req.stop_price = -7;
  require_events(f.submit(req), {accepted(1, alice, buy, 100, 10)});
}

TEST_CASE("An order id can be used again once its order is no longer live",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));
  f.cancel(1, alice);
  require_events(f.submit(limit(1, bob, sell, 105, 10)),
                 {accepted(1, bob, sell, 105, 10)});
  CHECK(f.book.is_live(1));
}

// == stops ===========================================================================

TEST_CASE("A stop waits, then triggers as a market order when the last trade reaches it",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 100, 10));
  f.submit(limit(2, alice, sell, 110, 10));
  f.submit(limit(3, alice, sell, 120, 10));
  // No trade yet: the stop waits even though asks are at or above it.
  require_events(f.submit(stop(4, bob, buy, 100, 20)), {accepted(4, bob, buy, 0, 20)});
  CHECK(f.book.is_live(4));
  CHECK(f.book.live_orders() == 4);
  CHECK(f.book.l1() == l1_quote{0, 0, 100, 10}); // a pending stop is not in the book
  CHECK(f.depth(buy).empty());

  require_events(f.submit(limit(5, carol, buy, 100, 10)),
                 {accepted(5, carol, buy, 100, 10),
                  trade({5, carol, buy, 1, alice, 100, 10, 0, 0}), done(1, alice, sell),
                  done(5, carol, buy), triggered(4, bob, buy, 100, 20),
                  trade({4, bob, buy, 2, alice, 110, 10, 10, 0}), done(2, alice, sell),
                  trade({4, bob, buy, 3, alice, 120, 10, 0, 0}), done(3, alice, sell),
                  done(4, bob, buy)});
  CHECK(f.book.live_orders() == 0);
  CHECK(f.book.stats().last_price == 120);
}

TEST_CASE("A sell stop triggers when the last trade is at or below its stop",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));
  f.submit(limit(2, alice, buy, 95, 30));
  require_events(f.submit(stop(3, bob, sell, 95, 20)), {accepted(3, bob, sell, 0, 20)});
  require_events(f.submit(limit(4, carol, sell, 100, 10)),
                 {accepted(4, carol, sell, 100, 10),
                  trade({4, carol, sell, 1, alice, 100, 10, 0, 0}), done(1, alice, buy),
                  done(4, carol, sell)});
  CHECK(f.book.is_live(3)); // 100 > 95: still waiting
  require_events(f.submit(limit(5, carol, sell, 95, 10)),
                 {accepted(5, carol, sell, 95, 10),
                  trade({5, carol, sell, 2, alice, 95, 10, 0, 20}), done(5, carol, sell),
                  triggered(3, bob, sell, 95, 20),
                  trade({3, bob, sell, 2, alice, 95, 20, 0, 0}), done(2, alice, buy),
                  done(3, bob, sell)});
}

TEST_CASE("A stop whose condition already holds on entry triggers at once",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, bob, buy, 105, 10)); // last trade 105
  f.submit(limit(3, alice, sell, 110, 30));
  require_events(f.submit(stop(4, bob, buy, 100, 10)),
                 {accepted(4, bob, buy, 0, 10), triggered(4, bob, buy, 105, 10),
                  trade({4, bob, buy, 3, alice, 110, 10, 0, 20}), done(4, bob, buy)});
  require_events(f.submit(stop_limit(5, bob, sell, 115, 100, 20)),
                 {accepted(5, bob, sell, 100, 20), triggered(5, bob, sell, 110, 20)});
  CHECK(f.book.l1() == l1_quote{0, 0, 100, 20});
}

TEST_CASE("A triggered stop-limit becomes a limit at its price and rests the remainder",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 100, 10));
  f.submit(limit(2, alice, sell, 105, 10));
  f.submit(limit(3, alice, sell, 115, 10));
  require_events(f.submit(stop_limit(4, bob, buy, 100, 110, 30)),
                 {accepted(4, bob, buy, 110, 30)});
  require_events(f.submit(limit(5, carol, buy, 100, 10)),
                 {accepted(5, carol, buy, 100, 10),
                  trade({5, carol, buy, 1, alice, 100, 10, 0, 0}), done(1, alice, sell),
                  done(5, carol, buy), triggered(4, bob, buy, 100, 30),
                  trade({4, bob, buy, 2, alice, 105, 10, 20, 0}), done(2, alice, sell)});
  CHECK(f.book.l1() == l1_quote{110, 20, 115, 10});
  // Now a resting limit: it can be modified and cancelled like one.
  require_events(f.modify(4, bob, 110, 10), {modified(4, bob, buy, 110, 10)});
  require_events(f.cancel(4, bob),
                 {cancelled(4, bob, buy, 110, 10, cancel_reason::user)});
}

TEST_CASE("A triggered IOC stop-limit cancels its remainder", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 100, 10));
  f.submit(limit(2, alice, sell, 105, 10));
  f.submit(stop_limit(3, bob, buy, 100, 105, 30, time_in_force::ioc));
  require_events(f.submit(limit(4, carol, buy, 100, 10)),
                 {accepted(4, carol, buy, 100, 10),
                  trade({4, carol, buy, 1, alice, 100, 10, 0, 0}), done(1, alice, sell),
                  done(4, carol, buy), triggered(3, bob, buy, 100, 30),
                  trade({3, bob, buy, 2, alice, 105, 10, 20, 0}), done(2, alice, sell),
                  cancelled(3, bob, buy, 105, 20, cancel_reason::ioc_remainder)});
}

TEST_CASE("A triggered stop on an empty side is cancelled, not rejected",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 100, 10));
  f.submit(stop(2, bob, buy, 100, 20));
  require_events(f.submit(limit(3, carol, buy, 100, 10)),
                 {accepted(3, carol, buy, 100, 10),
                  trade({3, carol, buy, 1, alice, 100, 10, 0, 0}), done(1, alice, sell),
                  done(3, carol, buy), triggered(2, bob, buy, 100, 20),
                  cancelled(2, bob, buy, 0, 20, cancel_reason::ioc_remainder)});
  CHECK(f.book.live_orders() == 0);
}

TEST_CASE("A triggered FOK stop that cannot fill is cancelled with nothing traded",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 100, 10));
  f.submit(limit(2, alice, sell, 105, 10));
  f.submit(stop(3, bob, buy, 100, 20, time_in_force::fok));
  f.submit(stop_limit(4, bob, buy, 100, 105, 10, time_in_force::fok));
  require_events(
      f.submit(limit(5, carol, buy, 100, 10)),
      {accepted(5, carol, buy, 100, 10), trade({5, carol, buy, 1, alice, 100, 10, 0, 0}),
       done(1, alice, sell), done(5, carol, buy),
       // Both hold at 100, tie on stop price: arrival order.
       triggered(3, bob, buy, 100, 20),
       cancelled(3, bob, buy, 0, 20, cancel_reason::ioc_remainder),
       triggered(4, bob, buy, 100, 10), trade({4, bob, buy, 2, alice, 105, 10, 0, 0}),
       done(2, alice, sell), done(4, bob, buy)});
}

TEST_CASE("Stops cascade in trigger order: buys by lowest stop, ties by arrival",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 100, 10));
  f.submit(limit(2, alice, sell, 110, 10));
  f.submit(limit(3, alice, sell, 120, 10));
  f.submit(limit(4, alice, sell, 130, 10));
  f.submit(stop(10, bob, buy, 110, 10));   // holds after the first trade at 110
  f.submit(stop(11, bob, buy, 100, 10));   // lowest stop: first
  f.submit(stop(12, carol, buy, 100, 10)); // same stop, later arrival: second
  f.submit(stop(13, carol, buy, 140, 10)); // never reached
  f.submit(stop(14, carol, sell, 90, 10)); // never reached
  require_events(f.submit(limit(5, carol, buy, 100, 10)),
                 {accepted(5, carol, buy, 100, 10),
                  trade({5, carol, buy, 1, alice, 100, 10, 0, 0}), done(1, alice, sell),
                  done(5, carol, buy), triggered(11, bob, buy, 100, 10),
                  trade({11, bob, buy, 2, alice, 110, 10, 0, 0}), done(2, alice, sell),
                  done(11, bob, buy), triggered(12, carol, buy, 110, 10),
                  trade({12, carol, buy, 3, alice, 120, 10, 0, 0}), done(3, alice, sell),
                  done(12, carol, buy), triggered(10, bob, buy, 120, 10),
                  trade({10, bob, buy, 4, alice, 130, 10, 0, 0}), done(4, alice, sell),
                  done(10, bob, buy)});
  CHECK(f.book.live_orders() == 2);
  CHECK(f.book.is_live(13));
  CHECK(f.book.is_live(14));
}

TEST_CASE("Sell stops that hold together trigger highest stop first", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));
  f.submit(limit(2, alice, buy, 90, 10));
  f.submit(limit(3, alice, buy, 80, 10));
  f.submit(limit(4, alice, buy, 70, 10));
  f.submit(stop(10, bob, sell, 95, 10));
  f.submit(stop(11, bob, sell, 100, 10));
  require_events(f.submit(limit(5, carol, sell, 90, 20)),
                 {accepted(5, carol, sell, 90, 20),
                  trade({5, carol, sell, 1, alice, 100, 10, 10, 0}), done(1, alice, buy),
                  trade({5, carol, sell, 2, alice, 90, 10, 0, 0}), done(2, alice, buy),
                  done(5, carol, sell),
                  // last 90: both hold; 100 is the higher stop.
                  triggered(11, bob, sell, 90, 10),
                  trade({11, bob, sell, 3, alice, 80, 10, 0, 0}), done(3, alice, buy),
                  done(11, bob, sell), triggered(10, bob, sell, 80, 10),
                  trade({10, bob, sell, 4, alice, 70, 10, 0, 0}), done(4, alice, buy),
                  done(10, bob, sell)});
}

TEST_CASE("When buy and sell stops both hold, the buy stop triggers first",
          "[order_book]") {
  fixture f;
  f.submit(stop(10, bob, sell, 110, 10));
  f.submit(stop(11, bob, buy, 100, 10));
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, carol, buy, 95, 10));
  f.submit(limit(3, carol, sell, 120, 10));
  require_events(f.submit(limit(4, carol, buy, 105, 10)),
                 {
                     accepted(4, carol, buy, 105, 10),
                     trade({4, carol, buy, 1, alice, 105, 10, 0, 0}),
                     done(1, alice, sell), done(4, carol, buy),
                     triggered(11, bob, buy, 105, 10),
                     trade({11, bob, buy, 3, carol, 120, 10, 0, 0}), done(3, carol, sell),
                     done(11, bob, buy),
                     // last is now 120: the sell stop at 110 no longer holds.
                 });
  CHECK(f.book.is_live(10));
}

TEST_CASE("A pending stop can be cancelled but not modified", "[order_book]") {
  fixture f;
  f.submit(stop(1, bob, buy, 110, 10));
  f.submit(stop_limit(2, bob, sell, 90, 85, 20));
  require_events(f.modify(1, bob, 115, 10),
                 {rejected(1, bob, buy, reject_reason::not_modifiable)});
  require_events(f.modify(2, bob, 80, 20),
                 {rejected(2, bob, buy, reject_reason::not_modifiable)});
  require_events(f.cancel(1, bob), {cancelled(1, bob, buy, 0, 10, cancel_reason::user)});
  require_events(f.cancel(2, bob),
                 {cancelled(2, bob, sell, 85, 20, cancel_reason::user)});
  CHECK(f.book.live_orders() == 0);
}

// == cancel ============================================================================

TEST_CASE("Cancel removes a resting order; unknown ids and other owners are rejected",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 30));
  f.submit(limit(2, alice, sell, 105, 10));
  require_events(f.cancel(1, bob), {rejected(1, bob, buy, reject_reason::not_owner)});
  require_events(f.cancel(9, alice),
                 {rejected(9, alice, buy, reject_reason::unknown_order_id)});
  require_events(f.cancel(1, alice),
                 {cancelled(1, alice, sell, 105, 30, cancel_reason::user)});
  require_events(f.cancel(1, alice),
                 {rejected(1, alice, buy, reject_reason::unknown_order_id)});
  CHECK(f.depth(sell) == std::vector<depth_level>{{105, 10, 1}});
  CHECK_FALSE(f.book.is_live(1));
}

TEST_CASE("Cancel of a partially filled order removes its open quantity",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 30));
  f.submit(limit(2, bob, buy, 105, 10));
  require_events(f.cancel(1, alice),
                 {cancelled(1, alice, sell, 105, 20, cancel_reason::user)});
  require_events(f.cancel(2, bob),
                 {rejected(2, bob, buy, reject_reason::unknown_order_id)});
}

// == modify
// ==============================================================================

TEST_CASE("Reducing quantity at the same price keeps time priority", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 30));
  f.submit(limit(2, carol, sell, 105, 10));
  require_events(f.modify(1, alice, 105, 20), {modified(1, alice, sell, 105, 20)});
  CHECK(f.depth(sell) == std::vector<depth_level>{{105, 30, 2}});
  require_events(f.submit(limit(3, bob, buy, 105, 20)),
                 {accepted(3, bob, buy, 105, 20),
                  trade({3, bob, buy, 1, alice, 105, 20, 0, 0}), done(1, alice, sell),
                  done(3, bob, buy)});
}

TEST_CASE("Increasing quantity loses time priority", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, carol, sell, 105, 10));
  require_events(f.modify(1, alice, 105, 20), {modified(1, alice, sell, 105, 20)});
  CHECK(f.depth(sell) == std::vector<depth_level>{{105, 30, 2}});
  require_events(f.submit(limit(3, bob, buy, 105, 20)),
                 {accepted(3, bob, buy, 105, 20),
                  trade({3, bob, buy, 2, carol, 105, 10, 10, 0}), done(2, carol, sell),
                  trade({3, bob, buy, 1, alice, 105, 10, 0, 10}), done(3, bob, buy)});
}

TEST_CASE("A price change loses time priority, even when moved back", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));
  f.submit(limit(2, carol, buy, 100, 10));
  require_events(f.modify(1, alice, 95, 10), {modified(1, alice, buy, 95, 10)});
  CHECK(f.depth(buy) == std::vector<depth_level>{{100, 10, 1}, {95, 10, 1}});
  require_events(f.modify(1, alice, 100, 20), {modified(1, alice, buy, 100, 20)});
  require_events(f.submit(limit(3, bob, sell, 100, 10)),
                 {accepted(3, bob, sell, 100, 10),
                  trade({3, bob, sell, 2, carol, 100, 10, 0, 0}), done(2, carol, buy),
                  done(3, bob, sell)});
}

TEST_CASE("A modify that crosses trades as a new arrival and rests the remainder",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(limit(2, carol, sell, 110, 10));
  f.submit(limit(3, bob, buy, 95, 10));
  require_events(f.modify(3, bob, 105, 30),
                 {modified(3, bob, buy, 105, 30),
                  trade({3, bob, buy, 1, alice, 105, 10, 20, 0}), done(1, alice, sell)});
  CHECK(f.book.l1() == l1_quote{105, 20, 110, 10});
  require_events(f.modify(3, bob, 110, 10),
                 {modified(3, bob, buy, 110, 10),
                  trade({3, bob, buy, 2, carol, 110, 10, 0, 0}), done(2, carol, sell),
                  done(3, bob, buy)});
  CHECK(f.book.live_orders() == 0);
}

TEST_CASE("A crossing modify applies self-trade prevention and triggers stops",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, bob, sell, 105, 10));
  f.submit(limit(2, alice, sell, 105, 10));
  f.submit(limit(3, alice, sell, 115, 10));
  f.submit(stop(4, carol, buy, 105, 10));
  f.submit(limit(5, bob, buy, 95, 10));
  require_events(f.modify(5, bob, 105, 10),
                 {modified(5, bob, buy, 105, 10),
                  cancelled(1, bob, sell, 105, 10, cancel_reason::self_trade),
                  trade({5, bob, buy, 2, alice, 105, 10, 0, 0}), done(2, alice, sell),
                  done(5, bob, buy), triggered(4, carol, buy, 105, 10),
                  trade({4, carol, buy, 3, alice, 115, 10, 0, 0}), done(3, alice, sell),
                  done(4, carol, buy)});
}

TEST_CASE("A modified day order is still a day order", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10, time_in_force::day));
  f.modify(1, alice, 95, 20);
  require_events(f.end_of_day(),
                 {cancelled(1, alice, buy, 95, 20, cancel_reason::expired)});
}

TEST_CASE("Invalid modifies are rejected in the documented order and change nothing",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 20));
  f.submit(stop(2, alice, buy, 120, 10));

  struct modify_case {
    order_id id;
    owner_id requester;
    price_t price;
    qty_t qty;
    reject_reason why;
  };
  const std::vector<modify_case> cases = {
      {9, alice, 100, 10, reject_reason::unknown_order_id},
      {0, alice, 100, 10, reject_reason::unknown_order_id},
      {1, bob, 0, 0, reject_reason::not_owner},
      {2, alice, 0, 0, reject_reason::not_modifiable},
      {1, alice, 0, 0, reject_reason::bad_quantity},
      {1, alice, 100, -10, reject_reason::bad_quantity},
      {1, alice, 100, 10'010, reject_reason::bad_quantity},
      {1, alice, 0, 15, reject_reason::off_lot_quantity},
      {1, alice, 0, 10, reject_reason::bad_price},
      {1, alice, -5, 10, reject_reason::bad_price},
      {1, alice, 101, 10, reject_reason::off_tick_price},
      {1, alice, 100, 20, reject_reason::unchanged},
  };
  for (const auto& c : cases) {
    INFO("modify id " << c.id << " by " << c.requester << " to " << c.qty << " @ "
                      << c.price << " -> " << to_string(c.why));
    require_events(f.modify(c.id, c.requester, c.price, c.qty),
                   {rejected(c.id, c.requester, buy, c.why)});
  }
  CHECK(f.depth(buy) == std::vector<depth_level>{{100, 20, 1}});
  CHECK(f.book.live_orders() == 2);
}

TEST_CASE("A post-only order cannot be modified into a cross; it stays as it was",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 10));
  f.submit(post_only(2, bob, buy, 100, 20));
  require_events(f.modify(2, bob, 105, 20),
                 {rejected(2, bob, buy, reject_reason::post_only_would_cross)});
  CHECK(f.book.l1() == l1_quote{100, 20, 105, 10});
  // Non-crossing changes are fine, and the order stays post-only.
  require_events(f.modify(2, bob, 100, 10), {modified(2, bob, buy, 100, 10)});
  require_events(f.modify(2, bob, 95, 30), {modified(2, bob, buy, 95, 30)});
  require_events(f.modify(2, bob, 110, 30),
                 {rejected(2, bob, buy, reject_reason::post_only_would_cross)});
  CHECK(f.depth(buy) == std::vector<depth_level>{{95, 30, 1}});
}

// == self-trade prevention
// ================================================================

TEST_CASE("Self-trade prevention cancels own resting orders the incoming order reaches",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, sell, 105, 20));
  f.submit(limit(2, bob, sell, 105, 10));
  f.submit(limit(3, alice, sell, 110, 10));
  f.submit(limit(4, alice, sell, 115, 10)); // beyond the limit: not reached
  require_events(f.submit(limit(5, alice, buy, 110, 30)),
                 {accepted(5, alice, buy, 110, 30),
                  cancelled(1, alice, sell, 105, 20, cancel_reason::self_trade),
                  trade({5, alice, buy, 2, bob, 105, 10, 20, 0}), done(2, bob, sell),
                  cancelled(3, alice, sell, 110, 10, cancel_reason::self_trade)});
  // The aggressor keeps its full remaining intent and rests.
  CHECK(f.book.l1() == l1_quote{110, 20, 115, 10});
  CHECK(f.book.is_live(4));
  CHECK(f.book.stats().volume == 10);
}

TEST_CASE("A market order against only own liquidity cancels it, then its remainder",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));
  require_events(f.submit(market(2, alice, sell, 20)),
                 {accepted(2, alice, sell, 0, 20),
                  cancelled(1, alice, buy, 100, 10, cancel_reason::self_trade),
                  cancelled(2, alice, sell, 0, 20, cancel_reason::ioc_remainder)});
  CHECK(f.book.live_orders() == 0);
}

// == market data
// ==========================================================================

TEST_CASE("L1 shows the best price and its total quantity; a missing side is zero",
          "[order_book]") {
  fixture f;
  CHECK(f.book.l1() == l1_quote{});
  f.submit(limit(1, alice, buy, 100, 10));
  f.submit(limit(2, bob, buy, 100, 20));
  f.submit(limit(3, bob, buy, 95, 40));
  CHECK(f.book.l1() == l1_quote{100, 30, 0, 0});
  f.submit(limit(4, carol, sell, 110, 50));
  f.submit(limit(5, carol, sell, 120, 10));
  CHECK(f.book.l1() == l1_quote{100, 30, 110, 50});
}

TEST_CASE("Depth aggregates each level, best first, up to N levels", "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 95, 10));
  f.submit(limit(2, bob, buy, 100, 20));
  f.submit(limit(3, carol, buy, 95, 30));
  f.submit(limit(4, alice, buy, 90, 40));
  f.submit(limit(5, alice, sell, 110, 10));
  f.submit(limit(6, bob, sell, 105, 20));
  f.submit(limit(7, carol, sell, 110, 30));
  f.submit(limit(8, carol, sell, 110, 30));

  CHECK(f.depth(buy) == std::vector<depth_level>{{100, 20, 1}, {95, 40, 2}, {90, 40, 1}});
  CHECK(f.depth(sell) == std::vector<depth_level>{{105, 20, 1}, {110, 70, 3}});
  CHECK(f.depth(buy, 2) == std::vector<depth_level>{{100, 20, 1}, {95, 40, 2}});
  CHECK(f.depth(buy, 0).empty());

  // depth() appends: earlier contents are kept.
  std::vector<depth_level> out{{1, 1, 1}};
  f.book.depth(sell, 1, out);
  CHECK(out == std::vector<depth_level>{{1, 1, 1}, {105, 20, 1}});

  // A partial fill and a cancel show in the aggregates.
  f.submit(limit(9, dave, sell, 95, 30));
  f.cancel(4, alice);
  CHECK(f.depth(buy) == std::vector<depth_level>{{95, 30, 1}});
  CHECK(f.depth(sell).front() == depth_level{105, 20, 1});
}

TEST_CASE("Trade statistics: last trade, volume, count, notional and VWAP",
          "[order_book]") {
  fixture f;
  CHECK(f.book.stats().last_price == 0);
  CHECK(f.book.stats().vwap() == 0.0);
  f.submit(limit(1, alice, sell, 100, 10));
  f.submit(limit(2, alice, sell, 110, 30));
  f.submit(limit(3, bob, buy, 110, 20));
  const auto& s = f.book.stats();
  CHECK(s.last_price == 110);
  CHECK(s.last_qty == 10);
  CHECK(s.volume == 20);
  CHECK(s.trades == 2);
  CHECK(static_cast<long long>(s.notional) == 100 * 10 + 110 * 10);
  CHECK(s.vwap() == Approx(105.0));
  f.submit(limit(4, carol, buy, 110, 20));
  CHECK(f.book.stats().volume == 40);
  CHECK(f.book.stats().trades == 3);
  CHECK(f.book.stats().vwap() == Approx((1000.0 + 1100.0 + 2200.0) / 40.0));
  // Rejects, cancels and non-crossing orders leave statistics alone.
  f.submit(limit(5, carol, buy, 100, 10));
  f.cancel(5, carol);
  f.submit(limit(6, carol, buy, 100, 15));
  CHECK(f.book.stats().trades == 3);
  CHECK(f.book.stats().last_qty == 20);
}

TEST_CASE("is_live and live_orders follow resting orders and pending stops",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));
  f.submit(stop(2, alice, sell, 90, 10));
  f.submit(limit(3, alice, sell, 110, 30));
  CHECK(f.book.live_orders() == 3);
  f.submit(limit(4, bob, buy, 110, 10)); // partial fill of 3
  CHECK(f.book.live_orders() == 3);
  CHECK(f.book.is_live(3));
  CHECK_FALSE(f.book.is_live(4));
  f.submit(limit(5, bob, buy, 110, 20)); // fills 3
  CHECK_FALSE(f.book.is_live(3));
  f.cancel(2, alice);
  CHECK(f.book.live_orders() == 1);
  CHECK(f.book.is_live(1));
  CHECK_FALSE(f.book.is_live(0));
}

TEST_CASE("list_live_orders gives every live order oldest first, as it would re-enter",
          "[order_book]") {
  fixture f;
  f.submit(limit(1, alice, buy, 100, 10));
  f.submit(stop_limit(2, bob, sell, 90, 85, 20, time_in_force::day));
  f.submit(limit(3, carol, sell, 110, 30));
  f.submit(limit(4, dave, buy, 110, 10)); // 3 keeps 20 open; last price 110
  f.modify(1, alice, 100, 20);            // re-queued: younger than 3
  f.submit(post_only(6, dave, buy, 95, 10));
  // Triggers at once against 110 and rests at 105: priority from the trigger.
  f.submit(stop_limit(7, bob, buy, 105, 105, 10));
  auto line = [](const live_order& o) {
    const order_request& r = o.request;
    return std::to_string(r.id) + " " + std::to_string(r.owner) + " " +
           std::string(to_string(r.side)) + " " + std::string(to_string(r.type)) + " " +
           std::string(to_string(r.tif)) + " " + std::to_string(r.price) + "/" +
           std::to_string(r.stop_price) + " x" + std::to_string(r.qty) +
           (r.post_only ? " post-only" : "") + (o.pending_stop ? " pending" : "") +
           (r.symbol == sym ? "" : " wrong symbol");
  };
  std::vector<live_order> live;
  f.book.list_live_orders(live);
  std::vector<std::string> lines;
  for (const auto& o : live)
    lines.push_back(line(o));
  CHECK(lines == std::vector<std::string>{"2 2 sell stop_limit day 85/90 x20 pending",
                                          "3 3 sell limit gtc 110/0 x20",
                                          "1 1 buy limit gtc 100/0 x20",
                                          "6 4 buy limit gtc 95/0 x10 post-only",
                                          "7 2 buy limit gtc 105/0 x10"});
  f.book.list_live_orders(live); // appends
  CHECK(live.size() == 10);
}

// == general
// ==============================================================================

TEST_CASE("Commands append to the caller's event vector and never clear it",
          "[order_book]") {
  fixture f;
  events out{rejected(99, carol, sell, reject_reason::unchanged)};
  f.book.submit(limit(1, alice, buy, 100, 10), out);
  f.book.cancel(1, alice, out);
  require_events(out, {rejected(99, carol, sell, reject_reason::unchanged),
                       accepted(1, alice, buy, 100, 10),
                       cancelled(1, alice, buy, 100, 10, cancel_reason::user)});
}

TEST_CASE("The book reports its symbol and spec and can be moved", "[order_book]") {
  fixture f;
  CHECK(f.book.symbol() == sym);
  CHECK(f.book.spec().name == "TEST");
  CHECK(f.book.spec().tick_size == 5);
  CHECK(f.book.spec().lot_size == 10);
  f.submit(limit(1, alice, buy, 100, 10));

  order_book moved{std::move(f.book)};
  CHECK(moved.symbol() == sym);
  CHECK(moved.is_live(1));
  CHECK(moved.check_invariants().empty());
  events out;
  moved.submit(limit(2, bob, sell, 100, 10), out);
  require_events(out, {accepted(2, bob, sell, 100, 10),
                       trade({2, bob, sell, 1, alice, 100, 10, 0, 0}),
                       done(1, alice, buy), done(2, bob, sell)});

  // Move assignment replaces the target's orders with the source's.
  order_book target{sym, test_spec()};
  out.clear();
  target.submit(limit(7, carol, buy, 90, 10), out);
  moved.submit(limit(3, bob, sell, 120, 20), out);
  target = std::move(moved);
  CHECK(target.check_invariants().empty());
  CHECK(target.is_live(3));
  CHECK_FALSE(target.is_live(7));
  CHECK(target.live_orders() == 1);
  CHECK(target.stats().trades == 1);
}

TEST_CASE("The book grows past expected_orders and sweeps clear thousands of orders",
          "[order_book]") {
  order_book book{sym, test_spec(), 4};
  events out;
  for (order_id id = 1; id <= 3000; ++id) {
    const price_t price = 100 + 5 * static_cast<price_t>(id % 1000);
    book.submit(limit(id, 1 + id % 3, sell, price, 10), out);
  }
  REQUIRE(book.check_invariants().empty());
  REQUIRE(book.live_orders() == 3000);
  std::vector<depth_level> asks;
  book.depth(sell, 2000, asks);
  REQUIRE(asks.size() == 1000);
  CHECK(asks.front() == depth_level{100, 30, 3});
  CHECK(asks.back() == depth_level{100 + 5 * 999, 30, 3});

  // A buyer who owns none of them takes 1,000 orders per sweep: one trade and
  // one done per maker, then done for itself.
  for (order_id taker = 5001; taker <= 5003; ++taker) {
    out.clear();
    book.submit(market(taker, dave, buy, 10'000), out);
    REQUIRE(book.check_invariants().empty());
    REQUIRE(out.size() == 1 + 2 * 1000 + 1);
    CHECK(out.front() == accepted(taker, dave, buy, 0, 10'000));
    CHECK(out.back() == done(taker, dave, buy));
  }
  CHECK(book.live_orders() == 0);
  CHECK(book.l1() == l1_quote{});
  CHECK(book.stats().volume == 30'000);
  CHECK(book.stats().trades == 3000);
}

TEST_CASE("Prices near the top of int64 trade and sum without overflow", "[order_book]") {
  fixture f;
  constexpr price_t top = std::numeric_limits<price_t>::max() / 5 * 5;
  require_events(f.submit(limit(1, alice, sell, top, 10'000)),
                 {accepted(1, alice, sell, top, 10'000)});
  require_events(f.submit(limit(2, bob, buy, top, 10'000)),
                 {accepted(2, bob, buy, top, 10'000),
                  trade({2, bob, buy, 1, alice, top, 10'000, 0, 0}), done(1, alice, sell),
                  done(2, bob, buy)});
  f.submit(limit(3, alice, sell, top, 10'000));
  f.submit(market(4, bob, buy, 10'000));
  CHECK(f.book.stats().notional == static_cast<__int128>(top) * 20'000);
  CHECK(f.book.stats().vwap() == Approx(static_cast<double>(top)));
}
