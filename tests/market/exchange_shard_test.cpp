/// The exchange shard actor, run on CAF's deterministic test scheduler: what
/// the requester gets back, what other owners and market-data subscribers
/// receive, and how the virtual clock drives periodic snapshots.

#include "actors/interfaces.hpp"
#include "actors/vocabulary.hpp"
#include "market/exchange_shard.hpp"
#include "market/shard_router.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

using namespace marketsim;
using namespace std::chrono_literals;
using actors::exchange_shard_actor;
using market::book_event;
using market::event_kind;
using market::reject_reason;
using market::side;

namespace {

// -- recording test actors --------------------------------------------------------

struct report_log {
  std::vector<actors::execution_report> reports;
};

actors::order_listener_actor::behavior_type
report_recorder(std::shared_ptr<report_log> log) {
  return {[log](const actors::execution_report& x) { log->reports.push_back(x); }};
}

struct md_log {
  std::vector<actors::trade_print> trades;
  std::vector<actors::l1_update> l1;
  std::vector<actors::l2_snapshot> l2;
};

actors::md_listener_actor::behavior_type md_recorder(std::shared_ptr<md_log> log) {
  return {
      [log](const actors::trade_print& x) { log->trades.push_back(x); },
      [log](const actors::l1_update& x) { log->l1.push_back(x); },
      [log](const actors::l2_snapshot& x) { log->l2.push_back(x); },
  };
}

// -- the fixture -------------------------------------------------------------------

struct test_config : caf::actor_system_config {
  test_config() {
    actors::add_message_types(*this);
    set("scheduler.policy", caf::atom("testing"));
  }
};

/// Two symbols: AAA (tick 1, lot 1) and BBB (tick 5, lot 10).
market::symbol_table make_symbols() {
  market::symbol_table t;
  t.add({"AAA", 1, 1, 1'000'000});
  t.add({"BBB", 5, 10, 1'000'000});
  return t;
}

constexpr market::symbol_id aaa = 0;
constexpr market::symbol_id bbb = 1;

actors::new_order order(market::owner_id owner, market::symbol_id symbol, side s,
                        market::price_t price, market::qty_t qty,
                        market::time_in_force tif = market::time_in_force::gtc) {
  actors::new_order x;
  x.client_order_id = owner * 1000 + static_cast<std::uint64_t>(qty);
  x.order.owner = owner;
  x.order.symbol = symbol;
  x.order.side = s;
  x.order.type = market::order_type::limit;
  x.order.tif = tif;
  x.order.price = price;
  x.order.qty = qty;
  return x;
}

std::vector<event_kind> kinds(const std::vector<book_event>& events) {
  std::vector<event_kind> out;
  for (const auto& ev : events)
    out.push_back(ev.kind);
  return out;
}

struct shard_fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::optional<caf::scoped_actor> self{std::in_place, sys};
  std::vector<caf::actor> to_quit;

  shard_fixture() = default;

  /// Quits every actor the test spawned: the actor system waits for them.
  ~shard_fixture() {
    for (auto& a : to_quit)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
    self.reset();
  }

  exchange_shard_actor spawn_shard(std::uint32_t index,
                                   std::vector<market::symbol_id> traded = {aaa, bbb}) {
    auto shard = market::spawn_exchange_shard(sys, {index, make_symbols(), traded, 64});
    to_quit.push_back(caf::actor_cast<caf::actor>(shard));
    sched.run();
    return shard;
  }

  /// A shard trading AAA and BBB with a price band of `bps` basis points.
  exchange_shard_actor spawn_banded_shard(std::int64_t bps) {
    market::shard_params params{0, make_symbols(), {aaa, bbb}, 64};
    params.price_band_bps = bps;
    auto shard = market::spawn_exchange_shard(sys, std::move(params));
    to_quit.push_back(caf::actor_cast<caf::actor>(shard));
    sched.run();
    return shard;
  }

  void finalize(const exchange_shard_actor& shard, market::symbol_id symbol,
                std::uint64_t epoch, market::price_t price) {
    caf::anon_send(shard, actors::finalized_price{symbol, epoch, price});
    sched.run();
  }

  template <class Handle>
  Handle keep(Handle h) {
    to_quit.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  /// Sends a request, runs the scheduler until idle, returns the answer.
  template <class Response, class Request>
  caf::expected<Response> try_ask(const exchange_shard_actor& shard, Request x) {
    auto handle = (*self)->request(shard, caf::infinite, std::move(x));
    sched.run();
    std::optional<caf::expected<Response>> out;
    handle.receive([&](Response& r) { out = std::move(r); },
                   [&](caf::error& e) { out = std::move(e); });
    REQUIRE(out.has_value());
    return std::move(*out);
  }

  template <class Response, class Request>
  Response ask(const exchange_shard_actor& shard, Request x) {
    auto out = try_ask<Response>(shard, std::move(x));
    if (!out)
      FAIL("request failed: " << sys.render(out.error()));
    return std::move(*out);
  }

  actors::order_reply submit(const exchange_shard_actor& shard, actors::new_order x) {
    return ask<actors::order_reply>(shard, std::move(x));
  }

  actors::order_reply cancel(const exchange_shard_actor& shard, market::owner_id owner,
                             market::order_id id, market::symbol_id symbol = aaa) {
    return ask<actors::order_reply>(shard, actors::cancel_order{1, owner, {id, symbol}});
  }

  std::shared_ptr<report_log> listen(const exchange_shard_actor& shard,
                                     market::owner_id owner) {
    auto log = std::make_shared<report_log>();
    auto listener = keep(sys.spawn(report_recorder, log));
    caf::anon_send(shard, actors::register_owner{owner, listener});
    sched.run();
    return log;
  }

  std::shared_ptr<md_log> subscribe(const exchange_shard_actor& shard,
                                    actors::md_subscribe sub) {
    auto log = std::make_shared<md_log>();
    sub.listener = keep(sys.spawn(md_recorder, log));
    caf::anon_send(shard, std::move(sub));
    sched.run();
    return log;
  }

  actors::timestamp_ns virtual_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               sched.clock().now().time_since_epoch())
        .count();
  }
};

} // namespace

// -- orders and replies --------------------------------------------------------------

TEST_CASE_METHOD(shard_fixture, "a new order is acknowledged with a shard-assigned id",
                 "[exchange_shard]") {
  auto shard = spawn_shard(3);
  auto reply = submit(shard, order(1, aaa, side::sell, 101, 10));
  CHECK(reply.client_order_id == 1010);
  CHECK(market::shard_of(reply.id) == 3);
  REQUIRE(reply.events.size() == 1);
  CHECK(reply.events[0].kind == event_kind::accepted);
  CHECK(reply.events[0].id == reply.id);
  CHECK(reply.events[0].owner == 1);

  auto second = submit(shard, order(1, aaa, side::sell, 102, 10));
  CHECK(second.id != reply.id);
  CHECK(market::shard_of(second.id) == 3);
}

TEST_CASE_METHOD(shard_fixture,
                 "the taker's reply carries its fills, the maker gets a report",
                 "[exchange_shard]") {
  auto shard = spawn_shard(0);
  auto maker_log = listen(shard, 1);
  auto taker_log = listen(shard, 2);
  auto maker = submit(shard, order(1, aaa, side::sell, 101, 10));

  auto taker = submit(shard, order(2, aaa, side::buy, 101, 4));
  CHECK(kinds(taker.events) ==
        std::vector{event_kind::accepted, event_kind::trade, event_kind::done});
  const auto& fill = taker.events[1];
  CHECK(fill.maker == maker.id);
  CHECK(fill.maker_owner == 1);
  CHECK(fill.price == 101);
  CHECK(fill.qty == 4);
  CHECK(fill.maker_leaves == 6);

  // The maker hears of its fill once, in one report; the taker only in its reply.
  REQUIRE(maker_log->reports.size() == 1);
  CHECK(maker_log->reports[0].owner == 1);
  CHECK(maker_log->reports[0].events == std::vector<book_event>{fill});
  CHECK(taker_log->reports.empty());
  CHECK(maker_log->reports.size() == 1);
}

TEST_CASE_METHOD(shard_fixture,
                 "a triggered stop reaches its owner and the makers it hits",
                 "[exchange_shard]") {
  auto shard = spawn_shard(0);
  auto maker_log = listen(shard, 1);
  auto stop_log = listen(shard, 3);
  auto stop = order(3, aaa, side::buy, 0, 5);
  stop.order.type = market::order_type::stop;
  stop.order.stop_price = 101;
  auto pending = submit(shard, stop);
  CHECK(kinds(pending.events) == std::vector{event_kind::accepted});
  submit(shard, order(1, aaa, side::sell, 101, 10));

  // Owner 2's trade at 101 sets off owner 3's stop, which buys the rest.
  auto taker = submit(shard, order(2, aaa, side::buy, 101, 5));
  CHECK(kinds(taker.events) ==
        std::vector{event_kind::accepted, event_kind::trade, event_kind::done});

  REQUIRE(stop_log->reports.size() == 1);
  CHECK(kinds(stop_log->reports[0].events) ==
        std::vector{event_kind::stop_triggered, event_kind::trade, event_kind::done});
  CHECK(stop_log->reports[0].events[1].id == pending.id);
  // Both of the maker's fills, from two takers, in one report for the request.
  REQUIRE(maker_log->reports.size() == 1);
  CHECK(kinds(maker_log->reports[0].events) ==
        std::vector{event_kind::trade, event_kind::trade, event_kind::done});
}

TEST_CASE_METHOD(shard_fixture,
                 "fills of an owner without a listener are dropped, not fatal",
                 "[exchange_shard]") {
  auto shard = spawn_shard(0);
  submit(shard, order(1, aaa, side::sell, 101, 10)); // owner 1 never registers
  auto taker = submit(shard, order(2, aaa, side::buy, 101, 10));
  CHECK(kinds(taker.events) ==
        std::vector{event_kind::accepted, event_kind::trade, event_kind::done});
  auto stats = ask<actors::shard_stats>(shard, actors::stats_request{});
  CHECK(stats.symbols.at(0).trades == 1);
  CHECK(stats.unroutable_reports == 1);
}

TEST_CASE_METHOD(shard_fixture, "a batch is answered reply by reply, in order",
                 "[exchange_shard]") {
  auto shard = spawn_shard(0);
  auto maker_log = listen(shard, 1);
  actors::new_order_batch batch;
  batch.orders = {order(1, aaa, side::sell, 100, 5), order(1, aaa, side::sell, 101, 5),
                  order(2, aaa, side::buy, 101, 8)};
  auto out = ask<actors::order_reply_batch>(shard, batch);
  REQUIRE(out.replies.size() == 3);
  CHECK(out.replies[0].client_order_id == batch.orders[0].client_order_id);
  CHECK(kinds(out.replies[0].events) == std::vector{event_kind::accepted});
  CHECK(kinds(out.replies[2].events) == std::vector{event_kind::accepted,
                                                    event_kind::trade, event_kind::trade,
                                                    event_kind::done});
  // Both maker fills of owner 1 in one report for the whole batch.
  REQUIRE(maker_log->reports.size() == 1);
  CHECK(kinds(maker_log->reports[0].events) ==
        std::vector{event_kind::trade, event_kind::done, event_kind::trade});
}

TEST_CASE_METHOD(shard_fixture, "bad requests are rejected with a reason",
                 "[exchange_shard]") {
  auto shard = spawn_shard(0, {aaa});
  auto reject_of = [](const actors::order_reply& r) {
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].kind == event_kind::rejected);
    return r.events[0].reject;
  };

  SECTION("a symbol this shard does not trade") {
    CHECK(reject_of(submit(shard, order(1, bbb, side::buy, 100, 10))) ==
          reject_reason::unknown_symbol);
    CHECK(reject_of(submit(shard, order(1, 42, side::buy, 100, 10))) ==
          reject_reason::unknown_symbol);
  }
  SECTION("enum values out of range, as they may arrive from the wire") {
    auto bad_side = order(1, aaa, side::buy, 100, 10);
    bad_side.order.side = static_cast<side>(7);
    CHECK(reject_of(submit(shard, bad_side)) == reject_reason::malformed_request);
    auto bad_type = order(1, aaa, side::buy, 100, 10);
    bad_type.order.type = static_cast<market::order_type>(200);
    CHECK(reject_of(submit(shard, bad_type)) == reject_reason::malformed_request);
    auto bad_tif = order(1, aaa, side::buy, 100, 10);
    bad_tif.order.tif = static_cast<market::time_in_force>(4);
    CHECK(reject_of(submit(shard, bad_tif)) == reject_reason::malformed_request);
  }
  SECTION("invalid quantity and price") {
    CHECK(reject_of(submit(shard, order(1, aaa, side::buy, 100, 0))) ==
          reject_reason::bad_quantity);
    CHECK(reject_of(submit(shard, order(1, aaa, side::buy, -5, 10))) ==
          reject_reason::bad_price);
  }
  SECTION("cancel and modify by someone other than the owner, or of unknown ids") {
    auto resting = submit(shard, order(1, aaa, side::buy, 100, 10));
    CHECK(reject_of(cancel(shard, 2, resting.id)) == reject_reason::not_owner);
    CHECK(reject_of(cancel(shard, 1, resting.id + 1000)) ==
          reject_reason::unknown_order_id);
    auto modify = ask<actors::order_reply>(
        shard, actors::modify_order{5, 2, {resting.id, aaa, 99, 10}});
    CHECK(reject_of(modify) == reject_reason::not_owner);
    // The order is untouched and its owner can still cancel it.
    CHECK(kinds(cancel(shard, 1, resting.id).events) ==
          std::vector{event_kind::cancelled});
  }
  // Whatever the section, the shard still serves requests and counts them.
  auto stats = ask<actors::shard_stats>(shard, actors::stats_request{});
  CHECK(stats.requests > 0);
}

TEST_CASE_METHOD(shard_fixture, "rejects and accepted orders are counted per symbol",
                 "[exchange_shard]") {
  auto shard = spawn_shard(5);
  submit(shard, order(1, aaa, side::sell, 101, 10));
  submit(shard, order(2, aaa, side::buy, 101, 4));
  submit(shard, order(2, aaa, side::buy, 0, 4));   // bad price
  submit(shard, order(2, bbb, side::buy, 100, 3)); // off lot
  submit(shard, order(2, bbb, side::buy, 100, 20));
  auto stats = ask<actors::shard_stats>(shard, actors::stats_request{});
  CHECK(stats.shard == 5);
  CHECK(stats.requests == 5);
  REQUIRE(stats.symbols.size() == 2);
  const auto& a = stats.symbols[0];
  CHECK(a.symbol == aaa);
  CHECK(a.orders == 2);
  CHECK(a.rejects == 1);
  CHECK(a.trades == 1);
  CHECK(a.volume == 4);
  CHECK(a.vwap == Approx(101.0));
  CHECK(a.last_price == 101);
  CHECK(a.quote == market::l1_quote{0, 0, 101, 6});
  const auto& b = stats.symbols[1];
  CHECK(b.symbol == bbb);
  CHECK(b.orders == 1);
  CHECK(b.rejects == 1);
  CHECK(b.trades == 0);
  CHECK(b.quote == market::l1_quote{100, 20, 0, 0});
}

TEST_CASE_METHOD(shard_fixture,
                 "end of day expires day orders and reports them to owners",
                 "[exchange_shard]") {
  auto shard = spawn_shard(0);
  auto log = listen(shard, 1);
  auto md = subscribe(shard, {{}, {aaa}, false, true, 0, 0});
  auto day = submit(shard, order(1, aaa, side::buy, 99, 10, market::time_in_force::day));
  submit(shard, order(1, aaa, side::buy, 98, 10));
  caf::anon_send(shard, actors::end_of_day{});
  sched.run();
  REQUIRE(log->reports.size() == 1);
  REQUIRE(log->reports[0].events.size() == 1);
  const auto& ev = log->reports[0].events[0];
  CHECK(ev.kind == event_kind::cancelled);
  CHECK(ev.cancel == market::cancel_reason::expired);
  CHECK(ev.id == day.id);
  // The best bid fell back to the GTC order.
  REQUIRE(!md->l1.empty());
  CHECK(md->l1.back().quote == market::l1_quote{98, 10, 0, 0});
}

// -- market data -----------------------------------------------------------------------

TEST_CASE_METHOD(shard_fixture, "subscribers get trade prints and L1 changes",
                 "[exchange_shard][market_data]") {
  auto shard = spawn_shard(0);
  auto md = subscribe(shard, {{}, {}, true, true, 0, 0});
  auto only_bbb = subscribe(shard, {{}, {bbb}, true, true, 0, 0});
  sched.clock().advance_time(5s); // timestamps must come from the virtual clock
  auto t0 = virtual_now_ns();

  submit(shard, order(1, aaa, side::sell, 101, 10));
  submit(shard, order(2, aaa, side::buy, 99, 5));
  submit(shard, order(2, aaa, side::buy, 101, 4));
  submit(shard, order(2, aaa, side::buy, 101, 6));
  submit(shard,
         order(3, aaa, side::sell, 120, 1, market::time_in_force::ioc)); // no change

  REQUIRE(md->trades.size() == 2);
  CHECK(md->trades[0].seq == 1);
  CHECK(md->trades[1].seq == 2);
  CHECK(md->trades[0].time == t0);
  CHECK(md->trades[0].price == 101);
  CHECK(md->trades[0].qty == 4);
  CHECK(md->trades[0].aggressor == side::buy);
  CHECK(md->trades[0].maker_owner == 1);
  CHECK(md->trades[0].taker_owner == 2);
  CHECK(md->trades[1].qty == 6);

  std::vector<market::l1_quote> quotes;
  for (const auto& u : md->l1) {
    CHECK(u.symbol == aaa);
    CHECK(u.time == t0);
    quotes.push_back(u.quote);
  }
  CHECK(quotes == std::vector<market::l1_quote>{
                      {0, 0, 101, 10}, {99, 5, 101, 10}, {99, 5, 101, 6}, {99, 5, 0, 0}});
  // A subscriber to BBB hears nothing of AAA.
  CHECK(only_bbb->trades.empty());
  CHECK(only_bbb->l1.empty());
}

TEST_CASE_METHOD(shard_fixture, "periodic L2 snapshots follow the virtual clock",
                 "[exchange_shard][market_data]") {
  auto shard = spawn_shard(0);
  submit(shard, order(1, aaa, side::buy, 99, 5));
  submit(shard, order(1, aaa, side::buy, 98, 7));
  submit(shard, order(2, aaa, side::sell, 101, 3));
  auto start = sched.clock().now();
  auto md = subscribe(shard, {{}, {aaa}, false, false, 1, 100});

  // Nothing happens until virtual time reaches the period.
  CHECK(md->l2.empty());
  REQUIRE(sched.clock().has_pending_timeout());
  sched.clock().advance_time(99ms);
  sched.run();
  CHECK(md->l2.empty());

  sched.clock().advance_time(1ms);
  sched.run();
  REQUIRE(md->l2.size() == 1);
  const auto& snap = md->l2[0];
  CHECK(snap.symbol == aaa);
  CHECK(snap.time == std::chrono::duration_cast<std::chrono::nanoseconds>(
                         (start + 100ms).time_since_epoch())
                         .count());
  CHECK(snap.bids == std::vector<market::depth_level>{{99, 5, 1}}); // 1 level asked
  CHECK(snap.asks == std::vector<market::depth_level>{{101, 3, 1}});

  // The next one comes from the next timeout, 100 ms later.
  REQUIRE(sched.clock().trigger_timeout());
  sched.run();
  REQUIRE(md->l2.size() == 2);
  CHECK(md->l2[1].time - md->l2[0].time == 100'000'000);

  // Unsubscribed: the timer stops after the tick already in flight.
  caf::anon_send(shard, actors::md_unsubscribe{
                            caf::actor_cast<actors::md_listener_actor>(to_quit.back())});
  sched.run();
  sched.clock().trigger_timeouts();
  sched.run();
  CHECK(md->l2.size() == 2);
  CHECK(!sched.clock().has_pending_timeout());
}

TEST_CASE_METHOD(shard_fixture, "l2_request is answered with a snapshot, or an error",
                 "[exchange_shard][market_data]") {
  auto shard = spawn_shard(0, {aaa});
  submit(shard, order(1, aaa, side::buy, 99, 5));
  submit(shard, order(2, aaa, side::buy, 99, 1));
  submit(shard, order(1, aaa, side::buy, 97, 7));
  submit(shard, order(1, aaa, side::sell, 103, 2));
  auto snap = ask<actors::l2_snapshot>(shard, actors::l2_request{aaa, 10});
  CHECK(snap.symbol == aaa);
  CHECK(snap.time == virtual_now_ns());
  CHECK(snap.bids == std::vector<market::depth_level>{{99, 6, 2}, {97, 7, 1}});
  CHECK(snap.asks == std::vector<market::depth_level>{{103, 2, 1}});

  auto unknown = try_ask<actors::l2_snapshot>(shard, actors::l2_request{bbb, 10});
  REQUIRE(!unknown);
  CHECK(unknown.error() == caf::sec::invalid_argument);
}

// -- several shards
// ----------------------------------------------------------------------

TEST_CASE_METHOD(shard_fixture,
                 "two shards behind a router each trade only their symbols",
                 "[exchange_shard][shard_router]") {
  auto first = spawn_shard(0, {aaa});
  auto second = spawn_shard(1, {bbb});
  market::shard_router router;
  router.add(first, {aaa});
  router.add(second, {bbb});
  CHECK_THROWS_AS(router.add(second, {aaa}), std::invalid_argument);
  CHECK(router.route(7) == nullptr);
  REQUIRE(router.shards().size() == 2);

  for (auto s : {aaa, bbb}) {
    const auto* shard = router.route(s);
    REQUIRE(shard != nullptr);
    submit(*shard, order(1, s, side::sell, 100, 10));
    auto taker = submit(*shard, order(2, s, side::buy, 100, 10));
    CHECK(kinds(taker.events) ==
          std::vector{event_kind::accepted, event_kind::trade, event_kind::done});
    CHECK(market::shard_of(taker.id) == (s == aaa ? 0u : 1u));
  }
  // The wrong shard refuses the other's symbol.
  auto misrouted = submit(first, order(1, bbb, side::sell, 100, 10));
  CHECK(misrouted.events.at(0).reject == reject_reason::unknown_symbol);

  for (auto [shard, symbol] : {std::pair{first, aaa}, std::pair{second, bbb}}) {
    auto stats = ask<actors::shard_stats>(shard, actors::stats_request{});
    REQUIRE(stats.symbols.size() == 1);
    CHECK(stats.symbols[0].symbol == symbol);
    CHECK(stats.symbols[0].trades == 1);
    CHECK(stats.symbols[0].volume == 10);
  }
}

TEST_CASE("a shard_router refuses bad routes and changes nothing", "[shard_router]") {
  test_config cfg;
  caf::actor_system sys{cfg};
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto shard = market::spawn_exchange_shard(sys, {0, make_symbols(), {aaa, bbb}, 16});
  market::shard_router router;
  CHECK_THROWS_AS(router.add(exchange_shard_actor{}, {aaa}), std::invalid_argument);
  CHECK_THROWS_AS(router.add(shard, {aaa, bbb, aaa}), std::invalid_argument);
  CHECK(router.shards().empty());
  CHECK(router.route(aaa) == nullptr);
  router.add(shard, {aaa, bbb});
  CHECK(router.route(bbb) == &router.shards()[0]);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  sched.run();
}

// -- lifetimes
// ----------------------------------------------------------------------------

TEST_CASE_METHOD(shard_fixture, "listeners and subscribers that die are released",
                 "[exchange_shard]") {
  auto shard = spawn_shard(0);
  auto reports = std::make_shared<report_log>();
  auto md = std::make_shared<md_log>();
  auto listener = sys.spawn(report_recorder, reports);
  auto subscriber = sys.spawn(md_recorder, md);
  auto listener_ref = caf::actor_cast<caf::weak_actor_ptr>(listener);
  auto subscriber_ref = caf::actor_cast<caf::weak_actor_ptr>(subscriber);
  caf::anon_send(shard, actors::register_owner{1, listener});
  caf::anon_send(shard, actors::md_subscribe{subscriber, {}, true, true, 5, 100});
  sched.run();
  submit(shard, order(1, aaa, side::sell, 100, 10));
  submit(shard, order(2, aaa, side::buy, 100, 1));
  CHECK(reports->reports.size() == 1);
  CHECK(md->trades.size() == 1);

  caf::anon_send_exit(listener, caf::exit_reason::kill);
  caf::anon_send_exit(subscriber, caf::exit_reason::kill);
  listener = nullptr;
  subscriber = nullptr;
  sched.run();
  // Only the shard could still hold them; it dropped them on the down message.
  CHECK(listener_ref.lock() == nullptr);
  CHECK(subscriber_ref.lock() == nullptr);

  // Trading and the snapshot timer go on without them.
  auto taker = submit(shard, order(2, aaa, side::buy, 100, 1));
  CHECK(kinds(taker.events) ==
        std::vector{event_kind::accepted, event_kind::trade, event_kind::done});
  sched.clock().trigger_timeouts();
  sched.run();
  CHECK(reports->reports.size() == 1);
  CHECK(md->trades.size() == 1);
}

// -- price band (consensus-aware trading) -------------------------------------------

namespace {

/// The reason of a reply that is a single reject; none when it is not one.
reject_reason rejected_with(const actors::order_reply& r) {
  if (r.events.size() != 1 || r.events[0].kind != event_kind::rejected)
    return reject_reason::none;
  return r.events[0].reject;
}

bool accepted(const actors::order_reply& r) {
  return !r.events.empty() && r.events[0].kind == event_kind::accepted;
}

actors::order_reply submit_market(shard_fixture& fx, const exchange_shard_actor& shard,
                                  market::owner_id owner, side s, market::qty_t qty) {
  auto x = order(owner, aaa, s, 0, qty);
  x.order.type = market::order_type::market;
  return fx.submit(shard, x);
}

} // namespace

TEST_CASE_METHOD(shard_fixture, "price band: without a finalized price every price is "
                                "accepted",
                 "[exchange_shard][price_band]") {
  auto shard = spawn_banded_shard(500);
  CHECK(accepted(submit(shard, order(1, aaa, side::buy, 1, 10))));
  CHECK(accepted(submit(shard, order(1, aaa, side::sell, 1'000'000, 10))));
  // A finalized price of another symbol changes nothing for this one.
  finalize(shard, bbb, 1, 10'000);
  CHECK(accepted(submit(shard, order(1, aaa, side::buy, 2, 10))));
}

TEST_CASE_METHOD(shard_fixture, "price band: exactly at the edge is accepted, one tick "
                                "beyond is rejected with outside_price_band",
                 "[exchange_shard][price_band]") {
  auto shard = spawn_banded_shard(500);
  finalize(shard, aaa, 1, 10'000); // band [9'500, 10'500]

  auto low = submit(shard, order(1, aaa, side::buy, 9'500, 10));
  CHECK(accepted(low));
  CHECK(accepted(submit(shard, order(1, aaa, side::sell, 10'500, 10))));
  auto above = submit(shard, order(2, aaa, side::buy, 10'501, 10));
  CHECK(rejected_with(above) == reject_reason::outside_price_band);
  CHECK(above.events[0].side == side::buy);
  CHECK(above.events[0].id == above.id);
  CHECK(above.events[0].owner == 2);
  CHECK(rejected_with(submit(shard, order(2, aaa, side::sell, 9'499, 10))) ==
        reject_reason::outside_price_band);

  SECTION("a stop-limit is checked by its limit price") {
    auto stop = order(2, aaa, side::buy, 10'600, 10);
    stop.order.type = market::order_type::stop_limit;
    stop.order.stop_price = 10'100;
    CHECK(rejected_with(submit(shard, stop)) == reject_reason::outside_price_band);
  }
  SECTION("a modify to a price outside the band is rejected, the order untouched") {
    auto modify = ask<actors::order_reply>(
        shard, actors::modify_order{7, 1, {low.id, aaa, 9'499, 10}});
    CHECK(rejected_with(modify) == reject_reason::outside_price_band);
    auto inside = ask<actors::order_reply>(
        shard, actors::modify_order{8, 1, {low.id, aaa, 9'600, 10}});
    CHECK(kinds(inside.events) == std::vector{event_kind::modified});
  }
  SECTION("the rejects are counted; nothing rests outside the band") {
    auto stats = ask<actors::shard_stats>(shard, actors::stats_request{});
    CHECK(stats.symbols[0].rejects == 2);
    CHECK(stats.symbols[0].quote == market::l1_quote{9'500, 10, 10'500, 10});
  }
  // The other symbol has no finalized price: anything goes there.
  CHECK(accepted(submit(shard, order(1, bbb, side::buy, 100'000, 10))));
}

TEST_CASE_METHOD(shard_fixture, "price band: a market order does not trade beyond the "
                                "band",
                 "[exchange_shard][price_band]") {
  auto shard = spawn_banded_shard(500);
  auto maker_log = listen(shard, 1);
  auto md = subscribe(shard, {{}, {aaa}, true, false, 0, 0});
  // Before any finalized price these all rest.
  submit(shard, order(1, aaa, side::sell, 10'000, 5));
  submit(shard, order(1, aaa, side::sell, 10'400, 5));
  auto far_ask = submit(shard, order(1, aaa, side::sell, 10'600, 5));
  auto far_bid = submit(shard, order(1, aaa, side::buy, 9'000, 5));
  auto stop_market = order(1, aaa, side::buy, 0, 5);
  stop_market.order.type = market::order_type::stop;
  stop_market.order.stop_price = 20'000;
  auto stop = submit(shard, stop_market);

  // The band [9'500, 10'500] arrives: what rests outside it is cancelled and
  // reported to its owner; the stop-market order has no price and stays.
  finalize(shard, aaa, 1, 10'000);
  REQUIRE(maker_log->reports.size() == 1);
  const auto& cancels = maker_log->reports[0].events;
  REQUIRE(cancels.size() == 2);
  CHECK(cancels[0].id == far_ask.id);
  CHECK(cancels[1].id == far_bid.id);
  for (const auto& ev : cancels) {
    CHECK(ev.kind == event_kind::cancelled);
    CHECK(ev.cancel == market::cancel_reason::outside_price_band);
  }

  // A market buy for more than the band holds trades up to the edge only; the
  // remainder is cancelled.
  auto taker = submit_market(*this, shard, 2, side::buy, 20);
  CHECK(kinds(taker.events) ==
        std::vector{event_kind::accepted, event_kind::trade, event_kind::trade,
                    event_kind::cancelled});
  CHECK(taker.events[1].price == 10'000);
  CHECK(taker.events[2].price == 10'400);
  CHECK(taker.events.back().qty == 10);
  CHECK(taker.events.back().cancel == market::cancel_reason::ioc_remainder);
  REQUIRE(md->trades.size() == 2);
  for (const auto& t : md->trades) {
    CHECK(t.price >= 9'500);
    CHECK(t.price <= 10'500);
  }
  // The stop is still live: its owner can cancel it.
  CHECK(kinds(cancel(shard, 1, stop.id).events) == std::vector{event_kind::cancelled});
}

TEST_CASE_METHOD(shard_fixture, "price band: an older epoch is ignored, a newer one "
                                "moves the band",
                 "[exchange_shard][price_band]") {
  auto shard = spawn_banded_shard(500);
  auto log = listen(shard, 1);
  finalize(shard, aaa, 5, 10'000);
  finalize(shard, aaa, 4, 20'000); // late
  finalize(shard, aaa, 5, 20'000); // the same epoch again
  CHECK(accepted(submit(shard, order(2, aaa, side::buy, 10'500, 1))));
  CHECK(rejected_with(submit(shard, order(2, aaa, side::buy, 10'501, 1))) ==
        reject_reason::outside_price_band);
  auto resting = submit(shard, order(1, aaa, side::buy, 9'600, 1));
  CHECK(accepted(resting));
  CHECK(log->reports.empty());

  finalize(shard, aaa, 6, 11'000); // band [10'450, 11'550]
  CHECK(accepted(submit(shard, order(2, aaa, side::buy, 11'550, 1))));
  CHECK(accepted(submit(shard, order(2, aaa, side::buy, 10'450, 1))));
  CHECK(rejected_with(submit(shard, order(2, aaa, side::buy, 10'449, 1))) ==
        reject_reason::outside_price_band);
  CHECK(rejected_with(submit(shard, order(2, aaa, side::sell, 11'551, 1))) ==
        reject_reason::outside_price_band);
  // The order that was inside the old band and is outside the new one is gone.
  REQUIRE(log->reports.size() == 1);
  REQUIRE(log->reports[0].events.size() == 1);
  CHECK(log->reports[0].events[0].id == resting.id);
  CHECK(log->reports[0].events[0].cancel == market::cancel_reason::outside_price_band);
}

TEST_CASE_METHOD(shard_fixture, "price band: off (0 bps) it changes nothing",
                 "[exchange_shard][price_band]") {
  auto shard = spawn_banded_shard(0);
  auto log = listen(shard, 1);
  submit(shard, order(1, aaa, side::sell, 20'000, 5));
  finalize(shard, aaa, 1, 10'000);
  CHECK(log->reports.empty()); // nothing cancelled
  CHECK(accepted(submit(shard, order(2, aaa, side::buy, 30'000, 1))));
  auto taker = submit_market(*this, shard, 2, side::buy, 4);
  CHECK(kinds(taker.events) == std::vector{event_kind::accepted, event_kind::trade,
                                           event_kind::done});
  CHECK(taker.events[1].price == 20'000);
}

TEST_CASE_METHOD(shard_fixture, "price band: a negative width is refused at spawn",
                 "[exchange_shard][price_band]") {
  market::shard_params params{0, make_symbols(), {aaa}, 64};
  params.price_band_bps = -1;
  CHECK_THROWS_AS(market::spawn_exchange_shard(sys, std::move(params)),
                  std::invalid_argument);
}

TEST_CASE_METHOD(shard_fixture, "a trading halt rejects new orders and modifies with a reason; "
                 "cancels still work and resting orders stay",
                 "[exchange_shard][halt]") {
  auto shard = spawn_shard(0);
  auto reject_of = [](const actors::order_reply& r) {
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].kind == event_kind::rejected);
    return r.events[0].reject;
  };
  auto resting = submit(shard, order(1, aaa, side::sell, 10'100, 5));
  REQUIRE(accepted(resting));
  caf::anon_send(shard, actors::trading_halt{"validators decided a halt"});
  sched.run();
  auto refused = submit(shard, order(2, aaa, side::buy, 10'100, 1));
  CHECK(reject_of(refused) == reject_reason::trading_halted);
  CHECK(reject_of(submit(shard, order(2, bbb, side::buy, 5'000, 1))) ==
        reject_reason::trading_halted);
  auto modified = ask<actors::order_reply>(
      shard, actors::modify_order{3, 1, {resting.id, aaa, 10'200, 5}});
  CHECK(reject_of(modified) == reject_reason::trading_halted);
  // The resting order is still there, and its owner can take it out.
  CHECK(kinds(cancel(shard, 1, resting.id).events) ==
        std::vector{event_kind::cancelled});
}
