#include "app/report.hpp"
#include "app/run.hpp"
#include "app/scenario.hpp"
#include "strategies/registry.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

using namespace marketsim::app;
using namespace std::chrono_literals;

namespace {

/// A small market with every built-in strategy and fundamentals: two symbols
/// on two shards, so that the tape interleaves independent shards too.
const std::string scenario_yaml = R"(seed: 11
duration: 2s
output: {l1_sample: 100ms}
symbols:
  - {name: AAA, tick_size: 1, lot_size: 1, reference_price: 10000}
  - {name: BBB, tick_size: 5, lot_size: 10, reference_price: 4500}
shards:
  - symbols: [AAA]
  - symbols: [BBB]
fundamentals:
  period: 250ms
  symbols:
    - {symbol: AAA, mean: 10000, kappa: 0.05, sigma: 20}
    - {symbol: BBB, mean: 4500, kappa: 0.05, sigma: 10}
  correlation: [[1, 0.3], [0.3, 1]]
agents:
  - count: 10
    strategy: zero_intelligence
    symbols: [AAA]
    params: {interval: 20ms, jitter: 10ms}
    account: &acc {cash: 100000000, positions: {AAA: 1000, BBB: 5000}}
  - count: 10
    strategy: zero_intelligence
    symbols: [BBB]
    params: {interval: 20ms, jitter: 10ms}
    account: *acc
  - {count: 2, strategy: market_maker, params: {quote_size: 2, max_inventory: 40},
     account: *acc}
  - {count: 5, strategy: noise, params: {mean_interval: 100ms}, account: *acc}
  - {count: 3, strategy: value, params: {mean_interval: 100ms}, account: *acc}
  - {count: 2, strategy: momentum, params: {interval: 50ms, fast_window: 3,
     slow_window: 8}, account: *acc}
  - {count: 2, strategy: mean_reversion, params: {interval: 50ms, window: 10},
     account: *acc}
)";

const auto registry = marketsim::strategies::builtin_strategies();

scenario make_scenario(std::uint64_t seed) {
  auto sc = parse_scenario(scenario_yaml, "determinism.yaml", registry);
  sc.seed = seed;
  return sc;
}

std::string agents_csv(const run_result& r) {
  std::ostringstream out;
  write_agents_csv(out, r);
  return out.str();
}

} // namespace

TEST_CASE("The same scenario and seed give the same tape in virtual time",
          "[determinism][integration]") {
  auto first = run_scenario(make_scenario(11), registry);
  auto second = run_scenario(make_scenario(11), registry);
  REQUIRE_FALSE(first.tape.empty());
  CHECK(first.clock == clock_mode::virtual_time);
  CHECK(first.sim_time == 2s);
  CHECK(first.agents.size() == 34);
  CHECK(first.tape.size() == second.tape.size());
  CHECK(tape_hash(first) == tape_hash(second));
  // Not only the tape: every agent ends in the same state, and the L1
  // samples (2 symbols, every 100 ms for 2 s) are the same.
  CHECK(agents_csv(first) == agents_csv(second));
  REQUIRE(first.l1.size() == 40);
  CHECK(first.l1.size() == second.l1.size());
  for (std::size_t i = 0; i < first.l1.size(); ++i) {
    CHECK(first.l1[i].time_ns == second.l1[i].time_ns);
    CHECK(first.l1[i].bid == second.l1[i].bid);
    CHECK(first.l1[i].ask_qty == second.l1[i].ask_qty);
  }
  CHECK(first.l1.back().time_ns == 2'000'000'000);
  CHECK(first.events == second.events);
}

TEST_CASE("A different seed gives a different tape", "[determinism][integration]") {
  auto a = run_scenario(make_scenario(11), registry);
  auto b = run_scenario(make_scenario(12), registry);
  REQUIRE_FALSE(a.tape.empty());
  REQUIRE_FALSE(b.tape.empty());
  CHECK(tape_hash(a) != tape_hash(b));
}

TEST_CASE("A run's results add up", "[determinism][integration]") {
  auto r = run_scenario(make_scenario(11), registry);
  // Every trade on the tape is in the shards' counts.
  std::uint64_t trades = 0;
  for (const auto& s : r.symbols)
    trades += s.trades;
  CHECK(trades == r.tape.size());
  // Fills: each trade fills one maker and one taker order.
  std::uint64_t fills = 0;
  std::int64_t pnl = 0, fees = 0;
  for (const auto& a : r.agents) {
    fills += a.fills;
    pnl += a.pnl;
    fees += a.fees;
    CHECK_FALSE(a.failed);
    CHECK(a.owner == a.index + 1);
  }
  CHECK(fills == 2 * r.tape.size());
  // Money is conserved: what the agents gained over their starting equity
  // (at the reference prices) is what their starting positions gained by
  // the marks, less the fees they paid.
  std::int64_t revaluation = 0;
  for (std::size_t s = 0; s < r.symbols.size(); ++s) {
    const std::int64_t start_qty = s == 0 ? 1000 : 5000;
    const std::int64_t reference = s == 0 ? 10000 : 4500;
    revaluation += static_cast<std::int64_t>(r.agents.size()) * start_qty *
                   (r.symbols[s].mark - reference);
  }
  CHECK(pnl == revaluation - fees);
  // The tape is in time order, numbered from 1.
  for (std::size_t i = 0; i < r.tape.size(); ++i) {
    CHECK(r.tape[i].seq == i + 1);
    if (i > 0)
      CHECK(r.tape[i - 1].time_ns <= r.tape[i].time_ns);
  }
}
