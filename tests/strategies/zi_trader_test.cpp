#include "strategies/zi_trader.hpp"

#include "actors/vocabulary.hpp"
#include "market/exchange_shard.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <map>
#include <memory>
#include <set>
#include <tuple>

using namespace marketsim;
using namespace std::chrono_literals;

namespace {

/// What went between the traders and the shard, as the spy saw it.
struct wire_log {
  struct sent_order {
    actors::new_order msg;
    caf::actor_clock::time_point at;
  };
  std::vector<sent_order> orders;
  std::vector<actors::cancel_order> cancels;
  std::vector<actors::order_reply> replies; ///< to orders and cancels
  std::vector<actors::register_owner> registrations;
};

/// Stands between the traders and a real shard: records every request and
/// reply and forwards them. Traders only send these three messages, so the
/// spy can pass for a shard (actor_cast does not check the interface).
caf::behavior spy(caf::event_based_actor* self, actors::exchange_shard_actor shard,
                  std::shared_ptr<wire_log> log) {
  return {
      [=](const actors::new_order& x) {
        log->orders.push_back({x, self->clock().now()});
        auto rp = self->make_response_promise<actors::order_reply>();
        self->request(shard, caf::infinite, x).then([=](actors::order_reply r) mutable {
          log->replies.push_back(r);
          rp.deliver(std::move(r));
        });
        return rp;
      },
      [=](const actors::cancel_order& x) {
        log->cancels.push_back(x);
        auto rp = self->make_response_promise<actors::order_reply>();
        self->request(shard, caf::infinite, x).then([=](actors::order_reply r) mutable {
          log->replies.push_back(r);
          rp.deliver(std::move(r));
        });
        return rp;
      },
      [=](const actors::register_owner& x) {
        log->registrations.push_back(x);
        self->send(shard, x);
      },
  };
}

const market::symbol_spec acme{"ACME", 5, 10, 1'000'000};
const market::symbol_spec init{"INIT", 1, 1, 1'000'000};
constexpr market::price_t acme_ref = 10'000;
constexpr market::price_t init_ref = 500;

/// A deterministic actor system with one real shard (ACME and INIT) behind
/// a spy, and traders routed to the spy.
struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<wire_log> log = std::make_shared<wire_log>();
  actors::exchange_shard_actor shard;
  caf::actor spy_actor;
  market::shard_router router;
  std::vector<strategies::zi_trader_actor> traders;

  fixture() {
    actors::add_message_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    market::shard_params sp;
    sp.symbols.add(acme);
    sp.symbols.add(init);
    sp.traded = {0, 1};
    shard = market::spawn_exchange_shard(*sys, std::move(sp));
    spy_actor = sys->spawn(spy, shard, log);
    router.add(caf::actor_cast<actors::exchange_shard_actor>(spy_actor), {0, 1});
  }

  ~fixture() {
    for (auto& t : traders)
      caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(spy_actor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    sched->run();
  }

  strategies::zi_params params(std::uint64_t seed, std::uint64_t index) const {
    strategies::zi_params p;
    p.seed = seed;
    p.index = index;
    p.owner = 100 + index;
    p.symbols = {{0, acme.tick_size, acme.lot_size, acme_ref},
                 {1, init.tick_size, init.lot_size, init_ref}};
    p.interval = 10ms;
    p.jitter = 4ms;
    p.price_band_ticks = 4;
    p.market_order_share = 0;
    p.cancel_share = 0;
    p.max_quantity_lots = 3;
    p.max_resting = 1000;
    return p;
  }

  strategies::zi_trader_actor spawn(const strategies::zi_params& p) {
    traders.push_back(strategies::spawn_zi_trader(*sys, p, router));
    return traders.back();
  }

  /// Fires the next timeout (a trader tick) and runs everything it causes.
  void step() {
    REQUIRE(sched->trigger_timeout());
    sched->run();
  }

  actors::trader_stats stats_of(const strategies::zi_trader_actor& t) {
    caf::scoped_actor self{*sys};
    actors::trader_stats result;
    auto handle = self->request(t, caf::infinite, actors::trader_stats_request{});
    sched->run();
    handle.receive([&](const actors::trader_stats& s) { result = s; },
                   [&](const caf::error& e) { FAIL(sys->render(e)); });
    return result;
  }
};

using order_key = std::tuple<market::symbol_id, market::side, market::order_type,
                             market::price_t, market::qty_t, std::int64_t>;

/// The orders of one trader run of `ticks` ticks: what, and when.
std::vector<order_key> orders_of_run(std::uint64_t seed, int ticks) {
  fixture f;
  auto p = f.params(seed, 3);
  p.market_order_share = 0.2;
  p.cancel_share = 0.3;
  f.spawn(p);
  f.sched->run();
  for (int i = 0; i < ticks; ++i)
    f.step();
  std::vector<order_key> result;
  for (const auto& o : f.log->orders) {
    const auto& r = o.msg.order;
    result.emplace_back(r.symbol, r.side, r.type, r.price, r.qty,
                        o.at.time_since_epoch().count());
  }
  return result;
}

} // namespace

TEST_CASE("A ZI trader registers and then sends one valid order per tick of the "
          "test clock",
          "[zi_trader]") {
  fixture f;
  auto p = f.params(42, 0);
  auto trader = f.spawn(p);
  f.sched->run();
  REQUIRE(f.log->registrations.size() == 1); // one shard behind both symbols
  CHECK(f.log->registrations[0].owner == p.owner);
  CHECK(f.log->orders.empty()); // nothing before its timer fires
  auto start = f.sched->clock().now();
  for (std::size_t i = 1; i <= 40; ++i) {
    auto before = f.sched->clock().now();
    f.step();
    REQUIRE(f.log->orders.size() == i);
    auto waited = f.sched->clock().now() - before;
    if (i == 1) {
      CHECK(waited < p.interval); // the random phase
    } else {
      CHECK(waited >= p.interval - p.jitter);
      CHECK(waited <= p.interval + p.jitter);
    }
  }
  CHECK(f.sched->clock().now() - start >= 39 * (p.interval - p.jitter));
  std::set<market::symbol_id> symbols_used;
  for (const auto& o : f.log->orders) {
    const auto& r = o.msg.order;
    CHECK(r.owner == p.owner);
    CHECK(r.type == market::order_type::limit);
    CHECK(r.tif == market::time_in_force::gtc);
    const auto& sym = p.symbols.at(r.symbol);
    symbols_used.insert(r.symbol);
    CHECK(r.qty % sym.lot_size == 0);
    CHECK(r.qty >= sym.lot_size);
    CHECK(r.qty <= p.max_quantity_lots * sym.lot_size);
    // Alone in the market it never trades (self-trade prevention), so its
    // reference stays the configured one.
    CHECK(r.price % sym.tick_size == 0);
    CHECK(r.price >= sym.reference_price - p.price_band_ticks * sym.tick_size);
    CHECK(r.price <= sym.reference_price + p.price_band_ticks * sym.tick_size);
  }
  CHECK(symbols_used.size() == 2);
  for (const auto& reply : f.log->replies)
    for (const auto& ev : reply.events)
      CHECK(ev.kind != market::event_kind::rejected);
  auto stats = f.stats_of(trader);
  CHECK(stats.owner == p.owner);
  CHECK(stats.orders == 40);
  CHECK(stats.accepted == 40);
  CHECK(stats.rejects == 0);
  CHECK(stats.fills == 0);
  CHECK(stats.cancels == 0);
}

TEST_CASE("A stopped ZI trader sends nothing more", "[zi_trader]") {
  fixture f;
  auto trader = f.spawn(f.params(42, 0));
  f.sched->run();
  f.step();
  f.step();
  caf::anon_send(trader, actors::trader_stop{});
  f.sched->run();
  while (f.sched->trigger_timeout())
    f.sched->run();
  CHECK(f.log->orders.size() == 2);
  CHECK(f.stats_of(trader).orders == 2);
}

TEST_CASE("The same seed gives the same orders at the same times; another seed "
          "gives others",
          "[zi_trader]") {
  auto a = orders_of_run(7, 60);
  auto b = orders_of_run(7, 60);
  auto c = orders_of_run(8, 60);
  REQUIRE(a.size() >= 30); // the rest were cancels
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("ZI traders trade with each other and cancel only their own orders",
          "[zi_trader]") {
  fixture f;
  std::vector<strategies::zi_trader_actor> traders;
  for (std::uint64_t i = 0; i < 3; ++i) {
    auto p = f.params(11, i);
    p.price_band_ticks = 2;
    p.market_order_share = 0.1;
    p.cancel_share = 0.4;
    p.max_resting = 5;
    traders.push_back(f.spawn(p));
  }
  f.sched->run();
  for (int i = 0; i < 600; ++i)
    f.step();
  // Which owner each order id belongs to, from the shard's acks.
  std::map<market::order_id, market::owner_id> owner_of;
  for (const auto& reply : f.log->replies)
    for (const auto& ev : reply.events)
      if (ev.kind == market::event_kind::accepted)
        owner_of[ev.id] = ev.owner;
  REQUIRE(f.log->cancels.size() > 50);
  for (const auto& c : f.log->cancels) {
    REQUIRE(owner_of.count(c.request.id) == 1);
    CHECK(owner_of[c.request.id] == c.owner);
  }
  for (const auto& reply : f.log->replies)
    for (const auto& ev : reply.events)
      CHECK(ev.reject != market::reject_reason::not_owner);
  std::uint64_t fills = 0;
  for (const auto& t : traders) {
    auto s = f.stats_of(t);
    fills += s.fills;
    CHECK(s.resting <= 5);
    CHECK(s.orders + s.cancels > 150);
  }
  CHECK(fills > 0);
}

TEST_CASE("A ZI trader refuses parameters out of range", "[zi_trader]") {
  fixture f;
  auto p = f.params(1, 0);
  p.owner = 0;
  CHECK_THROWS_AS(f.spawn(p), std::invalid_argument);
  p = f.params(1, 0);
  p.jitter = p.interval + 1ms;
  CHECK_THROWS_AS(f.spawn(p), std::invalid_argument);
  p = f.params(1, 0);
  p.symbols.push_back({7, 1, 1, 100}); // no shard trades symbol 7
  CHECK_THROWS_AS(f.spawn(p), std::invalid_argument);
  p = f.params(1, 0);
  p.market_order_share = 0.6;
  p.cancel_share = 0.6;
  CHECK_THROWS_AS(f.spawn(p), std::invalid_argument);
}
