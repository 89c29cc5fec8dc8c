/// Specification of the venue_router strategy: where a parent order goes in
/// each mode, given hand-made quotes and measured latencies
/// (context::record_round_trip, as the host records them).

#include "strategies/builtin.hpp"
#include "strategies/registry.hpp"
#include "strategy_harness.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

using namespace marketsim;
using namespace marketsim::strategies;
using namespace marketsim::strategies::testing;

namespace {

constexpr market::symbol_id ny = 0;
constexpr market::symbol_id ln = 1;
constexpr time_ns ms = 1'000'000;
constexpr time_ns second = 1'000 * ms;

market::symbol_table venues() {
  market::symbol_table t;
  t.add({"ACME_NY", 1, 1, 1'000'000});
  t.add({"ACME_LN", 1, 1, 1'000'000});
  return t;
}

market::account_params stocked() {
  market::account_params a;
  a.cash = 1'000'000'000;
  a.positions[ny] = market::holding{1'000, 100};
  a.positions[ln] = market::holding{1'000, 100};
  return a;
}

/// Parent orders every second of `side`, routed by `mode`, no periodic probes.
param_values routing(const std::string& mode, const std::string& side = "buy") {
  return params({{"symbols", std::string{"ACME_NY,ACME_LN"}},
                 {"interval", std::int64_t{second}},
                 {"qty", std::int64_t{5}},
                 {"side", side},
                 {"mode", mode},
                 {"probe_interval", std::int64_t{0}},
                 {"order_type", std::string{"limit"}},
                 {"limit_offset", std::int64_t{3}}});
}

struct fixture {
  market::symbol_table table = venues();
  harness h;

  explicit fixture(const param_values& p)
      : h(make_strategy(register_venue_router, "venue_router", p), table, stocked()) {
    h.start();
  }

  void quote_at(time_ns t, market::symbol_id s, market::price_t bid,
                market::price_t ask) {
    h.ctx().set_now(t);
    set_quote(h.ctx(), s, bid, ask);
    h.deliver_quote(s);
  }

  /// NY quotes 100/101 and LN 99/100 just before the first parent order; NY is
  /// 1 ms away (round trip 2 ms), LN 20 ms.
  void two_markets() {
    quote_at(second - 2 * ms, ny, 100, 101);
    quote_at(second - 2 * ms, ln, 99, 100);
    h.ctx().record_round_trip(ny, 2 * ms);
    h.ctx().record_round_trip(ln, 40 * ms);
  }

  /// The symbol of the parent order sent at the next wake-up.
  market::symbol_id route_next() {
    const auto before = h.submits().size();
    REQUIRE(h.step());
    const auto s = h.submits();
    REQUIRE(s.size() == before + 1);
    return s.back().spec.symbol;
  }

  std::vector<std::string> probes() const {
    std::vector<std::string> out;
    for (const auto& x : h.log())
      if (std::holds_alternative<request_quote_intent>(x.what))
        out.push_back(std::to_string(x.at) + " " + describe(x.what));
    return out;
  }
};

} // namespace

TEST_CASE("venue_router subscribes to every venue and wakes for each parent order",
          "[venue_router]") {
  fixture f{routing("smart")};
  const auto lines = f.h.lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "0 subscribe_market s0");
  CHECK(lines[1] == "0 subscribe_market s1");
  CHECK(lines[2] == "0 timer 1000000000 tag 0");
}

TEST_CASE("best_quote takes the best quoted price and nearest the lowest latency",
          "[venue_router]") {
  fixture best{routing("best_quote")};
  best.two_markets();
  CHECK(best.route_next() == ln); // ask 100 against 101, however far

  fixture nearest{routing("nearest")};
  nearest.two_markets();
  CHECK(nearest.route_next() == ny); // 2 ms against 40 ms, whatever the price

  fixture seller{routing("best_quote", "sell")};
  seller.two_markets();
  CHECK(seller.route_next() == ny); // the highest bid: 100 against 99
  CHECK(seller.h.submits().back().spec.side == market::side::sell);
}

TEST_CASE("smart takes the best quote when prices stand still", "[venue_router]") {
  fixture f{routing("smart")};
  f.two_markets();
  CHECK(f.route_next() == ln); // no drift, no volatility: latency costs nothing
}

TEST_CASE("smart avoids a far venue whose price runs away over the latency",
          "[venue_router]") {
  fixture f{routing("smart")};
  // LN's price rises a tick every millisecond: by the time a buy reaches it
  // (its quote is 2 ms old, the order needs 20 ms more), its ask is expected
  // ~22 ticks higher, well above NY's. NY stands still.
  for (time_ns t = 0; t < 10; ++t)
    f.quote_at(second - 11 * ms + t * ms, ln, 89 + t, 91 + t); // last: 98/100
  f.quote_at(second - 1 * ms, ny, 100, 101);
  f.h.ctx().record_round_trip(ny, 2 * ms);
  f.h.ctx().record_round_trip(ln, 40 * ms);
  CHECK(f.route_next() == ny);

  fixture naive{routing("best_quote")};
  for (time_ns t = 0; t < 10; ++t)
    naive.quote_at(second - 11 * ms + t * ms, ln, 89 + t, 91 + t);
  naive.quote_at(second - 1 * ms, ny, 100, 101);
  CHECK(naive.route_next() == ln);
}

TEST_CASE("venue_router probes unmeasured venues and routes among measured ones only",
          "[venue_router]") {
  fixture f{routing("smart")};
  f.quote_at(second - 2 * ms, ny, 100, 101);
  f.quote_at(second - 2 * ms, ln, 99, 100);
  // Nothing measured yet: both are probed, and the parent goes by best quote.
  CHECK(f.route_next() == ln);
  CHECK(f.probes() == std::vector<std::string>{"1000000000 request_quote s0",
                                               "1000000000 request_quote s1"});
  // Only NY has answered: LN is probed again and left out, despite its price.
  f.h.ctx().record_round_trip(ny, 2 * ms);
  CHECK(f.route_next() == ny);
  CHECK(f.probes().back() == "2000000000 request_quote s1");
  CHECK(f.probes().size() == 3);
}

TEST_CASE("venue_router probes every venue each probe_interval", "[venue_router]") {
  auto p = routing("smart");
  p.set("probe_interval", std::int64_t{300 * ms});
  p.set("interval", std::int64_t{10 * second}); // no parent in the way
  fixture f{p};
  f.h.ctx().record_round_trip(ny, 2 * ms);
  f.h.ctx().record_round_trip(ln, 2 * ms);
  f.h.run(3);
  CHECK(f.probes() == std::vector<std::string>{
                          "300000000 request_quote s0", "300000000 request_quote s1",
                          "600000000 request_quote s0", "600000000 request_quote s1",
                          "900000000 request_quote s0", "900000000 request_quote s1"});
}

TEST_CASE("venue_router reports its routing and the slippage of its fills",
          "[venue_router]") {
  fixture f{routing("nearest")};
  f.two_markets();
  REQUIRE(f.route_next() == ny); // buys 5 at NY, quoted 101; LN quoted 100
  const auto order = f.h.submits().back();
  CHECK(order.spec.type == market::order_type::limit);
  CHECK(order.spec.tif == market::time_in_force::ioc);
  CHECK(order.spec.price == 104); // 101 + limit_offset 3
  CHECK(order.spec.qty == 5);
  f.h.fill(order.id, 102, 5);
  CHECK(f.h.metric("parents") == 1);
  CHECK(f.h.metric("orders_sent") == 1);
  CHECK(f.h.metric("sent_qty") == 5);
  CHECK(f.h.metric("filled_qty") == 5);
  CHECK(f.h.metric("routed_ACME_NY") == 1);
  CHECK(f.h.metric("routed_ACME_LN") == 0);
  CHECK(f.h.metric("rtt_ms_ACME_NY") == 2);
  CHECK(f.h.metric("rtt_ms_ACME_LN") == 40);
  CHECK(f.h.metric("avg_slippage") == 1);           // paid 102 against 101 quoted
  CHECK(f.h.metric("avg_cost_vs_best_quote") == 2); // and against LN's 100
}

TEST_CASE("venue_router skips a parent order no venue can take", "[venue_router]") {
  fixture f{routing("best_quote")};
  f.quote_at(second - 2 * ms, ny, 100, 0); // bids only
  REQUIRE(f.h.step());
  CHECK(f.h.submits().empty());
  CHECK(f.h.metric("parents") == 1);
  CHECK(f.h.metric("skipped") == 1);
}

TEST_CASE("venue_router draws random sides from its seeded stream", "[venue_router]") {
  auto sides = [](std::uint64_t seed) {
    auto table = venues();
    harness h{make_strategy(register_venue_router, "venue_router",
                            routing("best_quote", "random")),
              table, stocked(), seed};
    h.start();
    set_quote(h.ctx(), ny, 100, 101);
    h.run(20);
    std::string out;
    for (const auto& s : h.submits())
      out += s.spec.side == market::side::buy ? 'b' : 's';
    return out;
  };
  const auto a = sides(1);
  CHECK(a.size() == 20);
  CHECK(a == sides(1));
  CHECK(a.find('b') != std::string::npos);
  CHECK(a.find('s') != std::string::npos);
}

TEST_CASE("venue_router declares its parameters and checks them", "[venue_router]") {
  strategy_registry r;
  register_venue_router(r);
  const auto* info = r.find("venue_router");
  REQUIRE(info != nullptr);
  const auto defaults = check_params(info->params, {});
  CHECK(defaults.text("mode") == "smart");
  CHECK(defaults.text("side") == "random");
  CHECK_THROWS_AS(check_params(info->params, params({{"mode", std::string{"fastest"}}})),
                  std::invalid_argument);
}
