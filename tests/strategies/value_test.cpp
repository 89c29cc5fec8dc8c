#include "strategies/builtin.hpp"
#include "strategies/registry.hpp"

#include "strategy_harness.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace marketsim;
using namespace marketsim::strategies;
using namespace marketsim::strategies::testing;

namespace {

struct fixture {
  market::symbol_table symbols;
  market::symbol_id acme = 0;
  market::symbol_id other = 0;

  fixture() {
    acme = symbols.add({"ACME", 1, 1, 1'000'000});
    other = symbols.add({"OTHER", 1, 1, 1'000'000});
  }

  harness make(const param_values& p, market::account_params account,
               std::uint64_t seed = 9) {
    return harness{make_strategy(register_value, "value", p), symbols, std::move(account),
                   seed};
  }
};

/// ACME only, exact observations of a static truth unless a test says
/// otherwise.
param_values base_params() {
  return params({{"symbols", std::string{"ACME"}},
                 {"mean_interval", std::string{"1s"}},
                 {"observation_sigma", 0.0},
                 {"fundamental_kappa", 0.0},
                 {"fundamental_sigma", 0.0},
                 {"aggression", 0.5},
                 {"threshold", std::int64_t{0}}});
}

signal fundamental(market::symbol_id s, double v, time_ns at = 0) {
  return signal{"fundamental", s, v, 0, at};
}

/// Starts the agent, gives it one observation and a book, wakes it once and
/// returns what the wake sent.
std::vector<submit_intent> one_wake(fixture& f, const param_values& p, double truth,
                                    market::price_t bid, market::price_t ask) {
  auto h = f.make(p, rich_account(f.acme, 1'000'000));
  h.start();
  h.deliver(fundamental(f.acme, truth));
  set_quote(h.ctx(), f.acme, bid, ask);
  h.step();
  return h.submits();
}

} // namespace

TEST_CASE("value refuses impossible parameter combinations", "[value]") {
  auto p = base_params();
  p.set("fundamental_mean", 10'000.0); // a random walk (kappa 0) has no mean
  CHECK_THROWS_AS(make_strategy(register_value, "value", p), std::invalid_argument);
  CHECK_THROWS_AS(make_strategy(register_value, "value",
                                params({{"min_quantity", std::int64_t{9}},
                                        {"max_quantity", std::int64_t{1}}})),
                  std::invalid_argument);
  CHECK_THROWS_AS(make_strategy(register_value, "value", params({{"aggression", 2.0}})),
                  std::invalid_argument);
}

TEST_CASE("value subscribes to the fundamental and to market data", "[value]") {
  fixture f;
  auto h = f.make(base_params(), rich_account(f.acme, 100));
  h.start();
  const auto lines = h.lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "0 subscribe_signal fundamental");
  CHECK(lines[1] == "0 subscribe_market s0");
  CHECK_THAT(lines[2], Catch::Matchers::StartsWith("0 timer "));
}

TEST_CASE("value with no estimate only asks for a quote", "[value]") {
  fixture f;
  auto h = f.make(base_params(), rich_account(f.acme, 100));
  h.start();
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  // A fundamental of a symbol it does not trade, and another topic, teach it
  // nothing about ACME.
  h.deliver(fundamental(f.other, 20'000));
  h.deliver(signal{"news", f.acme, 20'000, 0, 0});
  const auto before = h.log().size();
  h.step();
  REQUIRE(h.log().size() == before + 2);
  CHECK(std::holds_alternative<request_quote_intent>(h.log()[before].what));
  CHECK(std::holds_alternative<timer_intent>(h.log()[before + 1].what));
  CHECK(h.submits().empty());
}

TEST_CASE("value buys above the ask and sells below the bid, between touch and estimate",
          "[value]") {
  fixture f;
  SECTION("estimate above the ask: a buy at ask + half the gap") {
    const auto orders = one_wake(f, base_params(), 10'100, 9'990, 10'010);
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].spec.side == market::side::buy);
    CHECK(orders[0].spec.type == market::order_type::limit);
    CHECK(orders[0].spec.price == 10'055);
  }
  SECTION("estimate below the bid: a sell at bid - half the gap") {
    const auto orders = one_wake(f, base_params(), 9'901, 9'990, 10'010);
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].spec.side == market::side::sell);
    CHECK(orders[0].spec.price == 9'946); // 9990 - 44.5, rounded up
  }
  SECTION("estimate inside the spread: nothing") {
    CHECK(one_wake(f, base_params(), 10'005, 9'990, 10'010).empty());
    CHECK(one_wake(f, base_params(), 10'010, 9'990, 10'010).empty());
    CHECK(one_wake(f, base_params(), 9'990, 9'990, 10'010).empty());
  }
  SECTION("aggression 0 trades at the touch, 1 at the estimate") {
    auto p = base_params();
    p.set("aggression", 0.0);
    CHECK(one_wake(f, p, 10'100, 9'990, 10'010).at(0).spec.price == 10'010);
    CHECK(one_wake(f, p, 9'900, 9'990, 10'010).at(0).spec.price == 9'990);
    p.set("aggression", std::int64_t{1});
    CHECK(one_wake(f, p, 10'100.7, 9'990, 10'010).at(0).spec.price == 10'100);
    CHECK(one_wake(f, p, 9'900.2, 9'990, 10'010).at(0).spec.price == 9'901);
  }
}

TEST_CASE("value does not trade inside the threshold", "[value]") {
  fixture f;
  auto p = base_params();
  p.set("threshold", std::int64_t{10});
  CHECK(one_wake(f, p, 10'020, 9'990, 10'010).empty()); // 10 ticks: not more than
  CHECK(one_wake(f, p, 9'980, 9'990, 10'010).empty());
  CHECK(one_wake(f, p, 10'021, 9'990, 10'010).size() == 1);
  CHECK(one_wake(f, p, 9'979, 9'990, 10'010).size() == 1);
}

TEST_CASE("value limit prices never pass its estimate", "[value]") {
  fixture f;
  auto p = base_params();
  for (int i = 0; i < 200; ++i) {
    const double truth = 9'500 + 5.37 * i;
    p.set("aggression", (i % 11) / 10.0);
    const auto orders = one_wake(f, p, truth, 9'990, 10'010);
    INFO("truth " << truth);
    if (truth > 10'010) {
      REQUIRE(orders.size() == 1);
      CHECK(orders[0].spec.side == market::side::buy);
      CHECK(orders[0].spec.price >= 10'010);
      CHECK(static_cast<double>(orders[0].spec.price) <= truth);
    } else if (truth < 9'990) {
      REQUIRE(orders.size() == 1);
      CHECK(orders[0].spec.side == market::side::sell);
      CHECK(orders[0].spec.price <= 9'990);
      CHECK(static_cast<double>(orders[0].spec.price) >= truth);
    } else {
      CHECK(orders.empty());
    }
  }
}

TEST_CASE("value cancels its resting orders on the next wake", "[value]") {
  fixture f;
  auto h = f.make(base_params(), rich_account(f.acme, 1'000'000));
  h.start();
  h.deliver(fundamental(f.acme, 10'100));
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  h.step();
  REQUIRE(h.submits().size() == 1);
  const auto first = h.submits()[0].id;
  const auto before = h.log().size();
  h.step();
  REQUIRE(h.log().size() > before);
  const auto* c = std::get_if<cancel_intent>(&h.log()[before].what);
  REQUIRE(c != nullptr);
  CHECK(c->id == first);
  CHECK(h.submits().size() == 2);
  CHECK(h.ctx().orders().size() == 1);
}

TEST_CASE("value carries its estimate toward the long-run mean", "[value]") {
  // mu = 10000, kappa = 1/s: an exact observation of 10100 decays to about
  // 10000 + 100 e^{-10} after 10 s, inside a 9990-10010 spread.
  fixture f;
  auto p = base_params();
  p.set("fundamental_mean", 10'000.0);
  p.set("fundamental_kappa", 1.0);
  p.set("mean_interval", std::string{"1ms"});
  {
    // Observed at 0, woken about 1 ms later: still about 10100, above the ask.
    auto h = f.make(p, rich_account(f.acme, 1'000'000));
    h.start();
    h.deliver(fundamental(f.acme, 10'100, 0));
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    h.step();
    CHECK(h.submits().size() == 1);
  }
  {
    // Observed at 0, woken 10 s later.
    auto h = f.make(p, rich_account(f.acme, 1'000'000));
    h.start();
    h.deliver(fundamental(f.acme, 10'100, 0));
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    while (h.ctx().now() < 10'000'000'000)
      REQUIRE(h.step());
    // It buys while the estimate is above the ask, 100 e^{-t} > 10, that is
    // for ln(10) = 2.30 s, and never after.
    CHECK_FALSE(h.submits().empty());
    for (const auto& x : h.log())
      if (std::holds_alternative<submit_intent>(x.what))
        CHECK(x.at < 2'310'000'000);
    const auto last_buy = h.submits().back().id;
    bool late_buy = false;
    for (const auto& x : h.log())
      if (const auto* s = std::get_if<submit_intent>(&x.what); s && s->id == last_buy)
        late_buy = x.at > 2'200'000'000;
    CHECK(late_buy); // and it did buy until close to that
  }
}

TEST_CASE("value averages noisy observations", "[value][statistics]") {
  // Truth 10080 fixed, ask 10010, threshold 40 ticks: it should buy (gap 70).
  // One observation with noise sigma 50 misleads it often (P(est < 10050) =
  // P(Z < -0.6) = 0.27); 400 observations (posterior sd 2.5) almost never.
  fixture f;
  auto p = base_params();
  p.set("observation_sigma", 50.0);
  p.set("threshold", std::int64_t{40});
  const auto buys_after = [&](int observations) {
    int buys = 0;
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
      auto h = f.make(p, rich_account(f.acme, 1'000'000), seed);
      h.start();
      for (int i = 0; i < observations; ++i)
        h.deliver(fundamental(f.acme, 10'080));
      set_quote(h.ctx(), f.acme, 9'990, 10'010);
      h.step();
      for (const auto& o : h.submits())
        buys += o.spec.side == market::side::buy ? 1 : 0;
    }
    return buys;
  };
  const int one = buys_after(1);
  const int many = buys_after(400);
  // Binomial(200, 0.73): mean 146, sd 6.3.
  CHECK(one > 115);
  CHECK(one < 175);
  CHECK(many == 200);
}

TEST_CASE("value submits only what its account covers", "[value]") {
  fixture f;
  SECTION("no cash: no buys") {
    market::account_params broke;
    broke.positions[f.acme] = market::holding{5, 10'000};
    auto h = f.make(base_params(), broke);
    h.start();
    h.deliver(fundamental(f.acme, 10'100));
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    h.run(20);
    CHECK(h.submits().empty());
    CHECK(h.rejects() == 0);
  }
  SECTION("few shares: sells cut to the position") {
    market::account_params few;
    few.positions[f.acme] = market::holding{3, 10'000};
    auto p = base_params();
    p.set("min_quantity", std::int64_t{5});
    auto h = f.make(p, few);
    h.start();
    h.deliver(fundamental(f.acme, 9'900));
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    h.run(20);
    const auto orders = h.submits();
    REQUIRE_FALSE(orders.empty());
    for (const auto& o : orders) {
      CHECK(o.spec.side == market::side::sell);
      CHECK(o.spec.qty <= 3);
    }
    CHECK(h.rejects() == 0);
  }
}

TEST_CASE("value wakes are exponential with the configured mean", "[value][statistics]") {
  fixture f;
  auto h = f.make(base_params(), rich_account(f.acme, 100));
  h.start();
  h.run(3'000);
  const auto& t = h.timer_times();
  REQUIRE(t.size() == 3'001);
  // Mean 1 s; the sd of the mean of 3001 waits is 1.8%.
  CHECK(static_cast<double>(t.back()) / 3'001 == Approx(1e9).epsilon(0.08));
}

TEST_CASE("value is deterministic for a seed", "[value]") {
  fixture f;
  auto p = base_params();
  p.set("observation_sigma", 30.0);
  p.set("fundamental_kappa", 0.05);
  p.set("fundamental_sigma", 10.0);
  const auto run = [&](std::uint64_t seed) {
    auto h = f.make(p, rich_account(f.acme, 1'000'000), seed);
    h.start();
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    for (int i = 0; i < 200; ++i) {
      h.deliver(fundamental(f.acme, 10'000 + 40 * std::sin(i / 10.0), h.ctx().now()));
      h.step();
    }
    return h.lines();
  };
  CHECK(run(21) == run(21));
  CHECK(run(21) != run(22));
}
