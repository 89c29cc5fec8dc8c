// A node and a coordinator in one process (two actor systems talking over
// the middleman on loopback): the handshake, remote spawning and its errors,
// and the end of a session.
#include "actors/vocabulary.hpp"
#include "app/run.hpp"
#include "distributed/node.hpp"
#include "distributed/session.hpp"
#include "strategies/registry.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>

namespace dist = marketsim::distributed;
using namespace std::chrono_literals;

namespace {

const std::string scenario_text = R"(
clock: real
seed: 3
duration: 1s
symbols:
  - {name: ACME, tick_size: 1, lot_size: 1, reference_price: 100}
shards:
  - symbols: [ACME]
agents:
  - {count: 3, strategy: zero_intelligence, params: {interval: 10ms, jitter: 5ms}}
)";

struct test_config : caf::actor_system_config {
  test_config() {
    marketsim::actors::add_message_types(*this);
    dist::add_node_message_types(*this);
    set("scheduler.max-threads", std::size_t{1});
    REQUIRE(!dist::configure(*this, dist::transport_security{}));
  }
};

/// A published node actor in its own actor system.
struct node_fixture {
  const marketsim::strategies::strategy_registry registry =
      marketsim::strategies::builtin_strategies();
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::actor node;
  std::uint16_t port = 0;

  explicit node_fixture(std::uint64_t salt = 0) {
    dist::node_params p;
    p.name = "test-node";
    p.fingerprint = dist::vocabulary_fingerprint(cfg, salt);
    p.version = "test";
    p.hooks = marketsim::app::make_node_hooks(registry);
    node = dist::spawn_node(sys, std::move(p));
    auto published = dist::publish(sys, node, 0, "127.0.0.1", dist::transport_security{});
    REQUIRE(published);
    port = *published;
  }
  ~node_fixture() { caf::anon_send_exit(node, caf::exit_reason::user_shutdown); }
};

/// Counts terminations of `a`.
std::shared_ptr<std::atomic<int>> on_exit(const caf::actor& a) {
  auto n = std::make_shared<std::atomic<int>>(0);
  caf::actor_cast<caf::abstract_actor*>(a)->attach_functor([n] { ++*n; });
  return n;
}

bool eventually(const std::function<bool()>& f) {
  for (int i = 0; i < 500; ++i) {
    if (f())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

} // namespace

TEST_CASE("a node spawns shards and traders for its session and quits them on release",
          "[node]") {
  node_fixture host;
  test_config cfg;
  caf::actor_system sys{cfg};
  auto log = std::make_shared<dist::loss_log>();
  auto owner = dist::spawn_session_owner(sys, log);
  auto node = dist::join_node(sys, "a", "127.0.0.1", host.port, {}, 5000ms,
                              dist::vocabulary_fingerprint(cfg), owner);
  CHECK(node.node_name == "test-node");
  CHECK(node.address == "127.0.0.1:" + std::to_string(host.port));
  // Same machine, same steady clock: the offset is about the round trip.
  CHECK(std::abs(node.clock_offset_ns) < 50'000'000);

  auto shards = dist::spawn_on(
      sys, node, dist::spawn_shards{scenario_text, "s.yaml", 3, {0}, owner}, 5000ms);
  REQUIRE(shards.size() == 1);
  dist::spawn_group group{scenario_text, "s.yaml", 3, 0, 0, shards, {}, 0, owner};
  auto traders = dist::spawn_on(sys, node, group, 5000ms);
  REQUIRE(traders.size() == 3);
  // The node's own actors, seen from the node's system.
  auto shard_exits = on_exit(caf::actor_cast<caf::actor>(
      host.sys.registry().get(caf::actor_cast<caf::actor_addr>(shards[0]).id())));

  group.group = 5;
  CHECK_THROWS_WITH(dist::spawn_on(sys, node, group, 5000ms),
                    Catch::Contains("host a (127.0.0.1:") &&
                        Catch::Contains("no agent group 5 in s.yaml"));
  dist::spawn_shards bad{"seed: [", "bad.yaml", 1, {0}, owner};
  CHECK_THROWS_WITH(dist::spawn_on(sys, node, bad, 5000ms),
                    Catch::Contains("bad.yaml:1: malformed YAML"));

  CHECK(dist::release(sys, node, owner, 5000ms));
  CHECK(eventually([&] { return *shard_exits == 1; }));
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
}

TEST_CASE("a node refuses a spawn without a handshake", "[node]") {
  node_fixture host;
  test_config cfg;
  caf::actor_system sys{cfg};
  auto handle = dist::connect(sys, "127.0.0.1", host.port, {}, 5000ms);
  REQUIRE(handle);
  dist::remote_node node{"a", "127.0.0.1", "", *handle, 0};
  auto stranger = sys.spawn([] {});
  CHECK_THROWS_WITH(
      dist::spawn_on(
          sys, node,
          dist::spawn_shards{
              scenario_text, "s.yaml", 3, {0}, caf::actor_cast<caf::actor>(stranger)},
          5000ms),
      Catch::Contains("no handshake from this session first"));
}

TEST_CASE("both sides refuse a different vocabulary", "[node]") {
  node_fixture host{1};
  test_config cfg;
  caf::actor_system sys{cfg};
  auto owner = dist::spawn_session_owner(sys, std::make_shared<dist::loss_log>());
  CHECK_THROWS_WITH(dist::join_node(sys, "a", "127.0.0.1", host.port, {}, 5000ms,
                                    dist::vocabulary_fingerprint(cfg), owner),
                    Catch::Contains("the node refused the session: message vocabulary "
                                    "mismatch"));
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
}

TEST_CASE("a node quits a session's actors when its owner goes away", "[node]") {
  node_fixture host;
  test_config cfg;
  caf::actor_system sys{cfg};
  auto owner = dist::spawn_session_owner(sys, std::make_shared<dist::loss_log>());
  auto node = dist::join_node(sys, "a", "127.0.0.1", host.port, {}, 5000ms,
                              dist::vocabulary_fingerprint(cfg), owner);
  auto shards = dist::spawn_on(
      sys, node, dist::spawn_shards{scenario_text, "s.yaml", 3, {0}, owner}, 5000ms);
  REQUIRE(shards.size() == 1);
  auto exits = on_exit(caf::actor_cast<caf::actor>(
      host.sys.registry().get(caf::actor_cast<caf::actor_addr>(shards[0]).id())));
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  CHECK(eventually([&] { return *exits == 1; }));
}

TEST_CASE("joining a closed port fails at once with the host named", "[node]") {
  test_config cfg;
  caf::actor_system sys{cfg};
  auto owner = dist::spawn_session_owner(sys, std::make_shared<dist::loss_log>());
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(dist::join_node(sys, "z", "127.0.0.1", 1, {}, 5000ms,
                                    dist::vocabulary_fingerprint(cfg), owner),
                    Catch::StartsWith("host z (127.0.0.1:1): "));
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
}
