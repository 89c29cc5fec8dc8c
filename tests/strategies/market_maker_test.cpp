#include "strategies/builtin.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <catch2/catch.hpp>

#include <cmath>
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

/// The parameters the exact expectations below are computed with: sigma^2 *
/// tau = 4, so delta = 0.4 + 20 ln(1 + 1/15) = 1.6908 and each lot of
/// inventory moves r by 0.4 ticks.
param_values base_params() {
  param_values p;
  p.set("gamma", 0.1);
  p.set("k", 1.5);
  p.set("horizon", std::int64_t{second});
  p.set("sigma_initial", 2.0);
  p.set("sigma_floor", 0.1);
  p.set("vol_window", std::int64_t{10 * second});
  p.set("quote_size", std::int64_t{1});
  p.set("max_inventory", std::int64_t{10});
  p.set("requote_interval", std::int64_t{second});
  p.set("requote_threshold", 1.0);
  return p;
}

const strategy_info& info() {
  static const strategy_registry r = [] {
    strategy_registry x;
    register_market_maker(x);
    return x;
  }();
  const auto* i = r.find("market_maker");
  REQUIRE(i != nullptr);
  return *i;
}

std::unique_ptr<strategy> make_mm(const param_values& given) {
  return info().make(check_params(info().params, given));
}

void set_quote(context& ctx, market::symbol_id s, market::price_t bid,
               market::price_t ask, market::qty_t qty = 100) {
  auto& v = ctx.mutable_market(s);
  v.quote = {bid, qty, ask, qty};
  v.quote_time = ctx.now();
}

/// Gives the account a position (a fill of no tracked order).
void hold(context& ctx, market::symbol_id s, market::qty_t qty, market::price_t price) {
  if (qty == 0)
    return;
  ctx.mutable_account().on_fill({0, s, qty > 0 ? market::side::buy : market::side::sell,
                                 price, std::abs(qty), false});
}

template <class T>
std::vector<T> all_of(const context& ctx) {
  std::vector<T> out;
  for (const auto& i : ctx.intents())
    if (const auto* x = std::get_if<T>(&i))
      out.push_back(*x);
  return out;
}

const submit_intent* submit_on(const context& ctx, market::side sd) {
  for (const auto& i : ctx.intents())
    if (const auto* x = std::get_if<submit_intent>(&i); x && x->spec.side == sd)
      return x;
  return nullptr;
}

/// The strategy started, then shown a quote: what it submits.
struct quoted {
  market::price_t bid = 0; ///< 0: no bid
  market::price_t ask = 0; ///< 0: no ask
  market::qty_t bid_qty = 0;
  market::qty_t ask_qty = 0;
};

quoted first_quotes(const param_values& p, market::qty_t position, market::price_t bid,
                    market::price_t ask, market::symbol_id s = 0) {
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  hold(ctx, s, position, (bid + ask) / 2);
  auto mm = make_mm(p);
  mm->on_start(ctx);
  ctx.clear_intents();
  set_quote(ctx, s, bid, ask);
  mm->on_quote(ctx, s);
  quoted q;
  if (const auto* b = submit_on(ctx, market::side::buy)) {
    q.bid = b->spec.price;
    q.bid_qty = b->spec.qty;
  }
  if (const auto* a = submit_on(ctx, market::side::sell)) {
    q.ask = a->spec.price;
    q.ask_qty = a->spec.qty;
  }
  return q;
}

} // namespace

TEST_CASE("market maker declares its parameters and refuses impossible ones",
          "[market_maker]") {
  REQUIRE(info().summary.find("Avellaneda") != std::string::npos);
  REQUIRE_NOTHROW(make_mm(param_values{}));
  for (const auto& spec : info().params)
    CHECK(spec.default_value.has_value());

  auto p = base_params();
  p.set("quote_size", std::int64_t{11});
  CHECK_THROWS_AS(make_mm(p), std::invalid_argument);

  p = base_params();
  p.set("allow_cross", true);
  CHECK_THROWS_AS(make_mm(p), std::invalid_argument);
  p.set("post_only", false);
  CHECK_NOTHROW(make_mm(p));

  p = base_params();
  p.set("gamma", 0.0);
  CHECK_THROWS_AS(make_mm(p), std::invalid_argument);
}

TEST_CASE("market maker subscribes to its symbols and sets its timer", "[market_maker]") {
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(base_params());
  mm->on_start(ctx);
  const auto subs = all_of<subscribe_market_intent>(ctx);
  REQUIRE(subs.size() == 2);
  CHECK(subs[0].symbol == 0);
  CHECK(subs[1].symbol == 1);
  const auto timers = all_of<timer_intent>(ctx);
  REQUIRE(timers.size() == 1);
  CHECK(timers[0].after == second);
  CHECK(all_of<submit_intent>(ctx).empty());

  auto only = base_params();
  only.set("symbols", std::string{"GLOBEX"});
  context ctx2(1, 7, table, rich_account());
  auto mm2 = make_mm(only);
  mm2->on_start(ctx2);
  const auto subs2 = all_of<subscribe_market_intent>(ctx2);
  REQUIRE(subs2.size() == 1);
  CHECK(subs2[0].symbol == 1);

  auto unknown = base_params();
  unknown.set("symbols", std::string{"ACME, NOPE"});
  context ctx3(1, 7, table, rich_account());
  auto mm3 = make_mm(unknown);
  CHECK_THROWS_AS(mm3->on_start(ctx3), std::invalid_argument);
}

TEST_CASE("flat market maker quotes straddle the mid, rounded outward, post-only",
          "[market_maker]") {
  // r = 10000, delta = 1.6908: bid floor(9999.15) = 9999, ask ceil(10000.85).
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(base_params());
  mm->on_start(ctx);
  ctx.clear_intents();
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  const auto subs = all_of<submit_intent>(ctx);
  REQUIRE(subs.size() == 2);
  for (const auto& s : subs) {
    CHECK(s.spec.symbol == 0);
    CHECK(s.spec.type == market::order_type::limit);
    CHECK(s.spec.tif == market::time_in_force::gtc);
    CHECK(s.spec.post_only);
    CHECK(s.spec.qty == 1);
  }
  REQUIRE(submit_on(ctx, market::side::buy) != nullptr);
  REQUIRE(submit_on(ctx, market::side::sell) != nullptr);
  CHECK(submit_on(ctx, market::side::buy)->spec.price == 9999);
  CHECK(submit_on(ctx, market::side::sell)->spec.price == 10001);
}

TEST_CASE("inventory skews the quotes: down when long, up when short", "[market_maker]") {
  const auto p = base_params();
  // Long 5 lots: r = 10000 - 5 * 0.1 * 4 = 9998.
  const auto longq = first_quotes(p, 5, 9990, 10010);
  CHECK(longq.bid == 9997);
  CHECK(longq.ask == 9999);
  // Short 5 lots: r = 10002.
  const auto shortq = first_quotes(p, -5, 9990, 10010);
  CHECK(shortq.bid == 10001);
  CHECK(shortq.ask == 10003);
  const auto flat = first_quotes(p, 0, 9990, 10010);
  CHECK(longq.bid < flat.bid);
  CHECK(longq.ask < flat.ask);
  CHECK(shortq.bid > flat.bid);
  CHECK(shortq.ask > flat.ask);
  // Each straddles its reservation price.
  CHECK(longq.bid < 9998);
  CHECK(longq.ask > 9998);
  CHECK(shortq.bid < 10002);
  CHECK(shortq.ask > 10002);
}

TEST_CASE("quotes widen with volatility", "[market_maker]") {
  auto p = base_params();
  p.set("sigma_initial", 10.0);
  // sigma^2 tau = 100: delta = 10 + 1.2908 = 11.29 around 10000.
  const auto wide = first_quotes(p, 0, 9990, 10010);
  CHECK(wide.bid == 9994);
  CHECK(wide.ask == 10006);
  const auto narrow = first_quotes(base_params(), 0, 9990, 10010);
  CHECK(wide.ask - wide.bid > narrow.ask - narrow.bid);
}

TEST_CASE("the volatility estimate follows the mid and widens the quotes",
          "[market_maker]") {
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(base_params());
  mm->on_start(ctx);
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  const auto first = all_of<submit_intent>(ctx);
  REQUIRE(first.size() == 2);
  const local_order_id bid_id = submit_on(ctx, market::side::buy)->id;
  const local_order_id ask_id = submit_on(ctx, market::side::sell)->id;
  ctx.clear_intents();

  // One second later the mid is 10 ticks up. The prior (sigma 2 for 10 s)
  // decays by exp(-0.1) and the move adds 100 ticks^2 over 1 s.
  ctx.set_now(second);
  set_quote(ctx, 0, 10000, 10020);
  mm->on_quote(ctx, 0);
  const double decay = std::exp(-0.1);
  const double var = (40 * decay + 100) / (10 * decay + 1);
  const double delta = 0.1 * var + 20 * std::log1p(0.1 / 1.5);
  const auto bid = static_cast<market::price_t>(std::floor(10010 - delta / 2));
  const auto ask = static_cast<market::price_t>(std::ceil(10010 + delta / 2));
  REQUIRE(bid == 10008);
  REQUIRE(ask == 10012);

  // The quotes move up with modifies, the ask first so that the new bid never
  // meets the old ask.
  const auto mods = all_of<modify_intent>(ctx);
  REQUIRE(mods.size() == 2);
  CHECK(mods[0].id == ask_id);
  CHECK(mods[0].price == ask);
  CHECK(mods[0].qty == 1);
  CHECK(mods[1].id == bid_id);
  CHECK(mods[1].price == bid);
  CHECK(all_of<submit_intent>(ctx).empty());
  CHECK(all_of<cancel_intent>(ctx).empty());
  // Wider than the 2 ticks of sigma 2.
  CHECK(ask - bid > 10001 - 9999);
}

TEST_CASE("the volatility estimate never falls below its floor", "[market_maker]") {
  auto p = base_params();
  p.set("sigma_initial", 0.0);
  p.set("sigma_floor", 10.0);
  const auto q = first_quotes(p, 0, 9990, 10010);
  CHECK(q.bid == 9994);
  CHECK(q.ask == 10006);
}

TEST_CASE("quotes stay on the tick and sizes in lots", "[market_maker]") {
  // GLOBEX: tick 5, lot 10. Mid 4525 = 905 ticks: bid 904, ask 906 ticks.
  const auto flat = first_quotes(base_params(), 0, 4500, 4550, 1);
  CHECK(flat.bid == 4520);
  CHECK(flat.ask == 4530);
  CHECK(flat.bid_qty == 10);
  CHECK(flat.ask_qty == 10);
  // Long 5 lots (50 units): r = 903 ticks.
  const auto longq = first_quotes(base_params(), 50, 4500, 4550, 1);
  CHECK(longq.bid == 4510);
  CHECK(longq.ask == 4520);
  CHECK(longq.bid % 5 == 0);
  CHECK(longq.ask % 5 == 0);
}

TEST_CASE("quotes are at least one tick wide and never cross the other side",
          "[market_maker]") {
  // A one-tick market 9999/10000 (mid 9999.5). Long 5 lots: r = 9997.5 would
  // put the ask at 9999, on the best bid: it is held at 10000.
  const auto longq = first_quotes(base_params(), 5, 9999, 10000);
  CHECK(longq.bid == 9996);
  CHECK(longq.ask == 10000);
  // Short 5 lots: r = 10001.5 would bid 10000, on the best ask: held at 9999.
  const auto shortq = first_quotes(base_params(), -5, 9999, 10000);
  CHECK(shortq.bid == 9999);
  CHECK(shortq.ask == 10003);

  // A tiny spread model still quotes a tick apart.
  auto tight = base_params();
  tight.set("sigma_initial", 0.0);
  tight.set("sigma_floor", 0.0);
  tight.set("gamma", 0.001);
  tight.set("k", 1000.0);
  // delta = 2000 ln(1 + 1e-6) ~ 0.002 around r = 9999.5.
  const auto t = first_quotes(tight, 0, 9990, 10009);
  CHECK(t.bid == 9999);
  CHECK(t.ask == 10000);
}

TEST_CASE("allow_cross lets a quote cross the opposite best", "[market_maker]") {
  auto p = base_params();
  p.set("allow_cross", true);
  p.set("post_only", false);
  const auto shortq = first_quotes(p, -5, 9999, 10000);
  CHECK(shortq.bid == 10000);
  CHECK(shortq.ask == 10003);
}

TEST_CASE("a side at the inventory limit is not quoted", "[market_maker]") {
  auto p = base_params();
  p.set("max_inventory", std::int64_t{3});
  p.set("quote_size", std::int64_t{2});
  const auto at_long = first_quotes(p, 3, 9990, 10010);
  CHECK(at_long.bid == 0);
  CHECK(at_long.ask != 0);
  CHECK(at_long.ask_qty == 2);
  const auto at_short = first_quotes(p, -3, 9990, 10010);
  CHECK(at_short.ask == 0);
  CHECK(at_short.bid != 0);
  // One lot from the limit: the bid is for that one lot only.
  const auto near = first_quotes(p, 2, 9990, 10010);
  CHECK(near.bid_qty == 1);
  CHECK(near.ask_qty == 2);
}

TEST_CASE("a fill that reaches the limit cancels that side's quote", "[market_maker]") {
  auto p = base_params();
  p.set("max_inventory", std::int64_t{1});
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(p);
  mm->on_start(ctx);
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  const local_order_id bid_id = submit_on(ctx, market::side::buy)->id;
  const local_order_id ask_id = submit_on(ctx, market::side::sell)->id;
  ctx.clear_intents();

  // The bid fills completely: long 1 lot, the limit.
  hold(ctx, 0, 1, 9999);
  order_update u;
  u.what = order_update::kind::filled;
  u.id = bid_id;
  u.symbol = 0;
  u.side = market::side::buy;
  u.price = 9999;
  u.qty = 1;
  u.leaves = 0;
  mm->on_order(ctx, u);
  u.what = order_update::kind::done;
  mm->on_order(ctx, u);
  // r = 10000 - 0.4 = 9999.6: the ask stays at ceil(10000.45) = 10001; no
  // new bid, and no cancel of the bid that is already gone.
  CHECK(submit_on(ctx, market::side::buy) == nullptr);
  const auto mods = all_of<modify_intent>(ctx);
  for (const auto& m : mods)
    CHECK(m.id == ask_id);
  CHECK(all_of<cancel_intent>(ctx).empty());

  // Back at a new requote the bid stays away.
  ctx.clear_intents();
  ctx.set_now(second);
  mm->on_timer(ctx, 0);
  CHECK(submit_on(ctx, market::side::buy) == nullptr);
}

TEST_CASE("a live quote is cancelled when the position reaches the limit",
          "[market_maker]") {
  auto p = base_params();
  p.set("max_inventory", std::int64_t{2});
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(p);
  mm->on_start(ctx);
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  const local_order_id bid_id = submit_on(ctx, market::side::buy)->id;
  ctx.clear_intents();
  // The position reaches the limit another way (an earlier order's fill).
  hold(ctx, 0, 2, 9999);
  ctx.set_now(second);
  mm->on_timer(ctx, 0);
  const auto cancels = all_of<cancel_intent>(ctx);
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].id == bid_id);
  CHECK(submit_on(ctx, market::side::buy) == nullptr);
}

TEST_CASE("a partly filled quote keeps its place when the price is unchanged",
          "[market_maker]") {
  // sigma 1: each lot moves r by 0.1 tick, too little to change the prices.
  auto p = base_params();
  p.set("sigma_initial", 1.0);
  p.set("quote_size", std::int64_t{3});
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(p);
  mm->on_start(ctx);
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  const auto* b = submit_on(ctx, market::side::buy);
  REQUIRE(b != nullptr);
  CHECK(b->spec.price == 9999);
  CHECK(b->spec.qty == 3);
  const local_order_id bid_id = b->id;
  ctx.clear_intents();

  hold(ctx, 0, 1, 9999);
  order_update u;
  u.what = order_update::kind::filled;
  u.id = bid_id;
  u.symbol = 0;
  u.side = market::side::buy;
  u.price = 9999;
  u.qty = 1;
  u.leaves = 2;
  mm->on_order(ctx, u);
  CHECK(ctx.intents().empty());
}

TEST_CASE("the mid moving past the threshold requotes at once", "[market_maker]") {
  auto p = base_params();
  p.set("requote_threshold", 3.0);
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(p);
  mm->on_start(ctx);
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  ctx.clear_intents();

  // 2 ticks (same time, so the estimate only gains the jump): below the threshold.
  set_quote(ctx, 0, 9992, 10012);
  mm->on_quote(ctx, 0);
  CHECK(ctx.intents().empty());
  // 2 more: 4 ticks from the mid of the last requote.
  set_quote(ctx, 0, 9994, 10014);
  mm->on_quote(ctx, 0);
  CHECK(all_of<modify_intent>(ctx).size() == 2);
}

TEST_CASE("replace: cancel_submit replaces a moved quote with a new order",
          "[market_maker]") {
  auto p = base_params();
  p.set("replace", std::string{"cancel_submit"});
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(p);
  mm->on_start(ctx);
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  const local_order_id bid_id = submit_on(ctx, market::side::buy)->id;
  const local_order_id ask_id = submit_on(ctx, market::side::sell)->id;
  ctx.clear_intents();

  // Down 5 ticks at once: the bid goes first.
  set_quote(ctx, 0, 9985, 10005);
  mm->on_quote(ctx, 0);
  const auto& in = ctx.intents();
  REQUIRE(in.size() == 4);
  REQUIRE(std::holds_alternative<cancel_intent>(in[0]));
  CHECK(std::get<cancel_intent>(in[0]).id == bid_id);
  REQUIRE(std::holds_alternative<submit_intent>(in[1]));
  CHECK(std::get<submit_intent>(in[1]).spec.side == market::side::buy);
  REQUIRE(std::holds_alternative<cancel_intent>(in[2]));
  CHECK(std::get<cancel_intent>(in[2]).id == ask_id);
  REQUIRE(std::holds_alternative<submit_intent>(in[3]));
  CHECK(std::get<submit_intent>(in[3]).spec.side == market::side::sell);
  CHECK(all_of<modify_intent>(ctx).empty());
}

TEST_CASE("its own quotes alone at the touch do not move its fair price",
          "[market_maker]") {
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  hold(ctx, 0, 5, 10000);
  auto mm = make_mm(base_params());
  mm->on_start(ctx);
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  // Long 5: quotes 9997 / 9999 around r = 9998.
  REQUIRE(submit_on(ctx, market::side::sell)->spec.price == 9999);
  ctx.clear_intents();

  // The book now shows its own ask (1 unit at 9999) as the best ask. A mid
  // of (9990 + 9999) / 2 would drag r down; the quotes must stay put.
  ctx.set_now(second);
  set_quote(ctx, 0, 9990, 9999, 1);
  mm->on_quote(ctx, 0);
  mm->on_timer(ctx, 0);
  CHECK(all_of<modify_intent>(ctx).empty());
  CHECK(all_of<submit_intent>(ctx).empty());
  CHECK(all_of<cancel_intent>(ctx).empty());
}

TEST_CASE("no quotes without a two-sided market", "[market_maker]") {
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(base_params());
  mm->on_start(ctx);
  ctx.clear_intents();
  auto& v = ctx.mutable_market(0);
  v.quote = {9990, 10, 0, 0};
  mm->on_quote(ctx, 0);
  mm->on_timer(ctx, 0);
  CHECK(all_of<submit_intent>(ctx).empty());
}

TEST_CASE("the account's refusal keeps a quote from being sent", "[market_maker]") {
  // No shorting, no shares: only the bid can be quoted.
  const auto table = two_symbols();
  market::account_params a;
  a.cash = 1'000'000;
  context ctx(1, 7, table, a);
  auto mm = make_mm(base_params());
  mm->on_start(ctx);
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  CHECK(submit_on(ctx, market::side::buy) != nullptr);
  CHECK(submit_on(ctx, market::side::sell) == nullptr);
}

TEST_CASE("a refused modify is sent again, a refused quote is replaced",
          "[market_maker]") {
  const auto table = two_symbols();
  context ctx(1, 7, table, rich_account());
  auto mm = make_mm(base_params());
  mm->on_start(ctx);
  set_quote(ctx, 0, 9990, 10010);
  mm->on_quote(ctx, 0);
  const local_order_id bid_id = submit_on(ctx, market::side::buy)->id;
  const local_order_id ask_id = submit_on(ctx, market::side::sell)->id;
  for (auto& [id, o] : ctx.mutable_orders())
    o.acknowledged = true;
  ctx.clear_intents();

  // Up 5: both move (the ask first); the exchange refuses the bid's modify.
  set_quote(ctx, 0, 9995, 10015);
  mm->on_quote(ctx, 0);
  REQUIRE(all_of<modify_intent>(ctx).size() == 2);
  order_update u;
  u.what = order_update::kind::rejected;
  u.id = bid_id;
  u.symbol = 0;
  u.side = market::side::buy;
  u.reject = market::reject_reason::post_only_would_cross;
  mm->on_order(ctx, u);
  ctx.clear_intents();
  mm->on_timer(ctx, 0);
  auto mods = all_of<modify_intent>(ctx);
  REQUIRE(mods.size() == 1);
  CHECK(mods[0].id == bid_id);
  CHECK(mods[0].price == 10004);

  // The ask was refused as a new order (gone from the live orders): a new
  // ask replaces it at the next requote.
  ctx.mutable_orders().erase(ask_id);
  u.id = ask_id;
  u.side = market::side::sell;
  mm->on_order(ctx, u);
  ctx.clear_intents();
  mm->on_timer(ctx, 0);
  const auto* ask = submit_on(ctx, market::side::sell);
  REQUIRE(ask != nullptr);
  CHECK(ask->spec.price == 10006);
}

TEST_CASE("market maker is among the built-in strategies", "[market_maker]") {
  const auto all = builtin_strategies();
  const auto* i = all.find("market_maker");
  REQUIRE(i != nullptr);
  CHECK(i->make(check_params(i->params, param_values{})) != nullptr);
}
