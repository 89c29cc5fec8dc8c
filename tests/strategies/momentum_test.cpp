#include "strategies/builtin.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace marketsim;
using namespace marketsim::strategies;

namespace {

constexpr time_ns second = 1'000'000'000;

/// ACME: tick 1, lot 1. GLOBEX: tick 5, lot 10.
market::symbol_table two_symbols() {
  market::symbol_table t;
  t.add({"ACME", 1, 1, 1'000'000});
  t.add({"GLOBEX", 5, 10, 1'000'000});
  return t;
}

market::account_params rich_account() {
  market::account_params a;
  a.cash = 1'000'000'000;
  a.allow_short = true;
  a.max_short = 1'000'000;
  return a;
}

/// Short windows so that a handful of samples gives a signal: fast = the last
/// 2 samples, slow = the last 4.
param_values small_windows() {
  param_values p;
  p.set("symbols", std::string{"ACME"});
  p.set("interval", std::int64_t{second});
  p.set("fast_window", std::int64_t{2});
  p.set("slow_window", std::int64_t{4});
  p.set("threshold", 0.0);
  p.set("order_size", std::int64_t{1});
  p.set("max_position", std::int64_t{3});
  return p;
}

const strategy_info& info() {
  static const strategy_registry r = [] {
    strategy_registry x;
    register_momentum(x);
    return x;
  }();
  const auto* i = r.find("momentum");
  REQUIRE(i != nullptr);
  return *i;
}

std::unique_ptr<strategy> make_momentum(const param_values& given) {
  return info().make(check_params(info().params, given));
}

std::vector<submit_intent> submits(const context& ctx) {
  std::vector<submit_intent> out;
  for (const auto& i : ctx.intents())
    if (const auto* x = std::get_if<submit_intent>(&i))
      out.push_back(*x);
  return out;
}

/// Drives one strategy through timer ticks with a given mid each second.
struct bench {
  market::symbol_table table = two_symbols();
  context ctx{1, 7, table, rich_account()};
  std::unique_ptr<strategy> strat;
  time_ns t = 0;

  explicit bench(const param_values& p) : strat(make_momentum(p)) {
    strat->on_start(ctx);
  }

  /// One timer tick with the L1 `mid - half / mid + half`; returns its submits.
  std::vector<submit_intent> tick(market::price_t mid, market::symbol_id s = 0,
                                  market::price_t half = 1) {
    ctx.clear_intents();
    t += second;
    ctx.set_now(t);
    auto& v = ctx.mutable_market(s);
    v.quote = {mid - half, 100, mid + half, 100};
    v.quote_time = t;
    strat->on_timer(ctx, 0);
    return submits(ctx);
  }

  /// The order `id` filled completely and is done.
  void fill(const submit_intent& x, market::price_t price) {
    ctx.mutable_account().on_fill(
        {0, x.spec.symbol, x.spec.side, price, x.spec.qty, false});
    order_update u;
    u.id = x.id;
    u.symbol = x.spec.symbol;
    u.side = x.spec.side;
    u.what = order_update::kind::filled;
    u.price = price;
    u.qty = x.spec.qty;
    strat->on_order(ctx, u);
    u.what = order_update::kind::done;
    strat->on_order(ctx, u);
  }
};

} // namespace

TEST_CASE("momentum declares its parameters and refuses impossible ones", "[momentum]") {
  REQUIRE_NOTHROW(make_momentum(param_values{}));
  for (const auto& spec : info().params)
    CHECK(spec.default_value.has_value());

  auto p = small_windows();
  p.set("fast_window", std::int64_t{4});
  CHECK_THROWS_AS(make_momentum(p), std::invalid_argument);
  p = small_windows();
  p.set("order_size", std::int64_t{4});
  CHECK_THROWS_AS(make_momentum(p), std::invalid_argument);
  p = small_windows();
  p.set("order_type", std::string{"stop"});
  CHECK_THROWS_AS(make_momentum(p), std::invalid_argument);
}

TEST_CASE("momentum subscribes with trades and samples on its timer", "[momentum]") {
  bench b(small_windows());
  const auto& in = b.ctx.intents();
  REQUIRE(in.size() == 2);
  REQUIRE(std::holds_alternative<subscribe_market_intent>(in[0]));
  CHECK(std::get<subscribe_market_intent>(in[0]).symbol == 0);
  CHECK(std::get<subscribe_market_intent>(in[0]).trades);
  REQUIRE(std::holds_alternative<timer_intent>(in[1]));
  CHECK(std::get<timer_intent>(in[1]).after == second);
  b.tick(100);
  bool rearmed = false;
  for (const auto& i : b.ctx.intents())
    rearmed = rearmed || std::holds_alternative<timer_intent>(i);
  CHECK(rearmed);
}

TEST_CASE("momentum buys in a rising series", "[momentum]") {
  bench b(small_windows());
  CHECK(b.tick(100).empty());
  CHECK(b.tick(101).empty());
  CHECK(b.tick(102).empty()); // three samples: no signal before slow_window
  // fast = 102.5 > slow = 101.5
  const auto orders = b.tick(103);
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].spec.symbol == 0);
  CHECK(orders[0].spec.side == market::side::buy);
  CHECK(orders[0].spec.type == market::order_type::market);
  CHECK(orders[0].spec.tif == market::time_in_force::ioc);
  CHECK(orders[0].spec.qty == 1);
}

TEST_CASE("momentum sells in a falling series", "[momentum]") {
  bench b(small_windows());
  for (market::price_t p : {110, 108, 106})
    CHECK(b.tick(p).empty());
  const auto orders = b.tick(104);
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].spec.side == market::side::sell);
  CHECK(orders[0].spec.qty == 1);
}

TEST_CASE("momentum does not trade a flat series", "[momentum]") {
  bench b(small_windows());
  for (int i = 0; i < 20; ++i)
    CHECK(b.tick(100).empty());
}

TEST_CASE("momentum needs the averages apart by more than the threshold", "[momentum]") {
  auto p = small_windows();
  p.set("threshold", 1.0);
  bench b(p);
  // 100 100 101 101: fast 101, slow 100.5: 0.5 apart.
  for (market::price_t x : {100, 100, 101, 101})
    CHECK(b.tick(x).empty());
  // 100 101 101 103: fast 102, slow 101.25: 0.75 apart.
  CHECK(b.tick(103).empty());
  // 101 101 103 104: fast 103.5, slow 102.25: 1.25 apart.
  const auto orders = b.tick(104);
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].spec.side == market::side::buy);
}

TEST_CASE("momentum waits for its order and stops at the position limit", "[momentum]") {
  bench b(small_windows()); // max_position 3 lots
  for (market::price_t p : {100, 101, 102})
    b.tick(p);
  market::price_t price = 103;
  auto first = b.tick(price++);
  REQUIRE(first.size() == 1);
  // Still in flight: no second order.
  CHECK(b.tick(price++).empty());
  b.fill(first[0], 104);
  for (int held = 1; held < 3; ++held) {
    auto next = b.tick(price++);
    REQUIRE(next.size() == 1);
    CHECK(next[0].spec.side == market::side::buy);
    b.fill(next[0], price);
  }
  CHECK(b.ctx.account().position(0) == 3);
  // At the limit the trend goes on without it.
  for (int i = 0; i < 5; ++i)
    CHECK(b.tick(price++).empty());
}

TEST_CASE("momentum turns a long position around when the trend reverses", "[momentum]") {
  bench b(small_windows());
  for (market::price_t p : {100, 101, 102})
    b.tick(p);
  auto buy = b.tick(103);
  REQUIRE(buy.size() == 1);
  b.fill(buy[0], 104);
  // Down again: 102 103 100 97 -> fast 98.5 < slow 100.5.
  b.tick(100);
  const auto sell = b.tick(97);
  REQUIRE(sell.size() == 1);
  CHECK(sell[0].spec.side == market::side::sell);
}

TEST_CASE("a rejected or cancelled order frees the symbol for the next signal",
          "[momentum]") {
  bench b(small_windows());
  for (market::price_t p : {100, 101, 102})
    b.tick(p);
  auto first = b.tick(103);
  REQUIRE(first.size() == 1);
  order_update u;
  u.id = first[0].id;
  u.symbol = 0;
  u.what = order_update::kind::rejected;
  u.reject = market::reject_reason::no_liquidity;
  b.strat->on_order(b.ctx, u);
  CHECK(b.tick(104).size() == 1);
}

TEST_CASE(
    "momentum with limit orders sends IOC limits at the opposite best plus the offset",
    "[momentum]") {
  auto p = small_windows();
  p.set("symbols", std::string{"GLOBEX"});
  p.set("order_type", std::string{"limit"});
  p.set("limit_offset", std::int64_t{2});
  bench b(p);
  // GLOBEX: tick 5, lot 10. Mids a tick apart, quotes a tick either side.
  for (market::price_t x : {4500, 4505, 4510})
    CHECK(b.tick(x, 1, 5).empty());
  const auto orders = b.tick(4515, 1, 5);
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].spec.symbol == 1);
  CHECK(orders[0].spec.type == market::order_type::limit);
  CHECK(orders[0].spec.tif == market::time_in_force::ioc);
  // The best ask 4520 plus 2 ticks, one lot.
  CHECK(orders[0].spec.price == 4530);
  CHECK(orders[0].spec.qty == 10);
}

TEST_CASE("momentum on last trades ignores the mid", "[momentum]") {
  auto p = small_windows();
  p.set("price", std::string{"last"});
  bench b(p);
  // The mid rises, the last trade stays at 100: no trend.
  for (market::price_t x : {100, 101, 102, 103, 104, 105}) {
    b.ctx.mutable_market(0).last_price = 100;
    CHECK(b.tick(x).empty());
  }
}

TEST_CASE("momentum sells only what the account may sell", "[momentum]") {
  market::symbol_table table = two_symbols();
  market::account_params a;
  a.cash = 1'000'000;
  context ctx(1, 7, table, a); // no shares, no shorting
  auto strat = make_momentum(small_windows());
  strat->on_start(ctx);
  time_ns t = 0;
  for (market::price_t x : {110, 108, 106, 104, 102}) {
    ctx.clear_intents();
    ctx.set_now(t += second);
    ctx.mutable_market(0).quote = {x - 1, 100, x + 1, 100};
    strat->on_timer(ctx, 0);
    CHECK(submits(ctx).empty());
  }
}

TEST_CASE("momentum is among the built-in strategies", "[momentum]") {
  const auto all = builtin_strategies();
  const auto* i = all.find("momentum");
  REQUIRE(i != nullptr);
  CHECK(i->make(check_params(i->params, param_values{})) != nullptr);
}
