/// Whole runs with a `network:` section, in-process, in virtual time: every
/// message of the market crosses the network and is accounted for, the
/// results still add up, the same seed gives the same run, latency shows in
/// the per-link statistics, and a cut link's traffic is counted unroutable.

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

/// One exchange site; traders near it (1 ms), far from it (20 ms), and two
/// market makers at the exchange itself.
const std::string scenario_yaml = R"(seed: 5
duration: 2s
output: {l1_sample: 100ms}
symbols:
  - {name: AAA, tick_size: 1, lot_size: 1, reference_price: 10000}
shards:
  - {symbols: [AAA], site: exchange}
fundamentals:
  period: 250ms
  symbols:
    - {symbol: AAA, mean: 10000, kappa: 0.05, sigma: 20}
agents:
  - count: 10
    strategy: zero_intelligence
    params: {interval: 20ms, jitter: 10ms}
    account: &acc {cash: 100000000, positions: {AAA: 1000}}
    site: near
  - {count: 2, strategy: market_maker, params: {quote_size: 2, max_inventory: 40},
     account: *acc, site: exchange}
  - {count: 5, strategy: noise, params: {mean_interval: 100ms}, account: *acc, site: far}
  - {count: 3, strategy: value, params: {mean_interval: 100ms}, account: *acc, site: far}
network:
  topology: custom
  sites: [exchange, near, far]
  links:
    - {link: exchange-near, latency: 1ms}
    - {link: exchange-far, latency: 20ms}
  placement: {default: exchange, hub: exchange, oracle: exchange}
)";

const auto registry = marketsim::strategies::builtin_strategies();

scenario make_scenario(const std::string& extra = "") {
  return parse_scenario(scenario_yaml + extra, "network_run.yaml", registry);
}

std::string agents_csv(const run_result& r) {
  std::ostringstream out;
  write_agents_csv(out, r);
  return out.str();
}

const network_link_result* link_of(const run_result& r, const std::string& from,
                                   const std::string& to) {
  for (const auto& l : r.network->links)
    if (l.from == from && l.to == to)
      return &l;
  return nullptr;
}

} // namespace

TEST_CASE("A run with a network accounts for every message and its results add up",
          "[network][integration]") {
  auto r = run_scenario(make_scenario(), registry);
  REQUIRE(r.network.has_value());
  const auto& n = *r.network;
  REQUIRE_FALSE(r.tape.empty());
  CHECK(n.sites == 3);
  CHECK(n.settled);
  // Nothing lost, nothing unroutable, nothing from outside the network.
  CHECK(n.sent() > 0);
  CHECK(n.delivered() == n.sent());
  CHECK(n.dropped() == 0);
  CHECK(n.unroutable() == 0);
  CHECK(n.unserializable == 0);
  CHECK(n.unplaced_senders == 0);
  CHECK(n.anonymous == 0);
  CHECK(n.refused_requests == 0);
  CHECK(n.forwarded == n.sent());

  // The far site's traffic takes 20 ms a way; the near site's 1 ms.
  const auto* far_out = link_of(r, "far", "exchange");
  const auto* near_out = link_of(r, "near", "exchange");
  REQUIRE(far_out != nullptr);
  REQUIRE(near_out != nullptr);
  CHECK(far_out->messages > 0);
  CHECK(far_out->latency_min_ns >= 20'000'000);
  CHECK(near_out->latency_min_ns >= 1'000'000);
  CHECK(near_out->latency_max_ns < 20'000'000);

  // The accounts settled: each trade filled one maker and one taker order,
  // and money is conserved (see determinism_test).
  std::uint64_t trades = 0;
  for (const auto& s : r.symbols)
    trades += s.trades;
  CHECK(trades == r.tape.size());
  std::uint64_t fills = 0;
  std::int64_t pnl = 0, fees = 0;
  for (const auto& a : r.agents) {
    fills += a.fills;
    pnl += a.pnl;
    fees += a.fees;
    CHECK_FALSE(a.failed);
  }
  CHECK(fills == 2 * r.tape.size());
  const std::int64_t revaluation =
      static_cast<std::int64_t>(r.agents.size()) * 1000 * (r.symbols[0].mark - 10000);
  CHECK(pnl == revaluation - fees);

  // The summary and the CSV files carry the network.
  auto json = summary_json(r);
  CHECK(json.find("\"network\": {\"sites\": 3") != std::string::npos);
  std::ostringstream links;
  write_network_links_csv(links, r);
  CHECK(links.str().find("far,exchange,") != std::string::npos);
}

TEST_CASE("A run with a network is deterministic", "[network][integration]") {
  auto first = run_scenario(make_scenario(), registry);
  auto second = run_scenario(make_scenario(), registry);
  REQUIRE_FALSE(first.tape.empty());
  CHECK(tape_hash(first) == tape_hash(second));
  CHECK(agents_csv(first) == agents_csv(second));
  CHECK(first.events == second.events);
  REQUIRE(first.network.has_value());
  REQUIRE(second.network.has_value());
  CHECK(first.network->sent() == second.network->sent());
  CHECK(first.network->settle_time == second.network->settle_time);
}

TEST_CASE("A cut link's messages are counted unroutable, and the run still ends",
          "[network][integration]") {
  auto r = run_scenario(make_scenario(R"(  disruptions:
    - {type: link_failure, links: [exchange-far], start: 500ms, duration: 500ms}
)"),
                        registry);
  REQUIRE(r.network.has_value());
  const auto& n = *r.network;
  CHECK(n.events == 2);
  CHECK(n.settled);
  std::uint64_t far_unroutable = 0;
  for (const auto& p : n.routes) {
    if (p.from == "far" || p.to == "far")
      far_unroutable += p.unroutable;
    else
      CHECK(p.unroutable == 0);
    CHECK(p.delivered + p.dropped + p.unroutable == p.sent);
  }
  CHECK(far_unroutable > 0);
  CHECK(n.unroutable() == far_unroutable);
}

TEST_CASE("A real-time run with a network on two threads ends with nothing in flight",
          "[network][integration][real_time]") {
  auto sc = make_scenario();
  sc.clock = clock_mode::real_time;
  sc.scheduler.threads = 2;
  sc.duration = 500ms;
  auto r = run_scenario(sc, registry);
  REQUIRE(r.network.has_value());
  const auto& n = *r.network;
  CHECK(n.settled);
  CHECK(n.sent() > 0);
  CHECK(n.delivered() == n.sent());
  // Every trader was placed before it handed out a handle (it starts on its
  // first message); only the oracle's very first publication may race its
  // placement (see run.cpp).
  CHECK(n.unplaced_senders <= 1);
  CHECK(n.anonymous == 0);
  std::uint64_t fills = 0;
  for (const auto& a : r.agents)
    fills += a.fills;
  CHECK(fills == 2 * r.tape.size());
}
