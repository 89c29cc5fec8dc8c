#include "app/scenario.hpp"

#include "market/account.hpp"
#include "market/fundamental.hpp"
#include "strategies/registry.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

using namespace marketsim::app;
using namespace std::chrono_literals;
namespace st = marketsim::strategies;

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

/// A strategy that does nothing: the loader only needs its declaration.
class idle : public st::strategy {};

/// A small registry: `toy` declares one parameter of every type, with bounds
/// and choices, and a combination check in `make`; `bare` has one required
/// parameter.
st::strategy_registry test_registry() {
  st::strategy_registry r;
  st::strategy_info toy;
  toy.name = "toy";
  toy.summary = "a strategy for tests";
  toy.params = {
      {"symbols",
       st::param_type::text,
       "symbols traded",
       st::param_value{std::string{}},
       std::nullopt,
       std::nullopt,
       {}},
      {"interval",
       st::param_type::duration,
       "time between actions",
       st::param_value{std::int64_t{10'000'000}},
       1e6,
       1e12,
       {}},
      {"size",
       st::param_type::integer,
       "lots",
       st::param_value{std::int64_t{1}},
       1.0,
       100.0,
       {}},
      {"aggression", st::param_type::number, "share", st::param_value{0.5}, 0.0, 1.0, {}},
      {"side",
       st::param_type::text,
       "which side",
       st::param_value{std::string{"both"}},
       std::nullopt,
       std::nullopt,
       {"buy", "sell", "both"}},
      {"quiet",
       st::param_type::boolean,
       "say nothing",
       st::param_value{false},
       std::nullopt,
       std::nullopt,
       {}},
      {"reference_price",
       st::param_type::integer,
       "anchor",
       st::param_value{std::int64_t{0}},
       0.0,
       1e15,
       {}},
  };
  toy.make = [](const st::param_values& v) -> std::unique_ptr<st::strategy> {
    if (v.integer("size") > 50 && v.number("aggression") > 0.5)
      throw std::invalid_argument("parameter 'size' above 50 needs 'aggression' <= 0.5");
    return std::make_unique<idle>();
  };
  r.add(std::move(toy));
  st::strategy_info bare;
  bare.name = "bare";
  bare.summary = "one required parameter";
  bare.params = {{"level",
                  st::param_type::integer,
                  "required",
                  std::nullopt,
                  std::nullopt,
                  std::nullopt,
                  {}}};
  bare.make = [](const st::param_values&) -> std::unique_ptr<st::strategy> {
    return std::make_unique<idle>();
  };
  r.add(std::move(bare));
  return r;
}

const st::strategy_registry registry = test_registry();

// Line numbers matter: the error tests below name them.
const std::string good_yaml = R"(name: two_shards
clock: real
seed: 7
duration: 500ms
output:
  folder: out/here
  l1_sample: 50ms
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
fundamentals:
  period: 200ms
  symbols:
    - {symbol: ACME, mean: 10000, kappa: 0.05, sigma: 30}
    - {symbol: INIT, mean: 2500, kappa: 0.1, sigma: 5}
  correlation:
    - [1.0, 0.3]
    - [0.3, 1.0]
agents:
  - count: 40
    strategy: toy
    params:
      interval: 20ms
      size: 3
      aggression: 0.25
      side: buy
    account:
      cash: 1000000
      positions: {ACME: 100}
      fees: {maker_bps: -1, taker_bps: 3}
      allow_short: true
      max_short: 50
  - count: 2
    strategy: toy
    symbols: [INIT]
    start: 1s
)";

/// The message of the scenario_error that loading `text` from a file named
/// `name` throws ("" if none is thrown), with the temporary folder removed
/// so that it reads `name:line: ...`.
std::string error_of(const std::string& text, const std::string& name = "bad.yaml") {
  temp_file file{name, text};
  try {
    load_scenario(file.path(), registry);
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

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

} // namespace

TEST_CASE("A good scenario parses to the expected parameters", "[scenario]") {
  temp_file file{"two_shards.yaml", good_yaml};
  auto sc = load_scenario(file.path(), registry);
  CHECK(sc.name == "two_shards");
  CHECK(sc.file == file.path());
  CHECK(sc.clock == clock_mode::real_time);
  CHECK(sc.seed == 7);
  CHECK(sc.duration == 500ms);
  CHECK(sc.output == "out/here");
  CHECK(sc.l1_sample == 50ms);
  CHECK(sc.scheduler == scheduler_config{2, scheduler_policy::sharing});
  REQUIRE(sc.symbols.size() == 2);
  CHECK(sc.symbols[0] == symbol_config{"ACME", 5, 10, 10000, 1'000'000'000});
  CHECK(sc.symbols[1] == symbol_config{"INIT", 1, 1, 2500, 500});
  REQUIRE(sc.shards.size() == 2);
  CHECK(sc.shards[0].symbols == std::vector<std::string>{"ACME"});
  CHECK(sc.shards[1].symbols == std::vector<std::string>{"INIT"});
  CHECK(sc.symbol_index("INIT") == 1);

  REQUIRE(sc.has_fundamentals);
  CHECK(sc.fundamentals.preset.empty());
  CHECK(sc.fundamentals.period == 200ms);
  REQUIRE(sc.fundamentals.symbols.size() == 2);
  CHECK(sc.fundamentals.symbols[1] == fundamental_config{"INIT", 2500, 0.1, 5});
  CHECK(sc.fundamentals.correlation ==
        std::vector<std::vector<double>>{{1.0, 0.3}, {0.3, 1.0}});

  REQUIRE(sc.agents.size() == 2);
  CHECK(sc.agent_count() == 42);
  const auto& g = sc.agents[0];
  CHECK(g.count == 40);
  CHECK(g.strategy == "toy");
  CHECK(g.line == 33);
  CHECK(g.symbols == std::vector<std::string>{"ACME", "INIT"}); // default: all
  CHECK(g.start == 0ns);
  CHECK(g.params.duration_ns("interval") == 20'000'000);
  CHECK(g.params.integer("size") == 3);
  CHECK(g.params.number("aggression") == Approx(0.25));
  CHECK(g.params.text("side") == "buy");
  CHECK(g.params.boolean("quiet") == false);       // default
  CHECK(g.params.text("symbols").empty());         // default: every symbol
  CHECK(g.params.integer("reference_price") == 0); // two different references
  CHECK(g.account.cash == 1'000'000);
  CHECK(g.account.positions == std::map<std::string, std::int64_t>{{"ACME", 100}});
  CHECK(g.account.maker_bps == -1);
  CHECK(g.account.taker_bps == 3);
  CHECK(g.account.allow_short);
  CHECK(g.account.max_short == 50);
  CHECK_FALSE(g.account.allow_margin);

  const auto& h = sc.agents[1];
  CHECK(h.symbols == std::vector<std::string>{"INIT"});
  CHECK(h.start == 1s);
  CHECK(h.params.text("symbols") == "INIT");          // from the group's symbols
  CHECK(h.params.integer("reference_price") == 2500); // INIT's reference
  CHECK(h.account == account_config{});
}

TEST_CASE("Accounts and fundamentals become the cores' parameters", "[scenario]") {
  temp_file file{"two_shards.yaml", good_yaml};
  auto sc = load_scenario(file.path(), registry);
  auto acc = make_account_params(sc, sc.agents[0].account);
  CHECK(acc.cash == 1'000'000);
  REQUIRE(acc.positions.count(0) == 1);
  CHECK(acc.positions.at(0).qty == 100);
  CHECK(acc.positions.at(0).cost == 10000); // the reference price
  CHECK(acc.fees.maker_bps == -1);
  CHECK(acc.fees.taker_bps == 3);
  CHECK(acc.allow_short);
  CHECK(acc.max_short == 50);

  auto f = make_fundamental_params(sc, 99);
  CHECK(f.seed == 99);
  REQUIRE(f.symbols.size() == 2);
  CHECK(f.symbols[0].name == "ACME");
  CHECK(f.symbols[0].tick == 5); // the symbol's own tick
  CHECK(f.symbols[0].mean == 10000);
  CHECK(f.symbols[1].sigma == 5);
  CHECK(f.correlation == sc.fundamentals.correlation);
}

TEST_CASE("The three_stocks preset needs its symbols", "[scenario]") {
  const std::string yaml = R"(seed: 1
duration: 1s
symbols:
  - {name: STOCK_A, tick_size: 1, lot_size: 1, reference_price: 10000}
  - {name: STOCK_B, tick_size: 1, lot_size: 1, reference_price: 5000}
  - {name: STOCK_C, tick_size: 1, lot_size: 1, reference_price: 20000}
shards:
  - symbols: [STOCK_A, STOCK_B, STOCK_C]
fundamentals:
  preset: three_stocks
agents:
  - {count: 1, strategy: toy}
)";
  temp_file file{"three.yaml", yaml};
  auto sc = load_scenario(file.path(), registry);
  CHECK(sc.fundamentals.preset == "three_stocks");
  CHECK(sc.fundamentals.period == 1s); // default
  auto f = make_fundamental_params(sc, 5);
  REQUIRE(f.symbols.size() == 3);
  CHECK(f.symbols[2].name == "STOCK_C");
  CHECK(f.correlation[0][1] == Approx(0.3));
  CHECK(f.correlation[0][2] == Approx(-0.2));
  CHECK(f.correlation[1][2] == Approx(0.1));

  auto without_c = yaml;
  without_c.replace(without_c.find("  - {name: STOCK_C"),
                    std::string{"  - {name: STOCK_C, tick_size: 1, lot_size: 1, "
                                "reference_price: 20000}\n"}
                        .size(),
                    "");
  without_c.replace(without_c.find(", STOCK_C]"), 10, "]");
  CHECK(error_of(without_c) ==
        "bad.yaml:9: preset three_stocks needs the symbols STOCK_A, STOCK_B, STOCK_C; "
        "'STOCK_C' is not defined");
  CHECK(error_of(good_with("  period: 200ms", "  preset: three_stocks")) ==
        "bad.yaml:25: fundamentals take either 'preset' or 'symbols', not both");
  CHECK(error_of(good_with("  period: 200ms\n  symbols:\n    - {symbol: ACME, mean: "
                           "10000, kappa: 0.05, sigma: 30}\n    - {symbol: INIT, mean: "
                           "2500, kappa: 0.1, sigma: 5}\n  correlation:\n    - [1.0, "
                           "0.3]\n    - [0.3, 1.0]",
                           "  preset: five_stocks")) ==
        "bad.yaml:25: unknown fundamentals preset 'five_stocks' (known: three_stocks)");
}

TEST_CASE("Optional keys take their defaults", "[scenario]") {
  temp_file file{"minimal.yaml", R"(seed: 1
duration: 2s
symbols:
  - {name: X, tick_size: 1, lot_size: 1, reference_price: 100}
shards:
  - symbols: [X]
agents:
  - {count: 1, strategy: toy}
)"};
  auto sc = load_scenario(file.path(), registry);
  CHECK(sc.name == "minimal"); // the file's stem
  CHECK(sc.clock == clock_mode::virtual_time);
  CHECK(sc.output == "runs/minimal");
  CHECK(sc.l1_sample == 100ms);
  CHECK(sc.scheduler == scheduler_config{0, scheduler_policy::sharing});
  CHECK(sc.duration == 2s);
  CHECK_FALSE(sc.has_fundamentals);
  CHECK_THROWS_AS(make_fundamental_params(sc, 1), std::invalid_argument);
  const auto& g = sc.agents[0];
  CHECK(g.params.duration_ns("interval") == 10'000'000);
  CHECK(g.params.text("side") == "both");
  CHECK(g.params.integer("reference_price") == 100); // the one symbol's reference
  CHECK(g.symbols == std::vector<std::string>{"X"});
}

TEST_CASE("Output may be a plain folder", "[scenario]") {
  temp_file file{"plain.yaml", R"(seed: 1
duration: 2s
output: somewhere/else
symbols:
  - {name: X, tick_size: 1, lot_size: 1, reference_price: 100}
shards:
  - symbols: [X]
agents:
  - {count: 1, strategy: toy}
)"};
  auto sc = load_scenario(file.path(), registry);
  CHECK(sc.output == "somewhere/else");
  CHECK(sc.l1_sample == 100ms);
}

TEST_CASE("Durations take a unit and print back", "[scenario]") {
  CHECK(parse_duration("5s") == 5s);
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("250us") == 250us);
  CHECK(parse_duration("100ns") == 100ns);
  CHECK(parse_duration("2m") == 2min);
  CHECK_THROWS_AS(parse_duration("5"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration("5h"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration("-5s"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration("ms"), std::invalid_argument);
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(2s) == "2s");
  CHECK(format_duration(3min) == "3m");
  CHECK(format_duration(7ns) == "7ns");
  CHECK(format_duration(0ns) == "0s");
  for (std::chrono::nanoseconds d :
       {std::chrono::nanoseconds{1}, std::chrono::nanoseconds{999us},
        std::chrono::nanoseconds{20ms}, std::chrono::nanoseconds{61s}})
    CHECK(parse_duration(format_duration(d)) == d);
}

TEST_CASE("Clock modes parse from their names", "[scenario]") {
  CHECK(parse_clock("virtual") == clock_mode::virtual_time);
  CHECK(parse_clock("real") == clock_mode::real_time);
  CHECK_THROWS_AS(parse_clock("wall"), std::invalid_argument);
  CHECK(to_string(clock_mode::virtual_time) == "virtual");
  CHECK(to_string(clock_mode::real_time) == "real");
}

TEST_CASE("A file that cannot be opened names the file", "[scenario]") {
  try {
    load_scenario("/nonexistent/marketsim/none.yaml", registry);
    FAIL("no error");
  } catch (const scenario_error& e) {
    CHECK(starts_with(e.what(), "/nonexistent/marketsim/none.yaml: cannot open"));
  }
}

TEST_CASE("Malformed YAML gives file and line", "[scenario]") {
  auto msg = error_of("seed: 1\nduration: 1s\nsymbols: [a, b\nshards: x\n");
  CHECK(starts_with(msg, "bad.yaml:4: malformed YAML: "));
}

TEST_CASE("An empty file or a non-map document is an error", "[scenario]") {
  CHECK(starts_with(error_of(""), "bad.yaml:1: a scenario must be a map"));
  CHECK(starts_with(error_of("- 1\n- 2\n"), "bad.yaml:1: a scenario must be a map"));
}

TEST_CASE("Unknown keys are rejected with their line", "[scenario]") {
  CHECK(starts_with(error_of(good_with("seed: 7", "seed: 7\nsede: 8")),
                    "bad.yaml:4: unknown key 'sede' in the scenario"));
  CHECK(starts_with(
      error_of(good_with("    lot_size: 10", "    lot_size: 10\n    lots: 1")),
      "bad.yaml:15: unknown key 'lots' in a symbol"));
  CHECK(starts_with(error_of(good_with("    start: 1s", "    start: 1s\n    greed: 1")),
                    "bad.yaml:50: unknown key 'greed' in an agent group"));
  CHECK(starts_with(
      error_of(good_with("  policy: sharing", "  policy: sharing\n  pin: yes")),
      "bad.yaml:11: unknown key 'pin' in scheduler"));
  CHECK(starts_with(error_of(good_with("      max_short: 50", "      max_short: 50\n"
                                                              "      leverage: 2")),
                    "bad.yaml:46: unknown key 'leverage' in an account"));
  CHECK(
      starts_with(error_of(good_with("  l1_sample: 50ms", "  l1_sample: 50ms\n  l2: 1")),
                  "bad.yaml:8: unknown key 'l2' in output"));
  CHECK(starts_with(error_of(good_with("sigma: 30}", "sigma: 30, drift: 1}")),
                    "bad.yaml:27: unknown key 'drift' in a fundamental"));
}

TEST_CASE("Missing required keys name the key and the map's line", "[scenario]") {
  CHECK(error_of(good_with("seed: 7\n", "")) ==
        "bad.yaml:1: missing key 'seed' in the scenario");
  CHECK(error_of(good_with("    reference_price: 2500\n", "")) ==
        "bad.yaml:16: missing key 'reference_price' in a symbol");
  CHECK(error_of(good_with("    strategy: toy\n    symbols", "    symbols")) ==
        "bad.yaml:46: missing key 'strategy' in an agent group");
  CHECK(error_of(good_with("agents:", "agentz:")) ==
        "bad.yaml:32: unknown key 'agentz' in the scenario (allowed: name, clock, seed, "
        "duration, output, scheduler, symbols, shards, fundamentals, agents, network, "
        "deployment, settlement, price_consensus, halt)");
}

TEST_CASE("Wrong types are reported at the value", "[scenario]") {
  CHECK(error_of(good_with("seed: 7", "seed: seven")) ==
        "bad.yaml:3: 'seed' must be an integer, got 'seven'");
  CHECK(error_of(good_with("  - count: 40", "  - count: 4.5")) ==
        "bad.yaml:33: 'count' must be an integer, got '4.5'");
  CHECK(starts_with(error_of(good_with("duration: 500ms", "duration: 500")),
                    "bad.yaml:4: 'duration': expected a duration unit"));
  CHECK(error_of(good_with("  - symbols: [ACME]", "  - symbols: ACME")) ==
        "bad.yaml:22: 'symbols' must be a list of symbol names");
  CHECK(error_of(good_with("scheduler:\n  threads: 2\n  policy: sharing",
                           "scheduler: 2")) == "bad.yaml:8: scheduler must be a map");
  CHECK(error_of(good_with("  policy: sharing", "  policy: fair")) ==
        "bad.yaml:10: 'policy' must be stealing or sharing, got 'fair'");
  CHECK(error_of(good_with("clock: real", "clock: sundial")) ==
        "bad.yaml:2: 'clock': expected virtual or real, got 'sundial'");
  CHECK(error_of(good_with("allow_short: true", "allow_short: maybe")) ==
        "bad.yaml:44: 'allow_short' must be true or false, got 'maybe'");
  CHECK(error_of(good_with("mean: 10000", "mean: lots")) ==
        "bad.yaml:27: 'mean' must be a number, got 'lots'");
  CHECK(error_of(good_with("  l1_sample: 50ms", "  l1_sample: 0ms")) ==
        "bad.yaml:7: 'l1_sample' must be positive");
}

TEST_CASE("Negative counts and sizes are rejected; zero agents in all too",
          "[scenario]") {
  CHECK(error_of(good_with("  - count: 40", "  - count: -3")) ==
        "bad.yaml:33: 'count' must not be negative, got -3");
  CHECK(error_of(good_with("    tick_size: 5", "    tick_size: 0")) ==
        "bad.yaml:13: 'tick_size' must be positive, got 0");
  CHECK(error_of(good_with("  threads: 2", "  threads: -1")) ==
        "bad.yaml:9: 'threads' must not be negative, got -1");
  CHECK(error_of(good_with("max_short: 50", "max_short: -50")) ==
        "bad.yaml:45: 'max_short' must not be negative, got -50");
  // A group of 0 is allowed (switched off); no agent at all is not.
  auto none = good_with("  - count: 40", "  - count: 0");
  none.replace(none.find("  - count: 2"), 12, "  - count: 0");
  CHECK(error_of(none) == "bad.yaml:33: the scenario has no agents (every count is 0)");
}

TEST_CASE("Strategies must be registered", "[scenario][strategy]") {
  CHECK(error_of(good_with("strategy: toy", "strategy: momentum")) ==
        "bad.yaml:34: unknown strategy 'momentum' (known: toy, bare)");
  CHECK(error_of(good_with("strategy: toy", "strategy: [toy]")) ==
        "bad.yaml:34: 'strategy' must be a single value, not a list");
}

TEST_CASE("Strategy parameters are checked against the declaration",
          "[scenario][strategy]") {
  SECTION("unknown parameter, at its key") {
    CHECK(error_of(good_with("      size: 3", "      sise: 3")) ==
          "bad.yaml:37: unknown parameter 'sise' of strategy 'toy' (known: symbols, "
          "interval, size, aggression, side, quiet, reference_price)");
    CHECK(error_of(good_with("      size: 3", "      size: 3\n      size: 4")) ==
          "bad.yaml:38: duplicate parameter 'size'");
  }
  SECTION("wrong type, at the value") {
    CHECK(error_of(good_with("      size: 3", "      size: three")) ==
          "bad.yaml:37: 'size' must be an integer, got 'three'");
    CHECK(error_of(good_with("      size: 3", "      size: 2.5")) ==
          "bad.yaml:37: 'size' must be an integer, got '2.5'");
    CHECK(error_of(good_with("aggression: 0.25", "aggression: high")) ==
          "bad.yaml:38: 'aggression' must be a number, got 'high'");
    CHECK(starts_with(error_of(good_with("interval: 20ms", "interval: 20")),
                      "bad.yaml:36: 'interval': expected a duration unit"));
    CHECK(error_of(good_with("      side: buy", "      side: buy\n      quiet: 1")) ==
          "bad.yaml:40: 'quiet' must be true or false, got '1'");
    CHECK(error_of(good_with("      size: 3", "      size: [3]")) ==
          "bad.yaml:37: 'size' must be a single value, not a list");
  }
  SECTION("out of range, at the value") {
    CHECK(error_of(good_with("      size: 3", "      size: 500")) ==
          "bad.yaml:37: strategy 'toy': parameter 'size': 500 is above the maximum 100");
    CHECK(error_of(good_with("      size: 3", "      size: 0")) ==
          "bad.yaml:37: strategy 'toy': parameter 'size': 0 is below the minimum 1");
    CHECK(error_of(good_with("aggression: 0.25", "aggression: 1.5")) ==
          "bad.yaml:38: strategy 'toy': parameter 'aggression': 1.5 is above the maximum "
          "1");
    CHECK(starts_with(error_of(good_with("interval: 20ms", "interval: 10us")),
                      "bad.yaml:36: strategy 'toy': parameter 'interval': 10000 ns is "
                      "below the minimum"));
    CHECK(error_of(good_with("side: buy", "side: up")) ==
          "bad.yaml:39: strategy 'toy': parameter 'side': 'up' is not one of: buy, "
          "sell, both");
  }
  SECTION("combinations the strategy refuses, at the params") {
    auto text = good_with("      size: 3", "      size: 60");
    text.replace(text.find("aggression: 0.25"), 16, "aggression: 0.75");
    CHECK(error_of(text) == "bad.yaml:36: strategy 'toy': parameter 'size' above 50 "
                            "needs 'aggression' <= 0.5");
  }
  SECTION("required parameters, at the strategy") {
    CHECK(error_of(good_with("    strategy: toy\n    symbols",
                             "    strategy: bare\n    symbols")) ==
          "bad.yaml:47: strategy 'bare': parameter 'level': required, but not given");
  }
  SECTION("a map is required") {
    CHECK(error_of(good_with("    params:\n      interval: 20ms\n      size: 3\n"
                             "      aggression: 0.25\n      side: buy\n",
                             "    params: [1, 2]\n")) ==
          "bad.yaml:35: 'params' must be a map of name: value");
  }
}

TEST_CASE("Symbols must be known, defined once and on exactly one shard", "[scenario]") {
  CHECK(error_of(good_with("  - symbols: [INIT]", "  - symbols: [INIT, NOPE]")) ==
        "bad.yaml:23: unknown symbol 'NOPE'");
  CHECK(error_of(good_with("    symbols: [INIT]", "    symbols: [WHAT]")) ==
        "bad.yaml:48: unknown symbol 'WHAT'");
  CHECK(error_of(good_with("positions: {ACME: 100}", "positions: {NOPE: 100}")) ==
        "bad.yaml:42: unknown symbol 'NOPE'");
  CHECK(error_of(
            good_with("      side: buy", "      side: buy\n      symbols: ACME, NOPE")) ==
        "bad.yaml:40: unknown symbol 'NOPE' in parameter 'symbols'");
  CHECK(error_of(good_with("{symbol: INIT, mean: 2500", "{symbol: NOPE, mean: 2500")) ==
        "bad.yaml:28: unknown symbol 'NOPE'");
  CHECK(error_of(good_with("  - symbols: [INIT]", "  - symbols: [INIT, ACME]")) ==
        "bad.yaml:23: symbol 'ACME' is on two shards (shard 1 and shard 2)");
  CHECK(error_of(good_with("  - symbols: [INIT]\n", "")) ==
        "bad.yaml:22: symbol 'INIT' is on no shard");
  CHECK(error_of(good_with("  - name: INIT", "  - name: ACME")) ==
        "bad.yaml:16: symbol 'ACME' is defined twice");
}

TEST_CASE("A strategy's symbols parameter and the group's symbols agree",
          "[scenario][strategy]") {
  CHECK(error_of(
            good_with("    start: 1s", "    start: 1s\n    params: {symbols: INIT}")) ==
        "bad.yaml:50: the symbols are given twice: as the group's 'symbols' and as a "
        "parameter");
  temp_file file{"param_symbols.yaml",
                 good_with("      side: buy", "      side: buy\n      symbols: INIT")};
  auto sc = load_scenario(file.path(), registry);
  CHECK(sc.agents[0].symbols == std::vector<std::string>{"INIT"});
  CHECK(sc.agents[0].params.integer("reference_price") == 2500);
}

TEST_CASE("Accounts follow the account rules", "[scenario]") {
  CHECK(error_of(good_with("positions: {ACME: 100}", "positions: {ACME: -100}")) ==
        "bad.yaml:42: short position -100 of ACME is beyond max_short 50");
  CHECK(error_of(good_with("      allow_short: true", "      allow_short: false")
                     .replace(good_yaml.find("{ACME: 100}"), 11, "{ACME: -10}")) ==
        "bad.yaml:42: short position -10 of ACME needs allow_short: true");
  CHECK(error_of(good_with("cash: 1000000", "cash: -5")) ==
        "bad.yaml:41: 'cash' -5 is below the cash floor 0 (allow_margin and max_borrow "
        "lower it)");
  CHECK(error_of(good_with("taker_bps: 3", "taker_bps: 30000")) ==
        "bad.yaml:43: 'taker_bps' must be between -10000 and 10000, got 30000");
  temp_file margin{"margin.yaml",
                   good_with("cash: 1000000", "cash: -5\n      allow_margin: true\n"
                                              "      max_borrow: 10")};
  CHECK(load_scenario(margin.path(), registry).agents[0].account.cash == -5);
}

TEST_CASE("Fundamentals are validated", "[scenario]") {
  CHECK(error_of(good_with("    - [0.3, 1.0]", "    - [1.5, 1.0]")) ==
        "bad.yaml:30: 'correlation': fundamental: correlation[1][0] = 1.5 but "
        "correlation[0][1] = 0.3: not symmetric");
  CHECK(error_of(good_with("    - [0.3, 1.0]", "    - [0.3]")) ==
        "bad.yaml:31: each row of 'correlation' must hold 2 numbers");
  CHECK(error_of(good_with("mean: 10000", "mean: 0")) ==
        "bad.yaml:27: 'mean' must be positive, got 0");
  CHECK(error_of(good_with("kappa: 0.05", "kappa: -1")) ==
        "bad.yaml:27: 'kappa' must not be negative, got -1");
  CHECK(error_of(good_with("{symbol: INIT, mean: 2500", "{symbol: ACME, mean: 2500")) ==
        "bad.yaml:28: symbol 'ACME' has two fundamentals");
  CHECK(
      error_of(good_with("  period: 200ms\n  symbols:", "  period: 200ms\n  symbolz:")) ==
      "bad.yaml:26: unknown key 'symbolz' in fundamentals (allowed: period, preset, "
      "symbols, correlation)");
}

TEST_CASE("A settlement section parses with its defaults, and bad values name their line",
          "[scenario][settlement]") {
  temp_file plain{"plain.yaml", good_yaml};
  CHECK_FALSE(load_scenario(plain.path(), registry).settlement);

  temp_file minimal{"settle.yaml", good_yaml + "settlement: {protocol: raft}\n"};
  const auto s = load_scenario(minimal.path(), registry).settlement;
  REQUIRE(s);
  CHECK(s->validators == 3);
  CHECK(s->election_timeout_min == 150ms);
  CHECK(s->election_timeout_max == 300ms);
  CHECK(s->heartbeat == 50ms);
  CHECK(s->batch == 64);
  CHECK_FALSE(s->crash_leader_at);
  CHECK_FALSE(s->persist);

  temp_file full{"full.yaml", good_yaml + "settlement:\n  validators: 5\n"
                                          "  election_timeout: [200ms, 400ms]\n"
                                          "  heartbeat: 20ms\n  batch: 8\n"
                                          "  batch_window: 0ms\n  crash_leader_at: 300ms\n"
                                          "  restart_after: 100ms\n  persist: true\n"
                                          "  snapshot_every: 50\n"};
  const auto f = load_scenario(full.path(), registry).settlement;
  REQUIRE(f);
  CHECK(f->validators == 5);
  CHECK(f->election_timeout_min == 200ms);
  CHECK(f->election_timeout_max == 400ms);
  CHECK(f->heartbeat == 20ms);
  CHECK(f->batch == 8);
  CHECK(f->batch_window == 0ms);
  CHECK(f->crash_leader_at == 300ms);
  CHECK(f->restart_after == 100ms);
  CHECK(f->persist);
  CHECK(f->snapshot_every == 50);

  const auto line = std::to_string(std::count(good_yaml.begin(), good_yaml.end(), '\n') + 1);
  auto bad = [&](const std::string& section) {
    return error_of(good_yaml + "settlement:\n" + section);
  };
  CHECK(bad("  protocol: paxos\n") ==
        "bad.yaml:" + std::to_string(std::stoi(line) + 1) +
            ": 'protocol' must be raft or streamlet, got 'paxos'");
  CHECK(bad("  validators: 0\n").find("'validators' must be 1 .. 15, got 0") !=
        std::string::npos);
  CHECK(bad("  election_timeout: [300ms, 300ms]\n")
            .find("'election_timeout': the maximum must be above the minimum") !=
        std::string::npos);
  CHECK(bad("  heartbeat: 150ms\n")
            .find("'heartbeat' must be below the minimum election timeout (150ms)") !=
        std::string::npos);
  CHECK(bad("  crash_leader_at: 500ms\n")
            .find("'crash_leader_at' must be before the end of the run (500ms)") !=
        std::string::npos);
  CHECK(bad("  restart_after: 1s\n").find("'restart_after' needs 'crash_leader_at'") !=
        std::string::npos);
  CHECK(bad("  batch: 0\n").find("'batch' must be at least 1") != std::string::npos);
  CHECK(bad("  validatorz: 3\n").find("unknown key 'validatorz' in settlement") !=
        std::string::npos);
}

TEST_CASE("A shard's price band is optional, off by default, never negative",
          "[scenario]") {
  auto sc = [](const std::string& text) {
    temp_file file{"band.yaml", text};
    return load_scenario(file.path(), registry);
  };
  CHECK(sc(good_yaml).shards[0].price_band_bps == 0);
  const auto banded = good_with("  - symbols: [ACME]\n",
                                "  - symbols: [ACME]\n    price_band_bps: 500\n");
  CHECK(sc(banded).shards[0].price_band_bps == 500);
  CHECK(sc(banded).shards[1].price_band_bps == 0);
  CHECK(error_of(good_with("  - symbols: [ACME]\n",
                           "  - symbols: [ACME]\n    price_band_bps: -1\n")) ==
        "bad.yaml:23: 'price_band_bps' must not be negative, got -1");
}

TEST_CASE("A streamlet settlement takes its own keys and refuses raft's", "[scenario][settlement]") {
  temp_file ok{"bft.yaml", good_yaml + "settlement:\n  protocol: streamlet\n  validators: 7\n"
                                       "  epoch: 200ms\n  max_block_txs: 50\n"
                                       "  trade_batch: 32\n  trade_batch_window: 0ms\n"
                                       "  byzantine: {5: silent, 6: equivocate}\n"};
  const auto s = load_scenario(ok.path(), registry).settlement;
  REQUIRE(s);
  CHECK(s->protocol == settlement_protocol::streamlet);
  CHECK(s->validators == 7);
  CHECK(s->epoch == 200ms);
  CHECK(s->max_block_txs == 50);
  CHECK(s->trade_batch == 32);
  CHECK(s->trade_batch_window == 0ms);
  CHECK(s->byzantine == std::map<std::uint32_t, std::string>{{5, "silent"}, {6, "equivocate"}});

  auto bad = [&](const std::string& section) {
    return error_of(good_yaml + "settlement:\n" + section);
  };
  CHECK(bad("  protocol: streamlet\n  heartbeat: 20ms\n")
            .find("'heartbeat' is a raft setting (protocol: streamlet)") != std::string::npos);
  CHECK(bad("  epoch: 1s\n").find("'epoch' is a streamlet setting (protocol: raft)") !=
        std::string::npos);
  // The trade batches' keys: defaults, bounds, and the line of a bad value.
  temp_file defaults{"bft.yaml", good_yaml + "settlement:\n  protocol: streamlet\n"};
  const auto d = load_scenario(defaults.path(), registry).settlement;
  REQUIRE(d);
  CHECK(d->trade_batch == 256);
  CHECK(d->trade_batch_window == 10ms);
  const auto line = std::count(good_yaml.begin(), good_yaml.end(), '\n') + 3;
  CHECK(bad("  protocol: streamlet\n  trade_batch: 0\n") ==
        fmt::format("bad.yaml:{}: 'trade_batch' must be 1 .. 65536, got 0", line));
  CHECK(bad("  protocol: streamlet\n  trade_batch: 65537\n") ==
        fmt::format("bad.yaml:{}: 'trade_batch' must be 1 .. 65536, got 65537", line));
  CHECK(bad("  protocol: streamlet\n  trade_batch_window: -1ms\n") ==
        fmt::format("bad.yaml:{}: 'trade_batch_window': expected a duration like 500ms or 5s, "
                    "got '-1ms'",
                    line));
  CHECK(bad("  trade_batch: 8\n").find("'trade_batch' is a streamlet setting (protocol: raft)") !=
        std::string::npos);
  CHECK(bad("  trade_batch_window: 5ms\n")
            .find("'trade_batch_window' is a streamlet setting (protocol: raft)") !=
        std::string::npos);
  CHECK(bad("  protocol: streamlet\n  validators: 4\n  byzantine: {4: silent}\n")
            .find("'byzantine': there is no validator 4 (ids are 0 .. 3)") != std::string::npos);
  CHECK(bad("  protocol: streamlet\n  byzantine: {0: lazy}\n")
            .find("'byzantine': unknown behaviour 'lazy'") != std::string::npos);
  CHECK(bad("  protocol: streamlet\n  validators: 1\n  byzantine: {0: silent}\n")
            .find("at least one validator must be honest") != std::string::npos);
}

TEST_CASE("A price_consensus section needs a banded shard for its symbol",
          "[scenario][price_consensus]") {
  const auto banded = good_with("  - symbols: [ACME]\n",
                                "  - symbols: [ACME]\n    price_band_bps: 500\n");
  temp_file ok{"pc.yaml", banded + "price_consensus:\n  symbol: ACME\n  validators: 5\n"
                                   "  epoch: 1s\n  byzantine: {4: shift_price}\n"};
  const auto pc = load_scenario(ok.path(), registry).price_consensus;
  REQUIRE(pc);
  CHECK(pc->symbol == "ACME");
  CHECK(pc->validators == 5);
  CHECK(pc->epoch == 1s);
  CHECK(pc->byzantine.at(4) == "shift_price");
  CHECK(error_of(good_yaml + "price_consensus:\n  symbol: ACME\n")
            .find("the shard of 'ACME' needs a price_band_bps") != std::string::npos);
  CHECK(error_of(banded + "price_consensus:\n  symbol: NOPE\n").find("unknown symbol 'NOPE'") !=
        std::string::npos);
  CHECK(error_of(banded + "price_consensus:\n  symbol: ACME\n  sources: 2\n")
            .find("'min_sources' (3) exceeds 'sources' (2)") != std::string::npos);
  CHECK(error_of(banded + "price_consensus:\n  symbol: ACME\n  byzantine: {0: lazy}\n")
            .find("unknown behaviour 'lazy'") != std::string::npos);
}

TEST_CASE("A halt section parses and its bad values name their line", "[scenario][halt]") {
  temp_file ok{"halt.yaml", good_yaml + "halt:\n  at: 100ms\n  validators: 7\n  faulty: 2\n"
                                        "  round: 10ms\n  reason: breaker\n  sender: equivocate\n"};
  const auto h = load_scenario(ok.path(), registry).halt;
  REQUIRE(h);
  CHECK(h->at == 100ms);
  CHECK(h->validators == 7);
  CHECK(h->faulty == 2);
  CHECK(h->round == 10ms);
  CHECK(h->reason == "breaker");
  CHECK(h->sender == "equivocate");
  CHECK(error_of(good_yaml + "halt:\n  validators: 4\n").find("'at'") != std::string::npos);
  CHECK(error_of(good_yaml + "halt:\n  at: 1s\n")
            .find("'at' must be before the end of the run (500ms)") != std::string::npos);
  CHECK(error_of(good_yaml + "halt:\n  at: 100ms\n  validators: 4\n  faulty: 4\n")
            .find("'faulty' must be below 'validators' (4), got 4") != std::string::npos);
  CHECK(error_of(good_yaml + "halt:\n  at: 100ms\n  sender: lazy\n")
            .find("'sender' must be honest, equivocate or silent, got 'lazy'") !=
        std::string::npos);

  temp_file relays{"halt.yaml", good_yaml + "halt:\n  at: 100ms\n  validators: 7\n"
                                            "  faulty: 2\n  byzantine: {3: forge_relay, "
                                            "5: selective_relay}\n"};
  const auto hr = load_scenario(relays.path(), registry).halt;
  REQUIRE(hr);
  CHECK(hr->byzantine == std::map<std::uint32_t, std::string>{{3, "forge_relay"},
                                                               {5, "selective_relay"}});
  const auto halt7 = good_yaml + "halt:\n  at: 100ms\n  validators: 7\n  faulty: 2\n";
  CHECK(error_of(halt7 + "  byzantine: {3: forge}\n")
            .find("unknown behaviour 'forge' (silent, equivocate, forge_relay, "
                  "selective_relay)") != std::string::npos);
  CHECK(error_of(halt7 + "  byzantine: {3: honest}\n").find("unknown behaviour 'honest'") !=
        std::string::npos);
  CHECK(error_of(halt7 + "  byzantine: {0: silent}\n")
            .find("validator 0 is the sender: set its behaviour with 'sender'") !=
        std::string::npos);
  CHECK(error_of(halt7 + "  sender: silent\n  byzantine: {1: silent, 2: silent}\n")
            .find("3 Byzantine validators (the sender included), more than 'faulty' (2)") !=
        std::string::npos);
}
