/// The consensus scenario loader: defaults, every section, and errors that
/// name the file and line of the offending value; a short run of a lying
/// price leader (caught, refused, still safe).

#include "app/consensus_scenario.hpp"
#include "app/scenario.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace marketsim::app;

namespace {

/// The error message of loading `text` as "t.yaml" (empty: it loaded).
std::string error_of(const std::string& text) {
  try {
    parse_consensus_scenario(text, "t.yaml");
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("consensus scenario: defaults and every section", "[consensus_scenario]") {
  auto sc = parse_consensus_scenario("consensus:\n  validators: 4\n", "t.yaml");
  CHECK(sc.validators == 4);
  CHECK(sc.byzantine.empty());
  CHECK(sc.epoch_ns == 1'000'000'000);
  CHECK_FALSE(sc.prices);

  sc = parse_consensus_scenario(R"(consensus:
  validators: 7
  f: 2
  byzantine:
    - {validator: 3, behaviour: silent}
    - {validator: 5, behaviour: crash, crash_at: 4s}
  epoch: 500ms
  duration: 10s
  seed: 9
  leader: hash
  transactions_per_epoch: 0
  prices:
    symbol: MSFT
    start_price: 30000
    sources: 4
    faulty_sources:
      - {source: 2, fault: stale}
    max_move_bps: 500
    min_sources: 2
    band_bps: 300
)",
                                "t.yaml");
  CHECK(sc.validators == 7);
  REQUIRE(sc.byzantine.size() == 2);
  CHECK(sc.byzantine[1].behaviour == "crash");
  CHECK(sc.byzantine[1].crash_at_ns == 4'000'000'000);
  CHECK(sc.epoch_ns == 500'000'000);
  CHECK(sc.duration_ns == 10'000'000'000);
  CHECK(sc.seed == 9);
  CHECK(sc.hash_leader);
  CHECK(sc.transactions_per_epoch == 0);
  REQUIRE(sc.prices);
  CHECK(sc.prices->symbol == "MSFT");
  CHECK(sc.prices->start_price == 30000);
  CHECK(sc.prices->faulty.size() == 1);
  CHECK(sc.prices->min_sources == 2);
  CHECK(sc.prices->band_bps == 300);
}

TEST_CASE("consensus scenario: errors name the file and line", "[consensus_scenario]") {
  // {scenario text, the start of its error}
  const std::vector<std::pair<std::string, std::string>> cases{
      {"consensus:\n  validators: 4\n  colour: red\n",
       "t.yaml:3: unknown key 'colour' in consensus"},
      {"consensus:\n  epoch: 1s\n", "t.yaml:2: missing key 'validators' in consensus"},
      {"consensus:\n  validators: four\n",
       "t.yaml:2: 'validators' must be an integer, got 'four'"},
      {"consensus:\n  validators: 4\n  byzantine:\n    - {validator: 1, behaviour: sneaky}\n",
       "t.yaml:4: unknown behaviour 'sneaky'"},
      {"consensus:\n  validators: 4\n  byzantine:\n    - {validator: 4, behaviour: silent}\n",
       "t.yaml:4: 'validator' must be in [0, 3], got 4"},
      {"consensus:\n  validators: 4\n  f: 1\n",
       "t.yaml:3: 'f' is 1 but 0 byzantine validator(s) are listed"},
      {"consensus:\n  validators: 4\n  byzantine:\n    - {validator: 1, behaviour: "
       "shift_price}\n",
       "t.yaml:4: shift_price needs a 'prices:' section"},
      {"consensus:\n  validators: 4\n  prices:\n    sources: 2\n    min_sources: 3\n",
       "t.yaml:5: 'min_sources' (3) exceeds 'sources' (2)"},
      {"consensus:\n  validators: 4\n  prices:\n    faulty_sources:\n      - {source: 1, "
       "fault: lazy}\n",
       "t.yaml:5: unknown fault 'lazy'"},
      {"consensus:\n  validators: 1\n  byzantine:\n    - {validator: 0, behaviour: silent}\n",
       "t.yaml:4: at least one validator must be honest"},
      {"consensus:\n  validators: 4\n  duration: 1s\n  epoch: 2s\n",
       "t.yaml:3: 'duration' is shorter than one epoch"},
      {"consensus: [\n", "t.yaml:"},
      {"market: {}\n", "t.yaml:1: a consensus scenario needs a top-level 'consensus:' map"},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    auto error = error_of(text);
    CHECK(error.rfind(expected, 0) == 0);
    CHECK(error.find('\n') == std::string::npos);
  }
}

TEST_CASE("consensus run: a leader shifting its price is caught and the run is safe",
          "[consensus_scenario]") {
  auto sc = parse_consensus_scenario(R"(consensus:
  validators: 4
  byzantine:
    - {validator: 2, behaviour: shift_price, shift_bps: 400}
  duration: 12s
  prices: {sources: 5}
)",
                                     "t.yaml");
  std::ostringstream out;
  CHECK(run_consensus(sc, out) == 0);
  auto text = out.str();
  INFO(text);
  CHECK(text.find("validator v2 (shift_price): invalid_proposal") != std::string::npos);
  CHECK(text.find("safety: ok") != std::string::npos);
}
