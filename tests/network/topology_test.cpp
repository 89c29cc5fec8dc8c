/// Specification of the topology and routing core (src/network/topology.hpp):
/// exact routes and latencies on small hand-made graphs, and how routes follow
/// links and sites going down and coming back, and congestion.

#include "network/topology.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace marketsim::network;

link_props latency(std::int64_t ns) {
  link_props p;
  p.latency_ns = ns;
  return p;
}

/// Sites a, b, c, d; a-b-d costs 10+10, a-c-d costs 15+15, a-d costs 50.
///
///        10     10
///     a ---- b ---- d
///     |  \__________/|     (a-d: 50)
///  15 |             | 15
///     c ------------+
struct diamond {
  topology t;
  site_id a, b, c, d;

  diamond() {
    a = t.add_site({"a"});
    b = t.add_site({"b"});
    c = t.add_site({"c"});
    d = t.add_site({"d"});
    t.connect(a, b, latency(10));
    t.connect(b, d, latency(10));
    t.connect(a, c, latency(15));
    t.connect(c, d, latency(15));
    t.connect(a, d, latency(50));
  }

  std::vector<site_id> hops(site_id from, site_id to) const {
    auto r = t.route(from, to);
    REQUIRE(r);
    return r->hops;
  }
};

} // namespace

TEST_CASE("Shortest route on a small graph has exact hops and latency", "[topology]") {
  diamond g;
  const auto r = g.t.route(g.a, g.d);
  REQUIRE(r);
  CHECK(r->hops == std::vector<site_id>{g.a, g.b, g.d});
  CHECK(r->latency_ns == 20);

  const auto back = g.t.route(g.d, g.a);
  REQUIRE(back);
  CHECK(back->hops == std::vector<site_id>{g.d, g.b, g.a});
  CHECK(back->latency_ns == 20);

  const auto c_to_b = g.t.route(g.c, g.b);
  REQUIRE(c_to_b);
  CHECK(c_to_b->hops == std::vector<site_id>{g.c, g.a, g.b});
  CHECK(c_to_b->latency_ns == 25);
}

TEST_CASE("A route from a site to itself is that site at zero latency", "[topology]") {
  diamond g;
  CHECK(g.t.route(g.b, g.b) == route{{g.b}, 0});
}

TEST_CASE("A link going down reroutes; coming back restores the route", "[topology]") {
  diamond g;
  g.t.set_link_up(g.b, g.d, false);
  CHECK_FALSE(g.t.find_link(g.b, g.d)->up);
  CHECK_FALSE(g.t.find_link(g.d, g.b)->up); // both directions
  CHECK(g.t.route(g.a, g.d) == route{{g.a, g.c, g.d}, 30});

  g.t.set_link_up(g.c, g.d, false);
  CHECK(g.t.route(g.a, g.d) == route{{g.a, g.d}, 50});

  g.t.set_link_up(g.b, g.d, true);
  g.t.set_link_up(g.c, g.d, true);
  CHECK(g.t.route(g.a, g.d) == route{{g.a, g.b, g.d}, 20});
}

TEST_CASE("Congestion multiplies latency and reroutes, in one direction only",
          "[topology]") {
  diamond g;
  g.t.set_congestion(g.a, g.b, 2.5); // a->b now 25: a-b-d 35 > a-c-d 30
  CHECK(g.t.find_link(g.a, g.b)->effective_latency_ns() == 25);
  CHECK(g.t.route(g.a, g.d) == route{{g.a, g.c, g.d}, 30});
  // The reverse direction is not congested.
  CHECK(g.t.route(g.d, g.a) == route{{g.d, g.b, g.a}, 20});

  g.t.set_congestion(g.a, g.b, 1.0);
  CHECK(g.t.route(g.a, g.d) == route{{g.a, g.b, g.d}, 20});

  g.t.set_congestion(g.a, g.b, 1.25); // 12.5 rounds to 13 (nearest, away from zero)
  CHECK(g.t.route(g.a, g.b) == route{{g.a, g.b}, 13});
}

TEST_CASE("A partition leaves no route; healing it restores one", "[topology]") {
  topology t;
  const site_id a = t.add_site({"a"});
  const site_id b = t.add_site({"b"});
  const site_id c = t.add_site({"c"});
  t.connect(a, b, latency(5));
  t.connect(b, c, latency(5));
  CHECK(t.is_connected());

  t.set_link_up(b, c, false);
  CHECK_FALSE(t.route(a, c));
  CHECK_FALSE(t.route(c, a));
  CHECK(t.route(a, b) == route{{a, b}, 5});
  CHECK_FALSE(t.is_connected());

  t.set_link_up(c, b, true); // either order names the same link
  CHECK(t.route(a, c) == route{{a, b, c}, 10});
  CHECK(t.is_connected());
}

TEST_CASE("A down site carries nothing and is no endpoint", "[topology]") {
  diamond g;
  g.t.site_down(g.b);
  CHECK_FALSE(g.t.is_site_up(g.b));
  CHECK(g.t.route(g.a, g.d) == route{{g.a, g.c, g.d}, 30});
  CHECK_FALSE(g.t.route(g.a, g.b));
  CHECK_FALSE(g.t.route(g.b, g.a));
  CHECK_FALSE(g.t.route(g.b, g.b));
  // The remaining up sites are still connected among themselves.
  CHECK(g.t.is_connected());
  // Its links keep their own state.
  CHECK(g.t.find_link(g.a, g.b)->up);

  g.t.site_up(g.b);
  CHECK(g.t.route(g.a, g.d) == route{{g.a, g.b, g.d}, 20});
}

TEST_CASE("Directed links route one way only", "[topology]") {
  topology t;
  const site_id a = t.add_site({"a"});
  const site_id b = t.add_site({"b"});
  t.connect_directed(a, b, latency(7));
  CHECK(t.route(a, b) == route{{a, b}, 7});
  CHECK_FALSE(t.route(b, a));
  CHECK_FALSE(t.is_connected());
  CHECK(t.link_count() == 1);
}

TEST_CASE("Ties: lowest latency, then fewest hops, then smallest predecessor id",
          "[topology]") {
  // All routes s -> d cost 20:
  //   s-x-y-d (5 + 5 + 10, 3 hops, last predecessor y = 2)
  //   s-z-d   (10 + 10,    2 hops, last predecessor z = 3)
  //   s-w-d   (10 + 10,    2 hops, last predecessor w = 4)
  // Fewest hops rules out s-x-y-d although y has the smallest id; then z
  // beats w by id.
  auto build = [](bool reversed) {
    topology t;
    for (const char* name : {"s", "x", "y", "z", "w", "d"})
      t.add_site({name});
    struct edge {
      site_id a, b;
      std::int64_t ns;
    };
    std::vector<edge> edges{{0, 1, 5},  {1, 2, 5},  {2, 5, 10}, {0, 3, 10},
                            {3, 5, 10}, {0, 4, 10}, {4, 5, 10}};
    if (reversed)
      std::reverse(edges.begin(), edges.end());
    for (const auto& e : edges)
      t.connect(e.a, e.b, latency(e.ns));
    return t;
  };
  const site_id s = 0, z = 3, d = 5;
  CHECK(build(false).route(s, d) == route{{s, z, d}, 20});
  // Links added in the opposite order: the same route.
  CHECK(build(true).route(s, d) == route{{s, z, d}, 20});
}

TEST_CASE("all_routes_from agrees with route for every destination", "[topology]") {
  diamond g;
  g.t.set_congestion(g.b, g.d, 3.0);
  const auto all = g.t.all_routes_from(g.a);
  REQUIRE(all.size() == g.t.site_count());
  for (site_id v = 0; v < g.t.site_count(); ++v)
    CHECK(all[v] == g.t.route(g.a, v));
}

TEST_CASE("Sites are found by name; links and degrees are listed", "[topology]") {
  diamond g;
  CHECK(g.t.find_site("c") == g.c);
  CHECK_FALSE(g.t.find_site("nowhere"));
  CHECK(g.t.site_at(g.d).name == "d");
  CHECK(g.t.link_count() == 10);
  CHECK(g.t.out_degree(g.a) == 3);
  CHECK(g.t.neighbours(g.d) == std::vector<site_id>{g.a, g.b, g.c});
  const auto links = g.t.links();
  REQUIRE(links.size() == 10);
  CHECK(links.front().from == g.a);
  CHECK(links.front().to == g.b);
  CHECK(links.front().props.latency_ns == 10);
}

TEST_CASE("Bad input is rejected with std::invalid_argument", "[topology]") {
  topology t;
  const site_id a = t.add_site({"a"});
  const site_id b = t.add_site({"b"});
  CHECK_THROWS_AS(t.add_site({"a"}), std::invalid_argument);
  CHECK_THROWS_AS(t.add_site({""}), std::invalid_argument);
  CHECK_THROWS_WITH(t.connect(a, 9, latency(1)), Catch::Contains("unknown site 9"));
  CHECK_THROWS_WITH(t.connect(a, a, latency(1)), Catch::Contains("self-link"));
  CHECK_THROWS_WITH(t.connect(a, b, latency(-1)), Catch::Contains("negative latency"));

  link_props lossy = latency(1);
  lossy.loss_rate = 1.5;
  CHECK_THROWS_WITH(t.connect(a, b, lossy), Catch::Contains("outside [0, 1]"));
  lossy.loss_rate = -0.1;
  CHECK_THROWS_AS(t.connect(a, b, lossy), std::invalid_argument);
  link_props no_bandwidth = latency(1);
  no_bandwidth.bandwidth_bps = 0;
  CHECK_THROWS_AS(t.connect(a, b, no_bandwidth), std::invalid_argument);
  CHECK_THROWS_WITH(t.connect(a, b, latency(max_link_latency_ns + 1)),
                    Catch::Contains("effective latency above"));
  CHECK(t.link_count() == 0); // nothing half-added

  t.connect(a, b, latency(1));
  CHECK_THROWS_WITH(t.connect(b, a, latency(1)), Catch::Contains("duplicate"));
  CHECK_THROWS_AS(t.connect_directed(a, b, latency(1)), std::invalid_argument);
  CHECK_THROWS_AS(t.set_congestion(a, b, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(t.set_congestion(a, b, 1e30), std::invalid_argument);
  CHECK(t.find_link(a, b)->latency_multiplier == 1.0); // unchanged after a throw
  CHECK_THROWS_AS(t.route(a, 5), std::invalid_argument);
  CHECK_THROWS_AS(t.site_down(5), std::invalid_argument);

  const site_id c = t.add_site({"c"});
  CHECK_THROWS_WITH(t.set_link_up(a, c, false), Catch::Contains("no link"));
  CHECK_THROWS_AS(t.set_congestion(a, c, 2.0), std::invalid_argument);
}
