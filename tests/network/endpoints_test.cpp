/// Endpoints (network/endpoints.hpp) on CAF's deterministic scheduler with
/// virtual time: a message to a port arrives after its route's latency, the
/// receiver sees the sender's port and its reply travels back, present()
/// names the right port, a real trader and exchange shard trade over the
/// network with acknowledgements after a round trip, and a partitioned
/// site's orders are counted as unroutable.

#include "network/endpoints.hpp"

#include "actors/interfaces.hpp"
#include "actors/messages.hpp"
#include "actors/vocabulary.hpp"
#include "market/exchange_shard.hpp"
#include "market/shard_router.hpp"
#include "market/symbol_table.hpp"
#include "network/network_actor.hpp"
#include "network/topology.hpp"
#include "strategies/signal_hub.hpp"
#include "strategies/trader.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace marketsim;
using network::site_id;

namespace {

// Sites: a -(1 us)- b -(2 us)- c, and a -(10 us)- c. The bandwidth is so high
// that serializing any of these messages takes exactly 1 ns per link (the
// link model rounds up), so a route costs its propagation plus 1 ns a hop.
constexpr site_id a = 0;
constexpr site_id b = 1;
constexpr site_id c = 2;
constexpr std::int64_t huge_bps = 8'000'000'000'000'000;
constexpr std::int64_t a_to_c = 1'000 + 1 + 2'000 + 1; // via b
constexpr std::int64_t b_to_c = 2'000 + 1;

network::topology triangle() {
  network::topology t;
  t.add_site({"a", network::site_kind::agent_group, 0, 0});
  t.add_site({"b", network::site_kind::agent_group, 0, 0});
  t.add_site({"c", network::site_kind::exchange, 0, 0});
  auto link = [&](site_id x, site_id y, std::int64_t latency) {
    network::link_props p;
    p.latency_ns = latency;
    p.bandwidth_bps = huge_bps;
    t.connect(x, y, p);
  };
  link(a, b, 1'000);
  link(b, c, 2'000);
  link(a, c, 10'000);
  return t;
}

std::int64_t ns_since(caf::actor_clock::time_point t,
                      caf::actor_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - start).count();
}

struct received {
  std::int64_t time_ns = 0;
  std::string what;
  caf::actor sender;
};

/// Sends `v` to `dest` when told (`dest, v`); logs every string and int it
/// receives with time and sender; with `reply`, answers each int with
/// "ack <v>" to its sender.
caf::behavior endpoint(caf::event_based_actor* self,
                       std::shared_ptr<std::vector<received>> log,
                       caf::actor_clock::time_point start, bool reply) {
  auto note = [=](std::string what) {
    log->push_back({ns_since(self->clock().now(), start), std::move(what),
                    caf::actor_cast<caf::actor>(self->current_sender())});
  };
  return {
      [=](const caf::actor& dest, int v) { self->send(dest, v); },
      [=](int v) {
        note(std::to_string(v));
        if (reply)
          self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                     "ack " + std::to_string(v));
      },
      [=](const std::string& s) { note(s); },
  };
}

struct test_config : caf::actor_system_config {
  test_config() {
    actors::add_message_types(*this);
    set("scheduler.policy", caf::atom("testing"));
  }
};

struct fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::actor_clock::time_point start = sched.clock().now();
  actors::network_actor net;
  std::optional<network::endpoints> ep;
  std::vector<caf::actor> to_quit;

  /// With `port`, the proxies hand their messages to the first link
  /// themselves (network/port.hpp); without, they send net_send to the
  /// network's controller. Both must give the same times and counts.
  explicit fixture(bool port = true) {
    auto spawned = network::spawn_network_with_port(sys, triangle());
    net = spawned.controller;
    if (port)
      ep.emplace(sys, net, std::move(spawned.port));
    else
      ep.emplace(sys, net);
    to_quit.push_back(caf::actor_cast<caf::actor>(net));
    sched.run();
  }

  ~fixture() {
    auto all = to_quit;
    auto proxies = ep->proxies();
    all.insert(all.end(), proxies.begin(), proxies.end());
    ep->clear();
    for (auto& x : all)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    sched.run();
    while (sched.clock().trigger_timeout())
      sched.run();
  }

  caf::actor spawn_endpoint(std::shared_ptr<std::vector<received>> log, bool reply,
                            std::optional<site_id> site) {
    auto x = sys.spawn(endpoint, std::move(log), start, reply);
    if (site)
      ep->place(x, *site);
    to_quit.push_back(x);
    sched.run();
    return x;
  }

  std::int64_t now() { return ns_since(sched.clock().now(), start); }

  /// Runs every ready job, then fires the next timer, until nothing is left.
  void run_all() {
    sched.run();
    while (sched.clock().trigger_timeout())
      sched.run();
  }

  /// Runs until `t` ns after the start (timers due later stay pending).
  void run_until(std::int64_t t) {
    sched.run();
    while (sched.clock().has_pending_timeout() &&
           ns_since(sched.clock().schedule().begin()->first, start) <= t) {
      sched.clock().trigger_timeout();
      sched.run();
    }
  }

  template <class Response, class Handle, class Request>
  Response ask(const Handle& h, Request x) {
    caf::scoped_actor self{sys};
    auto handle = self->request(h, caf::infinite, std::move(x));
    sched.run();
    std::optional<Response> out;
    handle.receive([&](Response& r) { out = std::move(r); },
                   [&](caf::error& e) { FAIL(sys.render(e)); });
    REQUIRE(out.has_value());
    return std::move(*out);
  }

  actors::net_stats stats() {
    return ask<actors::net_stats>(net, actors::net_stats_request{});
  }

  template <class Msg>
  void control(Msg m) {
    caf::anon_send(net, std::move(m));
    sched.run();
  }
};

const actors::net_route_count* route_of(const actors::net_stats& s, site_id from,
                                        site_id to) {
  for (const auto& r : s.routes)
    if (r.from == from && r.to == to)
      return &r;
  return nullptr;
}

} // namespace

// -- ports
// -------------------------------------------------------------------------------

namespace {

/// A client at a sends 7 to a server at c through its port; the server
/// answers the sender it sees.
void check_round_trip(fixture& fx) {
  auto& ep = fx.ep;
  auto& sched = fx.sched;
  auto spawn_endpoint = [&](auto&&... xs) { return fx.spawn_endpoint(xs...); };
  auto run_all = [&] { fx.run_all(); };
  auto stats = [&] { return fx.stats(); };
  auto client_log = std::make_shared<std::vector<received>>();
  auto server_log = std::make_shared<std::vector<received>>();
  auto client = spawn_endpoint(client_log, false, a);
  auto server = spawn_endpoint(server_log, true, c);

  auto port = ep->reach(server, a);
  REQUIRE(port != server);
  caf::anon_send(client, port, 7);
  sched.run();
  CHECK(server_log->empty()); // not before its time

  run_all();
  REQUIRE(server_log->size() == 1);
  CHECK((*server_log)[0].what == "7");
  CHECK((*server_log)[0].time_ns == a_to_c);
  // The server sees the client's port at its own site, not the client.
  CHECK((*server_log)[0].sender == ep->reach(client, c));
  CHECK((*server_log)[0].sender != client);

  REQUIRE(client_log->size() == 1);
  CHECK((*client_log)[0].what == "ack 7");
  CHECK((*client_log)[0].time_ns == 2 * a_to_c); // the reverse route is as long
  CHECK((*client_log)[0].sender == port);

  auto s = stats();
  REQUIRE(route_of(s, a, c) != nullptr);
  REQUIRE(route_of(s, c, a) != nullptr);
  CHECK(route_of(s, a, c)->delivered == 1);
  CHECK(route_of(s, c, a)->delivered == 1);
  auto es = ep->stats();
  CHECK(es.forwarded == 2);
  CHECK(es.proxies == 2);
  CHECK(es.unplaced_senders == 0);
  CHECK(es.anonymous == 0);
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "a message to a port arrives after the route's latency, and the reply "
                 "to the sender the target sees travels back",
                 "[endpoints]") {
  check_round_trip(*this);
}

TEST_CASE("ports that send through the network's controller give the same times",
          "[endpoints]") {
  fixture fx{false};
  check_round_trip(fx);
}

TEST_CASE_METHOD(fixture, "reach and present name one port per target and site",
                 "[endpoints]") {
  auto log = std::make_shared<std::vector<received>>();
  auto client = spawn_endpoint(log, false, a);
  auto server = spawn_endpoint(log, false, c);
  auto outsider = spawn_endpoint(log, false, std::nullopt);

  auto port = ep->reach(server, a);
  CHECK(ep->reach(server, a) == port); // made once, then kept
  CHECK(ep->is_proxy(port));
  CHECK_FALSE(ep->is_proxy(server));
  CHECK(ep->site_of(port) == c); // a port lives where its target does
  CHECK(ep->site_of(client) == a);
  CHECK_FALSE(ep->site_of(outsider).has_value());

  // At the same site, or outside the network: the actor itself.
  CHECK(ep->reach(server, c) == server);
  CHECK(ep->reach(outsider, a) == outsider);
  // A port of a port is a port of its target.
  CHECK(ep->reach(port, b) == ep->reach(server, b));

  // Handing out our handle: the port at the peer's site, whichever handle of
  // the peer we hold.
  CHECK(ep->present(client, port) == ep->reach(client, c));
  CHECK(ep->present(client, server) == ep->reach(client, c));
  CHECK(ep->present(client, ep->reach(server, b)) == ep->reach(client, c));
  CHECK(ep->present(client, outsider) == client);
  CHECK(ep->present(outsider, server) == outsider);
  CHECK(ep->present(server, ep->reach(server, a)) == server);
}

TEST_CASE_METHOD(fixture,
                 "senders outside the network are counted, and their replies bypass it",
                 "[endpoints]") {
  auto server_log = std::make_shared<std::vector<received>>();
  auto outsider_log = std::make_shared<std::vector<received>>();
  auto server = spawn_endpoint(server_log, true, c);
  auto outsider = spawn_endpoint(outsider_log, false, std::nullopt);
  auto port = ep->reach(server, a);

  caf::anon_send(outsider, port, 1); // from an unplaced actor
  run_all();
  REQUIRE(server_log->size() == 1);
  CHECK((*server_log)[0].time_ns == a_to_c);
  CHECK((*server_log)[0].sender == outsider); // the real sender, not a port
  // The reply went straight back: no time passed on its way.
  REQUIRE(outsider_log->size() == 1);
  CHECK(outsider_log->front().what == "ack 1");
  CHECK(outsider_log->front().time_ns == a_to_c);

  const auto sent_at = now();
  caf::anon_send(port, 2); // anonymous
  run_all();
  REQUIRE(server_log->size() == 2);
  CHECK((*server_log)[1].time_ns == sent_at + a_to_c);
  CHECK(!(*server_log)[1].sender);
  auto es = ep->stats();
  CHECK(es.unplaced_senders == 1);
  CHECK(es.anonymous == 1);
  CHECK(es.forwarded == 2);
}

TEST_CASE_METHOD(fixture, "a request to a port is refused at once, not left waiting",
                 "[endpoints]") {
  auto log = std::make_shared<std::vector<received>>();
  auto server = spawn_endpoint(log, true, c);
  auto port = ep->reach(server, a);
  caf::scoped_actor self{sys};
  auto handle = self->request(port, caf::infinite, 5);
  sched.run();
  std::optional<caf::error> failure;
  handle.receive([](const std::string&) { FAIL("a request must not be answered"); },
                 [&](caf::error& e) { failure = e; });
  REQUIRE(failure.has_value());
  CHECK(*failure == caf::sec::unexpected_message);
  CHECK(ep->stats().refused_requests == 1);
  run_all();
  CHECK(log->empty());
}

// -- a trader and a shard over the network
// -------------------------------------------------

namespace {

constexpr market::symbol_id aaa = 0;

/// Buys (or sells) `qty` at `price` at time `at`, and records the time of
/// every order update.
class timed_order final : public strategies::strategy {
public:
  struct update {
    strategies::time_ns at = 0;
    strategies::order_update::kind what{};
    market::qty_t qty = 0;
  };

  timed_order(std::shared_ptr<std::vector<update>> log, strategies::duration_ns at,
              market::side side, market::price_t price, market::qty_t qty)
      : log_(std::move(log)), at_(at), side_(side), price_(price), qty_(qty) {}

  void on_start(strategies::context& c) override { c.set_timer(at_); }
  void on_timer(strategies::context& c, std::uint64_t) override {
    if (side_ == market::side::buy)
      c.buy_limit(aaa, price_, qty_);
    else
      c.sell_limit(aaa, price_, qty_);
  }
  void on_order(strategies::context& c, const strategies::order_update& u) override {
    log_->push_back({c.now(), u.what, u.qty});
  }

private:
  std::shared_ptr<std::vector<update>> log_;
  strategies::duration_ns at_;
  market::side side_;
  market::price_t price_;
  market::qty_t qty_;
};

using kind = strategies::order_update::kind;

struct market_fixture : fixture {
  market::symbol_table symbols; // outlives the traders that refer to it
  actors::exchange_shard_actor shard;
  actors::signal_hub_actor hub;

  market_fixture() {
    symbols.add({"AAA", 1, 1, 1'000'000});
    shard = market::spawn_exchange_shard(sys, {0, symbols, {aaa}, 64});
    hub = strategies::spawn_signal_hub(sys);
    ep->place(caf::actor_cast<caf::actor>(shard), c);
    ep->place(caf::actor_cast<caf::actor>(hub), c);
    to_quit.push_back(caf::actor_cast<caf::actor>(shard));
    to_quit.push_back(caf::actor_cast<caf::actor>(hub));
    sched.run();
  }

  /// A trader at `site`, started, that sends its order at `at`; its shard
  /// and hub handles are its site's ports, as run.cpp builds them.
  actors::trader_actor trader_at(site_id site, std::uint64_t index,
                                 std::shared_ptr<std::vector<timed_order::update>> log,
                                 strategies::duration_ns at, market::side side,
                                 market::price_t price, market::qty_t qty) {
    auto router = std::make_shared<market::shard_router>();
    router->add(caf::actor_cast<actors::exchange_shard_actor>(
                    ep->reach(caf::actor_cast<caf::actor>(shard), site)),
                {aaa});
    auto* ports = &*ep;
    strategies::trader_group group;
    group.strategy_name = "timed";
    group.account.cash = 1'000'000;
    group.account.allow_short = true;
    group.account.max_short = 1'000;
    group.symbols = {aaa};
    group.start_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch())
            .count();
    group.present = [ports](const caf::actor& self, const caf::actor& peer) {
      return ports->present(self, peer);
    };
    strategies::trader_params p;
    p.index = index;
    p.owner = 100 + index;
    p.seed = 7;
    p.group = std::make_shared<const strategies::trader_group>(std::move(group));
    auto t = strategies::spawn_trader(
        sys, std::move(p), std::make_unique<timed_order>(log, at, side, price, qty),
        symbols, router,
        caf::actor_cast<actors::signal_hub_actor>(
            ep->reach(caf::actor_cast<caf::actor>(hub), site)));
    ep->place(caf::actor_cast<caf::actor>(t), site);
    to_quit.push_back(caf::actor_cast<caf::actor>(t));
    caf::anon_send(t, actors::agent_start{});
    sched.run();
    return t;
  }
};

} // namespace

TEST_CASE_METHOD(market_fixture,
                 "a trader and a shard at different sites trade over the network: acks "
                 "after a round trip, maker fills after the one-way latency",
                 "[endpoints][trader]") {
  auto buyer_log = std::make_shared<std::vector<timed_order::update>>();
  auto seller_log = std::make_shared<std::vector<timed_order::update>>();
  constexpr std::int64_t buy_at = 10'000;
  constexpr std::int64_t sell_at = 20'000;
  auto buyer = trader_at(a, 1, buyer_log, buy_at, market::side::buy, 100, 10);
  auto seller = trader_at(b, 2, seller_log, sell_at, market::side::sell, 100, 4);

  run_until(sell_at - 1);
  REQUIRE(buyer_log->size() == 1);
  CHECK((*buyer_log)[0].what == kind::accepted);
  CHECK((*buyer_log)[0].at == buy_at + 2 * a_to_c); // there and back

  run_all();
  // The seller's order crosses the resting bid: its fill comes with the reply
  // (a round trip from b); the buyer, maker, hears of it in an execution
  // report sent when the shard matched, one way from c to a (via b). Both
  // take link c->b at the same time: the report, sent while the shard
  // handles the order, ahead of the reply, its result; so the reply waits
  // for the report's 1 ns of serialization.
  const auto matched = sell_at + b_to_c;
  REQUIRE(seller_log->size() == 3);
  CHECK((*seller_log)[0].what == kind::accepted);
  CHECK((*seller_log)[1].what == kind::filled);
  CHECK((*seller_log)[2].what == kind::done);
  CHECK((*seller_log)[1].at == matched + 1 + b_to_c);
  REQUIRE(buyer_log->size() == 2);
  CHECK((*buyer_log)[1].what == kind::filled);
  CHECK((*buyer_log)[1].qty == 4);
  CHECK((*buyer_log)[1].at == matched + a_to_c);

  // Every message went through a port, none from outside the network.
  auto es = ep->stats();
  CHECK(es.unplaced_senders == 0);
  CHECK(es.anonymous == 0);
  auto s = stats();
  REQUIRE(route_of(s, a, c) != nullptr);
  CHECK(route_of(s, a, c)->sent == 2); // register_owner, new_order
  CHECK(route_of(s, c, a)->sent == 2); // order_reply, execution_report
  CHECK(route_of(s, b, c)->sent == 2);
  CHECK(route_of(s, c, b)->sent == 1); // order_reply with the fill
  for (const auto& r : s.routes) {
    CHECK(r.delivered == r.sent);
    CHECK(r.unroutable == 0);
  }
}

TEST_CASE_METHOD(market_fixture,
                 "a partitioned site's orders are counted unroutable, not lost silently",
                 "[endpoints][trader]") {
  // Site a cut off: both of its links down.
  control(actors::net_link_state{a, b, false});
  control(actors::net_link_state{a, c, false});
  auto log = std::make_shared<std::vector<timed_order::update>>();
  auto buyer = trader_at(a, 1, log, 1'000, market::side::buy, 100, 10);
  run_all();

  CHECK(log->empty()); // no acknowledgement ever came
  auto s = stats();
  const auto* out = route_of(s, a, c);
  REQUIRE(out != nullptr);
  CHECK(out->sent == 2); // register_owner, new_order
  CHECK(out->unroutable == 2);
  CHECK(out->delivered == 0);
  auto shard_stats = ask<actors::shard_stats>(shard, actors::stats_request{});
  CHECK(shard_stats.requests == 0);
  auto report = ask<actors::agent_report>(buyer, actors::agent_report_request{});
  CHECK(report.orders_sent == 1);
  CHECK(report.live_orders == 1); // still waiting for its acknowledgement

  // Healed, a new order goes through (the registration was lost: the trader
  // registered once, so the shard cannot report fills of resting orders to
  // it -- the network does not retransmit).
  control(actors::net_link_state{a, b, true});
  auto log2 = std::make_shared<std::vector<timed_order::update>>();
  auto t0 = now();
  trader_at(a, 2, log2, 1'000, market::side::buy, 100, 5);
  run_all();
  REQUIRE(log2->size() == 1);
  CHECK((*log2)[0].what == kind::accepted);
  CHECK((*log2)[0].at == t0 + 1'000 + 2 * a_to_c);
}

TEST_CASE("quitting the ports and clearing lets every actor of a run go",
          "[endpoints]") {
  auto f = std::make_unique<fixture>();
  auto& sys = f->sys;
  const auto before = sys.registry().running(); // the network
  auto log = std::make_shared<std::vector<received>>();
  auto client = f->spawn_endpoint(log, false, a);
  auto server = f->spawn_endpoint(log, true, c);
  caf::anon_send(client, f->ep->reach(server, a), 1);
  f->run_all();
  REQUIRE(log->size() == 2); // the 1 and its ack
  const auto proxies = f->ep->proxies();
  CHECK(proxies.size() == 2);
  CHECK(sys.registry().running() == before + 2 + proxies.size());

  // What a run does at its end: quit the actors and the ports, drop the
  // object's references.
  std::vector<caf::actor> all{client, server};
  all.insert(all.end(), proxies.begin(), proxies.end());
  f->ep->clear();
  CHECK(f->ep->proxies().empty());
  for (auto& x : all)
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  f->run_all();
  CHECK(sys.registry().running() == before);
  f.reset(); // the fixture's own shutdown then finds nothing left but the network
}
