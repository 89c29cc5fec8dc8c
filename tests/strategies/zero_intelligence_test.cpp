#include "strategies/builtin.hpp"
#include "strategies/registry.hpp"

#include "strategy_harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
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
               std::uint64_t seed = 7) {
    return harness{make_strategy(register_zero_intelligence, "zero_intelligence", p),
                   symbols, std::move(account), seed};
  }
};

/// ACME only, valuations exactly at the reference, at most 100 ms apart.
param_values base_params(std::int64_t spread = 0) {
  return params({{"symbols", std::string{"ACME"}},
                 {"valuation_spread", spread},
                 {"price_band", std::int64_t{20}},
                 {"interval", std::string{"100ms"}},
                 {"jitter", std::string{"50ms"}},
                 {"max_resting", std::int64_t{1'000'000}}});
}

} // namespace

TEST_CASE("zero_intelligence refuses impossible parameter combinations",
          "[zero_intelligence]") {
  CHECK_THROWS_AS(make_strategy(register_zero_intelligence, "zero_intelligence",
                                params({{"interval", std::string{"10ms"}},
                                        {"jitter", std::string{"11ms"}}})),
                  std::invalid_argument);
  CHECK_THROWS_AS(make_strategy(register_zero_intelligence, "zero_intelligence",
                                params({{"min_quantity", std::int64_t{5}},
                                        {"max_quantity", std::int64_t{4}}})),
                  std::invalid_argument);
  CHECK_THROWS_AS(make_strategy(register_zero_intelligence, "zero_intelligence",
                                params({{"valuation", std::string{"psychic"}}})),
                  std::invalid_argument);
}

TEST_CASE("zero_intelligence subscribes to its symbols and sets a first timer",
          "[zero_intelligence]") {
  fixture f;
  auto h = f.make(base_params(), rich_account(f.acme, 100));
  h.start();
  const auto lines = h.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "0 subscribe_market s0 trades");
  CHECK_THAT(lines[1], Catch::Matchers::StartsWith("0 timer "));
  REQUIRE(h.timer_times().size() == 1);
  CHECK(h.timer_times()[0] >= 1);
  CHECK(h.timer_times()[0] <= 100'000'000);
}

TEST_CASE("zero_intelligence with an unknown symbol fails at start",
          "[zero_intelligence]") {
  fixture f;
  auto h = f.make(params({{"symbols", std::string{"ACME, NOPE"}}}), rich_account(0, 0));
  CHECK_THROWS_AS(h.start(), std::invalid_argument);
}

TEST_CASE("zero_intelligence waits while it knows no price", "[zero_intelligence]") {
  fixture f;
  auto h = f.make(base_params(), rich_account(f.acme, 100));
  h.start();
  h.run(50);
  CHECK(h.submits().empty());
  CHECK(h.timer_times().size() == 51); // it keeps waking
}

TEST_CASE("zero_intelligence never bids above nor asks below its valuation",
          "[zero_intelligence]") {
  fixture f;
  SECTION("valuation at the reference: bids in [ref - band, ref], asks in [ref, ref + "
          "band]") {
    auto h = f.make(base_params(0), rich_account(f.acme, 1'000'000));
    h.start();
    set_quote(h.ctx(), f.acme, 9'990, 10'010); // mid 10000
    h.run(400);
    const auto orders = h.submits();
    REQUIRE(orders.size() == 400);
    for (const auto& o : orders) {
      CHECK(o.spec.type == market::order_type::limit);
      CHECK(o.spec.tif == market::time_in_force::gtc);
      if (o.spec.side == market::side::buy) {
        CHECK(o.spec.price <= 10'000);
        CHECK(o.spec.price >= 9'980);
      } else {
        CHECK(o.spec.price >= 10'000);
        CHECK(o.spec.price <= 10'020);
      }
    }
    CHECK(h.rejects() == 0);
  }
  SECTION("private valuations: every agent's bids stay below its asks") {
    // With valuation v, bids <= v <= asks; over many agents the valuations
    // differ (spread 30 ticks) but each agent's own orders never cross it.
    std::set<market::price_t> highest_bids;
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
      auto h = f.make(base_params(30), rich_account(f.acme, 1'000'000), seed);
      h.start();
      set_quote(h.ctx(), f.acme, 9'990, 10'010);
      h.run(100);
      market::price_t max_bid = 0;
      market::price_t min_ask = 1'000'000;
      for (const auto& o : h.submits()) {
        if (o.spec.side == market::side::buy)
          max_bid = std::max(max_bid, o.spec.price);
        else
          min_ask = std::min(min_ask, o.spec.price);
        CHECK(o.spec.price >= 10'000 - 30 - 20);
        CHECK(o.spec.price <= 10'000 + 30 + 20);
      }
      INFO("seed " << seed);
      CHECK(max_bid <= min_ask);
      highest_bids.insert(max_bid);
    }
    CHECK(highest_bids.size() > 10); // the valuations really are private
  }
}

TEST_CASE("zero_intelligence prices and sizes are uniform on the grid",
          "[zero_intelligence][statistics]") {
  fixture f;
  auto p = base_params(0);
  p.set("symbols", std::string{"COARSE"});
  p.set("min_quantity", std::int64_t{1});
  p.set("max_quantity", std::int64_t{10});
  auto h = f.make(p, rich_account(f.coarse, 1'000'000'000));
  h.start();
  set_quote(h.ctx(), f.coarse, 9'990, 10'010); // mid 10000, on the 5-grid
  h.run(4'000);
  const auto orders = h.submits();
  REQUIRE(orders.size() == 4'000);
  double buys = 0, buy_price_sum = 0, lots_sum = 0;
  std::set<market::price_t> buy_prices;
  for (const auto& o : orders) {
    CHECK(o.spec.price % 5 == 0);
    CHECK(o.spec.qty % 10 == 0);
    lots_sum += static_cast<double>(o.spec.qty / 10);
    if (o.spec.side == market::side::buy) {
      ++buys;
      buy_price_sum += static_cast<double>(o.spec.price);
      buy_prices.insert(o.spec.price);
    }
  }
  const double n = static_cast<double>(orders.size());
  // Binomial(4000, 1/2): sd of the share is 0.008; 0.04 is 5 sd.
  CHECK(buys / n == Approx(0.5).margin(0.04));
  // Bids uniform over 21 ticks of 5 in [9900, 10000]: mean 9950, sd of one
  // draw 30.3, of the mean of ~2000 draws 0.68; 4 price units is ~6 sd.
  CHECK(buy_price_sum / buys == Approx(9'950).margin(4));
  CHECK(buy_prices.size() == 21);
  CHECK(*buy_prices.begin() == 9'900);
  // Lots uniform in 1..10: mean 5.5, sd of the mean 0.045.
  CHECK(lots_sum / n == Approx(5.5).margin(0.25));
}

TEST_CASE("zero_intelligence wakes every interval plus or minus the jitter",
          "[zero_intelligence][statistics]") {
  fixture f;
  auto h = f.make(base_params(), rich_account(f.acme, 100));
  h.start();
  h.run(2'000);
  const auto& t = h.timer_times();
  REQUIRE(t.size() == 2'001);
  double sum = 0;
  for (std::size_t i = 1; i < t.size(); ++i) {
    const auto wait = t[i] - t[i - 1];
    CHECK(wait >= 50'000'000);
    CHECK(wait <= 150'000'000);
    sum += static_cast<double>(wait);
  }
  // Uniform in [50, 150] ms: sd 28.9 ms, of the mean of 2000 waits 0.65 ms.
  CHECK(sum / 2'000 == Approx(100'000'000).margin(3'000'000));
}

TEST_CASE("zero_intelligence keeps a fixed valuation when the market moves",
          "[zero_intelligence]") {
  fixture f;
  auto h = f.make(base_params(0), rich_account(f.acme, 1'000'000));
  h.start();
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  h.run(10);
  set_quote(h.ctx(), f.acme, 19'990, 20'010); // a jump the valuation ignores
  h.run(200);
  for (const auto& o : h.submits()) {
    CHECK(o.spec.price >= 9'980);
    CHECK(o.spec.price <= 10'020);
  }
}

TEST_CASE("zero_intelligence can anchor on the fundamental", "[zero_intelligence]") {
  fixture f;
  auto p = base_params(0);
  p.set("valuation", std::string{"fundamental"});
  p.set("reference_price", std::int64_t{10'000});
  auto h = f.make(p, rich_account(f.acme, 1'000'000));
  h.start();
  CHECK(h.lines().at(1) == "0 subscribe_signal fundamental");
  // Before any fundamental: the reference parameter (the book is empty).
  h.run(50);
  for (const auto& o : h.submits()) {
    CHECK(o.spec.price >= 9'980);
    CHECK(o.spec.price <= 10'020);
  }
  const auto before = h.submits().size();
  h.deliver(signal{"fundamental", f.acme, 15'000.4, 0, h.ctx().now()});
  h.deliver(signal{"other", f.acme, 1.0, 0, h.ctx().now()}); // not a fundamental
  h.run(200);
  const auto orders = h.submits();
  REQUIRE(orders.size() > before + 150);
  for (std::size_t i = before; i < orders.size(); ++i) {
    CHECK(orders[i].spec.price >= 14'980);
    CHECK(orders[i].spec.price <= 15'020);
    if (orders[i].spec.side == market::side::buy)
      CHECK(orders[i].spec.price <= 15'000);
    else
      CHECK(orders[i].spec.price >= 15'000);
  }
}

TEST_CASE("zero_intelligence submits only what its account covers",
          "[zero_intelligence]") {
  fixture f;
  market::account_params poor;
  poor.cash = 45'000; // four shares at 10000, with room for no fifth
  auto p = base_params(0);
  p.set("max_quantity", std::int64_t{10});
  p.set("max_resting", std::int64_t{3});
  auto h = f.make(p, poor);
  h.start();
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  h.run(1'000);
  const auto orders = h.submits();
  // Its budget is often all held: then it cancels the oldest buy instead.
  REQUIRE(orders.size() > 150);
  for (const auto& o : orders) {
    // No shares: no sells; buys only as large as the free cash allows.
    CHECK(o.spec.side == market::side::buy);
    CHECK(o.spec.qty * o.spec.price <= 45'000);
  }
  // The account's own pre-trade check never had to refuse anything.
  CHECK(h.rejects() == 0);
  CHECK(h.ctx().account().check_invariants().empty());
}

TEST_CASE("zero_intelligence cancels its oldest orders beyond max_resting",
          "[zero_intelligence]") {
  fixture f;
  auto p = base_params(0);
  p.set("max_resting", std::int64_t{3});
  auto h = f.make(p, rich_account(f.acme, 1'000'000));
  h.start();
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  h.run(50);
  CHECK(h.max_live() <= 3);
  CHECK(h.ctx().orders().size() == 3);
  // The ones left are the three newest.
  const auto orders = h.submits();
  std::vector<local_order_id> newest;
  for (auto i = orders.size() - 3; i < orders.size(); ++i)
    newest.push_back(orders[i].id);
  std::vector<local_order_id> live;
  for (const auto& [id, o] : h.ctx().orders())
    live.push_back(id);
  CHECK(live == newest);
  CHECK(h.rejects() == 0);
}

TEST_CASE("zero_intelligence cancels orders older than order_lifetime",
          "[zero_intelligence]") {
  fixture f;
  auto p = base_params(0);
  p.set("order_lifetime", std::string{"250ms"});
  auto h = f.make(p, rich_account(f.acme, 1'000'000));
  h.start();
  set_quote(h.ctx(), f.acme, 9'990, 10'010);
  for (int i = 0; i < 200; ++i) {
    h.step();
    // After each wake, no live order is older than the lifetime plus the
    // longest wait (150 ms): it is cancelled on the first wake past it.
    for (const auto& x : h.log())
      if (const auto* s = std::get_if<submit_intent>(&x.what);
          s && h.ctx().order(s->id) != nullptr)
        CHECK(h.ctx().now() - x.at < 250'000'000 + 150'000'000);
  }
  CHECK(h.ctx().orders().size() <= 8);
}

TEST_CASE("zero_intelligence is deterministic for a seed", "[zero_intelligence]") {
  fixture f;
  const auto run = [&](std::uint64_t seed) {
    auto h = f.make(base_params(15), rich_account(f.acme, 1'000'000), seed);
    h.start();
    set_quote(h.ctx(), f.acme, 9'990, 10'010);
    h.run(300);
    return h.lines();
  };
  CHECK(run(11) == run(11));
  CHECK(run(11) != run(12));
}

TEST_CASE("zero_intelligence keeps sizes within the symbol's maximum",
          "[zero_intelligence]") {
  market::symbol_table symbols;
  const auto small = symbols.add({"SMALL", 1, 2, 6}); // lots of 2, at most 6 units
  auto p = base_params(0);
  p.set("symbols", std::string{"SMALL"});
  p.set("min_quantity", std::int64_t{3});
  p.set("max_quantity", std::int64_t{50});
  harness h{make_strategy(register_zero_intelligence, "zero_intelligence", p), symbols,
            rich_account(small, 1'000'000)};
  h.start();
  set_quote(h.ctx(), small, 9'990, 10'010);
  h.run(100);
  REQUIRE(h.submits().size() == 100);
  for (const auto& o : h.submits())
    CHECK(o.spec.qty == 6); // 6..100 units drawn, cut to the 6 allowed
}

// -- market_data: poll ------------------------------------------------------------

namespace {

param_values poll_params(std::int64_t spread = 0) {
  auto p = base_params(spread);
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

TEST_CASE("zero_intelligence market_data accepts subscribe and poll only; subscribe is "
          "the default",
          "[zero_intelligence][poll]") {
  CHECK_THROWS_AS(make_strategy(register_zero_intelligence, "zero_intelligence",
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
  auto explicit_subscribe = base_params(15);
  explicit_subscribe.set("market_data", std::string{"subscribe"});
  CHECK(run(explicit_subscribe) == run(base_params(15)));
}

TEST_CASE("zero_intelligence polling subscribes to nothing and asks for one quote per "
          "wake",
          "[zero_intelligence][poll]") {
  fixture f;
  auto h = f.make(poll_params(), rich_account(f.acme, 100));
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

TEST_CASE("zero_intelligence polling orders within the valuation of the answered quote",
          "[zero_intelligence][poll]") {
  fixture f;
  auto h = f.make(poll_params(0), rich_account(f.acme, 1'000'000));
  h.start();
  for (int i = 0; i < 400; ++i) {
    // The view at the wake is far off; the answer (mid 10000) is what counts.
    set_quote(h.ctx(), f.acme, 19'990, 20'010);
    const auto before = h.submits().size();
    wake_and_answer(h, f.acme, 9'990, 10'010);
    REQUIRE(h.submits().size() == before + 1);
  }
  for (const auto& o : h.submits()) {
    CHECK(o.spec.type == market::order_type::limit);
    CHECK(o.spec.tif == market::time_in_force::gtc);
    if (o.spec.side == market::side::buy) {
      CHECK(o.spec.price <= 10'000);
      CHECK(o.spec.price >= 9'980);
    } else {
      CHECK(o.spec.price >= 10'000);
      CHECK(o.spec.price <= 10'020);
    }
  }
  CHECK(h.rejects() == 0);
}

TEST_CASE("zero_intelligence polling ignores quotes it is not waiting for",
          "[zero_intelligence][poll]") {
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

TEST_CASE("zero_intelligence polling an empty book falls back to reference_price or "
          "sends nothing",
          "[zero_intelligence][poll]") {
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
    auto p = poll_params(0);
    p.set("reference_price", std::int64_t{8'000});
    auto h = f.make(p, rich_account(f.acme, 1'000'000));
    h.start();
    for (int i = 0; i < 50; ++i)
      wake_and_answer(h, f.acme, 0, 0);
    REQUIRE(h.submits().size() == 50);
    for (const auto& o : h.submits()) {
      CHECK(o.spec.price >= 7'980);
      CHECK(o.spec.price <= 8'020);
    }
  }
}

TEST_CASE("zero_intelligence polling cancels stale orders on the wake, before it asks",
          "[zero_intelligence][poll]") {
  fixture f;
  auto p = poll_params(0);
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

TEST_CASE("zero_intelligence polling is deterministic for a seed",
          "[zero_intelligence][poll]") {
  fixture f;
  const auto run = [&](std::uint64_t seed) {
    auto h = f.make(poll_params(15), rich_account(f.acme, 1'000'000), seed);
    h.start();
    for (int i = 0; i < 300; ++i)
      wake_and_answer(h, f.acme, 9'990, 10'010);
    return h.lines();
  };
  CHECK(run(11) == run(11));
  CHECK(run(11) != run(12));
}
