/// The fundamental oracle in virtual time: it publishes every symbol's value
/// to the hub at each period, on the path a fundamental_process stepped by
/// the same amounts takes; the same seed gives the same publications; it
/// answers requests with the values it last published.

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "actors/runtime_ask.hpp"
#include "market/fundamental.hpp"
#include "market/fundamental_oracle.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <vector>

using namespace marketsim;
using namespace std::chrono_literals;
using actors::signal_message;

namespace {

constexpr std::int64_t ms = 1'000'000;

/// A signal hub stand-in that records what it is sent.
actors::signal_hub_actor::behavior_type
recording_hub(std::shared_ptr<std::vector<signal_message>> log) {
  return {
      [log](const signal_message& x) { log->push_back(x); },
      [](const actors::signal_subscribe&) {},
      [](const actors::signal_unsubscribe&) {},
  };
}

bool same(const signal_message& a, const signal_message& b) {
  return std::tie(a.topic, a.symbol, a.value, a.from, a.time) ==
         std::tie(b.topic, b.symbol, b.value, b.from, b.time);
}

bool same(const std::vector<signal_message>& a, const std::vector<signal_message>& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same(a[i], b[i]))
      return false;
  return true;
}

std::int64_t epoch_ns(actors::runtime::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
      .count();
}

struct oracle_run {
  actors::runtime rt;
  std::shared_ptr<std::vector<signal_message>> log =
      std::make_shared<std::vector<signal_message>>();
  actors::signal_hub_actor hub = rt.system().spawn(recording_hub, log);
  actors::fundamental_oracle_actor oracle;

  explicit oracle_run(std::uint64_t seed, std::chrono::nanoseconds period = 100ms) {
    market::fundamental_oracle_params p;
    p.process = market::three_stock_preset(seed);
    p.symbol_ids = {7, 8, 9};
    p.period = period;
    p.hub = hub;
    oracle = market::spawn_fundamental_oracle(rt.system(), p);
  }

  ~oracle_run() {
    rt.shutdown({caf::actor_cast<caf::actor>(oracle), caf::actor_cast<caf::actor>(hub)});
  }
};

} // namespace

TEST_CASE("the oracle publishes every symbol's value at each period",
          "[fundamental_oracle]") {
  oracle_run run{42};
  run.rt.run_until(1000 * ms);

  // Steps at 0, 100, ..., 1000 ms (the horizon is inclusive): 11 x 3 signals.
  REQUIRE(run.log->size() == 33);
  // The same path as the pure process stepped by 0.1 s each period.
  market::fundamental_process reference{market::three_stock_preset(42)};
  const auto start = epoch_ns(run.rt.start_time());
  for (std::size_t k = 0; k <= 10; ++k) {
    if (k > 0)
      reference.step(static_cast<double>(100 * ms) / 1e9);
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& s = (*run.log)[3 * k + i];
      INFO("step " << k << ", symbol " << i);
      CHECK(s.topic == "fundamental");
      CHECK(s.symbol == 7 + i);
      CHECK(s.from == 0);
      CHECK(s.time == start + static_cast<std::int64_t>(k) * 100 * ms);
      CHECK(s.value == reference.value(i));
    }
  }
  // The values move.
  CHECK((*run.log)[0].value != (*run.log)[30].value);

  // The next step is due after the horizon: nothing more until time passes.
  run.rt.run_until(1099 * ms);
  CHECK(run.log->size() == 33);
  run.rt.run_until(1100 * ms);
  CHECK(run.log->size() == 36);
}

TEST_CASE("the oracle's publications are deterministic for a seed",
          "[fundamental_oracle]") {
  auto publications = [](std::uint64_t seed) {
    oracle_run run{seed, 250ms};
    run.rt.run_until(60'000 * ms);
    auto log = *run.log;
    // Times relative to the start, so that runs can be compared.
    for (auto& s : log)
      s.time -= epoch_ns(run.rt.start_time());
    return log;
  };
  auto first = publications(5);
  auto second = publications(5);
  auto other = publications(6);
  REQUIRE(first.size() == 3 * 241);
  CHECK(same(first, second));
  CHECK(!same(first, other));
}

TEST_CASE("the oracle answers a request with the values it last published",
          "[fundamental_oracle]") {
  oracle_run run{42};
  run.rt.run_until(250 * ms);

  auto answers = actors::ask_all<actors::fundamental_values>(
      run.rt, std::vector<actors::fundamental_oracle_actor>{run.oracle},
      actors::fundamental_request{});
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0]);
  const auto& v = *answers[0];
  // The last step was at 200 ms; asking does not step.
  CHECK(v.time == epoch_ns(run.rt.start_time()) + 200 * ms);
  REQUIRE(v.values.size() == 3);
  REQUIRE(run.log->size() == 9);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& published = (*run.log)[6 + i];
    CHECK(v.values[i].symbol == published.symbol);
    CHECK(v.values[i].value == published.value);
    CHECK(v.values[i].price == market::to_tick_price(published.value, 1));
  }
  CHECK(run.rt.now() == 250 * ms);
}

TEST_CASE("an oracle without a hub still answers requests", "[fundamental_oracle]") {
  actors::runtime rt;
  market::fundamental_oracle_params p;
  p.process = market::three_stock_preset(1);
  auto oracle = market::spawn_fundamental_oracle(rt.system(), p);
  rt.run_until(3000 * ms);
  auto answers = actors::ask_all<actors::fundamental_values>(
      rt, std::vector<actors::fundamental_oracle_actor>{oracle},
      actors::fundamental_request{});
  REQUIRE(answers[0]);
  REQUIRE(answers[0]->values.size() == 3);
  // Default ids are the symbol indices; default period one second.
  CHECK(answers[0]->values[2].symbol == 2);
  CHECK(answers[0]->time == epoch_ns(rt.start_time()) + 3000 * ms);
  CHECK(rt.shutdown({caf::actor_cast<caf::actor>(oracle)}));
}

TEST_CASE("bad oracle params are rejected at spawn", "[fundamental_oracle]") {
  actors::runtime rt;
  market::fundamental_oracle_params p;
  p.process = market::three_stock_preset(1);

  auto zero_period = p;
  zero_period.period = 0ns;
  CHECK_THROWS_AS(market::spawn_fundamental_oracle(rt.system(), zero_period),
                  std::invalid_argument);

  auto zero_unit = p;
  zero_unit.time_unit = 0ns;
  CHECK_THROWS_AS(market::spawn_fundamental_oracle(rt.system(), zero_unit),
                  std::invalid_argument);

  auto wrong_ids = p;
  wrong_ids.symbol_ids = {1, 2};
  CHECK_THROWS_AS(market::spawn_fundamental_oracle(rt.system(), wrong_ids),
                  std::invalid_argument);

  auto bad_process = p;
  bad_process.process.symbols[0].mean = -1;
  CHECK_THROWS_AS(market::spawn_fundamental_oracle(rt.system(), bad_process),
                  std::invalid_argument);
}
