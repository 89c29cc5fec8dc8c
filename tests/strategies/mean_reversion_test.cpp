#include "strategies/builtin.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <initializer_list>
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

/// A window of 5 samples: one outlier against four equal values has
/// z = sqrt(4) = 2 exactly, whatever its size (while sd >= min_stddev).
param_values small_window() {
  param_values p;
  p.set("symbols", std::string{"ACME"});
  p.set("interval", std::int64_t{second});
  p.set("window", std::int64_t{5});
  p.set("entry_z", 1.5);
  p.set("exit_z", 0.5);
  p.set("min_stddev", 0.5);
  p.set("order_size", std::int64_t{1});
  p.set("max_position", std::int64_t{2});
  return p;
}

const strategy_info& info() {
  static const strategy_registry r = [] {
    strategy_registry x;
    register_mean_reversion(x);
    return x;
  }();
  const auto* i = r.find("mean_reversion");
  REQUIRE(i != nullptr);
  return *i;
}

std::unique_ptr<strategy> make_mr(const param_values& given) {
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

  explicit bench(const param_values& p, market::symbol_id s = 0,
                 market::qty_t holding = 0)
      : strat(make_mr(p)) {
    if (holding != 0)
      ctx.mutable_account().on_fill({0, s,
                                     holding > 0 ? market::side::buy : market::side::sell,
                                     100, std::abs(holding), false});
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

  /// Ticks through a series, expecting no order before the last; returns the
  /// last tick's submits.
  std::vector<submit_intent> series(std::initializer_list<market::price_t> mids) {
    std::vector<submit_intent> last;
    std::size_t n = 0;
    for (auto m : mids) {
      last = tick(m);
      if (++n < mids.size())
        CHECK(last.empty());
    }
    return last;
  }

  void done(const submit_intent& x) {
    order_update u;
    u.id = x.id;
    u.symbol = x.spec.symbol;
    u.side = x.spec.side;
    u.what = order_update::kind::done;
    strat->on_order(ctx, u);
  }
};

} // namespace

TEST_CASE("mean reversion declares its parameters and refuses impossible ones",
          "[mean_reversion]") {
  REQUIRE_NOTHROW(make_mr(param_values{}));
  for (const auto& spec : info().params)
    CHECK(spec.default_value.has_value());

  auto p = small_window();
  p.set("exit_z", 1.5);
  CHECK_THROWS_AS(make_mr(p), std::invalid_argument);
  // |z| <= sqrt(window - 1) = 2: an entry at 2 could never be reached.
  p = small_window();
  p.set("entry_z", 2.0);
  CHECK_THROWS_AS(make_mr(p), std::invalid_argument);
  p.set("entry_z", 1.99);
  CHECK_NOTHROW(make_mr(p));
  p = small_window();
  p.set("order_size", std::int64_t{3});
  CHECK_THROWS_AS(make_mr(p), std::invalid_argument);
}

TEST_CASE("mean reversion sells after a spike up", "[mean_reversion]") {
  bench b(small_window());
  // 100 x 4, then 110: z = 2 > 1.5.
  const auto orders = b.series({100, 100, 100, 100, 110});
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].spec.side == market::side::sell);
  CHECK(orders[0].spec.type == market::order_type::market);
  CHECK(orders[0].spec.tif == market::time_in_force::ioc);
  CHECK(orders[0].spec.qty == 1);
}

TEST_CASE("mean reversion buys after a drop", "[mean_reversion]") {
  bench b(small_window());
  const auto orders = b.series({100, 100, 100, 100, 90});
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].spec.side == market::side::buy);
  CHECK(orders[0].spec.qty == 1);
}

TEST_CASE("mean reversion's z-score is the population z of the window",
          "[mean_reversion]") {
  // 100 102 98 100 105: mean 101, variance 28 / 5, z = 4 / sqrt(5.6) = 1.690.
  {
    bench b(small_window());
    CHECK(b.series({100, 102, 98, 100, 105}).size() == 1);
  }
  {
    auto p = small_window();
    p.set("entry_z", 1.7);
    bench b(p);
    CHECK(b.series({100, 102, 98, 100, 105}).empty());
  }
}

TEST_CASE("the standard deviation floor damps one-tick wiggles", "[mean_reversion]") {
  // 100 x 4, then 101: sd = 0.4, floored to 0.5: z = 0.8 / 0.5 = 1.6.
  {
    bench b(small_window());
    const auto orders = b.series({100, 100, 100, 100, 101});
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].spec.side == market::side::sell);
  }
  // Floored to 1: z = 0.8, between exit and entry: hold, even with a position.
  {
    auto p = small_window();
    p.set("min_stddev", 1.0);
    bench b(p, 0, 1);
    CHECK(b.series({100, 100, 100, 100, 101}).empty());
  }
}

TEST_CASE("mean reversion flattens near the mean", "[mean_reversion]") {
  {
    bench b(small_window(), 0, 2);
    // A flat window: z = 0 < 0.5: sell the whole long.
    const auto orders = b.series({100, 100, 100, 100, 100});
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].spec.side == market::side::sell);
    CHECK(orders[0].spec.qty == 2);
  }
  {
    bench b(small_window(), 0, -2);
    const auto orders = b.series({100, 100, 100, 100, 100});
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].spec.side == market::side::buy);
    CHECK(orders[0].spec.qty == 2);
  }
  {
    // Flat: nothing to do.
    bench b(small_window());
    CHECK(b.series({100, 100, 100, 100, 100}).empty());
  }
}

TEST_CASE("flattening trades whole lots", "[mean_reversion]") {
  auto p = small_window();
  p.set("symbols", std::string{"GLOBEX"});
  bench b(p, 1, 25); // 2.5 lots of 10
  std::vector<submit_intent> orders;
  for (int i = 0; i < 5; ++i)
    orders = b.tick(4500, 1, 5);
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].spec.symbol == 1);
  CHECK(orders[0].spec.side == market::side::sell);
  CHECK(orders[0].spec.qty == 20);
}

TEST_CASE("mean reversion respects its position limits", "[mean_reversion]") {
  // Short at the limit (2 lots): a spike up does not sell more.
  {
    bench b(small_window(), 0, -2);
    CHECK(b.series({100, 100, 100, 100, 110}).empty());
  }
  // Long at the limit: a drop does not buy more.
  {
    bench b(small_window(), 0, 2);
    CHECK(b.series({100, 100, 100, 100, 90}).empty());
  }
  // One lot from the limit: one more sell, then no more.
  {
    bench b(small_window(), 0, -1);
    const auto orders = b.series({100, 100, 100, 100, 110});
    REQUIRE(orders.size() == 1);
    b.ctx.mutable_account().on_fill({0, 0, market::side::sell, 110, 1, false});
    b.done(orders[0]);
    // 100 100 100 110 130: mean 108, z = 22 / sqrt(136) = 1.89: a sell signal.
    CHECK(b.tick(130).empty());
  }
}

TEST_CASE("mean reversion waits for its order in flight", "[mean_reversion]") {
  bench b(small_window());
  const auto first = b.series({100, 100, 100, 100, 110});
  REQUIRE(first.size() == 1);
  // Still far above the mean, but the first sell has not finished.
  CHECK(b.tick(130).empty());
  b.done(first[0]);
  const auto second_order = b.tick(150);
  REQUIRE(second_order.size() == 1);
  CHECK(second_order[0].spec.side == market::side::sell);
}

TEST_CASE("mean reversion with limit orders sends IOC limits at the opposite best",
          "[mean_reversion]") {
  auto p = small_window();
  p.set("order_type", std::string{"limit"});
  p.set("limit_offset", std::int64_t{1});
  bench b(p);
  const auto orders = b.series({100, 100, 100, 100, 110});
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].spec.type == market::order_type::limit);
  CHECK(orders[0].spec.tif == market::time_in_force::ioc);
  // Selling into the best bid 109, one tick through it.
  CHECK(orders[0].spec.price == 108);
}

TEST_CASE("mean reversion is among the built-in strategies", "[mean_reversion]") {
  const auto all = builtin_strategies();
  const auto* i = all.find("mean_reversion");
  REQUIRE(i != nullptr);
  CHECK(i->make(check_params(i->params, param_values{})) != nullptr);
}
