/// Specification of the arbitrage strategy: one instrument on two venues
/// (ACME_NY, ACME_LN), driven by hand-made quotes and fills
/// (strategy_harness.hpp).

#include "strategies/builtin.hpp"
#include "strategies/registry.hpp"
#include "strategy_harness.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using namespace marketsim;
using namespace marketsim::strategies;
using namespace marketsim::strategies::testing;

namespace {

constexpr market::symbol_id ny = 0;
constexpr market::symbol_id ln = 1;

/// Two venues of one instrument (tick 1, lot 10) and a symbol of another
/// (tick 5).
market::symbol_table venues() {
  market::symbol_table t;
  t.add({"ACME_NY", 1, 10, 1'000'000});
  t.add({"ACME_LN", 1, 10, 1'000'000});
  t.add({"OTHER", 5, 10, 1'000'000});
  return t;
}

/// Cash and 1000 shares on each venue, so that it can sell on either.
market::account_params stocked() {
  market::account_params a;
  a.cash = 1'000'000'000;
  a.positions[ny] = market::holding{1'000, 100};
  a.positions[ln] = market::holding{1'000, 100};
  return a;
}

param_values two_venues(std::int64_t min_edge = 2, std::int64_t order_size = 2,
                        std::int64_t max_position = 10) {
  return params({{"symbols", std::string{"ACME_NY,ACME_LN"}},
                 {"min_edge", min_edge},
                 {"order_size", order_size},
                 {"max_position", max_position}});
}

struct fixture {
  market::symbol_table table = venues();
  harness h;

  explicit fixture(const param_values& p = two_venues())
      : h(make_strategy(register_arbitrage, "arbitrage", p), table, stocked()) {
    h.start();
  }

  void quote(market::symbol_id s, market::price_t bid, market::price_t ask,
             market::qty_t qty = 100) {
    set_quote(h.ctx(), s, bid, ask, qty);
    h.deliver_quote(s);
  }
};

} // namespace

TEST_CASE("arbitrage subscribes to the L1 of every venue", "[arbitrage]") {
  fixture f;
  const auto lines = f.h.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "0 subscribe_market s0");
  CHECK(lines[1] == "0 subscribe_market s1");
}

TEST_CASE("arbitrage buys the cheap venue and sells the dear one when they cross by "
          "min_edge",
          "[arbitrage]") {
  fixture f;
  f.quote(ny, 100, 101);
  f.quote(ln, 103, 104); // LN's bid is 2 ticks above NY's ask
  const auto s = f.h.submits();
  REQUIRE(s.size() == 2);
  CHECK(s[0].spec.symbol == ny);
  CHECK(s[0].spec.side == market::side::buy);
  CHECK(s[0].spec.price == 101);
  CHECK(s[1].spec.symbol == ln);
  CHECK(s[1].spec.side == market::side::sell);
  CHECK(s[1].spec.price == 103);
  for (const auto& x : s) {
    CHECK(x.spec.type == market::order_type::limit);
    CHECK(x.spec.tif == market::time_in_force::ioc);
    CHECK(x.spec.qty == 20); // 2 lots of 10
  }
  CHECK(f.h.metric("opportunities") == 1);
  CHECK(f.h.metric("pairs_sent") == 1);
  CHECK(f.h.metric("legs_sent") == 2);
}

TEST_CASE("arbitrage ignores an edge below min_edge", "[arbitrage]") {
  fixture f;
  f.quote(ny, 100, 101);
  f.quote(ln, 102, 103); // 1 tick: not enough
  CHECK(f.h.submits().empty());
  CHECK(f.h.metric("opportunities") == 0);
}

TEST_CASE("arbitrage takes no more than is quoted on both sides", "[arbitrage]") {
  fixture f{two_venues(2, 5)};
  f.quote(ny, 100, 101, 30);
  f.quote(ln, 105, 106, 100);
  const auto s = f.h.submits();
  REQUIRE(s.size() == 2);
  CHECK(s[0].spec.qty == 30); // NY's ask holds 3 lots of the 5 wanted
  CHECK(s[1].spec.qty == 30);
}

TEST_CASE("arbitrage sends one pair at a time and counts an edge once while it lasts",
          "[arbitrage]") {
  fixture f;
  f.quote(ny, 100, 101);
  f.quote(ln, 103, 104);
  REQUIRE(f.h.submits().size() == 2);
  f.quote(ln, 104, 105); // still crossed, legs still in flight
  CHECK(f.h.submits().size() == 2);
  CHECK(f.h.metric("opportunities") == 1);

  const auto s = f.h.submits();
  f.h.expire(s[0].id); // both legs come back unfilled: someone was faster
  f.h.expire(s[1].id);
  f.quote(ln, 104, 105); // the same edge, nothing in flight: a new pair
  CHECK(f.h.submits().size() == 4);
  CHECK(f.h.metric("opportunities") == 1);
  CHECK(f.h.metric("legs_filled") == 0);

  f.h.expire(f.h.submits()[2].id);
  f.h.expire(f.h.submits()[3].id);
  f.quote(ln, 101, 102); // the edge is gone ...
  f.quote(ln, 103, 104); // ... and appears again
  CHECK(f.h.metric("opportunities") == 2);
}

TEST_CASE("arbitrage counts fills and flattens a pair of which one leg filled",
          "[arbitrage]") {
  fixture f;
  f.quote(ny, 100, 101);
  f.quote(ln, 103, 104);
  auto s = f.h.submits();
  REQUIRE(s.size() == 2);
  f.h.fill(s[0].id, 101, 20); // the buy on NY fills
  f.h.expire(s[1].id);        // the sell on LN finds the bid gone
  CHECK(f.h.metric("legs_filled") == 1);
  CHECK(f.h.metric("filled_qty") == 20);
  CHECK(f.h.metric("edge_captured") == 0); // one leg alone locks nothing in
  CHECK(f.h.ctx().account().position(ny) == 1'020);

  // No edge any more: sell the 20 extra at the highest bid.
  f.quote(ln, 101, 102);
  s = f.h.submits();
  REQUIRE(s.size() == 3);
  CHECK(s[2].spec.symbol == ln); // LN's bid 101 beats NY's 100
  CHECK(s[2].spec.side == market::side::sell);
  CHECK(s[2].spec.price == 101);
  CHECK(s[2].spec.qty == 20);
  CHECK(s[2].spec.tif == market::time_in_force::ioc);
  CHECK(f.h.metric("rebalances") == 1);

  f.h.fill(s[2].id, 101, 20);
  f.quote(ln, 101, 102); // flat again: nothing to do
  CHECK(f.h.submits().size() == 3);
}

TEST_CASE("arbitrage keeps each venue's position within max_position of its start",
          "[arbitrage]") {
  // Orders of 2 lots, at most 3 lots away from the start on either venue.
  fixture f{two_venues(1, 2, 3)};
  f.quote(ny, 100, 101);
  f.quote(ln, 103, 104);
  auto s = f.h.submits();
  REQUIRE(s.size() == 2);
  f.h.fill(s[0].id, 101, 20);
  f.h.fill(s[1].id, 103, 20);
  CHECK(f.h.metric("edge_captured") == 20 * 2); // bought at 101, sold at 103
  // NY is 2 lots up, LN 2 lots down: only 1 lot of room left each way.
  f.quote(ln, 103, 104);
  s = f.h.submits();
  REQUIRE(s.size() == 4);
  CHECK(s[2].spec.qty == 10);
  CHECK(s[3].spec.qty == 10);
  f.h.fill(s[2].id, 101, 10);
  f.h.fill(s[3].id, 102, 5); // the sell fills in part, a tick worse
  f.h.expire(s[3].id);
  CHECK(f.h.metric("edge_captured") == 40 + 5 * 1);
  f.quote(ln, 103, 104); // NY at its limit: no more
  CHECK(f.h.submits().size() == 4);
  CHECK(f.h.submits().size() == 4);
}

TEST_CASE("arbitrage unwinds inventory when the venues' prices meet again",
          "[arbitrage]") {
  fixture f; // min_edge 2, unwind_edge 0 (the default)
  f.quote(ny, 100, 101);
  f.quote(ln, 103, 104);
  auto s = f.h.submits();
  REQUIRE(s.size() == 2);
  f.h.fill(s[0].id, 101, 20); // long 2 lots on NY
  f.h.fill(s[1].id, 103, 20); // short 2 lots on LN

  // Prices meet: NY's bid equals LN's ask. No arbitrage (edge 0), but it
  // sells NY and buys LN back at no loss.
  f.quote(ny, 102, 103);
  f.quote(ln, 101, 102, 10); // LN's ask holds 1 lot: a pair of 1 lot
  s = f.h.submits();
  REQUIRE(s.size() == 4);
  CHECK(s[2].spec.symbol == ln);
  CHECK(s[2].spec.side == market::side::buy);
  CHECK(s[2].spec.price == 102);
  CHECK(s[3].spec.symbol == ny);
  CHECK(s[3].spec.side == market::side::sell);
  CHECK(s[3].spec.price == 102);
  CHECK(s[2].spec.qty == 10);
  CHECK(f.h.metric("unwinds") == 1);
  CHECK(f.h.metric("opportunities") == 1); // an unwind is not an opportunity
  f.h.fill(s[2].id, 102, 10);
  f.h.fill(s[3].id, 102, 10);

  f.quote(ln, 101, 102, 100); // the last lot comes back: at most the inventory
  s = f.h.submits();
  REQUIRE(s.size() == 6);
  CHECK(s[4].spec.qty == 10);
  f.h.fill(s[4].id, 102, 10);
  f.h.fill(s[5].id, 102, 10);
  f.quote(ln, 101, 102); // flat: an edge of 0 is no reason to trade
  CHECK(f.h.submits().size() == 6);
  CHECK(f.h.ctx().account().position(ny) == 1'000);
  CHECK(f.h.ctx().account().position(ln) == 1'000);
}

TEST_CASE("arbitrage refuses fewer than two symbols or symbols of different instruments",
          "[arbitrage]") {
  auto table = venues();
  harness one{make_strategy(register_arbitrage, "arbitrage",
                            params({{"symbols", std::string{"ACME_NY"}}})),
              table, stocked()};
  CHECK_THROWS_AS(one.start(), std::invalid_argument);
  harness mixed{make_strategy(register_arbitrage, "arbitrage",
                              params({{"symbols", std::string{"ACME_NY,OTHER"}}})),
                table, stocked()};
  CHECK_THROWS_AS(mixed.start(), std::invalid_argument);
}

TEST_CASE("arbitrage declares its parameters and checks them", "[arbitrage]") {
  strategy_registry r;
  register_arbitrage(r);
  const auto* info = r.find("arbitrage");
  REQUIRE(info != nullptr);
  const auto defaults = check_params(info->params, {});
  CHECK(defaults.integer("min_edge") == 1);
  CHECK(defaults.boolean("rebalance"));
  CHECK_THROWS_AS(check_params(info->params, params({{"min_edge", std::int64_t{0}}})),
                  std::invalid_argument);
  CHECK_THROWS_AS(info->make(check_params(info->params, two_venues(1, 5, 2))),
                  std::invalid_argument);
  auto unwind_above_entry = two_venues(1);
  unwind_above_entry.set("unwind_edge", std::int64_t{2});
  CHECK_THROWS_AS(info->make(check_params(info->params, unwind_above_entry)),
                  std::invalid_argument);
}
