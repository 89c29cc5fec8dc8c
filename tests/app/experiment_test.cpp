/// `marketsim experiment`: each experiment runs its base scenario from
/// configs/experiments/ (the test runs in the source root) and its tables
/// show the effect it is about. One seed and shorter runs than the defaults;
/// the runs are deterministic, so each expectation holds or fails for good.

#include "app/experiment.hpp"
#include "strategies/registry.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace marketsim::app;
using namespace std::chrono_literals;

namespace {

/// "42.5%" or "3.25" -> the number; "-" fails the test.
double value(const std::string& cell) {
  INFO("cell: '" << cell << "'");
  REQUIRE(cell != "-");
  return std::stod(cell);
}

struct fixture {
  marketsim::strategies::strategy_registry registry =
      marketsim::strategies::builtin_strategies();
  std::string out_dir = (std::filesystem::temp_directory_path() /
                         ("marketsim_experiment_test_" + std::to_string(::getpid())))
                            .string();
  std::ostringstream out;

  ~fixture() {
    std::error_code ec;
    std::filesystem::remove_all(out_dir, ec);
  }

  std::vector<experiment_table> run(const std::string& name,
                                    std::chrono::nanoseconds duration) {
    experiment_options o;
    o.seeds = 1;
    o.duration = duration;
    o.out_dir = out_dir;
    auto tables = run_experiment(name, o, registry, out);
    REQUIRE(tables.size() == 1);
    REQUIRE(std::filesystem::exists(out_dir + "/" + name + ".md"));
    return tables;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "latency arbitrage: the nearer arbitrageur wins more of the edge",
                 "[experiment]") {
  const auto t = run("latency-arbitrage", 10s).front();
  REQUIRE(t.rows.size() == 5);
  const auto nearest = t.row_of("arb_3ms");
  const auto farthest = t.row_of("arb_20ms");
  CHECK(value(t.cell(nearest, "to new_york (ms)")) == Approx(3.0));
  CHECK(value(t.cell(farthest, "to chicago (ms)")) == Approx(20.0));
  // Competing, the nearest takes the largest share of the fills and fills
  // more of its legs than the farthest.
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    if (r != nearest)
      CHECK(value(t.cell(nearest, "share of fills")) > value(t.cell(r, "share of fills")));
  CHECK(value(t.cell(nearest, "fill rate")) > value(t.cell(farthest, "fill rate")));
  CHECK(value(t.cell(nearest, "edge captured")) > value(t.cell(farthest, "edge captured")));
  // Alone, distance still costs fills (quotes are older when they arrive).
  CHECK(value(t.cell(nearest, "alone: fill rate")) >
        value(t.cell(farthest, "alone: fill rate")));
}

TEST_CASE_METHOD(fixture,
                 "information propagation: each site sees the shock one path latency "
                 "after it",
                 "[experiment]") {
  const auto t = run("information-propagation", 6s).front();
  REQUIRE(t.rows.size() == 12);
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    INFO("site " << t.rows[r].front());
    CHECK(t.cell(r, "reacted") == "1/1");
    const double path = value(t.cell(r, "path latency (ms)"));
    const double seen = value(t.cell(r, "seen after shock (ms)"));
    CHECK(seen >= path);
    CHECK(seen < path + 1.0); // serialization and the burst's queueing only
  }
  CHECK(value(t.cell(t.row_of("asia_0"), "path latency (ms)")) == Approx(150.0));
  CHECK(value(t.cell(t.row_of("us_west_1"), "path latency (ms)")) == Approx(81.0));
}

TEST_CASE_METHOD(fixture, "disruption: congestion and failures show in the market",
                 "[experiment]") {
  const auto t = run("disruption", 25s).front();
  REQUIRE(t.rows.size() == 4);
  const std::size_t none = 0, congestion = 1, failure = 2, partition = 3;
  CHECK(t.rows[none].front() == "none");
  CHECK(value(t.cell(none, "lost or unroutable msgs")) == 0);
  CHECK(value(t.cell(congestion, "lost or unroutable msgs")) == 0);
  CHECK(value(t.cell(failure, "lost or unroutable msgs")) > 0);
  CHECK(value(t.cell(partition, "lost or unroutable msgs")) > 0);
  // Slower or cut-off market makers: wider spreads in the window, and fewer
  // fills for them there.
  CHECK(value(t.cell(congestion, "spread in window")) >
        value(t.cell(none, "spread in window")));
  CHECK(value(t.cell(failure, "maker fills in window")) <
        value(t.cell(none, "maker fills in window")));
}

TEST_CASE_METHOD(fixture, "venue choice: the modes route differently", "[experiment]") {
  const auto t = run("venue-choice", 10s).front();
  REQUIRE(t.rows.size() == 6); // market and IOC limit orders, three modes each
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    INFO(t.rows[r][0] << " " << t.rows[r][1]);
    CHECK(value(t.cell(r, "parents")) > 0);
    if (t.cell(r, "mode") == "nearest") {
      CHECK(t.cell(r, "to ACME_NY") == "100.0%");
    } else {
      CHECK(value(t.cell(r, "to ACME_LN")) > 0);
      CHECK(value(t.cell(r, "to ACME_NY")) > 0);
    }
  }
}

TEST_CASE_METHOD(fixture, "experiments refuse what they cannot run", "[experiment]") {
  experiment_options o;
  o.out_dir = out_dir;
  CHECK_THROWS_WITH(run_experiment("no-such", o, registry, out),
                    Catch::Contains("unknown experiment 'no-such'") &&
                        Catch::Contains("latency-arbitrage"));
  o.seeds = 0;
  CHECK_THROWS_WITH(run_experiment("disruption", o, registry, out),
                    Catch::Contains("--seeds"));
  o.seeds = 1;
  o.duration = 3s; // the shock is at 5 s
  CHECK_THROWS_WITH(run_experiment("information-propagation", o, registry, out),
                    Catch::Contains("the shock at 5s is not before the end"));
  o.duration = std::nullopt;
  o.config = "configs/default.yaml"; // no network section
  CHECK_THROWS_WITH(run_experiment("venue-choice", o, registry, out),
                    Catch::Contains("needs at least 1 agent group(s) running 'venue_router'"));
  CHECK_THROWS_WITH(run_experiment("disruption", o, registry, out),
                    Catch::Contains("needs a network: section"));
}
