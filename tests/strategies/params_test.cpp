#include "strategies/params.hpp"

#include "strategies/builtin.hpp"
#include "strategies/registry.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

using namespace marketsim::strategies;
using Catch::Matchers::Contains;

namespace {

std::vector<param_spec> sample_specs() {
  return {
      {"count",
       param_type::integer,
       "how many",
       param_value{std::int64_t{3}},
       1.0,
       10.0,
       {}},
      {"share", param_type::number, "a fraction", param_value{0.5}, 0.0, 1.0, {}},
      {"enabled",
       param_type::boolean,
       "on or off",
       param_value{true},
       std::nullopt,
       std::nullopt,
       {}},
      {"mode",
       param_type::text,
       "one of two",
       param_value{std::string{"fast"}},
       std::nullopt,
       std::nullopt,
       {"fast", "slow"}},
      {"label",
       param_type::text,
       "anything",
       param_value{std::string{}},
       std::nullopt,
       std::nullopt,
       {}},
      {"wait",
       param_type::duration,
       "a pause",
       param_value{std::int64_t{1'000'000}},
       1'000.0,
       1e10,
       {}},
  };
}

param_values with(std::string name, param_value v) {
  param_values p;
  p.set(std::move(name), std::move(v));
  return p;
}

/// What check_params throws for `given`, or "" when it does not.
std::string error_of(const std::vector<param_spec>& specs, const param_values& given) {
  try {
    check_params(specs, given);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

std::unique_ptr<strategy> make_nothing(const param_values&) {
  return std::make_unique<strategy>();
}

} // namespace

TEST_CASE("param types have names", "[params]") {
  CHECK(to_string(param_type::integer) == "integer");
  CHECK(to_string(param_type::number) == "number");
  CHECK(to_string(param_type::boolean) == "boolean");
  CHECK(to_string(param_type::text) == "text");
  CHECK(to_string(param_type::duration) == "duration");
}

TEST_CASE("omitted parameters take their defaults", "[params]") {
  const auto v = check_params(sample_specs(), {});
  CHECK(v.integer("count") == 3);
  CHECK(v.number("share") == 0.5);
  CHECK(v.boolean("enabled"));
  CHECK(v.text("mode") == "fast");
  CHECK(v.text("label").empty());
  CHECK(v.duration_ns("wait") == 1'000'000);
  CHECK(v.all().size() == sample_specs().size());
}

TEST_CASE("given parameters override defaults", "[params]") {
  param_values given;
  given.set("count", std::int64_t{7});
  given.set("mode", std::string{"slow"});
  given.set("enabled", false);
  const auto v = check_params(sample_specs(), given);
  CHECK(v.integer("count") == 7);
  CHECK(v.text("mode") == "slow");
  CHECK_FALSE(v.boolean("enabled"));
  CHECK(v.number("share") == 0.5);
}

TEST_CASE("an unknown parameter is an error naming it", "[params]") {
  const auto e = error_of(sample_specs(), with("cuont", std::int64_t{2}));
  CHECK_THAT(e, Contains("'cuont'") && Contains("unknown"));
  // The message lists what is known, to spot the typo.
  CHECK_THAT(e, Contains("count"));
}

TEST_CASE("a value of the wrong type is an error naming the parameter", "[params]") {
  CHECK_THAT(error_of(sample_specs(), with("count", std::string{"3"})),
             Contains("'count'") && Contains("integer"));
  CHECK_THAT(error_of(sample_specs(), with("count", 3.0)), Contains("'count'"));
  CHECK_THAT(error_of(sample_specs(), with("share", true)), Contains("'share'"));
  CHECK_THAT(error_of(sample_specs(), with("enabled", std::int64_t{1})),
             Contains("'enabled'") && Contains("boolean"));
  CHECK_THAT(error_of(sample_specs(), with("mode", std::int64_t{1})), Contains("'mode'"));
  CHECK_THAT(error_of(sample_specs(), with("wait", 0.5)), Contains("'wait'"));
}

TEST_CASE("an integer is accepted for a number and read back as one", "[params]") {
  const auto v = check_params(sample_specs(), with("share", std::int64_t{1}));
  CHECK(v.number("share") == 1.0);
  CHECK(std::holds_alternative<double>(v.all().find("share")->second));
  CHECK_THAT(error_of(sample_specs(), with("share", std::int64_t{2})),
             Contains("'share'") && Contains("maximum"));
}

TEST_CASE("bounds are inclusive and enforced", "[params]") {
  CHECK(error_of(sample_specs(), with("count", std::int64_t{1})).empty());
  CHECK(error_of(sample_specs(), with("count", std::int64_t{10})).empty());
  CHECK_THAT(error_of(sample_specs(), with("count", std::int64_t{0})),
             Contains("'count'") && Contains("minimum"));
  CHECK_THAT(error_of(sample_specs(), with("count", std::int64_t{11})),
             Contains("'count'") && Contains("maximum"));
  CHECK(error_of(sample_specs(), with("share", 0.0)).empty());
  CHECK_THAT(error_of(sample_specs(), with("share", -0.01)), Contains("'share'"));
  CHECK_THAT(error_of(sample_specs(), with("share", std::nan(""))),
             Contains("'share'") && Contains("finite"));
}

TEST_CASE("text with choices accepts only those", "[params]") {
  CHECK(error_of(sample_specs(), with("mode", std::string{"slow"})).empty());
  CHECK_THAT(error_of(sample_specs(), with("mode", std::string{"medium"})),
             Contains("'mode'") && Contains("fast, slow"));
  // No choices: anything goes.
  CHECK(error_of(sample_specs(), with("label", std::string{"medium"})).empty());
}

TEST_CASE("durations are integer nanoseconds or text with a unit", "[params]") {
  const auto read = [](param_value v) {
    return check_params(sample_specs(), with("wait", std::move(v))).duration_ns("wait");
  };
  CHECK(read(std::int64_t{5'000}) == 5'000);
  CHECK(read(std::string{"1500ns"}) == 1'500);
  CHECK(read(std::string{"250us"}) == 250'000);
  CHECK(read(std::string{"20ms"}) == 20'000'000);
  CHECK(read(std::string{"3s"}) == 3'000'000'000);
  CHECK_THAT(error_of(sample_specs(), with("wait", std::string{"1m"})),
             Contains("'wait'") && Contains("maximum")); // 6e10 ns > 1e10
  CHECK_THAT(error_of(sample_specs(), with("wait", std::string{"0ms"})),
             Contains("'wait'") && Contains("minimum"));
  CHECK_THAT(error_of(sample_specs(), with("wait", std::string{"20 ms"})),
             Contains("'wait'") && Contains("unit"));
  CHECK_THAT(error_of(sample_specs(), with("wait", std::string{"fast"})),
             Contains("'wait'"));
  CHECK_THAT(error_of(sample_specs(), with("wait", std::int64_t{-5})),
             Contains("'wait'"));
  CHECK_THAT(error_of(sample_specs(), with("wait", std::string{"99999999999999999s"})),
             Contains("'wait'") && Contains("too long"));
}

TEST_CASE("a parameter without a default is required", "[params]") {
  auto specs = sample_specs();
  specs.push_back({"target",
                   param_type::integer,
                   "no default",
                   std::nullopt,
                   std::nullopt,
                   std::nullopt,
                   {}});
  CHECK_THAT(error_of(specs, {}), Contains("'target'") && Contains("required"));
  CHECK(check_params(specs, with("target", std::int64_t{4})).integer("target") == 4);
}

TEST_CASE("accessors throw naming the parameter on a missing name or wrong type",
          "[params]") {
  const auto v = check_params(sample_specs(), {});
  CHECK(v.has("count"));
  CHECK_FALSE(v.has("nothing"));
  const auto message = [&](auto read) {
    try {
      read();
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{};
  };
  CHECK_THAT(message([&] { return v.integer("nothing"); }), Contains("'nothing'"));
  CHECK_THAT(message([&] { return v.integer("share"); }), Contains("'share'"));
  CHECK_THAT(message([&] { return v.number("mode"); }), Contains("'mode'"));
  CHECK_THAT(message([&] { return v.boolean("count"); }), Contains("'count'"));
  CHECK_THAT(message([&] { return v.text("enabled"); }), Contains("'enabled'"));
  CHECK_THAT(message([&] { return v.duration_ns("label"); }), Contains("'label'"));
  // A number may be read from an integer value set directly.
  param_values raw;
  raw.set("n", std::int64_t{2});
  CHECK(raw.number("n") == 2.0);
}

// -- registry ----------------------------------------------------------------------

TEST_CASE("the registry finds strategies by name, in registration order", "[registry]") {
  strategy_registry r;
  r.add({"b", "second letter", sample_specs(), make_nothing});
  r.add({"a", "first letter", {}, make_nothing});
  CHECK(r.names() == std::vector<std::string>{"b", "a"});
  REQUIRE(r.find("a") != nullptr);
  CHECK(r.find("a")->summary == "first letter");
  CHECK(r.find("b")->params.size() == sample_specs().size());
  CHECK(r.find("c") == nullptr);
  CHECK(r.find("a")->make(param_values{}) != nullptr);
}

TEST_CASE("the registry refuses duplicates, empty names and missing makers",
          "[registry]") {
  strategy_registry r;
  r.add({"x", "", {}, make_nothing});
  CHECK_THROWS_AS(r.add({"x", "again", {}, make_nothing}), std::invalid_argument);
  CHECK_THROWS_AS(r.add({"", "no name", {}, make_nothing}), std::invalid_argument);
  CHECK_THROWS_AS(r.add({"y", "no make", {}, nullptr}), std::invalid_argument);
  CHECK(r.names() == std::vector<std::string>{"x"});
}

TEST_CASE("the registry refuses bad parameter declarations", "[registry]") {
  strategy_registry r;
  auto twice = sample_specs();
  twice.push_back(twice.front());
  CHECK_THROWS_AS(r.add({"twice", "", twice, make_nothing}), std::invalid_argument);
  auto bad_default = sample_specs();
  bad_default[0].default_value = param_value{std::int64_t{50}}; // above max 10
  CHECK_THROWS_AS(r.add({"bad", "", bad_default, make_nothing}), std::invalid_argument);
  CHECK(r.names().empty());
}

TEST_CASE("the built-in registry has every built-in strategy, once each", "[registry]") {
  const auto r = builtin_strategies();
  const auto names = r.names();
  for (const auto* name :
       {"zero_intelligence", "noise", "value", "market_maker", "momentum",
        "mean_reversion", "breakout", "arbitrage", "venue_router", "shock", "sentinel"}) {
    INFO(name);
    CHECK(std::count(names.begin(), names.end(), name) == 1);
    REQUIRE(r.find(name) != nullptr);
    CHECK_FALSE(r.find(name)->summary.empty());
    for (const auto& p : r.find(name)->params) {
      INFO(p.name);
      CHECK_FALSE(p.description.empty());
    }
  }
  CHECK(names.size() == 11);
}

TEST_CASE("the agents' own strategies build from their defaults alone", "[registry]") {
  const auto r = builtin_strategies();
  for (const auto* name : {"zero_intelligence", "noise", "value"}) {
    INFO(name);
    const auto* info = r.find(name);
    REQUIRE(info != nullptr);
    for (const auto& p : info->params) {
      INFO(p.name);
      CHECK(p.default_value.has_value());
    }
    CHECK(info->make(check_params(info->params, {})) != nullptr);
  }
}
