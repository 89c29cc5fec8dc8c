// The relay in front of a shard of another process (distributed/shard_relay.hpp):
// replies and fills pass through it in order, and order requests the shard
// can no longer answer (it went down, as with a lost host) are answered with
// a venue_unreachable reject, in flight or later. One process, real scheduler:
// the relay does not care whether its shard is a proxy.
#include "actors/vocabulary.hpp"
#include "distributed/shard_relay.hpp"
#include "market/exchange_shard.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>

namespace actors = marketsim::actors;
namespace market = marketsim::market;
namespace dist = marketsim::distributed;
using namespace std::chrono_literals;

namespace {

struct fixture {
  market::symbol_table symbols;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  fixture() {
    symbols.add({"AAA", 1, 1, 1'000'000});
    actors::add_message_types(cfg);
    cfg.set("scheduler.max-threads", std::size_t{2});
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

actors::new_order order(std::uint64_t cid, market::owner_id owner, market::side side,
                        market::price_t price, market::qty_t qty) {
  actors::new_order x;
  x.client_order_id = cid;
  x.order.owner = owner;
  x.order.symbol = 0;
  x.order.side = side;
  x.order.price = price;
  x.order.qty = qty;
  return x;
}

/// The next order_reply of `self` (fails after 5 s).
actors::order_reply next_reply(caf::scoped_actor& self) {
  actors::order_reply out;
  bool got = false;
  self->receive([&](actors::order_reply& r) { out = std::move(r), got = true; },
                caf::after(5s) >> [] {});
  REQUIRE(got);
  return out;
}

bool unreachable(const actors::order_reply& r) {
  return r.events.size() == 1 && r.events[0].kind == market::event_kind::rejected &&
         r.events[0].reject == market::reject_reason::venue_unreachable;
}

/// A shard that takes order requests and never answers them.
caf::behavior black_hole(caf::event_based_actor* self) {
  return {
      [self](const actors::new_order&) { return self->make_response_promise(); },
      [self](const actors::cancel_order&) { return self->make_response_promise(); },
      [](const actors::register_owner&) {},
  };
}

} // namespace

TEST_CASE_METHOD(fixture, "relay: replies and fills come through, to the right owner") {
  auto shard = market::spawn_exchange_shard(*sys, {0, symbols, {0}, 64});
  auto relay = dist::spawn_shard_relay(*sys, shard, 0);
  {
    caf::scoped_actor maker{*sys};
    caf::scoped_actor taker{*sys};
    maker->send(relay, actors::register_owner{
                           1, caf::actor_cast<actors::order_listener_actor>(maker)});
    taker->send(relay, actors::register_owner{
                           2, caf::actor_cast<actors::order_listener_actor>(taker)});
    maker->send(relay, order(11, 1, market::side::sell, 100, 5));
    auto r1 = next_reply(maker);
    CHECK(r1.client_order_id == 11);
    REQUIRE(!r1.events.empty());
    CHECK(r1.events[0].kind == market::event_kind::accepted);
    taker->send(relay, order(22, 2, market::side::buy, 100, 3));
    auto r2 = next_reply(taker);
    CHECK(r2.client_order_id == 22);
    CHECK(std::any_of(r2.events.begin(), r2.events.end(),
                      [](const auto& e) { return e.kind == market::event_kind::trade; }));
    // The maker hears of its fill through the relay.
    bool filled = false;
    maker->receive(
        [&](actors::execution_report& x) {
          CHECK(x.owner == 1);
          filled = std::any_of(x.events.begin(), x.events.end(), [](const auto& e) {
            return e.kind == market::event_kind::trade && e.maker_owner == 1;
          });
        },
        caf::after(5s) >> [] {});
    CHECK(filled);
  }
  caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "relay: a shard gone down answers nothing; the relay does") {
  auto shard = sys->spawn(black_hole);
  auto relay =
      dist::spawn_shard_relay(*sys, caf::actor_cast<actors::exchange_shard_actor>(shard), 4);
  {
    caf::scoped_actor trader{*sys};
    trader->send(relay, order(1, 7, market::side::buy, 100, 1));
    trader->send(relay, order(2, 7, market::side::sell, 101, 1));
    actors::cancel_order c{3, 7, market::cancel_request{99, 0}};
    trader->send(relay, c);
    // Nothing comes back while the shard is up.
    bool early = false;
    trader->receive([&](actors::order_reply&) { early = true; },
                    caf::after(200ms) >> [] {});
    CHECK(!early);
    // The shard goes (as a proxy does when its host is lost): every request
    // in flight is answered.
    caf::anon_send_exit(shard, caf::exit_reason::remote_link_unreachable);
    std::set<std::uint64_t> answered;
    for (int i = 0; i < 3; ++i) {
      auto r = next_reply(trader);
      CHECK(unreachable(r));
      answered.insert(r.client_order_id);
    }
    CHECK(answered == std::set<std::uint64_t>{1, 2, 3});
    bool extra = false;
    trader->receive([&](actors::order_reply&) { extra = true; }, caf::after(100ms) >> [] {});
    CHECK(!extra);
    // Later requests: answered at once.
    trader->send(relay, order(4, 7, market::side::buy, 100, 1));
    auto r4 = next_reply(trader);
    CHECK(r4.client_order_id == 4);
    CHECK(unreachable(r4));
    actors::new_order_batch batch{{order(5, 7, market::side::buy, 100, 1),
                                   order(6, 7, market::side::buy, 100, 1)}};
    trader->send(relay, batch);
    bool got = false;
    trader->receive(
        [&](actors::order_reply_batch& b) {
          got = true;
          REQUIRE(b.replies.size() == 2);
          CHECK(b.replies[0].client_order_id == 5);
          CHECK(b.replies[1].client_order_id == 6);
          CHECK(unreachable(b.replies[0]));
          CHECK(unreachable(b.replies[1]));
        },
        caf::after(5s) >> [] {});
    CHECK(got);
  }
  caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
}
