#include "app/scenario.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

using namespace marketsim::app;
using namespace std::chrono_literals;

namespace {

/// A scenario file in a fresh temporary folder, removed at the end.
class temp_file {
public:
  temp_file(const std::string& name, const std::string& text) {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("marketsim_scenario_test_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / name).string();
    std::ofstream out{path_};
    out << text;
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  const std::string& path() const { return path_; }

private:
  std::filesystem::path dir_;
  std::string path_;
};

const std::string good_yaml = R"(name: two_shards
seed: 7
duration: 500ms
output: out/here
scheduler:
  threads: 2
  policy: sharing
symbols:
  - name: ACME
    tick_size: 5
    lot_size: 10
    reference_price: 10000
  - name: INIT
    tick_size: 1
    lot_size: 1
    reference_price: 2500
    max_order_qty: 500
shards:
  - symbols: [ACME]
  - symbols: [INIT]
traders:
  - count: 40
    strategy: zero_intelligence
    interval: 20ms
    jitter: 5ms
    price_band: 8
    market_order_share: 0.1
    cancel_share: 0.25
    max_quantity: 3
  - count: 2
    strategy: zero_intelligence
    symbols: [INIT]
    interval: 1s
    price_band: 0
    market_order_share: 0
    cancel_share: 1
    max_quantity: 1
    max_resting: 4
)";

/// The message of the scenario_error that loading `text` from a file named
/// `name` throws ("" if none is thrown), with the temporary folder removed
/// so that it reads `name:line: ...`.
std::string error_of(const std::string& text, const std::string& name = "bad.yaml") {
  temp_file file{name, text};
  try {
    load_scenario(file.path());
  } catch (const scenario_error& e) {
    std::string msg = e.what();
    auto dir = std::filesystem::path{file.path()}.parent_path().string() + "/";
    if (msg.rfind(dir, 0) == 0)
      msg.erase(0, dir.size());
    return msg;
  }
  return "";
}

/// good_yaml with the first occurrence of `from` replaced by `to`.
std::string good_with(const std::string& from, const std::string& to) {
  auto text = good_yaml;
  auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  text.replace(pos, from.size(), to);
  return text;
}

} // namespace

TEST_CASE("A good scenario parses to the expected parameters", "[scenario]") {
  temp_file file{"two_shards.yaml", good_yaml};
  auto sc = load_scenario(file.path());
  CHECK(sc.name == "two_shards");
  CHECK(sc.seed == 7);
  CHECK(sc.duration == 500ms);
  CHECK(sc.output == "out/here");
  CHECK(sc.scheduler == scheduler_config{2, scheduler_policy::sharing});
  REQUIRE(sc.symbols.size() == 2);
  CHECK(sc.symbols[0] == symbol_config{"ACME", 5, 10, 10000, 1'000'000'000});
  CHECK(sc.symbols[1] == symbol_config{"INIT", 1, 1, 2500, 500});
  REQUIRE(sc.shards.size() == 2);
  CHECK(sc.shards[0].symbols == std::vector<std::string>{"ACME"});
  CHECK(sc.shards[1].symbols == std::vector<std::string>{"INIT"});
  REQUIRE(sc.traders.size() == 2);
  const auto& g = sc.traders[0];
  CHECK(g.count == 40);
  CHECK(g.strategy == strategy_kind::zero_intelligence);
  CHECK(g.symbols == std::vector<std::string>{"ACME", "INIT"}); // default: all
  CHECK(g.interval == 20ms);
  CHECK(g.jitter == 5ms);
  CHECK(g.price_band_ticks == 8);
  CHECK(g.market_order_share == Approx(0.1));
  CHECK(g.cancel_share == Approx(0.25));
  CHECK(g.max_quantity_lots == 3);
  CHECK(g.max_resting == 10); // default
  const auto& h = sc.traders[1];
  CHECK(h.symbols == std::vector<std::string>{"INIT"});
  CHECK(h.jitter == 500ms); // default: half the interval
  CHECK(h.max_resting == 4);
  CHECK(sc.trader_count() == 42);
  CHECK(sc.symbol_index("INIT") == 1);
}

TEST_CASE("Optional keys take their defaults", "[scenario]") {
  temp_file file{"minimal.yaml", R"(seed: 1
duration: 2s
symbols:
  - {name: X, tick_size: 1, lot_size: 1, reference_price: 100}
shards:
  - symbols: [X]
traders:
  - {count: 1, strategy: zero_intelligence, interval: 1ms, price_band: 3,
     market_order_share: 0, cancel_share: 0, max_quantity: 1}
)"};
  auto sc = load_scenario(file.path());
  CHECK(sc.name == "minimal"); // the file's stem
  CHECK(sc.output == "runs/minimal");
  CHECK(sc.scheduler == scheduler_config{0, scheduler_policy::stealing});
  CHECK(sc.duration == 2s);
}

TEST_CASE("Durations take a unit", "[scenario]") {
  CHECK(parse_duration("5s") == 5s);
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("250us") == 250us);
  CHECK(parse_duration("100ns") == 100ns);
  CHECK(parse_duration("2m") == 2min);
  CHECK_THROWS_AS(parse_duration("5"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration("5h"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration("-5s"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration("ms"), std::invalid_argument);
}

TEST_CASE("A file that cannot be opened names the file", "[scenario]") {
  try {
    load_scenario("/nonexistent/marketsim/none.yaml");
    FAIL("no error");
  } catch (const scenario_error& e) {
    CHECK(std::string{e.what()}.rfind("/nonexistent/marketsim/none.yaml: cannot open",
                                      0) == 0);
  }
}

TEST_CASE("Malformed YAML gives file and line", "[scenario]") {
  auto msg = error_of("seed: 1\nduration: 1s\nsymbols: [a, b\nshards: x\n");
  CHECK(msg.rfind("bad.yaml:4: malformed YAML: ", 0) == 0);
}

TEST_CASE("An empty file or a non-map document is an error", "[scenario]") {
  CHECK(error_of("").rfind("bad.yaml:1: a scenario must be a map", 0) == 0);
  CHECK(error_of("- 1\n- 2\n").rfind("bad.yaml:1: a scenario must be a map", 0) == 0);
}

TEST_CASE("Unknown keys are rejected with their line", "[scenario]") {
  CHECK(error_of(good_with("seed: 7", "seed: 7\nsede: 8"))
            .rfind("bad.yaml:3: unknown key 'sede' in the scenario", 0) == 0);
  CHECK(error_of(good_with("    lot_size: 10", "    lot_size: 10\n    lots: 1"))
            .rfind("bad.yaml:12: unknown key 'lots' in a symbol", 0) == 0);
  CHECK(error_of(good_with("    max_quantity: 3", "    max_quantity: 3\n    greed: 1"))
            .rfind("bad.yaml:30: unknown key 'greed' in a trader group", 0) == 0);
  CHECK(error_of(good_with("  policy: sharing", "  policy: sharing\n  pinning: yes"))
            .rfind("bad.yaml:8: unknown key 'pinning' in scheduler", 0) == 0);
}

TEST_CASE("Missing required keys name the key and the map's line", "[scenario]") {
  CHECK(error_of(good_with("seed: 7\n", "")) ==
        "bad.yaml:1: missing key 'seed' in the scenario");
  CHECK(error_of(good_with("    reference_price: 2500\n", "")) ==
        "bad.yaml:13: missing key 'reference_price' in a symbol");
}

TEST_CASE("Wrong types are reported at the value", "[scenario]") {
  CHECK(error_of(good_with("seed: 7", "seed: seven")) ==
        "bad.yaml:2: 'seed' must be an integer, got 'seven'");
  CHECK(error_of(good_with("  - count: 40", "  - count: 4.5")) ==
        "bad.yaml:22: 'count' must be an integer, got '4.5'");
  CHECK(error_of(good_with("market_order_share: 0.1", "market_order_share: lots")) ==
        "bad.yaml:27: 'market_order_share' must be a number, got 'lots'");
  CHECK(error_of(good_with("duration: 500ms", "duration: 500"))
            .rfind("bad.yaml:3: 'duration': expected a duration unit", 0) == 0);
  CHECK(error_of(good_with("  - symbols: [ACME]", "  - symbols: ACME")) ==
        "bad.yaml:19: 'symbols' must be a list of symbol names");
  CHECK(error_of(good_with("scheduler:\n  threads: 2\n  policy: sharing",
                           "scheduler: 2")) == "bad.yaml:5: scheduler must be a map");
  CHECK(error_of(good_with("  policy: sharing", "  policy: fair")) ==
        "bad.yaml:7: 'policy' must be stealing or sharing, got 'fair'");
}

TEST_CASE("Negative or zero counts and sizes are rejected", "[scenario]") {
  CHECK(error_of(good_with("  - count: 40", "  - count: -3")) ==
        "bad.yaml:22: 'count' must be positive, got -3");
  CHECK(error_of(good_with("  - count: 40", "  - count: 0")) ==
        "bad.yaml:22: 'count' must be positive, got 0");
  CHECK(error_of(good_with("    tick_size: 5", "    tick_size: 0")) ==
        "bad.yaml:10: 'tick_size' must be positive, got 0");
  CHECK(error_of(good_with("  threads: 2", "  threads: -1")) ==
        "bad.yaml:6: 'threads' must not be negative, got -1");
  CHECK(error_of(good_with("    price_band: 8", "    price_band: -8")) ==
        "bad.yaml:26: 'price_band' must not be negative, got -8");
}

TEST_CASE("Values out of their range are rejected", "[scenario]") {
  CHECK(error_of(good_with("    reference_price: 10000", "    reference_price: 10002")) ==
        "bad.yaml:12: 'reference_price' 10002 is not a multiple of tick_size 5");
  CHECK(error_of(good_with("cancel_share: 0.25", "cancel_share: 1.5")) ==
        "bad.yaml:28: 'cancel_share' must be between 0 and 1, got 1.5");
  CHECK(error_of(good_with("cancel_share: 0.25", "cancel_share: 0.95")) ==
        "bad.yaml:28: 'market_order_share' + 'cancel_share' must not exceed 1");
  CHECK(error_of(good_with("    jitter: 5ms", "    jitter: 50ms")) ==
        "bad.yaml:25: 'jitter' must not exceed 'interval'");
  CHECK(error_of(good_with("strategy: zero_intelligence", "strategy: momentum")) ==
        "bad.yaml:23: unknown strategy 'momentum' (known: zero_intelligence)");
}

TEST_CASE("Symbols must be known, defined once and on exactly one shard", "[scenario]") {
  CHECK(error_of(good_with("  - symbols: [INIT]", "  - symbols: [INIT, NOPE]")) ==
        "bad.yaml:20: unknown symbol 'NOPE'");
  CHECK(error_of(good_with("    symbols: [INIT]", "    symbols: [WHAT]")) ==
        "bad.yaml:32: unknown symbol 'WHAT'");
  CHECK(error_of(good_with("  - symbols: [INIT]", "  - symbols: [INIT, ACME]")) ==
        "bad.yaml:20: symbol 'ACME' is on two shards (shard 1 and shard 2)");
  CHECK(error_of(good_with("  - symbols: [INIT]", "  - symbols: [ACME]")) ==
        "bad.yaml:20: symbol 'ACME' is on two shards (shard 1 and shard 2)");
  CHECK(error_of(good_with("  - symbols: [INIT]\n", "")) ==
        "bad.yaml:19: symbol 'INIT' is on no shard");
  CHECK(error_of(good_with("  - name: INIT", "  - name: ACME")) ==
        "bad.yaml:13: symbol 'ACME' is defined twice");
}
