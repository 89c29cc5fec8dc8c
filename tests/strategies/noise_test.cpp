#include "strategies/builtin.hpp"
#include "strategies/registry.hpp"

#include "strategy_harness.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <set>

using namespace marketsim;
using namespace marketsim::strategies;
using namespace marketsim::strategies::testing;

namespace {

struct fixture {
  market::symbol_table symbols;
  market::symbol_id acme = 0;
  market::symbol_id coarse = 0; ///< tick 5, lot 10

  fixture() {
    acme = symbols.add({"ACME", 1, 1, 1'000'000});
    coarse = symbols.add({"COARSE", 5, 10, 1'000'000});
  }

  harness make(const param_values& p, market::account_params account,
               std::uint64_t seed = 3) {
    return harness{make_strategy(register_noise, "noise", p), symbols, std::move(account),
                   seed};
  }
};

param_values base_params(double market_probability = 0, std::int64_t max_offset = 0) {
  return params({{"symbols", std::string{"ACME"}},
                 {"mean_interval", std::string{"500ms"}},
                 {"market_order_probability", market_probability},
                 {"max_offset", max_offset},
                 {"max_resting", std::int64_t{1'000'000}}});
}

} // namespace

TEST_CASE("noise refuses impossible parameter combinations", "[noise]") {
  CHECK_THROWS_AS(make_strategy(register_noise, "noise",
                                params({{"min_quantity", std::int64_t{3}},
                                        {"max_quantity", std::int64_t{2}}})),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      make_strategy(register_noise, "noise", params({{"market_order_probability", 1.5}})),
      std::invalid_argument);
}

TEST_CASE("noise limit orders join the touch of their own side", "[noise]") {
  fixture f;
  auto h = f.make(base_params(), rich_account(f.acme, 1'000'000));
  h.start();
  CHECK(h.lines().at(0) == "0 subscribe_market s0 trades");
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  h.run(300);
  const auto orders = h.submits();
  REQUIRE(orders.size() == 300);
  for (const auto& o : orders) {
    CHECK(o.spec.type == market::order_type::limit);
    if (o.spec.side == market::side::buy)
      CHECK(o.spec.price == 9'990);
    else
      CHECK(o.spec.price == 10'010);
  }
  CHECK(h.rejects() == 0);
}

TEST_CASE("noise limit orders rest at most max_offset ticks behind the touch",
          "[noise]") {
  fixture f;
  auto p = base_params(0, 3);
  p.set("symbols", std::string{"COARSE"});
  auto h = f.make(p, rich_account(f.coarse, 1'000'000));
  h.start();
  set_quote(h.ctx(), f.coarse, 9'990, 10'010);
  h.run(400);
  std::set<market::price_t> bids, asks;
  for (const auto& o : h.submits()) {
    CHECK(o.spec.qty % 10 == 0);
    (o.spec.side == market::side::buy ? bids : asks).insert(o.spec.price);
  }
  CHECK(bids == std::set<market::price_t>{9'975, 9'980, 9'985, 9'990});
  CHECK(asks == std::set<market::price_t>{10'010, 10'015, 10'020, 10'025});
}

TEST_CASE("noise quotes near the other side or the reference when its side is empty",
          "[noise]") {
  fixture f;
  SECTION("only an ask: buys one tick below it, sells at it") {
    auto h = f.make(base_params(), rich_account(f.acme, 1'000'000));
    h.start();
    set_quote(h.ctx(), f.acme, 0, 10'010);
    h.run(100);
    for (const auto& o : h.submits())
      CHECK(o.spec.price == (o.spec.side == market::side::buy ? 10'009 : 10'010));
    CHECK(h.submits().size() == 100);
  }
  SECTION("an empty book: the last trade") {
    auto h = f.make(base_params(), rich_account(f.acme, 1'000'000));
    h.start();
    h.ctx().mutable_market(f.acme).last_price = 10'500;
    h.run(50);
    for (const auto& o : h.submits())
      CHECK(o.spec.price == 10'500);
    CHECK(h.submits().size() == 50);
  }
  SECTION("an empty book and nothing known: the reference_price parameter") {
    auto p = base_params();
    p.set("reference_price", std::int64_t{8'000});
    auto h = f.make(p, rich_account(f.acme, 1'000'000));
    h.start();
    h.run(50);
    for (const auto& o : h.submits())
      CHECK(o.spec.price == 8'000);
    CHECK(h.submits().size() == 50);
  }
  SECTION("no price at all: asks for a quote and sends nothing") {
    auto h = f.make(base_params(), rich_account(f.acme, 1'000'000));
    h.start();
    h.run(20);
    CHECK(h.submits().empty());
    std::size_t requests = 0;
    for (const auto& x : h.log())
      requests += std::holds_alternative<request_quote_intent>(x.what) ? 1 : 0;
    CHECK(requests == 20);
  }
}

TEST_CASE("noise sends market orders with the configured probability",
          "[noise][statistics]") {
  fixture f;
  auto h = f.make(base_params(0.3), rich_account(f.acme, 1'000'000));
  h.start();
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  h.run(3'000);
  const auto orders = h.submits();
  REQUIRE(orders.size() == 3'000);
  double market_orders = 0, buys = 0;
  for (const auto& o : orders) {
    if (o.spec.type == market::order_type::market) {
      ++market_orders;
      CHECK(o.spec.tif == market::time_in_force::ioc);
    } else {
      CHECK(o.spec.price == (o.spec.side == market::side::buy ? 9'990 : 10'010));
    }
    buys += o.spec.side == market::side::buy ? 1 : 0;
  }
  // Binomial(3000, 0.3): sd of the share 0.0084; margins of ~5 sd.
  CHECK(market_orders / 3'000 == Approx(0.3).margin(0.04));
  CHECK(buys / 3'000 == Approx(0.5).margin(0.045));
  CHECK(h.rejects() == 0);
}

TEST_CASE("noise sends a limit when a market order would find no liquidity", "[noise]") {
  fixture f;
  auto h = f.make(base_params(1.0), rich_account(f.acme, 1'000'000));
  h.start();
  set_quote(h.ctx(), f.acme, 9'990, 0); // no asks: a market buy could not trade
  h.run(200);
  for (const auto& o : h.submits()) {
    if (o.spec.side == market::side::buy) {
      CHECK(o.spec.type == market::order_type::limit);
      CHECK(o.spec.price == 9'990);
    } else {
      CHECK(o.spec.type == market::order_type::market);
    }
  }
}

TEST_CASE("noise wakes are exponential with the configured mean", "[noise][statistics]") {
  fixture f;
  auto h = f.make(base_params(), rich_account(f.acme, 1'000'000));
  h.start();
  h.run(4'000);
  const auto& t = h.timer_times();
  REQUIRE(t.size() == 4'001);
  std::vector<double> waits;
  waits.push_back(static_cast<double>(t[0]));
  for (std::size_t i = 1; i < t.size(); ++i)
    waits.push_back(static_cast<double>(t[i] - t[i - 1]));
  double sum = 0, sum_sq = 0, below_mean = 0;
  for (double w : waits) {
    sum += w;
    sum_sq += w * w;
    below_mean += w < 5e8 ? 1 : 0;
  }
  const double n = static_cast<double>(waits.size());
  const double mean = sum / n;
  const double sd = std::sqrt(sum_sq / n - mean * mean);
  // Exponential, mean 500 ms: the sd of the mean of 4001 waits is 1.6%.
  CHECK(mean == Approx(5e8).epsilon(0.07));
  // Its sd equals its mean, and P(wait < mean) = 1 - 1/e = 0.632.
  CHECK(sd / mean == Approx(1.0).margin(0.1));
  CHECK(below_mean / n == Approx(0.632).margin(0.035));
}

TEST_CASE("noise submits only what its account covers", "[noise]") {
  fixture f;
  market::account_params poor;
  poor.cash = 30'000; // three shares at 10000
  auto p = base_params(0.5);
  p.set("max_quantity", std::int64_t{10});
  p.set("max_resting", std::int64_t{2});
  auto h = f.make(p, poor);
  h.start();
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  h.run(1'000);
  const auto orders = h.submits();
  REQUIRE(orders.size() > 100);
  for (const auto& o : orders)
    CHECK(o.spec.side == market::side::buy); // it holds no shares
  CHECK(h.rejects() == 0);
  CHECK(h.max_live() <= 2);
}

TEST_CASE("noise is deterministic for a seed", "[noise]") {
  fixture f;
  const auto run = [&](std::uint64_t seed) {
    auto h = f.make(base_params(0.2, 2), rich_account(f.acme, 1'000'000), seed);
    h.start();
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    h.run(300);
    return h.lines();
  };
  CHECK(run(5) == run(5));
  CHECK(run(5) != run(6));
}

// -- market_data: poll ------------------------------------------------------------

namespace {

param_values poll_params(double market_probability = 0, std::int64_t max_offset = 0) {
  auto p = base_params(market_probability, max_offset);
  p.set("market_data", std::string{"poll"});
  return p;
}

/// The intents logged from entry `from` on, one line each.
std::vector<std::string> lines_since(const harness& h, std::size_t from) {
  const auto all = h.lines();
  return {all.begin() + static_cast<std::ptrdiff_t>(from), all.end()};
}

template <typename Intent>
std::size_t count_of(const harness& h) {
  std::size_t n = 0;
  for (const auto& x : h.log())
    n += std::holds_alternative<Intent>(x.what) ? 1 : 0;
  return n;
}

/// One poll cycle: a wake, then the answer showing `bid`/`ask`.
void wake_and_answer(harness& h, market::symbol_id s, market::price_t bid,
                     market::price_t ask) {
  REQUIRE(h.step());
  set_quote(h.ctx(), s, bid, ask);
  h.deliver_quote(s);
}

} // namespace

TEST_CASE("noise market_data accepts subscribe and poll only; subscribe is the default",
          "[noise][poll]") {
  CHECK_THROWS_AS(make_strategy(register_noise, "noise",
                                params({{"market_data", std::string{"push"}}})),
                  std::invalid_argument);
  fixture f;
  const auto run = [&](const param_values& p) {
    auto h = f.make(p, rich_account(f.acme, 1'000'000));
    h.start();
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    h.run(100);
    return h.lines();
  };
  auto explicit_subscribe = base_params(0.2, 2);
  explicit_subscribe.set("market_data", std::string{"subscribe"});
  CHECK(run(explicit_subscribe) == run(base_params(0.2, 2)));
}

TEST_CASE("noise polling subscribes to nothing and asks for one quote per wake",
          "[noise][poll]") {
  fixture f;
  auto h = f.make(poll_params(), rich_account(f.acme, 1'000'000));
  h.start();
  REQUIRE(h.lines().size() == 1);
  CHECK_THAT(h.lines()[0], Catch::Matchers::StartsWith("0 timer "));

  // A view is known, but only the answer to the wake's request places an order.
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  REQUIRE(h.step());
  const auto now = std::to_string(h.ctx().now());
  const auto wake = lines_since(h, 1);
  REQUIRE(wake.size() == 2);
  CHECK(wake[0] == now + " request_quote s0");
  CHECK_THAT(wake[1], Catch::Matchers::StartsWith(now + " timer "));
  CHECK(h.submits().empty());

  // Unanswered requests do not stall it: it keeps waking and asking.
  h.run(49);
  CHECK(count_of<request_quote_intent>(h) == 50);
  CHECK(h.timer_times().size() == 51);
  CHECK(count_of<subscribe_market_intent>(h) == 0);
  CHECK(h.submits().empty());
}

TEST_CASE("noise polling places its order at the touch of the answered quote",
          "[noise][poll]") {
  fixture f;
  SECTION("limit orders join the touch of the fresh view") {
    auto h = f.make(poll_params(), rich_account(f.acme, 1'000'000));
    h.start();
    for (market::price_t i = 0; i < 300; ++i) {
      // The view at the wake is stale; the answer moves the book by i.
      set_quote(h.ctx(), f.acme, 5'000, 5'100);
      const auto before = h.submits().size();
      wake_and_answer(h, f.acme, 9'990 + i, 10'010 + i);
      REQUIRE(h.submits().size() == before + 1);
      const auto o = h.submits().back();
      CHECK(o.spec.type == market::order_type::limit);
      CHECK(o.spec.price == (o.spec.side == market::side::buy ? 9'990 + i : 10'010 + i));
    }
    CHECK(h.rejects() == 0);
  }
  SECTION("market orders take the answered touch") {
    auto h = f.make(poll_params(1.0), rich_account(f.acme, 1'000'000));
    h.start();
    for (int i = 0; i < 100; ++i)
      wake_and_answer(h, f.acme, 9'990, 10'010);
    REQUIRE(h.submits().size() == 100);
    for (const auto& o : h.submits()) {
      CHECK(o.spec.type == market::order_type::market);
      CHECK(o.spec.tif == market::time_in_force::ioc);
    }
    CHECK(h.rejects() == 0);
  }
}

TEST_CASE("noise polling ignores quotes it is not waiting for", "[noise][poll]") {
  fixture f;
  SECTION("before any wake") {
    auto h = f.make(poll_params(), rich_account(f.acme, 1'000'000));
    h.start();
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    h.deliver_quote(f.acme);
    CHECK(h.lines().size() == 1); // the first timer only
  }
  SECTION("a second answer, after a later wake asked again") {
    auto h = f.make(poll_params(), rich_account(f.acme, 1'000'000));
    h.start();
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    h.run(2); // two wakes, two requests in flight
    h.deliver_quote(f.acme);
    h.deliver_quote(f.acme);
    CHECK(h.submits().size() == 1);
    CHECK(count_of<request_quote_intent>(h) == 2);
  }
  SECTION("a quote of another symbol than the one asked for") {
    auto p = poll_params();
    p.set("symbols", std::string{"ACME, COARSE"});
    auto account = rich_account(f.acme, 1'000'000);
    account.positions[f.coarse] = market::holding{1'000'000, 10'000};
    auto h = f.make(p, account);
    h.start();
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    set_quote(h.ctx(), f.coarse, 9'990, 10'010);
    for (int i = 0; i < 20; ++i) {
      REQUIRE(h.step());
      // The wake's intents end with the request and the next timer.
      const auto& asked_at = h.log().at(h.log().size() - 2).what;
      REQUIRE(std::holds_alternative<request_quote_intent>(asked_at));
      const auto asked = std::get<request_quote_intent>(asked_at).symbol;
      const auto other = asked == f.acme ? f.coarse : f.acme;
      const auto before = h.submits().size();
      h.deliver_quote(other);
      CHECK(h.submits().size() == before);
      h.deliver_quote(asked);
      REQUIRE(h.submits().size() == before + 1);
      CHECK(h.submits().back().spec.symbol == asked);
    }
  }
}

TEST_CASE("noise polling an empty book falls back to reference_price or sends nothing",
          "[noise][poll]") {
  fixture f;
  SECTION("no price at all: nothing, and no second request before the next wake") {
    auto h = f.make(poll_params(), rich_account(f.acme, 1'000'000));
    h.start();
    REQUIRE(h.step());
    const auto after_wake = h.log().size();
    h.deliver_quote(f.acme); // the view shows an empty book
    CHECK(h.log().size() == after_wake);
  }
  SECTION("the reference_price parameter") {
    auto p = poll_params();
    p.set("reference_price", std::int64_t{8'000});
    auto h = f.make(p, rich_account(f.acme, 1'000'000));
    h.start();
    for (int i = 0; i < 50; ++i)
      wake_and_answer(h, f.acme, 0, 0);
    REQUIRE(h.submits().size() == 50);
    for (const auto& o : h.submits())
      CHECK(o.spec.price == 8'000);
  }
}

TEST_CASE("noise polling cancels stale orders on the wake, before it asks",
          "[noise][poll]") {
  fixture f;
  auto p = poll_params();
  p.set("max_resting", std::int64_t{1});
  auto h = f.make(p, rich_account(f.acme, 1'000'000));
  h.start();
  wake_and_answer(h, f.acme, 9'990, 10'010);
  const auto first = h.submits().at(0).id;
  const auto before = h.log().size();
  REQUIRE(h.step());
  const auto wake = lines_since(h, before);
  const auto now = std::to_string(h.ctx().now());
  REQUIRE(wake.size() == 3);
  CHECK(wake[0] == now + " cancel " + std::to_string(first));
  CHECK(wake[1] == now + " request_quote s0");
  CHECK_THAT(wake[2], Catch::Matchers::StartsWith(now + " timer "));
  CHECK(h.ctx().orders().empty());
}

TEST_CASE("noise polling is deterministic for a seed", "[noise][poll]") {
  fixture f;
  const auto run = [&](std::uint64_t seed) {
    auto h = f.make(poll_params(0.2, 2), rich_account(f.acme, 1'000'000), seed);
    h.start();
    for (int i = 0; i < 300; ++i)
      wake_and_answer(h, f.acme, 9'990, 10'010);
    return h.lines();
  };
  CHECK(run(5) == run(5));
  CHECK(run(5) != run(6));
}
