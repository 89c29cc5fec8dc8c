/// Specification of the breakout strategy, the worked example of
/// docs/writing-a-strategy.md: it is driven here exactly as the tutorial shows,
/// with a hand-made host (strategy_harness.hpp) and no actors.

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

constexpr time_ns second = 1'000'000'000;

/// One symbol, tick 1, lot 10.
market::symbol_table one_symbol() {
  market::symbol_table t;
  t.add({"ACME", 1, 10, 1'000'000});
  return t;
}

/// A channel of 3 samples, one per second, orders of 2 lots, at most 4 lots.
param_values small_channel() {
  return params({{"interval", std::int64_t{second}},
                 {"window", std::int64_t{3}},
                 {"order_size", std::int64_t{2}},
                 {"max_position", std::int64_t{4}}});
}

struct fixture {
  market::symbol_table table = one_symbol();
  harness h;

  /// Starts long 2 lots (20 shares): room to buy 2 more lots and to sell.
  explicit fixture(market::qty_t shares = 20, const param_values& p = small_channel())
      : h(make_strategy(register_breakout, "breakout", p), table, rich_account(0, shares)) {
    h.start();
  }

  /// Quotes `mid` +- 1 and lets the next sample happen.
  void sample(market::price_t mid) {
    set_quote(h.ctx(), 0, mid - 1, mid + 1);
    REQUIRE(h.step());
  }
};

} // namespace

TEST_CASE("breakout subscribes to its symbols and samples on its timer", "[breakout]") {
  fixture f;
  const auto lines = f.h.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "0 subscribe_market s0 trades");
  CHECK(lines[1] == "0 timer 1000000000 tag 0");
}

TEST_CASE("breakout buys a new high and sells a new low", "[breakout]") {
  fixture f;
  for (auto mid : {100, 101, 100})
    f.sample(mid);
  CHECK(f.h.submits().empty()); // the channel is 99..101 wide: no breakout yet

  f.sample(105); // above the highest of the last 3 samples
  auto s = f.h.submits();
  REQUIRE(s.size() == 1);
  CHECK(s[0].spec.side == market::side::buy);
  CHECK(s[0].spec.type == market::order_type::market);
  CHECK(s[0].spec.tif == market::time_in_force::ioc);
  CHECK(s[0].spec.qty == 20); // 2 lots of 10

  f.sample(90); // below the lowest of 101, 100, 105
  s = f.h.submits();
  REQUIRE(s.size() == 2);
  CHECK(s[1].spec.side == market::side::sell);
  CHECK(s[1].spec.qty == 20);
}

TEST_CASE("breakout does not trade inside the channel", "[breakout]") {
  fixture f;
  // Period 3: every three consecutive samples hold both 100 and 102.
  for (auto mid : {100, 102, 101, 100, 102, 101, 100, 102, 101, 100})
    f.sample(mid);
  CHECK(f.h.submits().empty());
}

TEST_CASE("breakout waits for a full window before it trades", "[breakout]") {
  fixture f;
  f.sample(100);
  f.sample(110);
  f.sample(120); // rising, but only 2 earlier samples: no channel yet
  CHECK(f.h.submits().empty());
  f.sample(130);
  CHECK(f.h.submits().size() == 1);
}

TEST_CASE("breakout respects its position limit", "[breakout]") {
  // Already long 4 lots (40 shares), the limit: a new high does not buy more,
  // a new low still sells.
  fixture f{40};
  for (auto mid : {100, 100, 100, 110})
    f.sample(mid);
  CHECK(f.h.submits().empty());
  f.sample(90);
  const auto s = f.h.submits();
  REQUIRE(s.size() == 1);
  CHECK(s[0].spec.side == market::side::sell);
}

TEST_CASE("breakout does not sell what it cannot cover", "[breakout]") {
  // No shares and no shorting: a new low asks for nothing.
  fixture f{0};
  for (auto mid : {100, 100, 100, 90})
    f.sample(mid);
  CHECK(f.h.submits().empty());
  CHECK(f.h.rejects() == 0);
}

TEST_CASE("breakout declares its parameters and checks them", "[breakout]") {
  strategy_registry r;
  register_breakout(r);
  const auto* info = r.find("breakout");
  REQUIRE(info != nullptr);
  // Defaults alone make a working strategy.
  CHECK(check_params(info->params, {}).integer("window") == 20);
  CHECK_THROWS_AS(check_params(info->params, params({{"window", std::int64_t{1}}})),
                  std::invalid_argument);
  CHECK_THROWS_AS(check_params(info->params, params({{"windw", std::int64_t{5}}})),
                  std::invalid_argument);
}
