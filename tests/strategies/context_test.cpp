/// The strategy context on its own (no actors): what a strategy sees and the
/// intents its calls record, in order, for the host to carry out.

#include "strategies/strategy.hpp"

#include <catch2/catch.hpp>

#include <variant>

using namespace marketsim;
using namespace marketsim::strategies;

namespace {

market::symbol_table make_symbols() {
  market::symbol_table t;
  t.add({"AAA", 1, 1, 1'000'000});
  t.add({"BBB", 5, 10, 1'000'000});
  return t;
}

market::account_params cash(market::money_t amount) {
  market::account_params p;
  p.cash = amount;
  return p;
}

template <class T>
const T& intent_at(const context& ctx, std::size_t i) {
  REQUIRE(i < ctx.intents().size());
  REQUIRE(std::holds_alternative<T>(ctx.intents()[i]));
  return std::get<T>(ctx.intents()[i]);
}

} // namespace

TEST_CASE("submit records the order, enters it as live and numbers it from 1",
          "[context]") {
  auto symbols = make_symbols();
  context ctx{7, 42, symbols, cash(1'000'000)};
  auto a = ctx.buy_limit(0, 100, 5);
  auto b = ctx.sell_market(1, 20);
  CHECK(a == 1);
  CHECK(b == 2);

  const auto& sa = intent_at<submit_intent>(ctx, 0);
  CHECK(sa.id == a);
  CHECK(sa.spec.side == market::side::buy);
  CHECK(sa.spec.type == market::order_type::limit);
  CHECK(sa.spec.tif == market::time_in_force::gtc);
  CHECK(sa.spec.price == 100);
  CHECK(sa.spec.qty == 5);
  const auto& sb = intent_at<submit_intent>(ctx, 1);
  CHECK(sb.spec.symbol == 1);
  CHECK(sb.spec.side == market::side::sell);
  CHECK(sb.spec.type == market::order_type::market);
  CHECK(sb.spec.tif == market::time_in_force::ioc);

  REQUIRE(ctx.orders().size() == 2);
  const own_order* o = ctx.order(a);
  REQUIRE(o != nullptr);
  CHECK(o->open == 5);
  CHECK(o->price == 100);
  CHECK_FALSE(o->acknowledged);
  CHECK(ctx.order(99) == nullptr);
}

TEST_CASE("cancel_all cancels every live order, or those of one symbol", "[context]") {
  auto symbols = make_symbols();
  context ctx{1, 1, symbols, cash(1'000'000)};
  auto a = ctx.buy_limit(0, 100, 1);
  auto b = ctx.buy_limit(1, 100, 10);
  auto c = ctx.sell_limit(0, 110, 1);
  ctx.clear_intents();

  ctx.cancel_all(0);
  REQUIRE(ctx.intents().size() == 2);
  CHECK(intent_at<cancel_intent>(ctx, 0).id == a);
  CHECK(intent_at<cancel_intent>(ctx, 1).id == c);
  ctx.clear_intents();

  ctx.cancel_all();
  REQUIRE(ctx.intents().size() == 3);
  CHECK(intent_at<cancel_intent>(ctx, 1).id == b);
  // Cancelling records intents only: the orders stay live until the host
  // hears back from the exchange.
  CHECK(ctx.orders().size() == 3);
}

TEST_CASE("every intent is recorded in call order with its arguments", "[context]") {
  auto symbols = make_symbols();
  context ctx{9, 1, symbols, cash(0)};
  ctx.set_now(12'345);
  ctx.modify(3, 101, 7);
  ctx.publish("momentum", 1, 0.25);
  ctx.set_timer(1'000, 4);
  ctx.subscribe_market(1, true);
  ctx.request_quote(0);
  ctx.subscribe_signal("fundamental");
  ctx.stop();

  REQUIRE(ctx.intents().size() == 7);
  const auto& m = intent_at<modify_intent>(ctx, 0);
  CHECK((m.id == 3 && m.price == 101 && m.qty == 7));
  const auto& p = intent_at<publish_intent>(ctx, 1);
  CHECK(p.what.topic == "momentum");
  CHECK(p.what.symbol == 1);
  CHECK(p.what.value == 0.25);
  CHECK(p.what.from == 10); // agent 9: index + 1, so that 0 stays the platform
  CHECK(p.what.time == 12'345);
  const auto& t = intent_at<timer_intent>(ctx, 2);
  CHECK((t.after == 1'000 && t.tag == 4));
  const auto& s = intent_at<subscribe_market_intent>(ctx, 3);
  CHECK((s.symbol == 1 && s.trades));
  CHECK(intent_at<request_quote_intent>(ctx, 4).symbol == 0);
  CHECK(intent_at<subscribe_signal_intent>(ctx, 5).topic == "fundamental");
  intent_at<stop_intent>(ctx, 6);
  CHECK(ctx.stopped());
}

TEST_CASE("take_intents moves the intents out and leaves the list empty", "[context]") {
  auto symbols = make_symbols();
  context ctx{1, 1, symbols, cash(0)};
  ctx.set_timer(5);
  ctx.request_quote(1);
  auto taken = ctx.take_intents();
  CHECK(taken.size() == 2);
  CHECK(ctx.intents().empty());
  ctx.set_timer(6);
  CHECK(ctx.intents().size() == 1);
}

TEST_CASE("market views exist for symbols the host filled in, defaults otherwise",
          "[context]") {
  auto symbols = make_symbols();
  context ctx{1, 1, symbols, cash(0)};
  CHECK(ctx.market(1).quote_time == -1);
  CHECK(ctx.market(1).mid() == 0);

  auto& v = ctx.mutable_market(1);
  v.quote = {100, 5, 104, 3};
  v.quote_time = 10;
  ctx.mutable_market(0).last_price = 77; // inserted before symbol 1
  CHECK(ctx.market(1).mid() == 102);
  CHECK(ctx.market(1).quote_time == 10);
  CHECK(ctx.market(0).last_price == 77);
  CHECK_FALSE(ctx.market(0).has_bid());
  CHECK(ctx.market(5).last_price == 0);
}

TEST_CASE("the context exposes account, symbols, index and a seeded random stream",
          "[context]") {
  auto symbols = make_symbols();
  context a{3, 99, symbols, cash(5'000)};
  context b{3, 99, symbols, cash(5'000)};
  CHECK(a.agent_index() == 3);
  CHECK(a.account().cash() == 5'000);
  CHECK(a.symbols().size() == 2);
  CHECK(a.now() == 0);
  auto x = a.rng()();
  CHECK(x == b.rng()());
  context c{3, 100, symbols, cash(5'000)};
  CHECK(x != c.rng()());
  CHECK_THROWS_AS((context{1, 1, symbols, cash(-1)}), std::invalid_argument);
}

TEST_CASE("latency is unknown until a round trip is recorded, then per venue",
          "[context][latency]") {
  auto symbols = make_symbols();
  context ctx{0, 1, symbols, cash(0)};
  CHECK_FALSE(ctx.latency(0).has_value());
  ctx.record_round_trip(0, 4'000);
  REQUIRE(ctx.latency(0).has_value());
  CHECK(ctx.latency(0)->last == 4'000);
  CHECK(ctx.latency(0)->ewma == 4'000); // the first sample sets the mean
  CHECK(ctx.latency(0)->min == 4'000);
  CHECK(ctx.latency(0)->samples == 1);
  // Without a venue map every symbol is its own venue.
  CHECK_FALSE(ctx.latency(1).has_value());

  ctx.record_round_trip(0, 2'000);
  ctx.record_round_trip(0, 6'000);
  const auto l = *ctx.latency(0);
  CHECK(l.last == 6'000);
  CHECK(l.min == 2'000);
  CHECK(l.samples == 3);
  const double w = latency_estimate::ewma_weight;
  const double after_two = 4'000 + w * (2'000 - 4'000);
  CHECK(l.ewma == Approx(after_two + w * (6'000 - after_two)));
  CHECK(l.one_way() == Approx(l.ewma / 2));
}

TEST_CASE("a venue map makes symbols of one venue share their latency",
          "[context][latency]") {
  auto symbols = make_symbols();
  context ctx{0, 1, symbols, cash(0)};
  ctx.set_venue_map([](market::symbol_id s) -> std::optional<venue_id> {
    if (s > 1)
      return std::nullopt;
    return venue_id{9};
  });
  ctx.record_round_trip(1, 500);
  REQUIRE(ctx.latency(0).has_value());
  CHECK(ctx.latency(0)->last == 500);
  ctx.record_round_trip(5, 700); // no venue: nothing to record
  CHECK_FALSE(ctx.latency(5).has_value());
  CHECK(ctx.latency(1)->samples == 1);
}

TEST_CASE("record_metric keeps the last value per name in order of first recording",
          "[context][metrics]") {
  auto symbols = make_symbols();
  context ctx{0, 1, symbols, cash(0)};
  ctx.record_metric("b", 1);
  ctx.record_metric("a", 2);
  ctx.record_metric("b", 3);
  REQUIRE(ctx.metrics().size() == 2);
  CHECK(ctx.metrics()[0] == std::pair<std::string, double>{"b", 3});
  CHECK(ctx.metrics()[1] == std::pair<std::string, double>{"a", 2});
  CHECK(ctx.intents().empty()); // metrics are not intents
}
