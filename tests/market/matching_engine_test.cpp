/// Specification of the symbol table and of the matching engine that dispatches
/// each request to its symbol's book (src/market/symbol_table.hpp,
/// src/market/matching_engine.hpp).

#include "market/matching_engine.hpp"
#include "market/symbol_table.hpp"

#include "event_matchers.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace marketsim::market;

using testing::events;
using testing::require_events;

symbol_table three_symbols() {
  symbol_table t;
  t.add({"AAA", 1, 1, 1'000});
  t.add({"BBB", 5, 10, 1'000});
  t.add({"CCC", 1, 100, 1'000});
  return t;
}

order_request limit(order_id id, owner_id owner, symbol_id s, side sd, price_t price,
                    qty_t qty, time_in_force tif = time_in_force::gtc) {
  order_request r;
  r.id = id;
  r.owner = owner;
  r.symbol = s;
  r.side = sd;
  r.tif = tif;
  r.price = price;
  r.qty = qty;
  return r;
}

book_event make(event_kind k, symbol_id s, order_id id, owner_id owner, side sd) {
  book_event e;
  e.kind = k;
  e.symbol = s;
  e.id = id;
  e.owner = owner;
  e.side = sd;
  return e;
}

book_event accepted(symbol_id s, order_id id, owner_id owner, side sd, price_t price,
                    qty_t qty) {
  auto e = make(event_kind::accepted, s, id, owner, sd);
  e.price = price;
  e.qty = qty;
  return e;
}

book_event rejected(symbol_id s, order_id id, owner_id owner, side sd,
                    reject_reason why) {
  auto e = make(event_kind::rejected, s, id, owner, sd);
  e.reject = why;
  return e;
}

book_event cancelled(symbol_id s, order_id id, owner_id owner, side sd, price_t price,
                     qty_t qty, cancel_reason why) {
  auto e = make(event_kind::cancelled, s, id, owner, sd);
  e.price = price;
  e.qty = qty;
  e.cancel = why;
  return e;
}

void require_invariants(const matching_engine& engine) {
  const auto violation = engine.check_invariants();
  INFO(violation);
  REQUIRE(violation.empty());
}

} // namespace

// == symbol table ===================================================================

TEST_CASE("Symbol ids are dense, in order of addition, and found by name",
          "[symbol_table]") {
  const auto t = three_symbols();
  REQUIRE(t.size() == 3);
  CHECK(t.lookup("AAA") == symbol_id{0});
  CHECK(t.lookup("BBB") == symbol_id{1});
  CHECK(t.lookup("CCC") == symbol_id{2});
  CHECK_FALSE(t.lookup("DDD").has_value());
  CHECK_FALSE(t.lookup("").has_value());
  REQUIRE(t.find(1) != nullptr);
  CHECK(t.find(1)->name == "BBB");
  CHECK(t.find(1)->tick_size == 5);
  CHECK(t.find(1)->lot_size == 10);
  CHECK(t.find(3) == nullptr);
  CHECK(t.all().size() == 3);
  CHECK(t.all()[2].name == "CCC");
}

TEST_CASE("The symbol table rejects bad specs with std::invalid_argument",
          "[symbol_table]") {
  auto t = three_symbols();
  CHECK_THROWS_AS(t.add({"", 1, 1, 1'000}), std::invalid_argument);
  CHECK_THROWS_AS(t.add({"AAA", 1, 1, 1'000}), std::invalid_argument);
  CHECK_THROWS_AS(t.add({"X1", 0, 1, 1'000}), std::invalid_argument);
  CHECK_THROWS_AS(t.add({"X2", -1, 1, 1'000}), std::invalid_argument);
  CHECK_THROWS_AS(t.add({"X3", 1, 0, 1'000}), std::invalid_argument);
  CHECK_THROWS_AS(t.add({"X4", 1, -5, 1'000}), std::invalid_argument);
  CHECK_THROWS_AS(t.add({"X5", 1, 1, 0}), std::invalid_argument);
  CHECK_THROWS_AS(t.add({"X6", 1, 1, -1}), std::invalid_argument);
  // A failed add leaves the table as it was, and the next id stays dense.
  CHECK(t.size() == 3);
  CHECK_FALSE(t.lookup("X1").has_value());
  CHECK(t.add({"DDD", 1, 1, 1'000}) == 3);
}

// == matching engine =================================================================

TEST_CASE("The engine owns a book for each listed symbol only", "[matching_engine]") {
  const auto t = three_symbols();
  matching_engine engine{t, {0, 2}};
  CHECK(engine.symbols() == std::vector<symbol_id>{0, 2});
  REQUIRE(engine.book(0) != nullptr);
  REQUIRE(engine.book(2) != nullptr);
  CHECK(engine.book(1) == nullptr);  // in the table, not traded here
  CHECK(engine.book(99) == nullptr); // not in the table
  CHECK(engine.book(0)->symbol() == 0);
  CHECK(engine.book(2)->symbol() == 2);
  CHECK(engine.book(2)->spec().lot_size == 100);
  const auto& const_engine = engine;
  CHECK(const_engine.book(2) == engine.book(2));
  CHECK(const_engine.book(1) == nullptr);
}

TEST_CASE("Requests go to their symbol's book, with that book's rules",
          "[matching_engine]") {
  const auto t = three_symbols();
  matching_engine engine{t, {0, 1, 2}};
  events out;
  engine.submit(limit(1, 7, 0, side::buy, 101, 3), out);
  engine.submit(limit(2, 7, 1, side::buy, 105, 30), out);
  engine.submit(limit(3, 7, 1, side::sell, 103, 10), out); // off tick in BBB
  engine.submit(limit(4, 7, 2, side::sell, 103, 10), out); // off lot in CCC
  require_events(out, {accepted(0, 1, 7, side::buy, 101, 3),
                       accepted(1, 2, 7, side::buy, 105, 30),
                       rejected(1, 3, 7, side::sell, reject_reason::off_tick_price),
                       rejected(2, 4, 7, side::sell, reject_reason::off_lot_quantity)});
  require_invariants(engine);
  CHECK(engine.book(0)->l1() == l1_quote{101, 3, 0, 0});
  CHECK(engine.book(1)->l1() == l1_quote{105, 30, 0, 0});
  CHECK(engine.book(2)->live_orders() == 0);

  // A crossing order only meets the book of its own symbol.
  out.clear();
  engine.submit(limit(5, 8, 2, side::sell, 100, 100), out);
  require_events(out, {accepted(2, 5, 8, side::sell, 100, 100)});
  CHECK(engine.book(0)->live_orders() == 1);
  CHECK(engine.book(1)->live_orders() == 1);
  require_invariants(engine);
}

TEST_CASE("Cancel and modify are routed by the request's symbol", "[matching_engine]") {
  const auto t = three_symbols();
  matching_engine engine{t, {0, 1}};
  events out;
  engine.submit(limit(1, 7, 0, side::buy, 100, 5), out);
  out.clear();

  // The order lives in book 0; book 1 does not know it.
  engine.cancel(cancel_request{1, 1}, 7, out);
  engine.modify(modify_request{1, 1, 100, 10}, 7, out);
  require_events(out, {rejected(1, 1, 7, side::buy, reject_reason::unknown_order_id),
                       rejected(1, 1, 7, side::buy, reject_reason::unknown_order_id)});
  out.clear();

  engine.modify(modify_request{1, 0, 99, 5}, 7, out);
  engine.cancel(cancel_request{1, 0}, 7, out);
  auto mod = make(event_kind::modified, 0, 1, 7, side::buy);
  mod.price = 99;
  mod.qty = 5;
  require_events(out, {mod, cancelled(0, 1, 7, side::buy, 99, 5, cancel_reason::user)});
  CHECK(engine.book(0)->live_orders() == 0);
  require_invariants(engine);
}

TEST_CASE("Requests for a symbol not traded here are rejected as unknown_symbol",
          "[matching_engine]") {
  const auto t = three_symbols();
  matching_engine engine{t, {0, 2}};
  events out;
  engine.submit(limit(1, 7, 1, side::sell, 105, 10), out);  // listed, not traded here
  engine.submit(limit(2, 7, 42, side::sell, 105, 10), out); // not listed at all
  engine.cancel(cancel_request{3, 1}, 8, out);
  engine.modify(modify_request{4, 42, 100, 10}, 9, out);
  require_events(out, {rejected(1, 1, 7, side::sell, reject_reason::unknown_symbol),
                       rejected(42, 2, 7, side::sell, reject_reason::unknown_symbol),
                       rejected(1, 3, 8, side::buy, reject_reason::unknown_symbol),
                       rejected(42, 4, 9, side::buy, reject_reason::unknown_symbol)});
  CHECK(engine.book(0)->live_orders() == 0);
  CHECK(engine.book(2)->live_orders() == 0);
}

TEST_CASE("end_of_day expires the day orders of every book", "[matching_engine]") {
  const auto t = three_symbols();
  matching_engine engine{t, {0, 1, 2}};
  events out;
  engine.submit(limit(1, 7, 0, side::buy, 100, 5, time_in_force::day), out);
  engine.submit(limit(2, 7, 1, side::buy, 100, 10, time_in_force::gtc), out);
  engine.submit(limit(3, 7, 2, side::sell, 100, 200, time_in_force::day), out);
  out.clear();
  engine.end_of_day(out);
  // Every expiry is reported once; the order across books is not specified.
  REQUIRE(out.size() == 2);
  const auto expected_1 = cancelled(0, 1, 7, side::buy, 100, 5, cancel_reason::expired);
  const auto expected_3 =
      cancelled(2, 3, 7, side::sell, 100, 200, cancel_reason::expired);
  CHECK(((out[0] == expected_1 && out[1] == expected_3) ||
         (out[0] == expected_3 && out[1] == expected_1)));
  CHECK(engine.book(0)->live_orders() == 0);
  CHECK(engine.book(1)->live_orders() == 1);
  CHECK(engine.book(2)->live_orders() == 0);
  require_invariants(engine);
}

TEST_CASE("Books are independent: the same order id may live in two books",
          "[matching_engine]") {
  // duplicate_order_id is "already live in this book" (order_book.hpp).
  const auto t = three_symbols();
  matching_engine engine{t, {0, 1}};
  events out;
  engine.submit(limit(1, 7, 0, side::buy, 100, 5), out);
  engine.submit(limit(1, 7, 1, side::buy, 100, 10), out);
  engine.submit(limit(1, 7, 1, side::buy, 100, 10), out);
  require_events(out, {accepted(0, 1, 7, side::buy, 100, 5),
                       accepted(1, 1, 7, side::buy, 100, 10),
                       rejected(1, 1, 7, side::buy, reject_reason::duplicate_order_id)});
  require_invariants(engine);
}

TEST_CASE("Engine invariants hold across books after trading", "[matching_engine]") {
  const auto t = three_symbols();
  matching_engine engine{t, {0, 1, 2}};
  events out;
  order_id id = 1;
  for (symbol_id s : {0u, 1u, 2u}) {
    const qty_t lot = t.find(s)->lot_size;
    const price_t tick = t.find(s)->tick_size;
    for (int i = 0; i < 5; ++i) {
      engine.submit(limit(id++, 1, s, side::sell, tick * (20 + i), lot * (i + 1)), out);
      engine.submit(limit(id++, 2, s, side::buy, tick * (18 - i), lot * (i + 1)), out);
    }
    engine.submit(limit(id++, 3, s, side::buy, tick * 22, lot * 4), out);
    require_invariants(engine);
  }
  for (symbol_id s : {0u, 1u, 2u}) {
    const auto* b = engine.book(s);
    const price_t tick = t.find(s)->tick_size;
    const qty_t lot = t.find(s)->lot_size;
    // 1 + 2 lots were taken at 20 and 21 ticks, 1 of the 3 at 22 ticks.
    CHECK(b->stats().volume == lot * 4);
    CHECK(b->l1() == l1_quote{tick * 18, lot, tick * 22, lot * 2});
  }
}
