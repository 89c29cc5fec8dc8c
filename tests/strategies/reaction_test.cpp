/// Specification of the information-propagation agents: `shock` sends one
/// large market order at a set time; `sentinel` records when it first sees a
/// price move beyond its threshold and reacts once. Both report through
/// metrics (context::record_metric).

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

constexpr time_ns ms = 1'000'000;
constexpr time_ns second = 1'000 * ms;

/// One symbol, tick 1, lot 10.
market::symbol_table one_symbol() {
  market::symbol_table t;
  t.add({"ACME", 1, 10, 1'000'000});
  return t;
}

std::unique_ptr<strategy> shock_at(time_ns at, std::int64_t lots) {
  return make_strategy(register_shock, "shock",
                       params({{"symbol", std::string{"ACME"}},
                               {"at", std::int64_t{at}},
                               {"side", std::string{"sell"}},
                               {"qty", lots}}));
}

param_values watch(std::int64_t threshold, time_ns start = 0,
                   std::int64_t reaction_lots = 1) {
  return params({{"symbol", std::string{"ACME"}},
                 {"threshold", threshold},
                 {"start", std::int64_t{start}},
                 {"reaction_qty", reaction_lots}});
}

struct sentinel_fixture {
  market::symbol_table table = one_symbol();
  harness h;

  explicit sentinel_fixture(const param_values& p)
      : h(make_strategy(register_sentinel, "sentinel", p), table,
          rich_account(0, 1'000)) {
    h.start();
  }

  /// A quote around `mid` published by the venue at `published`, arriving now
  /// (= `arrives`).
  void quote(time_ns published, time_ns arrives, market::price_t mid) {
    h.ctx().set_now(arrives);
    set_quote(h.ctx(), 0, mid - 1, mid + 1);
    h.ctx().mutable_market(0).quote_time = published;
    h.deliver_quote(0);
  }
};

} // namespace

// -- shock -----------------------------------------------------------------------

TEST_CASE("shock sends one market order of qty at its time and records when", "[shock]") {
  auto table = one_symbol();
  harness h{shock_at(2 * second, 5), table, rich_account(0, 1'000)};
  h.start();
  REQUIRE(h.lines() ==
          std::vector<std::string>{"0 subscribe_market s0", "0 timer 2000000000 tag 0"});
  REQUIRE(h.step());
  const auto s = h.submits();
  REQUIRE(s.size() == 1);
  CHECK(s[0].spec.side == market::side::sell);
  CHECK(s[0].spec.type == market::order_type::market);
  CHECK(s[0].spec.tif == market::time_in_force::ioc);
  CHECK(s[0].spec.qty == 50); // 5 lots of 10
  CHECK(h.metric("shock_time_ns") == 2 * second);
  CHECK(h.metric("shock_qty") == 50);
  CHECK(h.metric("shock_rejected") == 0);
  CHECK_FALSE(h.step()); // once only
}

TEST_CASE("shock records its fills", "[shock]") {
  auto table = one_symbol();
  harness h{shock_at(second, 5), table, rich_account(0, 1'000)};
  h.start();
  // The harness cancels a market order at once; here it stays in flight,
  // as if sent to an exchange that is still sweeping the book.
  h.ctx().set_now(second);
  h.strat().on_timer(h.ctx(), 0);
  h.ctx().clear_intents();
  const auto id = h.ctx().orders().begin()->first;
  h.fill(id, 95, 30);
  CHECK(h.metric("shock_filled_qty") == 30);
  CHECK(h.metric("shock_last_price") == 95);
}

TEST_CASE("a shock the account cannot cover is recorded as rejected", "[shock]") {
  auto table = one_symbol();
  harness h{shock_at(second, 5), table, rich_account(0, 0)}; // no shares to sell
  h.start();
  REQUIRE(h.step());
  CHECK(h.rejects() == 1);
  CHECK(h.metric("shock_rejected") == 1);
}

TEST_CASE("shock and sentinel refuse an unknown symbol at start", "[shock][sentinel]") {
  auto table = one_symbol();
  harness s{
      make_strategy(register_shock, "shock", params({{"symbol", std::string{"NOPE"}}})),
      table, rich_account(0, 0)};
  CHECK_THROWS_AS(s.start(), std::invalid_argument);
  harness w{make_strategy(register_sentinel, "sentinel",
                          params({{"symbol", std::string{"NOPE"}}})),
            table, rich_account(0, 0)};
  CHECK_THROWS_AS(w.start(), std::invalid_argument);
}

TEST_CASE("shock and sentinel require a symbol", "[shock][sentinel]") {
  strategy_registry r;
  register_shock(r);
  register_sentinel(r);
  CHECK_THROWS_AS(check_params(r.find("shock")->params, {}), std::invalid_argument);
  CHECK_THROWS_AS(check_params(r.find("sentinel")->params, {}), std::invalid_argument);
}

// -- sentinel --------------------------------------------------------------------

TEST_CASE("sentinel takes the first price as baseline and reacts to the first move "
          "beyond its threshold",
          "[sentinel]") {
  sentinel_fixture f{watch(3)};
  CHECK(f.h.lines() == std::vector<std::string>{"0 subscribe_market s0 trades"});
  f.quote(10 * ms, 10 * ms, 100); // the baseline
  f.quote(20 * ms, 20 * ms, 102); // 2 ticks: not yet
  f.quote(30 * ms, 30 * ms, 98);
  CHECK(f.h.submits().empty());
  CHECK(f.h.metric("reacted") == 0);

  f.quote(40 * ms, 47 * ms, 96); // 4 ticks down, published 7 ms before it arrived
  CHECK(f.h.metric("reacted") == 1);
  CHECK(f.h.metric("reaction_time_ns") == 47 * ms);
  CHECK(f.h.metric("reaction_event_time_ns") == 40 * ms);
  CHECK(f.h.metric("reaction_move_ticks") == -4);
  CHECK(f.h.metric("baseline_price") == 100);
  const auto s = f.h.submits();
  REQUIRE(s.size() == 1); // the reaction: sells the fall
  CHECK(s[0].spec.side == market::side::sell);
  CHECK(s[0].spec.tif == market::time_in_force::ioc);
  CHECK(s[0].spec.qty == 10);
  CHECK(f.h.metric("reaction_order_sent") == 1);
}

TEST_CASE("sentinel reacts to a trade beyond its threshold too, and only once",
          "[sentinel]") {
  sentinel_fixture f{watch(3)};
  f.quote(0, 0, 100);
  f.h.ctx().set_now(5 * ms);
  f.h.deliver_trade(public_trade{0, 104, 10, market::side::buy, 4 * ms});
  CHECK(f.h.metric("reaction_time_ns") == 5 * ms);
  CHECK(f.h.metric("reaction_event_time_ns") == 4 * ms);
  CHECK(f.h.metric("reaction_move_ticks") == 4);
  REQUIRE(f.h.submits().size() == 1);
  CHECK(f.h.submits()[0].spec.side == market::side::buy);

  f.quote(6 * ms, 6 * ms, 80);
  f.h.ctx().set_now(7 * ms);
  f.h.deliver_trade(public_trade{0, 70, 10, market::side::sell, 7 * ms});
  CHECK(f.h.submits().size() == 1);
  CHECK(f.h.metric("reaction_time_ns") == 5 * ms);
}

TEST_CASE("sentinel ignores moves before start and takes its baseline then",
          "[sentinel]") {
  sentinel_fixture f{watch(3, second)};
  f.quote(0, 0, 100);
  f.quote(500 * ms, 500 * ms, 90); // before start: not a reaction
  CHECK(f.h.metric("reacted") == 0);
  REQUIRE(f.h.step()); // start: the baseline is the price now, 90
  f.quote(second + ms, second + ms, 92);
  CHECK(f.h.metric("reacted") == 0);
  f.quote(second + 2 * ms, second + 2 * ms, 87);
  CHECK(f.h.metric("reacted") == 1);
  CHECK(f.h.metric("baseline_price") == 90);
  CHECK(f.h.metric("reaction_move_ticks") == -3);
}

TEST_CASE("sentinel with reaction_qty 0 records its reaction and sends nothing",
          "[sentinel]") {
  sentinel_fixture f{watch(3, 0, 0)};
  f.quote(0, 0, 100);
  f.quote(ms, ms, 110);
  CHECK(f.h.metric("reacted") == 1);
  CHECK(f.h.metric("reaction_order_sent") == 0);
  CHECK(f.h.submits().empty());
}
