/// The trader's latency measurement, on CAF's deterministic scheduler: a reply
/// is "delayed" by advancing the virtual clock between the trader's send, the
/// shard's answer and the trader's receipt. The round trip of each request
/// reaches the strategy through context::latency, per shard; quotes tell how
/// old they were on arrival; strategy metrics reach the agent_report.

#include "strategies/trader.hpp"

#include "actors/vocabulary.hpp"
#include "market/exchange_shard.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

using namespace marketsim;
using namespace marketsim::strategies;
using namespace std::chrono_literals;

namespace {

constexpr market::symbol_id aaa = 0; // shard 0
constexpr market::symbol_id bbb = 1; // shard 0
constexpr market::symbol_id ccc = 2; // shard 1

/// What the strategy saw: the latency of every symbol at each callback.
struct sightings {
  std::vector<std::map<market::symbol_id, std::optional<latency_estimate>>> at_update;
  std::vector<std::map<market::symbol_id, std::optional<latency_estimate>>> at_quote;
  std::vector<market_view> quotes;
};

/// Acts on timer tags (the test sends them) and records what it sees.
class probe final : public strategy {
public:
  using action = std::function<void(context&)>;
  explicit probe(std::shared_ptr<sightings> s) : s_(std::move(s)) {}
  std::map<std::uint64_t, action> on_tag;

  void on_timer(context& c, std::uint64_t tag) override {
    if (auto i = on_tag.find(tag); i != on_tag.end())
      i->second(c);
  }
  void on_order(context& c, const order_update&) override {
    s_->at_update.push_back(all(c));
  }
  void on_quote(context& c, market::symbol_id s) override {
    s_->at_quote.push_back(all(c));
    s_->quotes.push_back(c.market(s));
  }

private:
  static std::map<market::symbol_id, std::optional<latency_estimate>>
  all(const context& c) {
    return {{aaa, c.latency(aaa)}, {bbb, c.latency(bbb)}, {ccc, c.latency(ccc)}};
  }
  std::shared_ptr<sightings> s_;
};

struct fixture {
  market::symbol_table symbols;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<market::shard_router> router = std::make_shared<market::shard_router>();
  std::vector<caf::actor> to_quit;
  trader_actor trader;
  std::shared_ptr<sightings> seen = std::make_shared<sightings>();

  explicit fixture(const std::function<void(probe&)>& script) {
    symbols.add({"AAA", 1, 1, 1'000'000});
    symbols.add({"BBB", 1, 1, 1'000'000});
    symbols.add({"CCC", 1, 1, 1'000'000});
    actors::add_message_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto s0 = market::spawn_exchange_shard(*sys, {0, symbols, {aaa, bbb}, 64});
    auto s1 = market::spawn_exchange_shard(*sys, {1, symbols, {ccc}, 64});
    router->add(s0, {aaa, bbb});
    router->add(s1, {ccc});
    to_quit.push_back(caf::actor_cast<caf::actor>(s0));
    to_quit.push_back(caf::actor_cast<caf::actor>(s1));

    auto group = std::make_shared<trader_group>();
    group->strategy_name = "probe";
    group->account.cash = 1'000'000;
    group->symbols = {aaa, ccc};
    group->start_ns = now_ns();
    trader_params p;
    p.index = 0;
    p.owner = 100;
    p.seed = 7;
    p.group = std::move(group);
    auto strat = std::make_unique<probe>(seen);
    script(*strat);
    trader = spawn_trader(*sys, std::move(p), std::move(strat), symbols, router, {});
    to_quit.push_back(caf::actor_cast<caf::actor>(trader));
    caf::anon_send(trader, actors::agent_start{});
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

  bool is_trader(caf::resumable* r) const {
    return r ==
           dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(trader));
  }

  /// Runs action `tag`: the trader sends at once; `to_shard` later the shards
  /// answer; `back` after that the trader receives the answers.
  void poke(std::uint64_t tag, caf::timespan to_shard, caf::timespan back) {
    caf::anon_send(trader, actors::strategy_timer{tag});
    sched->run_jobs_filtered([&](caf::resumable* r) { return is_trader(r); });
    sched->advance_time(to_shard);
    sched->run_jobs_filtered([&](caf::resumable* r) { return !is_trader(r); });
    sched->advance_time(back);
    sched->run();
  }
};

constexpr duration_ns ms = 1'000'000;

} // namespace

TEST_CASE("the round trip of an order request is measured before the strategy hears "
          "the reply",
          "[trader][latency]") {
  fixture f{[](probe& p) { p.on_tag[1] = [](context& c) { c.buy_limit(aaa, 100, 1); }; }};
  f.poke(1, 3ms, 2ms);
  REQUIRE(f.seen->at_update.size() == 1); // accepted
  const auto& l = f.seen->at_update[0].at(aaa);
  REQUIRE(l.has_value());
  CHECK(l->last == 5 * ms);
  CHECK(l->min == 5 * ms);
  CHECK(l->ewma == Approx(5.0 * ms));
  CHECK(l->samples == 1);
  CHECK(l->one_way() == Approx(2.5 * ms));
}

TEST_CASE("symbols of one shard share its latency; another shard has none until it "
          "answers",
          "[trader][latency]") {
  fixture f{[](probe& p) {
    p.on_tag[1] = [](context& c) { c.buy_limit(aaa, 100, 1); };
    p.on_tag[2] = [](context& c) { c.request_quote(ccc); };
  }};
  f.poke(1, 1ms, 0ms);
  REQUIRE(f.seen->at_update.size() == 1);
  const auto& first = f.seen->at_update[0];
  REQUIRE(first.at(bbb).has_value());
  CHECK(first.at(bbb)->last == 1 * ms);
  CHECK_FALSE(first.at(ccc).has_value());

  f.poke(2, 4ms, 0ms); // a quote request is a probe of its shard
  REQUIRE(f.seen->at_quote.size() == 1);
  const auto& second = f.seen->at_quote[0];
  REQUIRE(second.at(ccc).has_value());
  CHECK(second.at(ccc)->last == 4 * ms);
  CHECK(second.at(aaa)->last == 1 * ms); // untouched
}

TEST_CASE("every reply adds a sample: last, smoothed mean and minimum",
          "[trader][latency]") {
  fixture f{[](probe& p) {
    p.on_tag[1] = [](context& c) { c.buy_limit(aaa, 100, 1); };
    p.on_tag[2] = [](context& c) { c.cancel_all(); };
  }};
  f.poke(1, 4ms, 0ms);
  f.poke(2, 2ms, 0ms);                    // the cancel's reply
  REQUIRE(f.seen->at_update.size() == 2); // accepted, cancelled
  const auto& l = f.seen->at_update[1].at(aaa);
  REQUIRE(l.has_value());
  CHECK(l->samples == 2);
  CHECK(l->last == 2 * ms);
  CHECK(l->min == 2 * ms);
  CHECK(l->ewma == Approx(4.0 * ms + latency_estimate::ewma_weight * (2.0 - 4.0) * ms));
}

TEST_CASE("a quote tells when the venue published it and when it arrived",
          "[trader][latency]") {
  fixture f{[](probe& p) { p.on_tag[1] = [](context& c) { c.subscribe_market(ccc); }; }};
  f.poke(1, 3ms, 2ms);
  REQUIRE(f.seen->quotes.size() == 1);
  const auto& q = f.seen->quotes[0];
  CHECK(q.quote_time == 3 * ms);         // the shard's clock when it answered
  CHECK(q.quote_arrival_time == 5 * ms); // the trader's, on receipt
  REQUIRE(f.seen->at_quote[0].at(ccc).has_value());
  CHECK(f.seen->at_quote[0].at(ccc)->last == 5 * ms);
}

TEST_CASE("the metrics a strategy records reach its agent_report", "[trader][metrics]") {
  fixture f{[](probe& p) {
    p.on_tag[1] = [](context& c) {
      c.record_metric("reaction_ns", 12.5);
      c.record_metric("opportunities", 1);
      c.record_metric("reaction_ns", 42);
    };
  }};
  f.poke(1, 0ms, 0ms);
  const auto r = peek_agent_report(f.trader);
  REQUIRE(r.metrics.size() == 2);
  CHECK(r.metrics[0].name == "reaction_ns");
  CHECK(r.metrics[0].value == 42);
  CHECK(r.metrics[1].name == "opportunities");
  CHECK(r.metrics[1].value == 1);
}
