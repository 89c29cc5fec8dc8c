/// The trader actor hosting scripted strategies against a real exchange shard
/// and signal hub, on CAF's deterministic scheduler with its virtual clock:
/// intents become messages, book events become order updates, the account
/// stays exact, and cash and shares are conserved at every step.

#include "strategies/signal_hub.hpp"
#include "strategies/trader.hpp"

#include "actors/vocabulary.hpp"
#include "market/exchange_shard.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace marketsim;
using namespace marketsim::strategies;
using namespace std::chrono_literals;
using market::side;
using kind = order_update::kind;

namespace {

constexpr market::symbol_id aaa = 0;
constexpr market::symbol_id bbb = 1;

// -- a scripted strategy -------------------------------------------------------------

/// What a scripted strategy saw, with the account and orders as they were
/// at each order update (the host updates them before calling back).
struct journal {
  int starts = 0;
  std::vector<order_update> updates;
  std::vector<market::money_t> cash_at_update;
  std::vector<market::money_t> reserved_at_update;
  std::vector<std::size_t> live_at_update;
  std::vector<std::pair<time_ns, std::uint64_t>> timers;
  std::vector<std::pair<market::symbol_id, market_view>> quotes;
  std::vector<public_trade> trades;
  std::vector<signal> signals;
  std::map<std::string, local_order_id> ids; ///< orders the script named
};

/// Acts when poked with a timer tag (the test sends strategy_timer{tag}
/// itself, or the script sets a timer) and records every callback.
class scripted final : public strategy {
public:
  using action = std::function<void(context&, journal&)>;

  explicit scripted(std::shared_ptr<journal> j) : j_(std::move(j)) {}

  action start;
  std::map<std::uint64_t, action> on_tag;

  void on_start(context& c) override {
    ++j_->starts;
    if (start)
      start(c, *j_);
  }
  void on_timer(context& c, std::uint64_t tag) override {
    j_->timers.emplace_back(c.now(), tag);
    if (auto i = on_tag.find(tag); i != on_tag.end())
      i->second(c, *j_);
  }
  void on_quote(context& c, market::symbol_id s) override {
    j_->quotes.emplace_back(s, c.market(s));
  }
  void on_trade(context&, const public_trade& t) override { j_->trades.push_back(t); }
  void on_order(context& c, const order_update& u) override {
    j_->updates.push_back(u);
    j_->cash_at_update.push_back(c.account().cash());
    j_->reserved_at_update.push_back(c.account().reserved_cash());
    j_->live_at_update.push_back(c.orders().size());
  }
  void on_signal(context&, const signal& s) override { j_->signals.push_back(s); }

private:
  std::shared_ptr<journal> j_;
};

/// Trades at random on a timer, on both symbols, at prices that are
/// multiples of 100 (so that percentage fees are exact, see the
/// conservation test): limit orders around 10'000, market orders, cancels
/// and modifies of its own orders.
class random_trader final : public strategy {
public:
  void on_start(context& c) override {
    c.subscribe_market(aaa);
    c.subscribe_market(bbb);
    next(c);
  }
  void on_timer(context& c, std::uint64_t) override {
    auto& rng = c.rng();
    auto s = static_cast<market::symbol_id>(rng.uniform_int(0, 1));
    auto qty = rng.uniform_int(1, 5);
    auto u = rng.uniform();
    auto price = [&] { return 100 * rng.uniform_int(97, 103); };
    if (u < 0.15 && !c.orders().empty()) {
      c.cancel(pick(c));
    } else if (u < 0.3 && !c.orders().empty()) {
      c.modify(pick(c), price(), qty);
    } else if (u < 0.45) {
      if (rng.bernoulli(0.5))
        c.buy_market(s, qty);
      else
        c.sell_market(s, qty);
    } else if (rng.bernoulli(0.5)) {
      c.buy_limit(s, price(), qty);
    } else {
      c.sell_limit(s, price(), qty);
    }
    next(c);
  }

private:
  static local_order_id pick(context& c) {
    auto n = static_cast<std::int64_t>(c.orders().size());
    return std::next(c.orders().begin(), c.rng().uniform_int(0, n - 1))->first;
  }
  static void next(context& c) {
    c.set_timer(static_cast<duration_ns>(1'000'000 + c.rng().uniform_int(0, 4'000'000)));
  }
};

// -- market data recorder --------------------------------------------------------------

struct tape {
  std::vector<actors::trade_print> trades;
};

actors::md_listener_actor::behavior_type tape_recorder(std::shared_ptr<tape> t) {
  return {
      [t](const actors::trade_print& x) { t->trades.push_back(x); },
      [](const actors::l1_update&) {},
      [](const actors::l2_snapshot&) {},
  };
}

// -- the fixture
// -------------------------------------------------------------------------

market::account_params cash_and_shares(market::money_t cash, market::qty_t shares = 0) {
  market::account_params p;
  p.cash = cash;
  if (shares > 0) {
    p.positions[aaa] = {shares, 10'000};
    p.positions[bbb] = {shares, 10'000};
  }
  return p;
}

struct agent {
  trader_actor handle;
  std::shared_ptr<journal> log;
};

struct fixture {
  market::symbol_table symbols; // outlives the traders that refer to it
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  actors::exchange_shard_actor shard;
  std::shared_ptr<market::shard_router> router = std::make_shared<market::shard_router>();
  actors::signal_hub_actor hub;
  std::vector<caf::actor> to_quit;

  fixture() {
    symbols.add({"AAA", 1, 1, 1'000'000});
    symbols.add({"BBB", 1, 1, 1'000'000});
    actors::add_message_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    shard = market::spawn_exchange_shard(*sys, {0, symbols, {aaa, bbb}, 64});
    router->add(shard, {aaa, bbb});
    hub = spawn_signal_hub(*sys);
    to_quit.push_back(caf::actor_cast<caf::actor>(shard));
    to_quit.push_back(caf::actor_cast<caf::actor>(hub));
    sched->run();
  }

  ~fixture() {
    for (auto& a : to_quit)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }

  std::int64_t now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               sys->clock().now().time_since_epoch())
        .count();
  }

  trader_params params(std::uint64_t index, market::account_params account) const {
    trader_params p;
    p.index = index;
    p.owner = 100 + index;
    p.seed = 2024;
    p.group = std::make_shared<const trader_group>(
        trader_group{"scripted", std::move(account), {aaa, bbb}, now_ns()});
    return p;
  }

  trader_actor spawn(trader_params p, std::unique_ptr<strategy> s) {
    auto t = spawn_trader(*sys, std::move(p), std::move(s), symbols, router, hub);
    to_quit.push_back(caf::actor_cast<caf::actor>(t));
    return t;
  }

  /// A started trader with a scripted strategy set up by `script`.
  agent scripted_agent(std::uint64_t index, market::account_params account,
                       const std::function<void(scripted&)>& script = {}) {
    auto log = std::make_shared<journal>();
    auto s = std::make_unique<scripted>(log);
    if (script)
      script(*s);
    auto t = spawn(params(index, std::move(account)), std::move(s));
    caf::anon_send(t, actors::agent_start{});
    sched->run();
    return {t, log};
  }

  /// Runs script action `tag` of an agent and everything it causes.
  void poke(const agent& a, std::uint64_t tag) {
    caf::anon_send(a.handle, actors::strategy_timer{tag});
    sched->run();
  }

  template <class Response, class Handle, class Request>
  Response ask(const Handle& h, Request x) {
    caf::scoped_actor self{*sys};
    auto handle = self->request(h, caf::infinite, std::move(x));
    sched->run();
    std::optional<Response> out;
    handle.receive([&](Response& r) { out = std::move(r); },
                   [&](caf::error& e) { FAIL(sys->render(e)); });
    REQUIRE(out.has_value());
    return std::move(*out);
  }

  actors::agent_report report(const agent& a) {
    return ask<actors::agent_report>(a.handle, actors::agent_report_request{});
  }

  actors::l2_snapshot book(market::symbol_id s) {
    return ask<actors::l2_snapshot>(shard, actors::l2_request{s, 5});
  }
};

std::vector<kind> kinds(const journal& j) {
  std::vector<kind> out;
  for (const auto& u : j.updates)
    out.push_back(u.what);
  return out;
}

market::qty_t position(const actors::agent_report& r, market::symbol_id s) {
  for (const auto& p : r.positions)
    if (p.symbol == s)
      return p.qty;
  return 0;
}

} // namespace

// -- orders ----------------------------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "a submitted order is accepted, filled and settled in the account",
                 "[trader]") {
  auto buyer = scripted_agent(1, cash_and_shares(100'000), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal& j) {
      j.ids["bid"] = c.buy_limit(aaa, 100, 10);
    };
  });
  auto seller = scripted_agent(2, cash_and_shares(0, 50), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.sell_limit(aaa, 100, 4); };
    s.on_tag[2] = [](context& c, journal&) { c.sell_limit(aaa, 90, 6); };
  });

  poke(buyer, 1);
  REQUIRE(kinds(*buyer.log) == std::vector{kind::accepted});
  CHECK(buyer.log->updates[0].id == buyer.log->ids["bid"]);
  CHECK(buyer.log->reserved_at_update[0] == 1'000);

  poke(seller, 1); // 4 of the resting bid trade, the bid is the maker
  REQUIRE(kinds(*buyer.log) == std::vector{kind::accepted, kind::filled});
  const auto& fill = buyer.log->updates[1];
  CHECK(fill.price == 100);
  CHECK(fill.qty == 4);
  CHECK(fill.leaves == 6);
  CHECK(fill.maker);
  CHECK(fill.side == side::buy);
  // The strategy already sees the settled account when it hears of the fill.
  CHECK(buyer.log->cash_at_update[1] == 100'000 - 400);
  CHECK(buyer.log->reserved_at_update[1] == 600);
  CHECK(kinds(*seller.log) == std::vector{kind::accepted, kind::filled, kind::done});
  CHECK_FALSE(seller.log->updates[1].maker);

  poke(seller, 2); // the rest, at the maker's price
  CHECK(kinds(*buyer.log) ==
        std::vector{kind::accepted, kind::filled, kind::filled, kind::done});
  CHECK(buyer.log->live_at_update.back() == 0);
  CHECK(buyer.log->reserved_at_update.back() == 0);

  auto b = report(buyer);
  CHECK(b.owner == 101);
  CHECK(b.strategy == "scripted");
  CHECK(b.cash == 100'000 - 1'000);
  CHECK(position(b, aaa) == 10);
  CHECK(b.orders_sent == 1);
  CHECK(b.fills == 2);
  CHECK(b.filled_qty == 10);
  CHECK(b.live_orders == 0);
  auto s = report(seller);
  CHECK(s.cash == 1'000);
  CHECK(position(s, aaa) == 40);
  CHECK(s.realised == 1'000 - 10 * 10'000);
}

TEST_CASE_METHOD(fixture, "a pre-trade reject sends nothing to the shard", "[trader]") {
  auto poor = scripted_agent(1, cash_and_shares(500), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal& j) {
      j.ids["bid"] = c.buy_limit(aaa, 100, 10);
    };
    s.on_tag[2] = [](context& c, journal&) { c.sell_limit(aaa, 100, 1); };
    s.on_tag[3] = [](context& c, journal&) { c.buy_limit(7, 1, 1); };
  });
  poke(poor, 1);
  REQUIRE(kinds(*poor.log) == std::vector{kind::rejected});
  CHECK(poor.log->updates[0].reject == market::reject_reason::insufficient_cash);
  CHECK(poor.log->updates[0].id == poor.log->ids["bid"]);
  CHECK(poor.log->live_at_update[0] == 0);
  poke(poor, 2); // no shares to sell
  REQUIRE(poor.log->updates.size() == 2);
  CHECK(poor.log->updates[1].reject == market::reject_reason::insufficient_position);
  poke(poor, 3); // no shard trades symbol 7
  REQUIRE(poor.log->updates.size() == 3);
  CHECK(poor.log->updates[2].reject == market::reject_reason::unknown_symbol);

  auto stats = ask<actors::shard_stats>(shard, actors::stats_request{});
  CHECK(stats.requests == 0);
  auto r = report(poor);
  CHECK(r.orders_sent == 0);
  CHECK(r.pretrade_rejects == 3);
  CHECK(r.exchange_rejects == 0);
  CHECK(r.cash == 500);
}

TEST_CASE_METHOD(fixture, "an exchange reject frees the hold and is counted apart",
                 "[trader]") {
  auto a = scripted_agent(1, cash_and_shares(100'000), [](scripted& s) {
    // A post-only buy at or through the best ask is refused by the book.
    s.on_tag[1] = [](context& c, journal&) {
      order_spec spec;
      spec.symbol = aaa;
      spec.price = 100;
      spec.qty = 1;
      spec.post_only = true;
      c.submit(spec);
    };
  });
  auto seller = scripted_agent(2, cash_and_shares(0, 5), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.sell_limit(aaa, 100, 1); };
  });
  poke(seller, 1);
  poke(a, 1);
  REQUIRE(kinds(*a.log) == std::vector{kind::rejected});
  CHECK(a.log->updates[0].reject == market::reject_reason::post_only_would_cross);
  CHECK(a.log->reserved_at_update[0] == 0);
  auto r = report(a);
  CHECK(r.exchange_rejects == 1);
  CHECK(r.pretrade_rejects == 0);
  CHECK(r.live_orders == 0);
}

TEST_CASE_METHOD(fixture, "cancel and modify address orders by their local id",
                 "[trader]") {
  auto a = scripted_agent(1, cash_and_shares(100'000), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal& j) { j.ids["a"] = c.buy_limit(aaa, 100, 10); };
    s.on_tag[2] = [](context& c, journal& j) { c.modify(j.ids["a"], 99, 5); };
    s.on_tag[3] = [](context& c, journal& j) { c.modify(j.ids["a"], 1'000, 1'000); };
    s.on_tag[4] = [](context& c, journal& j) { c.cancel(j.ids["a"]); };
    s.on_tag[5] = [](context& c, journal& j) { c.cancel(j.ids["a"]); };
  });

  poke(a, 1);
  poke(a, 2);
  REQUIRE(kinds(*a.log) == std::vector{kind::accepted, kind::modified});
  CHECK(a.log->updates[1].price == 99);
  CHECK(a.log->updates[1].qty == 5);
  CHECK(a.log->reserved_at_update[1] == 495);
  auto l2 = book(aaa);
  REQUIRE(l2.bids.size() == 1);
  CHECK(l2.bids[0].price == 99);
  CHECK(l2.bids[0].qty == 5);

  poke(a, 3); // needs 1'000'000 of 100'000: refused, the order stays
  REQUIRE(a.log->updates.size() == 3);
  CHECK(a.log->updates[2].what == kind::rejected);
  CHECK(a.log->updates[2].reject == market::reject_reason::insufficient_cash);
  CHECK(a.log->live_at_update[2] == 1);
  CHECK(a.log->reserved_at_update[2] == 495);

  poke(a, 4);
  REQUIRE(a.log->updates.size() == 4);
  CHECK(a.log->updates[3].what == kind::cancelled);
  CHECK(a.log->updates[3].qty == 5);
  CHECK(a.log->updates[3].cancel == market::cancel_reason::user);
  CHECK(a.log->reserved_at_update[3] == 0);
  CHECK(book(aaa).bids.empty());

  poke(a, 5); // no longer live
  REQUIRE(a.log->updates.size() == 5);
  CHECK(a.log->updates[4].what == kind::rejected);
  CHECK(a.log->updates[4].reject == market::reject_reason::unknown_order_id);

  auto r = report(a);
  CHECK(r.orders_sent == 1);
  CHECK(r.modifies_sent == 1);
  CHECK(r.cancels_sent == 1);
  CHECK(r.pretrade_rejects == 2);
  CHECK(r.cash == 100'000);
}

TEST_CASE_METHOD(fixture, "a cancel made before the acknowledgement is sent after it",
                 "[trader]") {
  auto a = scripted_agent(1, cash_and_shares(100'000), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) {
      auto id = c.buy_limit(aaa, 100, 10);
      c.cancel(id);
      c.cancel(id); // already under way: nothing more is sent
    };
  });
  poke(a, 1);
  CHECK(kinds(*a.log) == std::vector{kind::accepted, kind::cancelled});
  CHECK(book(aaa).bids.empty());
  auto r = report(a);
  CHECK(r.cancels_sent == 1);
  CHECK(r.live_orders == 0);
}

TEST_CASE_METHOD(fixture,
                 "a modify of another owner's order id is impossible: ids are local",
                 "[trader]") {
  auto a = scripted_agent(1, cash_and_shares(100'000), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal& j) { j.ids["a"] = c.buy_limit(aaa, 100, 1); };
  });
  auto b = scripted_agent(2, cash_and_shares(100'000), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.cancel(1); };
  });
  poke(a, 1);
  poke(b, 1); // b's local id 1 does not exist: a's order 1 is untouched
  REQUIRE(kinds(*b.log) == std::vector{kind::rejected});
  CHECK(b.log->updates[0].reject == market::reject_reason::unknown_order_id);
  CHECK(book(aaa).bids.size() == 1);
}

// -- timers, market data and signals
// ------------------------------------------------------

TEST_CASE_METHOD(fixture, "timers fire at their virtual time", "[trader]") {
  auto a = scripted_agent(1, cash_and_shares(0), [](scripted& s) {
    s.start = [](context& c, journal&) { c.set_timer(5'000'000, 1); };
    s.on_tag[1] = [](context& c, journal&) { c.set_timer(3'000'000, 2); };
  });
  CHECK(a.log->starts == 1);
  CHECK(a.log->timers.empty());
  REQUIRE(sched->trigger_timeout());
  sched->run();
  REQUIRE(a.log->timers.size() == 1);
  CHECK(a.log->timers[0] == std::pair<time_ns, std::uint64_t>{5'000'000, 1});
  REQUIRE(sched->trigger_timeout());
  sched->run();
  REQUIRE(a.log->timers.size() == 2);
  CHECK(a.log->timers[1] == std::pair<time_ns, std::uint64_t>{8'000'000, 2});
  CHECK_FALSE(sched->has_pending_timeout());

  caf::anon_send(a.handle, actors::agent_start{}); // a second start is ignored
  sched->run();
  CHECK(a.log->starts == 1);
}

TEST_CASE_METHOD(fixture, "market data reaches on_quote and on_trade", "[trader]") {
  auto watcher = scripted_agent(1, cash_and_shares(0), [](scripted& s) {
    s.start = [](context& c, journal&) {
      c.subscribe_market(aaa, true);
      c.subscribe_market(bbb); // quotes only
    };
    s.on_tag[1] = [](context& c, journal&) { c.request_quote(bbb); };
  });
  // The current (empty) quote of each subscribed symbol comes at once.
  REQUIRE(watcher.log->quotes.size() == 2);
  CHECK(watcher.log->quotes[0].first == aaa);
  CHECK_FALSE(watcher.log->quotes[0].second.has_bid());
  CHECK(watcher.log->quotes[0].second.quote_time == 0);

  auto maker = scripted_agent(2, cash_and_shares(100'000), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.buy_limit(aaa, 99, 5); };
    s.on_tag[2] = [](context& c, journal&) { c.buy_limit(bbb, 50, 1); };
  });
  auto taker = scripted_agent(3, cash_and_shares(0, 10), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.sell_market(aaa, 2); };
    s.on_tag[2] = [](context& c, journal&) { c.sell_market(bbb, 1); };
  });
  poke(maker, 1);
  REQUIRE(watcher.log->quotes.size() == 3);
  CHECK(watcher.log->quotes[2].second.quote.bid_price == 99);
  CHECK(watcher.log->quotes[2].second.quote.bid_qty == 5);

  poke(taker, 1);
  REQUIRE(watcher.log->trades.size() == 1);
  const auto& t = watcher.log->trades[0];
  CHECK(t.symbol == aaa);
  CHECK(t.price == 99);
  CHECK(t.qty == 2);
  CHECK(t.aggressor == side::sell);
  REQUIRE(watcher.log->quotes.size() == 4);
  CHECK(watcher.log->quotes[3].second.quote.bid_qty == 3);
  CHECK(watcher.log->quotes[3].second.last_price == 99);

  // BBB was subscribed without trades: quotes, but no on_trade.
  poke(maker, 2);
  poke(taker, 2);
  CHECK(watcher.log->trades.size() == 1);
  poke(watcher, 1);
  CHECK(watcher.log->quotes.back().first == bbb);
  CHECK(watcher.log->quotes.back().second.last_price == 50);
}

TEST_CASE_METHOD(fixture, "signals reach subscribers but not their publisher",
                 "[trader][signal_hub]") {
  auto listener = [](scripted& s) {
    s.start = [](context& c, journal&) { c.subscribe_signal("news"); };
    s.on_tag[1] = [](context& c, journal&) { c.publish("news", bbb, 1.5); };
  };
  auto a = scripted_agent(1, cash_and_shares(0), listener);
  auto b = scripted_agent(2, cash_and_shares(0), listener);
  auto c = scripted_agent(3, cash_and_shares(0), listener);
  auto deaf = scripted_agent(4, cash_and_shares(0), [](scripted&) {});

  poke(a, 1);
  CHECK(a.log->signals.empty());
  REQUIRE(b.log->signals.size() == 1);
  REQUIRE(c.log->signals.size() == 1);
  CHECK(b.log->signals[0].topic == "news");
  CHECK(b.log->signals[0].symbol == bbb);
  CHECK(b.log->signals[0].value == 1.5);
  CHECK(b.log->signals[0].from == 2); // agent 1: index + 1 (0 is the platform)
  CHECK(b.log->signals[0].time == 0);

  // The platform (from = 0, no sender) reaches every subscriber.
  caf::anon_send(hub, actors::signal_message{"news", aaa, 7.0, 0, now_ns()});
  sched->run();
  CHECK(a.log->signals.size() == 1);
  CHECK(b.log->signals.size() == 2);
  CHECK(c.log->signals.size() == 2);
  CHECK(deaf.log->signals.empty());

  // A dead subscriber is dropped; the others still hear.
  caf::anon_send_exit(c.handle, caf::exit_reason::user_shutdown);
  sched->run();
  poke(b, 1);
  CHECK(a.log->signals.size() == 2);
  CHECK(b.log->signals.size() == 2);
}

namespace {

actors::signal_listener_actor::behavior_type
signal_recorder(std::shared_ptr<std::vector<actors::signal_message>> got) {
  return {[got](const actors::signal_message& x) { got->push_back(x); }};
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "the hub delivers once per subscriber and forgets the unsubscribed",
                 "[signal_hub]") {
  auto got = std::make_shared<std::vector<actors::signal_message>>();
  auto listener = sys->spawn(signal_recorder, got);
  to_quit.push_back(caf::actor_cast<caf::actor>(listener));
  caf::anon_send(hub, actors::signal_subscribe{"a", 5, listener});
  caf::anon_send(hub, actors::signal_subscribe{"a", 6, listener}); // updates `from`
  caf::anon_send(hub, actors::signal_subscribe{"b", 6, listener});
  caf::anon_send(hub, actors::signal_message{"a", 0, 1.0, 5, 0});
  caf::anon_send(hub, actors::signal_message{"a", 0, 2.0, 6, 0}); // its own: skipped
  caf::anon_send(hub, actors::signal_message{"b", 0, 3.0, 0, 0});
  caf::anon_send(hub, actors::signal_message{"c", 0, 4.0, 0, 0}); // nobody listens
  sched->run();
  REQUIRE(got->size() == 2);
  CHECK((*got)[0].value == 1.0);
  CHECK((*got)[1].value == 3.0);

  caf::anon_send(hub, actors::signal_unsubscribe{listener});
  caf::anon_send(hub, actors::signal_message{"a", 0, 5.0, 0, 0});
  caf::anon_send(hub, actors::signal_message{"b", 0, 6.0, 0, 0});
  sched->run();
  CHECK(got->size() == 2);
}

// -- failure ---------------------------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "a throwing strategy is stopped and reported while others keep trading",
                 "[trader]") {
  auto bad = scripted_agent(1, cash_and_shares(100'000), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.buy_limit(aaa, 100, 10); };
    s.on_tag[2] = [](context& c, journal&) {
      c.buy_limit(aaa, 101, 1); // recorded by the failing callback: never sent
      throw std::runtime_error("boom");
    };
  });
  auto seller = scripted_agent(2, cash_and_shares(0, 50), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.sell_limit(aaa, 100, 3); };
  });
  auto buyer = scripted_agent(3, cash_and_shares(100'000), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.buy_limit(aaa, 100, 3); };
  });

  poke(bad, 1);
  poke(bad, 2);
  auto r = report(bad);
  CHECK(r.failed);
  CHECK(r.error == "boom");
  CHECK(r.orders_sent == 1);
  CHECK(r.cancels_sent == 1);
  CHECK(r.live_orders == 0);
  CHECK(r.cash == 100'000);
  CHECK(book(aaa).bids.empty());
  auto updates_when_failed = bad.log->updates.size();

  poke(bad, 1); // no more callbacks
  CHECK(report(bad).orders_sent == 1);
  CHECK(bad.log->updates.size() == updates_when_failed);
  CHECK(bad.log->timers.size() == 2);

  poke(seller, 1);
  poke(buyer, 1);
  CHECK(report(buyer).fills == 1);
  CHECK(position(report(buyer), aaa) == 3);
  CHECK_FALSE(report(seller).failed);
}

TEST_CASE_METHOD(fixture,
                 "after agent_stop the strategy is no longer called, fills still settle",
                 "[trader]") {
  auto a = scripted_agent(1, cash_and_shares(100'000), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.buy_limit(aaa, 100, 2); };
  });
  auto seller = scripted_agent(2, cash_and_shares(0, 5), [](scripted& s) {
    s.on_tag[1] = [](context& c, journal&) { c.sell_limit(aaa, 100, 2); };
  });
  poke(a, 1);
  caf::anon_send(a.handle, actors::agent_stop{});
  sched->run();
  poke(seller, 1);
  CHECK(a.log->updates.size() == 1); // the accept only
  auto r = report(a);
  CHECK(r.cash == 100'000 - 200);
  CHECK(position(r, aaa) == 2);
  CHECK(r.live_orders == 0);
  CHECK_FALSE(r.failed);
}

namespace {

/// Answers every refusal with the same refused order.
class stubborn final : public strategy {
public:
  void on_start(context& c) override { c.buy_limit(aaa, 1'000, 1'000); }
  void on_order(context& c, const order_update& u) override {
    if (u.what == order_update::kind::rejected)
      c.buy_limit(aaa, 1'000, 1'000);
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "a strategy that answers refusals with refusals forever is failed",
                 "[trader]") {
  auto t = spawn(params(1, cash_and_shares(10)), std::make_unique<stubborn>());
  caf::anon_send(t, actors::agent_start{});
  sched->run();
  auto r = ask<actors::agent_report>(t, actors::agent_report_request{});
  CHECK(r.failed);
  CHECK(r.error.find("refused requests in a row") != std::string::npos);
  CHECK(r.orders_sent == 0);
  CHECK(r.live_orders == 0);
}

// -- conservation
// ------------------------------------------------------------------------

namespace {

struct totals {
  __int128 cash = 0; ///< cash plus fees paid: a fill moves only the notional
  std::map<market::symbol_id, market::qty_t> shares;
  bool operator==(const totals&) const = default;
};

/// Adds a trader's share of the fills in `events` (a reply or report still
/// in its mailbox) to `t`; returns how many there were.
int add_fills(totals& t, market::owner_id owner,
              const std::vector<market::book_event>& events) {
  int fills = 0;
  for (const auto& ev : events) {
    if (ev.kind != market::event_kind::trade)
      continue;
    auto apply = [&](side s) {
      __int128 notional = __int128{ev.price} * ev.qty;
      t.cash += s == side::buy ? -notional : notional;
      t.shares[ev.symbol] += s == side::buy ? ev.qty : -ev.qty;
    };
    if (ev.owner == owner) {
      apply(ev.side);
      ++fills;
    }
    if (ev.maker_owner == owner) {
      apply(market::opposite(ev.side));
      ++fills;
    }
  }
  return fills;
}

/// The traders' accounts as they are now (read from their state), plus the
/// fills the shard has already made but that still wait in the traders'
/// mailboxes (order_reply and execution_report not yet processed), and how
/// many fills were in flight.
std::pair<totals, int> settled_totals(const std::vector<trader_actor>& traders) {
  totals t;
  int in_flight = 0;
  for (const auto& h : traders) {
    auto r = peek_agent_report(h);
    t.cash += __int128{r.cash} + r.fees;
    for (const auto& p : r.positions)
      t.shares[p.symbol] += p.qty;
    auto* actor =
        dynamic_cast<caf::scheduled_actor*>(caf::actor_cast<caf::abstract_actor*>(h));
    REQUIRE(actor != nullptr);
    // A blocked mailbox is empty; fetching from it would unblock it behind
    // the scheduler's back (the actor would never run again).
    auto& mailbox = actor->mailbox();
    if (mailbox.blocked() || mailbox.closed())
      continue;
    mailbox.fetch_more();
    mailbox.queue().peek_all([&](const caf::mailbox_element& e) {
      const auto& content = e.content();
      if (content.match_elements<actors::order_reply>())
        in_flight += add_fills(t, r.owner, content.get_as<actors::order_reply>(0).events);
      else if (content.match_elements<actors::execution_report>())
        in_flight +=
            add_fills(t, r.owner, content.get_as<actors::execution_report>(0).events);
    });
  }
  for (auto i = t.shares.begin(); i != t.shares.end();)
    i = i->second == 0 ? t.shares.erase(i) : std::next(i);
  return {t, in_flight};
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "cash and shares are conserved after every step of traders trading "
                 "against each other",
                 "[trader][conservation]") {
  // How the check works. Money and shares only move in fills. The shard
  // makes a trade in one step; the taker learns of it from its order_reply
  // and the maker from an execution_report, each in a later step of its own,
  // so between those steps the accounts alone do not add up. After every
  // single scheduler step the test therefore adds, to the accounts as the
  // traders hold them (peek_agent_report reads the actor's state without a
  // message), the fills still waiting in the traders' mailboxes: the totals
  // of cash + fees paid (a fill moves the notional between the two sides;
  // fees go to the collector, whose balance is exactly the fees paid) and of
  // each symbol's shares must then equal the initial ones at every step.
  // At the end, with nothing in flight, each trader's account must equal, to
  // the unit, the account a ledger computes from the shard's own trade tape
  // (an independent market-data subscriber), fees and realised PnL included.
  // Prices are multiples of 100 and fees whole percents, so fee rounding is
  // the same per order (the trader's account) and per fill (the ledger's).
  auto recorded = std::make_shared<tape>();
  auto recorder = sys->spawn(tape_recorder, recorded);
  to_quit.push_back(caf::actor_cast<caf::actor>(recorder));
  caf::anon_send(shard, actors::md_subscribe{recorder, {}, true, false, 0, 0});
  sched->run();

  auto account = cash_and_shares(10'000'000, 100);
  account.fees = {-100, 200}; // a 1% maker rebate, a 2% taker fee
  market::ledger ledger;
  std::vector<trader_actor> traders;
  for (std::uint64_t i = 1; i <= 5; ++i) {
    auto p = params(i, account);
    ledger.open(p.owner, account);
    traders.push_back(spawn(std::move(p), std::make_unique<random_trader>()));
  }
  sched->run(); // the traders initialise and register with the shard
  auto [initial, nothing] = settled_totals(traders);
  REQUIRE(nothing == 0);
  for (const auto& t : traders)
    caf::anon_send(t, actors::agent_start{});

  int steps = 0;
  int steps_with_fills_in_flight = 0;
  int timeouts = 0;
  bool stopped = false;
  for (;;) {
    if (!sched->try_run_once()) {
      if (!stopped && timeouts == 400) {
        for (const auto& t : traders)
          caf::anon_send(t, actors::agent_stop{});
        stopped = true;
        continue;
      }
      if (!sched->trigger_timeout())
        break;
      ++timeouts;
    }
    ++steps;
    auto [now, in_flight] = settled_totals(traders);
    if (in_flight > 0)
      ++steps_with_fills_in_flight;
    if (!(now == initial)) {
      INFO("step " << steps);
      FAIL("cash or shares not conserved");
    }
  }
  INFO("steps " << steps << ", steps with fills in flight "
                << steps_with_fills_in_flight);
  CHECK(steps_with_fills_in_flight > 100);
  REQUIRE(recorded->trades.size() > 50);

  for (const auto& x : recorded->trades) {
    market::book_event ev;
    ev.kind = market::event_kind::trade;
    ev.symbol = x.symbol;
    ev.side = x.aggressor;
    ev.id = x.taker;
    ev.owner = x.taker_owner;
    ev.maker = x.maker;
    ev.maker_owner = x.maker_owner;
    ev.price = x.price;
    ev.qty = x.qty;
    REQUIRE(ledger.apply(ev));
  }
  CHECK(ledger.check_conservation().empty());
  for (const auto& t : traders) {
    auto r = ask<actors::agent_report>(t, actors::agent_report_request{});
    INFO("owner " << r.owner);
    const auto* expected = ledger.find(r.owner);
    REQUIRE(expected != nullptr);
    CHECK_FALSE(r.failed);
    CHECK(r.cash == expected->cash());
    CHECK(r.fees == expected->fees_paid());
    CHECK(r.realised == expected->realised());
    CHECK(position(r, aaa) == expected->position(aaa));
    CHECK(position(r, bbb) == expected->position(bbb));
    CHECK(r.fills > 0);
  }
}

namespace {

/// The trade tape of five random traders over `timeouts` timer firings.
std::vector<actors::trade_print> random_run(std::uint64_t seed, int timeouts) {
  fixture f;
  auto recorded = std::make_shared<tape>();
  auto recorder = f.sys->spawn(tape_recorder, recorded);
  f.to_quit.push_back(caf::actor_cast<caf::actor>(recorder));
  caf::anon_send(f.shard, actors::md_subscribe{recorder, {}, true, false, 0, 0});
  for (std::uint64_t i = 1; i <= 5; ++i) {
    auto p = f.params(i, cash_and_shares(10'000'000, 100));
    p.seed = seed;
    auto t = f.spawn(std::move(p), std::make_unique<random_trader>());
    caf::anon_send(t, actors::agent_start{});
  }
  for (int n = 0; n < timeouts; ++n) {
    f.sched->run();
    if (!f.sched->trigger_timeout())
      break;
  }
  f.sched->run();
  return recorded->trades;
}

bool same_tape(const std::vector<actors::trade_print>& a,
               const std::vector<actors::trade_print>& b) {
  auto key = [](const actors::trade_print& x) {
    return std::tie(x.symbol, x.seq, x.time, x.price, x.qty, x.aggressor, x.maker,
                    x.taker, x.maker_owner, x.taker_owner);
  };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const auto& x, const auto& y) { return key(x) == key(y); });
}

} // namespace

TEST_CASE("the same scenario seed gives the same trade tape", "[trader][determinism]") {
  auto first = random_run(7, 200);
  REQUIRE(first.size() > 20);
  CHECK(same_tape(first, random_run(7, 200)));
  CHECK_FALSE(same_tape(first, random_run(8, 200)));
}
