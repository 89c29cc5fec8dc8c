// The deployment section, the placement plan of a run across hosts, and the
// node protocol's messages and vocabulary fingerprint.
#include "actors/vocabulary.hpp"
#include "app/run.hpp"
#include "app/scenario.hpp"
#include "distributed/protocol.hpp"
#include "strategies/registry.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace marketsim::app;
namespace dist = marketsim::distributed;

namespace {

const std::string base = R"(
clock: real
seed: 1
duration: 1s
symbols:
  - {name: ACME, tick_size: 1, lot_size: 1, reference_price: 100}
  - {name: INIT, tick_size: 1, lot_size: 1, reference_price: 100}
shards:
  - symbols: [ACME]
  - symbols: [INIT]
agents:
  - {count: 2, strategy: zero_intelligence}
  - {count: 3, strategy: zero_intelligence}
  - {count: 1, strategy: zero_intelligence}
)";

scenario parse(const std::string& extra) {
  static const auto registry = marketsim::strategies::builtin_strategies();
  return parse_scenario(base + extra, "test.yaml", registry);
}

std::string parse_error(const std::string& extra) {
  try {
    parse(extra);
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "no error";
}

struct protocol_config : caf::actor_system_config {
  protocol_config() {
    marketsim::actors::add_message_types(*this);
    dist::add_node_message_types(*this);
  }
};

} // namespace

TEST_CASE("a deployment section places shards and groups on named hosts",
          "[deployment]") {
  auto sc = parse(R"(
deployment:
  hosts: {a: 127.0.0.1:7001, b: "[::1]:7002"}
  shards: {1: a}
  agents: {0: b, 2: a}
  on_host_failure: continue
  connect_timeout: 2s
)");
  REQUIRE(sc.deployment);
  const auto& d = *sc.deployment;
  REQUIRE(d.hosts.size() == 2);
  CHECK(d.hosts[0].name == "a");
  CHECK(d.hosts[0].host == "127.0.0.1");
  CHECK(d.hosts[0].port == 7001);
  CHECK(d.hosts[1].host == "::1");
  CHECK(d.shards == std::map<std::size_t, std::string>{{1, "a"}});
  CHECK(d.agents == std::map<std::size_t, std::string>{{0, "b"}, {2, "a"}});
  CHECK(d.on_host_failure == host_failure_policy::continue_);
  CHECK(d.connect_timeout == std::chrono::seconds{2});
}

TEST_CASE("deployment errors name the file and line", "[deployment]") {
  CHECK(parse_error("deployment: {shards: {2: a}}\n") ==
        "test.yaml:15: 'shards': there is no shard 2 (the scenario has 2, numbered from "
        "0)");
  CHECK(parse_error("deployment:\n  agents: {0: \"a b\"}\n") ==
        "test.yaml:16: host name 'a b' must be letters, digits, '_' or '-'");
  CHECK(parse_error("deployment:\n  on_host_failure: retry\n") ==
        "test.yaml:16: 'on_host_failure' must be stop or continue, got 'retry'");
  CHECK(parse_error("deployment:\n  hosts: {a: localhost}\n") ==
        "test.yaml:16: host 'a': 'localhost' must read host:port");
  CHECK(parse_error("deployment:\n  hosts: {a: \"h:99999\"}\n") ==
        "test.yaml:16: host 'a': 'h:99999': the port must be a number in [1, 65535]");
  CHECK(parse_error("deployment:\n  where: a\n")
            .find("unknown key 'where' in deployment") != std::string::npos);
}

TEST_CASE("--hosts lists name=host:port entries", "[deployment]") {
  auto hosts = parse_host_list("a=10.0.0.1:7001,b=[::1]:7002,127.0.0.1:7003");
  REQUIRE(hosts.size() == 3);
  CHECK(hosts[0].name == "a");
  CHECK(hosts[1].host == "::1");
  CHECK(hosts[2].name == "127.0.0.1:7003");
  CHECK_THROWS_AS(parse_host_list("a=h:1,a=h:2"), std::invalid_argument);
  CHECK_THROWS_AS(parse_host_list("a=h:1,"), std::invalid_argument);
  CHECK_THROWS_AS(parse_host_list("a=h"), std::invalid_argument);
}

TEST_CASE("the plan: --hosts replaces scenario hosts by name; unplaced parts stay here",
          "[deployment]") {
  auto sc = parse(R"(
deployment:
  hosts: {a: 127.0.0.1:7001, b: 127.0.0.1:7002, spare: 127.0.0.1:7009}
  shards: {1: b}
  agents: {0: a, 2: b}
)");
  auto plan = make_deployment_plan(sc, parse_host_list("a=10.0.0.5:8000"));
  REQUIRE(plan.hosts.size() == 2); // the unused `spare` is not joined
  CHECK(plan.hosts[0].host == "10.0.0.5");
  CHECK(plan.hosts[1].name == "b");
  CHECK(plan.shard_host == std::vector<std::optional<std::size_t>>{std::nullopt, 1});
  CHECK(plan.group_host == std::vector<std::optional<std::size_t>>{0, std::nullopt, 1});
  CHECK(plan.on_host_failure == host_failure_policy::stop);
}

TEST_CASE("the plan without a deployment section: shards on the first host, groups "
          "round-robin on the others",
          "[deployment]") {
  auto sc = parse("");
  auto plan = make_deployment_plan(sc, parse_host_list("x=h:1,y=h:2,z=h:3"));
  REQUIRE(plan.hosts.size() == 3);
  CHECK(plan.shard_host == std::vector<std::optional<std::size_t>>{0, 0});
  CHECK(plan.group_host == std::vector<std::optional<std::size_t>>{1, 2, 1});
  auto alone = make_deployment_plan(sc, parse_host_list("x=h:1"));
  CHECK(alone.group_host == std::vector<std::optional<std::size_t>>{0, 0, 0});
}

TEST_CASE("the plan refuses virtual time, missing addresses and no hosts",
          "[deployment]") {
  auto sc = parse("deployment: {agents: {1: b}}\n");
  CHECK_THROWS_WITH(make_deployment_plan(sc, {}), Catch::Contains("no hosts"));
  CHECK_THROWS_WITH(make_deployment_plan(sc, parse_host_list("a=h:1")),
                    Catch::Contains("agent group 1 is placed on host 'b', which has no "
                                    "address"));
  sc.clock = clock_mode::virtual_time;
  CHECK_THROWS_WITH(make_deployment_plan(sc, parse_host_list("b=h:1")),
                    Catch::Contains("needs real time"));
}

TEST_CASE("node protocol messages round-trip through CAF's binary format",
          "[deployment]") {
  protocol_config cfg;
  caf::actor_system sys{cfg};
  dist::spawn_group in{"seed: 1", "f.yaml", 7, 2, 40, {}, {}, 123456789, {}};
  std::vector<char> buf;
  {
    caf::binary_serializer sink{sys, buf};
    REQUIRE(!sink(in));
  }
  dist::spawn_group out;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(out));
  CHECK(out.scenario == in.scenario);
  CHECK(out.file == in.file);
  CHECK(out.seed == 7);
  CHECK(out.group == 2);
  CHECK(out.first_index == 40);
  CHECK(out.start_ns == 123456789);
  CHECK(cfg.value_factories_by_name.count("marketsim.spawn_group") == 1);
  CHECK(cfg.value_factories_by_name.count("marketsim.spawn_shards") == 1);
  CHECK(cfg.value_factories_by_name.count("marketsim.spawned") == 1);
}

TEST_CASE("the vocabulary fingerprint is stable and sees every registration",
          "[deployment]") {
  protocol_config a;
  protocol_config b;
  CHECK(dist::vocabulary_fingerprint(a) == dist::vocabulary_fingerprint(b));
  CHECK(dist::vocabulary_fingerprint(a) == dist::vocabulary_fingerprint());
  CHECK(dist::vocabulary_fingerprint(a, 1) != dist::vocabulary_fingerprint(a));
  // One more type registered: another vocabulary.
  b.add_message_type<std::vector<std::uint64_t>>("std::vector<extra>");
  CHECK(dist::vocabulary_fingerprint(a) != dist::vocabulary_fingerprint(b));
}
