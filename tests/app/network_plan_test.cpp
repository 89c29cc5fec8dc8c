#include "app/network_plan.hpp"

#include "actors/random.hpp"
#include "app/scenario.hpp"
#include "network/generators.hpp"
#include "strategies/registry.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace marketsim::app;
using namespace std::chrono_literals;
namespace net = marketsim::network;
namespace lat = marketsim::network::latency;
namespace st = marketsim::strategies;
namespace ac = marketsim::actors;
using Catch::Matchers::Contains;

namespace {

class idle : public st::strategy {};

/// One strategy without parameters: these tests are about the network.
st::strategy_registry test_registry() {
  st::strategy_registry r;
  st::strategy_info info;
  info.name = "idle";
  info.summary = "does nothing";
  info.make = [](const st::param_values&) -> std::unique_ptr<st::strategy> {
    return std::make_unique<idle>();
  };
  r.add(std::move(info));
  return r;
}

const st::strategy_registry registry = test_registry();

// Line numbers matter: `network:` is line 12 of every file built with
// with_network(), its first entry line 13.
const std::string header = R"yaml(seed: 42
duration: 60s
symbols:
  - {name: A, tick_size: 1, lot_size: 1, reference_price: 100}
  - {name: B, tick_size: 1, lot_size: 1, reference_price: 100}
shards:
  - {symbols: [A]}
  - {symbols: [B]}
agents:
  - {count: 1, strategy: idle}
  - {count: 2, strategy: idle}
network:
)yaml";

std::string with_network(const std::string& body) {
  return header + body;
}

scenario parse(const std::string& yaml) {
  return parse_scenario(yaml, "net.yaml", registry);
}

network_plan plan_of(const std::string& yaml) {
  auto plan = make_network_plan(parse(yaml));
  REQUIRE(plan);
  return std::move(*plan);
}

/// The error message of a bad file ("" if it parses).
std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "";
}

net::site_id id(const network_plan& p, const std::string& name) {
  auto s = p.topology.find_site(name);
  REQUIRE(s);
  return *s;
}

const net::link_params& model(const network_plan& p, const std::string& a,
                              const std::string& b) {
  auto it = p.link_models.find({id(p, a), id(p, b)});
  REQUIRE(it != p.link_models.end());
  return it->second;
}

std::int64_t ms(std::int64_t x) {
  return x * 1'000'000;
}

network_event congestion(std::chrono::nanoseconds at, std::string what, std::uint32_t a,
                         std::uint32_t b, double m, double f) {
  return {at, std::move(what), ac::net_congestion{a, b, m, f}};
}

network_event link_state(std::chrono::nanoseconds at, std::string what, std::uint32_t a,
                         std::uint32_t b, bool up) {
  return {at, std::move(what), ac::net_link_state{a, b, up}};
}

network_event site_state(std::chrono::nanoseconds at, std::string what, std::uint32_t s,
                         bool up) {
  return {at, std::move(what), ac::net_site_state{s, up}};
}

} // namespace

// -- shapes -------------------------------------------------------------------------

TEST_CASE("A scenario without network: has no plan", "[network_plan]") {
  auto yaml = header.substr(0, header.size() - std::string{"network:\n"}.size());
  auto sc = parse(yaml);
  CHECK_FALSE(sc.network);
  CHECK_FALSE(make_network_plan(sc));
}

TEST_CASE("A star: node_i sites, the default link on every link", "[network_plan]") {
  auto p = plan_of(with_network(R"yaml(  topology: star
  nodes: 8
  link: {latency: "normal(50ms, 10ms)", bandwidth: 1000kbps, loss: 0.5%}
)yaml"));
  REQUIRE(p.topology.site_count() == 8);
  CHECK(p.topology.site_at(0).name == "node_0");
  CHECK(p.topology.site_at(7).name == "node_7");
  CHECK(p.topology.link_count() == 14);
  CHECK(p.topology.neighbours(0).size() == 7);
  const auto& m = model(p, "node_0", "node_3");
  CHECK(m.propagation == net::latency_distribution{lat::normal{ms(50), ms(10)}});
  CHECK(m.bandwidth_bps == 1'000'000);
  CHECK(m.loss_rate == Approx(0.005));
  CHECK(m.ordered);
  // Routing weighs each link by its mean latency.
  const auto* props = p.topology.find_link(0, 3);
  REQUIRE(props);
  CHECK(props->latency_ns == std::llround(m.propagation.mean()));
  CHECK(props->bandwidth_bps == 1'000'000);
  CHECK(props->loss_rate == Approx(0.005));
  // make_link hands the network actor the same models.
  auto made = p.make_link({0, 3, *props});
  CHECK(made.propagation == m.propagation);
  CHECK(made.bandwidth_bps == m.bandwidth_bps);
}

TEST_CASE("Regular shapes have their link counts", "[network_plan]") {
  auto links = [](const std::string& body) {
    return plan_of(with_network(body)).topology.link_count() / 2;
  };
  CHECK(links("  topology: mesh\n  nodes: 6\n") == 15);
  CHECK(links("  topology: ring\n  nodes: 5\n") == 5);
  CHECK(links("  topology: tree\n  nodes: 7\n  branching: 2\n") == 6);
  CHECK(links("  topology: small_world\n  nodes: 10\n  k: 4\n  beta: 0.2\n") == 20);
  CHECK(links("  topology: scale_free\n  nodes: 10\n  m: 2\n") == 3 + 7 * 2);
  auto random = plan_of(with_network("  topology: random\n  nodes: 12\n  p: 0.3\n"));
  CHECK(random.topology.site_count() == 12);
  CHECK(random.topology.is_connected());
}

TEST_CASE("A tree branches as asked; geographic nearest links the closest places",
          "[network_plan]") {
  auto tree = plan_of(with_network("  topology: tree\n  nodes: 7\n  branching: 3\n"));
  CHECK(tree.topology.neighbours(0) == std::vector<net::site_id>{1, 2, 3});
  CHECK(tree.topology.neighbours(1) == std::vector<net::site_id>{0, 4, 5, 6});
  CHECK(tree.topology.neighbours(2) == std::vector<net::site_id>{0});
  const std::string places = R"yaml(  topology: geographic
  places: [New York, Chicago, London, Frankfurt]
  connect: nearest
)yaml";
  // Each place to its nearest one: two continents, not connected.
  CHECK_THAT(error_of(with_network(places + "  nearest: 1\n")),
             Contains("net.yaml:13: the network is not connected"));
  // Two nearest: everything but Chicago-Frankfurt (neither is among the
  // other's two nearest).
  auto geo = plan_of(with_network(places + "  nearest: 2\n"));
  CHECK(geo.topology.link_count() == 2 * 5);
  CHECK_FALSE(geo.topology.find_link(id(geo, "Chicago"), id(geo, "Frankfurt")));
  CHECK(geo.topology.find_link(id(geo, "New York"), id(geo, "Frankfurt")));
}

TEST_CASE("Generated sites may be named", "[network_plan]") {
  auto p = plan_of(with_network("  topology: ring\n  names: [alpha, beta, gamma]\n"));
  REQUIRE(p.topology.site_count() == 3);
  CHECK(p.topology.site_at(1).name == "beta");
  CHECK(p.topology.find_link(0, 2));
}

TEST_CASE("An exponential mesh: the seed's mesh_network", "[network_plan]") {
  auto p = plan_of(with_network(R"yaml(  topology: mesh
  nodes: 6
  link: {latency: {distribution: exponential, mean: 30ms}, bandwidth: 2Mbps}
)yaml"));
  const auto& m = model(p, "node_2", "node_5");
  CHECK(m.propagation == net::latency_distribution{lat::exponential{ms(30)}});
  CHECK(m.bandwidth_bps == 2'000'000);
  CHECK(p.topology.find_link(2, 5)->latency_ns == ms(30));
}

TEST_CASE("Geographic latencies are great-circle fibre latencies plus the hop cost",
          "[network_plan]") {
  auto p = plan_of(with_network(R"yaml(  topology: geographic
  places: [New York, London, {name: lab, lat: 47.0, lon: 8.0}]
  per_hop: 1ms
)yaml"));
  REQUIRE(p.topology.site_count() == 3);
  auto ny = net::find_place("New York");
  auto ldn = net::find_place("London");
  REQUIRE(ny);
  REQUIRE(ldn);
  auto expected =
      net::fibre_latency_ns(net::great_circle_km(ny->lat, ny->lon, ldn->lat, ldn->lon)) +
      ms(1);
  CHECK(model(p, "New York", "London").propagation ==
        net::latency_distribution{lat::constant{expected}});
  CHECK(p.topology.find_link(0, 1)->latency_ns == expected);
  CHECK(p.topology.site_at(2).lat == 47.0);
  CHECK(p.topology.link_count() == 6);
}

const std::string global_body = R"yaml(  topology: regions
  regions:
    - {name: us_east, nodes: 4, coordinates: [40.7128, -74.0060]}
    - {name: us_west, nodes: 3, coordinates: [37.7749, -122.4194]}
    - {name: europe, nodes: 3, place: London, latency: 2ms}
    - {name: asia, sites: [tokyo, osaka], place: Tokyo}
  inter_region_latency:
    us_east-us_west: 80ms
    us_east-europe: 70ms
    us_east-asia: 150ms
    us_west-europe: 120ms
    us_west-asia: 100ms
)yaml";

TEST_CASE("Regions: meshes inside, gateways linked by the table or by distance",
          "[network_plan]") {
  auto p = plan_of(with_network(global_body));
  REQUIRE(p.topology.site_count() == 12);
  CHECK(p.topology.site_at(0).name == "us_east_0");
  CHECK(p.topology.site_at(4).name == "us_west_0");
  CHECK(p.topology.site_at(10).name == "tokyo");
  CHECK(p.topology.site_at(4).lat == 37.7749);
  // Inside: full meshes (6 + 3 + 3 + 1 links); between: 6 gateway pairs.
  CHECK(p.topology.link_count() == 2 * (6 + 3 + 3 + 1 + 6));
  CHECK(model(p, "us_east_1", "us_east_3").propagation ==
        net::latency_distribution{lat::constant{ms(1)}});
  CHECK(model(p, "europe_0", "europe_2").propagation ==
        net::latency_distribution{lat::constant{ms(2)}});
  CHECK(model(p, "us_west_0", "us_east_0").propagation ==
        net::latency_distribution{lat::constant{ms(80)}});
  CHECK(model(p, "tokyo", "us_west_0").propagation ==
        net::latency_distribution{lat::constant{ms(100)}});
  CHECK_FALSE(p.topology.find_link(id(p, "us_east_1"), id(p, "us_west_1")));
  // europe-asia is not in the table: London-Tokyo over fibre.
  auto ldn = *net::find_place("London");
  auto tyo = *net::find_place("Tokyo");
  CHECK(model(p, "europe_0", "tokyo").propagation ==
        net::latency_distribution{lat::constant{net::fibre_latency_ns(
            net::great_circle_km(ldn.lat, ldn.lon, tyo.lat, tyo.lon))}});
}

TEST_CASE("A custom network: listed sites and links, directed ones too",
          "[network_plan]") {
  auto p = plan_of(with_network(R"yaml(  topology: custom
  sites: [ex, {name: ny, place: New York, kind: exchange}, {name: x-y, lat: 1, lon: 2}]
  link: {latency: 3ms}
  links:
    - ex-ny
    - {from: ny, to: x-y, directed: true, latency: "cubic(1ms, 0.5, 1ms)"}
    - {link: x-y->ex, bandwidth: 1Gbps}
)yaml"));
  REQUIRE(p.topology.site_count() == 3);
  CHECK(p.topology.link_count() == 4);
  CHECK(p.topology.site_at(1).kind == net::site_kind::exchange);
  CHECK(model(p, "ny", "ex").propagation ==
        net::latency_distribution{lat::constant{ms(3)}});
  CHECK(model(p, "ny", "x-y").propagation ==
        net::latency_distribution{lat::cubic_jitter{ms(1), 0.5, ms(1), 0.1}});
  CHECK_FALSE(p.topology.find_link(2, 1));
  CHECK(model(p, "x-y", "ex").bandwidth_bps == 1'000'000'000);
}

TEST_CASE("Per-link overrides change one or both directions", "[network_plan]") {
  auto p = plan_of(with_network(R"yaml(  topology: star
  nodes: 4
  link: {latency: 10ms, bandwidth: 1Mbps}
  links:
    - {link: node_0-node_1, latency: "pareto(10ms, 2.5)", loss: 0.1}
    - {from: node_0, to: node_2, directed: true, bandwidth: 1.5Gbps, ordered: false}
)yaml"));
  for (auto [a, b] : {std::pair{"node_0", "node_1"}, std::pair{"node_1", "node_0"}}) {
    const auto& m = model(p, a, b);
    CHECK(m.propagation == net::latency_distribution{lat::pareto{ms(10), 2.5}});
    CHECK(m.loss_rate == 0.1);
    CHECK(m.bandwidth_bps == 1'000'000);
  }
  CHECK(model(p, "node_0", "node_2").bandwidth_bps == 1'500'000'000);
  CHECK_FALSE(model(p, "node_0", "node_2").ordered);
  CHECK(model(p, "node_2", "node_0").bandwidth_bps == 1'000'000);
  CHECK(model(p, "node_2", "node_0").ordered);
  CHECK(model(p, "node_0", "node_3").propagation ==
        net::latency_distribution{lat::constant{ms(10)}});
}

// -- placement ----------------------------------------------------------------------

TEST_CASE("Everything sits at the first site unless placed", "[network_plan]") {
  auto p = plan_of(with_network("  topology: ring\n  nodes: 3\n"));
  CHECK(p.shard_sites == std::vector<net::site_id>{0, 0});
  CHECK(p.hub_site == 0);
  CHECK(p.oracle_site == 0);
  CHECK(p.group_sites == std::vector<net::site_id>{0, 0});
  CHECK(p.topology.site_at(0).kind == net::site_kind::exchange);
  CHECK(p.topology.site_at(1).kind == net::site_kind::host);
}

TEST_CASE("Shards, hub, oracle and groups are placed by site name; access links",
          "[network_plan]") {
  auto p = plan_of(R"yaml(seed: 42
duration: 60s
symbols:
  - {name: A, tick_size: 1, lot_size: 1, reference_price: 100}
  - {name: B, tick_size: 1, lot_size: 1, reference_price: 100}
shards:
  - {symbols: [A], site: node_1}
  - {symbols: [B]}
agents:
  - {count: 1, strategy: idle, site: node_3}
  - count: 2
    strategy: idle
    site: node_2
    access: {latency: 100ms, bandwidth: 500kbps, loss: 0.02}
  - count: 1
    strategy: idle
    access: {name: broker, latency: "normal(75ms, 5ms)"}
network:
  topology: star
  nodes: 4
  link: {latency: 1ms, bandwidth: 1Gbps}
  placement: {default: node_2, hub: node_3, oracle: node_0}
)yaml");
  REQUIRE(p.topology.site_count() == 6);
  CHECK(p.shard_sites == std::vector<net::site_id>{1, 2});
  CHECK(p.hub_site == 3);
  CHECK(p.oracle_site == 0);
  REQUIRE(p.group_sites.size() == 3);
  CHECK(p.group_sites[0] == 3);
  CHECK(p.topology.site_at(p.group_sites[1]).name == "group_1");
  CHECK(p.topology.site_at(p.group_sites[2]).name == "broker");
  CHECK(p.topology.site_at(p.group_sites[1]).kind == net::site_kind::agent_group);
  // The access link joins the access site to the group's site, both ways.
  const auto& access = model(p, "group_1", "node_2");
  CHECK(access.propagation == net::latency_distribution{lat::constant{ms(100)}});
  CHECK(access.bandwidth_bps == 500'000);
  CHECK(access.loss_rate == 0.02);
  CHECK(model(p, "node_2", "group_1").bandwidth_bps == 500'000);
  // Unset access properties come from network.link; no site: the default.
  CHECK(model(p, "broker", "node_2").bandwidth_bps == 1'000'000'000);
  CHECK(p.topology.neighbours(id(p, "broker")) == std::vector<net::site_id>{2});
}

// -- disruptions ----------------------------------------------------------------------

TEST_CASE("A congestion congests each named direction, then ends", "[network_plan]") {
  auto p = plan_of(with_network(R"yaml(  topology: star
  nodes: 8
  disruptions:
    - type: congestion
      links: [node_0-node_1, node_2->node_0]
      start: 10s
      duration: 20s
      latency_multiplier: 3
      bandwidth_reduction: 0.5
)yaml"));
  std::vector<network_event> expected{
      congestion(10s, "congestion node_0->node_1 x3, bandwidth x0.5 (begins)", 0, 1, 3,
                 0.5),
      congestion(10s, "congestion node_1->node_0 x3, bandwidth x0.5 (begins)", 1, 0, 3,
                 0.5),
      congestion(10s, "congestion node_2->node_0 x3, bandwidth x0.5 (begins)", 2, 0, 3,
                 0.5),
      congestion(30s, "congestion node_0->node_1 x1, bandwidth x1 (ends)", 0, 1, 1, 1),
      congestion(30s, "congestion node_1->node_0 x1, bandwidth x1 (ends)", 1, 0, 1, 1),
      congestion(30s, "congestion node_2->node_0 x1, bandwidth x1 (ends)", 2, 0, 1, 1),
  };
  CHECK(p.events == expected);
}

TEST_CASE("Link and node failures go down, then up", "[network_plan]") {
  auto p = plan_of(with_network(R"yaml(  topology: mesh
  nodes: 6
  disruptions:
    - {type: node_failure, site: node_3, start: 20s, duration: 20s}
    - {type: link_failure, links: [node_1-node_2], start: 5s, duration: 10s}
    - {type: node_failure, sites: [node_4], start: 50s}
)yaml"));
  std::vector<network_event> expected{
      link_state(5s, "link_failure node_1-node_2 down (begins)", 1, 2, false),
      link_state(15s, "link_failure node_1-node_2 up (ends)", 1, 2, true),
      site_state(20s, "node_failure node_3 down (begins)", 3, false),
      site_state(40s, "node_failure node_3 up (ends)", 3, true),
      site_state(50s, "node_failure node_4 down (begins)", 4, false),
  };
  CHECK(p.events == expected);
}

TEST_CASE("A regional outage takes the region down, or congests its links",
          "[network_plan]") {
  auto down = plan_of(with_network(global_body + R"yaml(  disruptions:
    - {type: regional_outage, region: us_west, start: 10s, duration: 30s}
)yaml"));
  std::vector<network_event> expected;
  for (std::uint32_t s : {4u, 5u, 6u})
    expected.push_back(site_state(10s,
                                  "regional_outage us_west: us_west_" +
                                      std::to_string(s - 4) + " down (begins)",
                                  s, false));
  for (std::uint32_t s : {4u, 5u, 6u})
    expected.push_back(site_state(
        40s, "regional_outage us_west: us_west_" + std::to_string(s - 4) + " up (ends)",
        s, true));
  CHECK(down.events == expected);

  auto slow = plan_of(with_network(global_body + R"yaml(  disruptions:
    - {type: regional_outage, region: us_west, start: 10s, duration: 30s,
       latency_multiplier: 5}
)yaml"));
  // Every directed link touching us_west: 3 intra pairs and 3 gateway links,
  // both ways.
  REQUIRE(slow.events.size() == 2 * 12);
  for (std::size_t i = 0; i < 12; ++i) {
    const auto& begin = slow.events[i];
    CHECK(begin.at == 10s);
    const auto& c = std::get<ac::net_congestion>(begin.change);
    CHECK(c.multiplier == 5);
    CHECK(c.bandwidth_factor == 1);
    CHECK(((c.a >= 4 && c.a <= 6) || (c.b >= 4 && c.b <= 6)));
    const auto& end = slow.events[12 + i];
    CHECK(end.at == 40s);
    CHECK(std::get<ac::net_congestion>(end.change) == ac::net_congestion{c.a, c.b, 1, 1});
  }
  CHECK(slow.events[0] == congestion(10s,
                                     "regional_outage us_west: us_east_0->us_west_0 x5 "
                                     "(begins)",
                                     0, 4, 5, 1));
}

TEST_CASE("A partition cuts every link between its groups", "[network_plan]") {
  auto p = plan_of(with_network(R"yaml(  topology: ring
  nodes: 6
  disruptions:
    - type: partition
      groups: [[node_0, node_1, node_2], [node_3, node_4, node_5]]
      start: 1s
      duration: 2s
)yaml"));
  std::vector<network_event> expected{
      link_state(1s, "partition: node_0-node_5 down (begins)", 0, 5, false),
      link_state(1s, "partition: node_2-node_3 down (begins)", 2, 3, false),
      link_state(3s, "partition: node_0-node_5 up (ends)", 0, 5, true),
      link_state(3s, "partition: node_2-node_3 up (ends)", 2, 3, true),
  };
  CHECK(p.events == expected);

  // Regions may be named in the groups.
  auto global = plan_of(with_network(global_body + R"yaml(  disruptions:
    - {type: partition, groups: [[us_east, us_west], [europe, asia]], start: 1s}
)yaml"));
  // The four gateway links between the Americas and the rest.
  CHECK(global.events.size() == 4);
}

TEST_CASE("At equal times ends come before begins, otherwise file order",
          "[network_plan]") {
  auto p = plan_of(with_network(R"yaml(  topology: ring
  nodes: 3
  disruptions:
    - {type: congestion, links: [node_0->node_1], start: 20s, duration: 10s,
       latency_multiplier: 2}
    - {type: congestion, links: [node_0->node_1], start: 10s, duration: 10s,
       bandwidth_factor: 0.25}
)yaml"));
  std::vector<network_event> expected{
      congestion(10s, "congestion node_0->node_1 bandwidth x0.25 (begins)", 0, 1, 1,
                 0.25),
      congestion(20s, "congestion node_0->node_1 x1, bandwidth x1 (ends)", 0, 1, 1, 1),
      congestion(20s, "congestion node_0->node_1 x2 (begins)", 0, 1, 2, 1),
      congestion(30s, "congestion node_0->node_1 x1, bandwidth x1 (ends)", 0, 1, 1, 1),
  };
  CHECK(p.events == expected);
}

// -- seeds ----------------------------------------------------------------------------

TEST_CASE("The same seed gives the same plan; the network seed derives from it",
          "[network_plan]") {
  const std::string body = "  topology: random\n  nodes: 16\n  p: 0.25\n";
  auto a = plan_of(with_network(body));
  auto b = plan_of(with_network(body));
  CHECK(a.seed == ac::derive_seed(42, network_seed_tag));
  CHECK(a.seed == b.seed);
  CHECK(a.topology.links() == b.topology.links());
  auto other = with_network(body);
  other.replace(0, std::string{"seed: 42"}.size(), "seed: 43");
  auto c = plan_of(other);
  CHECK(c.seed == ac::derive_seed(43, network_seed_tag));
  CHECK(c.topology.links() != a.topology.links());
}

// -- units ----------------------------------------------------------------------------

TEST_CASE("Bandwidths take a unit", "[network_plan]") {
  CHECK(parse_bandwidth("800bps") == 800);
  CHECK(parse_bandwidth("1000kbps") == 1'000'000);
  CHECK(parse_bandwidth("10Mbps") == 10'000'000);
  CHECK(parse_bandwidth("1.5Gbps") == 1'500'000'000);
  CHECK_THROWS_AS(parse_bandwidth("1000"), std::invalid_argument);
  CHECK_THROWS_AS(parse_bandwidth("10MB/s"), std::invalid_argument);
  CHECK_THROWS_AS(parse_bandwidth("-1Mbps"), std::invalid_argument);
  CHECK_THROWS_AS(parse_bandwidth("0kbps"), std::invalid_argument);
  CHECK(parse_link_latency("5ms") == net::latency_distribution{lat::constant{ms(5)}});
  CHECK(parse_link_latency("1.5ms") ==
        net::latency_distribution{lat::constant{1'500'000}});
  CHECK(parse_link_latency("exponential(30ms)") ==
        net::latency_distribution{lat::exponential{ms(30)}});
}

// -- errors ---------------------------------------------------------------------------

TEST_CASE("Network errors name the file and line", "[network_plan]") {
  auto error = [](const std::string& body) { return error_of(with_network(body)); };
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  colour: red\n"),
             Contains("net.yaml:15: unknown key 'colour' in network"));
  CHECK_THAT(error("  topology: hypercube\n  nodes: 3\n"),
             Contains("net.yaml:13: unknown topology 'hypercube'"));
  CHECK_THAT(error("  topology: star\n"), Contains("net.yaml:13: missing key 'nodes'"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  p: 0.5\n"),
             Contains("net.yaml:15: 'p' applies to topology random only"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  placement: {hub: node_9}\n"),
             Contains("net.yaml:15: unknown site 'node_9'"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  link: {bandwidth: 10MB}\n"),
             Contains("net.yaml:15: 'bandwidth': expected a bandwidth unit"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  link: {bandwidth: 1000}\n"),
             Contains("net.yaml:15:"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  link: {latency: exponential(0ms)}\n"),
             Contains("net.yaml:15: 'latency':"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  link:\n    latency: {distribution: "
                   "normal, mean: 5ms}\n"),
             Contains("net.yaml:16: missing key 'std'"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  link: {latency: lognormal(5ms)}\n"),
             Contains("net.yaml:15: 'latency':"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  link: {latency: normal(5ms, 1ms)}\n"),
             Contains("net.yaml:15: unknown key '1ms)' in link") &&
                 Contains("quote a value with a comma"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  link: {loss: 1.5}\n"),
             Contains("net.yaml:15: 'loss' must be in [0, 1]"));
  CHECK_THAT(error("  topology: geographic\n  places: [London, Atlantis]\n"),
             Contains("net.yaml:14: unknown place 'Atlantis'"));
  CHECK_THAT(
      error("  topology: geographic\n  places: [London, Paris]\n  link: {latency: "
            "1ms}\n"),
      Contains("net.yaml:15: a geographic network's latencies come from geography"));
  CHECK_THAT(error("  topology: custom\n  sites: [a, b, c]\n  links: [a-b]\n"),
             Contains("net.yaml:13: the network is not connected"));
  CHECK_THAT(error("  topology: custom\n  sites: [a, b, a]\n  links: [a-b]\n"),
             Contains("net.yaml:14: site 'a' is defined twice"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  links:\n    - {link: node_1-node_2, "
                   "latency: 1ms}\n"),
             Contains("net.yaml:16: no link node_1->node_2 in the network"));
  CHECK_THAT(error("  topology: star\n  nodes: 3\n  links: [node_1-node_7]\n"),
             Contains("net.yaml:15: unknown site 'node_7' in link 'node_1-node_7'"));
  CHECK_THAT(error("  topology: mesh\n  nodes: 5000\n"),
             Contains("net.yaml:14: a mesh network has at most 2000 sites, got 5000"));
  CHECK_THAT(error("  topology: small_world\n  nodes: 6\n  k: 3\n  beta: 0.1\n"),
             Contains("net.yaml:15: 'k' must be even"));
  CHECK_THAT(error(global_body.substr(0, global_body.find("  inter_region_latency")) +
                   "  inter_region_latency: {us_east-mars: 1ms}\n"),
             Contains("net.yaml:19: 'us_east-mars' does not name two regions"));
}

TEST_CASE("Disruption errors name the file and line", "[network_plan]") {
  auto error = [](const std::string& disruption) {
    return error_of(
        with_network("  topology: star\n  nodes: 4\n  disruptions:\n" + disruption));
  };
  // The disruption's first line is 16.
  CHECK_THAT(error("    - {type: congestion, links: [node_1-node_2], start: 1s, "
                   "latency_multiplier: 2}\n"),
             Contains("net.yaml:16: no link node_1->node_2 in the network"));
  CHECK_THAT(error("    - {type: congestion, links: [node_0-node_1], start: 1s}\n"),
             Contains("net.yaml:16: a congestion needs 'latency_multiplier'"));
  CHECK_THAT(error("    - {type: congestion, links: [node_0-node_1], start: 1s, "
                   "latency_multiplier: 0.5}\n"),
             Contains("net.yaml:16: 'latency_multiplier' must be at least 1"));
  CHECK_THAT(error("    - {type: congestion, links: [node_0-node_1], start: 1s, "
                   "bandwidth_factor: 0}\n"),
             Contains("net.yaml:16: 'bandwidth_factor' must be in (0, 1]"));
  CHECK_THAT(error("    - {type: congestion, links: [node_0-node_1], start: 1s, "
                   "bandwidth_reduction: 1}\n"),
             Contains("net.yaml:16: 'bandwidth_reduction' must be in [0, 1)"));
  CHECK_THAT(error("    - {type: link_failure, links: [node_0->node_1], start: 1s}\n"),
             Contains("net.yaml:16: a link failure cuts both directions"));
  CHECK_THAT(
      error("    - {type: node_failure, site: node_3, start: 1s, duration: -5s}\n"),
      Contains("net.yaml:16: 'duration'"));
  CHECK_THAT(error("    - {type: node_failure, site: node_3, start: 1s, duration: 0s}\n"),
             Contains("net.yaml:16: 'duration' must be positive"));
  CHECK_THAT(
      error("    - {type: node_failure, site: node_3, start: 90s}\n"),
      Contains("net.yaml:16: 'start' 90s is not before the scenario's duration 1m"));
  CHECK_THAT(error("    - {type: node_failure, site: node_8, start: 1s}\n"),
             Contains("net.yaml:16: unknown site 'node_8'"));
  CHECK_THAT(error("    - {type: regional_outage, region: us_west, start: 1s}\n"),
             Contains("net.yaml:16: unknown region 'us_west'"));
  CHECK_THAT(error("    - {type: earthquake, start: 1s}\n"),
             Contains("net.yaml:16: unknown disruption type 'earthquake'"));
  CHECK_THAT(error("    - {type: node_failure, site: node_3, start: 1s, links: [a-b]}\n"),
             Contains("net.yaml:16: unknown key 'links' in a node_failure disruption"));
  CHECK_THAT(error("    - {type: partition, groups: [[node_1], [node_1, node_2]], "
                   "start: 1s}\n"),
             Contains("net.yaml:16: site node_1 is in two groups"));
  CHECK_THAT(error("    - {type: partition, groups: [[node_1], [node_2]], start: 1s}\n"),
             Contains("net.yaml:16: the partition's groups share no link"));
}

TEST_CASE("Sites on shards and groups need a network and a known site",
          "[network_plan]") {
  auto without = header.substr(0, header.size() - std::string{"network:\n"}.size());
  auto shard = without;
  shard.replace(shard.find("{symbols: [B]}"), 14, "{symbols: [B], site: node_1}");
  CHECK_THAT(error_of(shard),
             Contains("net.yaml:8: 'site' of a shard needs a 'network:'"));
  auto group = without;
  group.replace(group.find("{count: 2, strategy: idle}"), 26,
                "{count: 2, strategy: idle, access: {latency: 1ms}}");
  CHECK_THAT(error_of(group),
             Contains("net.yaml:11: 'access' of an agent group needs a 'network:'"));
  auto placed = with_network("  topology: star\n  nodes: 3\n");
  placed.replace(placed.find("{count: 2, strategy: idle}"), 26,
                 "{count: 2, strategy: idle, site: node_5}");
  CHECK_THAT(error_of(placed), Contains("net.yaml:11: unknown site 'node_5'"));
  auto clash = with_network("  topology: star\n  nodes: 3\n");
  clash.replace(clash.find("{count: 2, strategy: idle}"), 26,
                "{count: 2, strategy: idle, access: {name: node_2}}");
  CHECK_THAT(error_of(clash), Contains("net.yaml:11: site 'node_2' is defined twice"));
}
