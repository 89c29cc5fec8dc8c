/// Specification of the topology generators (src/network/generators.hpp):
/// the structure each one builds for known parameters, determinism per seed,
/// and the geography (great-circle distances, fibre latency).

#include "network/generators.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace marketsim::network;
using marketsim::actors::random_stream;

link_props props_10ns() {
  link_props p;
  p.latency_ns = 10;
  return p;
}

/// Undirected link count: every generator adds links in both directions.
std::size_t undirected_links(const topology& t) {
  for (const directed_link& l : t.links())
    REQUIRE(t.find_link(l.to, l.from) != nullptr);
  return t.link_count() / 2;
}

std::size_t degree_sum(const topology& t) {
  std::size_t sum = 0;
  for (site_id s = 0; s < t.site_count(); ++s)
    sum += t.out_degree(s);
  return sum;
}

/// Number of hops of the route from 0 to s.
std::size_t hops_from_root(const topology& t, site_id s) {
  auto r = t.route(0, s);
  REQUIRE(r);
  return r->hops.size() - 1;
}

} // namespace

// -- regular shapes ----------------------------------------------------------------

TEST_CASE("star: a hub linked to every leaf, leaves two hops apart", "[generators]") {
  const topology t = star(6, props_10ns());
  CHECK(t.site_count() == 6);
  CHECK(undirected_links(t) == 5);
  CHECK(t.out_degree(0) == 5);
  for (site_id s = 1; s < 6; ++s)
    CHECK(t.neighbours(s) == std::vector<site_id>{0});
  CHECK(t.route(2, 5) == route{{2, 0, 5}, 20});
  CHECK(t.site_at(3).name == "n3");
  CHECK(star(1, props_10ns()).link_count() == 0);
}

TEST_CASE("full_mesh: n(n-1)/2 links, every site one hop from every other",
          "[generators]") {
  const topology t = full_mesh(7, props_10ns());
  CHECK(undirected_links(t) == 21);
  for (site_id s = 0; s < 7; ++s)
    CHECK(t.out_degree(s) == 6);
  CHECK(t.route(3, 6) == route{{3, 6}, 10});
}

TEST_CASE("ring: each site linked to its two ring neighbours", "[generators]") {
  const topology t = ring(8, props_10ns());
  CHECK(undirected_links(t) == 8);
  CHECK(t.neighbours(0) == std::vector<site_id>{1, 7});
  CHECK(t.neighbours(4) == std::vector<site_id>{3, 5});
  CHECK(t.neighbours(7) == std::vector<site_id>{0, 6});
  CHECK(t.route(0, 4)->latency_ns == 40); // opposite side: 4 hops
  CHECK(t.route(0, 6) == route{{0, 7, 6}, 20});
  CHECK(ring(2, props_10ns()).link_count() == 2);
  CHECK(ring(1, props_10ns()).link_count() == 0);
}

TEST_CASE("tree: n-1 links, breadth-first parents, logarithmic depth", "[generators]") {
  // Binary tree of 15 sites: complete, depth 3.
  const topology t = tree(15, 2, props_10ns());
  CHECK(undirected_links(t) == 14);
  CHECK(t.neighbours(0) == std::vector<site_id>{1, 2});
  CHECK(t.neighbours(1) == std::vector<site_id>{0, 3, 4});
  CHECK(t.neighbours(14) == std::vector<site_id>{6});
  std::size_t depth = 0;
  for (site_id s = 0; s < 15; ++s)
    depth = std::max(depth, hops_from_root(t, s));
  CHECK(depth == 3);
  CHECK(t.route(7, 14) == route{{7, 3, 1, 0, 2, 6, 14}, 60});

  // Branching 3, 13 sites: 1 + 3 + 9, depth 2; branching 1 is a path.
  const topology t3 = tree(13, 3, props_10ns());
  CHECK(hops_from_root(t3, 12) == 2);
  CHECK(hops_from_root(t3, 4) == 2);
  CHECK(hops_from_root(t3, 3) == 1);
  CHECK(hops_from_root(tree(5, 1, props_10ns()), 4) == 4);
  CHECK_THROWS_AS(tree(5, 0, props_10ns()), std::invalid_argument);
}

// -- random graphs -------------------------------------------------------------------

TEST_CASE("erdos_renyi: p = 0 gives no links, p = 1 the full mesh", "[generators]") {
  random_stream rng(1);
  const topology empty = erdos_renyi(10, 0.0, props_10ns(), rng);
  CHECK(empty.site_count() == 10);
  CHECK(empty.link_count() == 0);
  CHECK_FALSE(empty.is_connected());

  const topology full = erdos_renyi(10, 1.0, props_10ns(), rng);
  CHECK(full.links() == full_mesh(10, props_10ns()).links());
  CHECK(full.is_connected());

  CHECK_THROWS_AS(erdos_renyi(10, 1.5, props_10ns(), rng), std::invalid_argument);
}

TEST_CASE("erdos_renyi: the link count is near p * n(n-1)/2", "[generators]") {
  random_stream rng(42);
  const topology t = erdos_renyi(200, 0.1, props_10ns(), rng);
  // Mean 1990, standard deviation ~42: 5 sigma either way.
  const auto links = static_cast<double>(undirected_links(t));
  CHECK(std::abs(links - 1990.0) < 5 * 42.3);
  // Far above the connectivity threshold ln(n)/n ~ 0.026.
  CHECK(t.is_connected());
}

TEST_CASE("watts_strogatz: beta = 0 is the ring lattice", "[generators]") {
  random_stream rng(3);
  const topology t = watts_strogatz(10, 4, 0.0, props_10ns(), rng);
  CHECK(undirected_links(t) == 20);
  for (site_id s = 0; s < 10; ++s)
    CHECK(t.out_degree(s) == 4);
  CHECK(t.neighbours(0) == std::vector<site_id>{1, 2, 8, 9});
  CHECK(t.neighbours(5) == std::vector<site_id>{3, 4, 6, 7});
  // k = 2 and beta = 0 is the plain ring.
  CHECK(watts_strogatz(8, 2, 0.0, props_10ns(), rng).links() ==
        ring(8, props_10ns()).links());
}

TEST_CASE("watts_strogatz: rewiring keeps the link count and changes the lattice",
          "[generators]") {
  random_stream rng(11);
  const topology lattice = watts_strogatz(50, 6, 0.0, props_10ns(), rng);
  const topology rewired = watts_strogatz(50, 6, 0.3, props_10ns(), rng);
  CHECK(undirected_links(rewired) == 150);
  CHECK(degree_sum(rewired) == 300);
  CHECK(rewired.links() != lattice.links());
  // Rewiring from site i keeps i's end: every site keeps at least k/2 links.
  for (site_id s = 0; s < 50; ++s)
    CHECK(rewired.out_degree(s) >= 3);
  CHECK_THROWS_AS(watts_strogatz(10, 3, 0.1, props_10ns(), rng), std::invalid_argument);
  CHECK_THROWS_AS(watts_strogatz(4, 4, 0.1, props_10ns(), rng), std::invalid_argument);
}

TEST_CASE("barabasi_albert: link count, degree sum and minimum degree", "[generators]") {
  random_stream rng(5);
  const std::size_t n = 100, m = 3;
  const topology t = barabasi_albert(n, m, props_10ns(), rng);
  const std::size_t expected_links = m * (m + 1) / 2 + (n - m - 1) * m; // 6 + 288
  CHECK(undirected_links(t) == expected_links);
  CHECK(degree_sum(t) == 2 * expected_links);
  std::size_t max_degree = 0;
  for (site_id s = 0; s < n; ++s) {
    CHECK(t.out_degree(s) >= m);
    max_degree = std::max(max_degree, t.out_degree(s));
  }
  // Preferential attachment grows hubs well above the mean degree (~6).
  CHECK(max_degree >= 15);
  CHECK(t.is_connected());
  CHECK_THROWS_AS(barabasi_albert(3, 3, props_10ns(), rng), std::invalid_argument);
  CHECK_THROWS_AS(barabasi_albert(3, 0, props_10ns(), rng), std::invalid_argument);
}

TEST_CASE("Random generators: the same seed gives the same graph", "[generators]") {
  auto er = [](std::uint64_t seed) {
    random_stream rng(seed);
    return erdos_renyi(40, 0.2, props_10ns(), rng).links();
  };
  auto ws = [](std::uint64_t seed) {
    random_stream rng(seed);
    return watts_strogatz(40, 4, 0.5, props_10ns(), rng).links();
  };
  auto ba = [](std::uint64_t seed) {
    random_stream rng(seed);
    return barabasi_albert(40, 2, props_10ns(), rng).links();
  };
  CHECK(er(7) == er(7));
  CHECK(er(7) != er(8));
  CHECK(ws(7) == ws(7));
  CHECK(ws(7) != ws(8));
  CHECK(ba(7) == ba(7));
  CHECK(ba(7) != ba(8));
}

// -- geography ---------------------------------------------------------------------

TEST_CASE("great_circle_km is within 1% of published distances", "[generators]") {
  // Published great-circle distances between city centres (e.g.
  // https://www.distance.to and the Wikipedia city articles): New York-London
  // 5,570 km, London-Paris 344 km, New York-Chicago 1,145 km, San Francisco-
  // New York 4,130 km, London-Tokyo 9,560 km.
  auto km = [](const char* a, const char* b) {
    const auto pa = find_place(a);
    const auto pb = find_place(b);
    REQUIRE(pa);
    REQUIRE(pb);
    return great_circle_km(pa->lat, pa->lon, pb->lat, pb->lon);
  };
  CHECK(km("New York", "London") == Approx(5570.0).epsilon(0.01));
  CHECK(km("London", "Paris") == Approx(344.0).epsilon(0.01));
  CHECK(km("New York", "Chicago") == Approx(1145.0).epsilon(0.01));
  CHECK(km("San Francisco", "New York") == Approx(4130.0).epsilon(0.01));
  CHECK(km("London", "Tokyo") == Approx(9560.0).epsilon(0.01));
  CHECK(km("London", "New York") == km("New York", "London"));
  CHECK(great_circle_km(10.0, 20.0, 10.0, 20.0) == 0.0);
  // Half the circumference between antipodes.
  CHECK(great_circle_km(0.0, 0.0, 0.0, 180.0) ==
        Approx(std::numbers::pi * earth_radius_km));
}

TEST_CASE("Known places include the main financial centres", "[generators]") {
  for (const char* name :
       {"New York", "Chicago", "San Francisco", "London", "Frankfurt", "Paris", "Tokyo",
        "Singapore", "Hong Kong", "Sydney", "Mumbai", "Sao Paulo"})
    CHECK(find_place(name));
  CHECK_FALSE(find_place("Atlantis"));
  CHECK(known_places().size() >= 12);
}

TEST_CASE("geographic: latency is distance over 200,000 km/s plus the per-hop cost",
          "[generators]") {
  geographic_params params;
  params.per_hop_ns = 50'000;
  const topology t =
      geographic(std::vector<std::string>{"New York", "London", "Chicago"}, params);
  REQUIRE(t.site_count() == 3);
  const site_id ny = *t.find_site("New York");
  const site_id lon = *t.find_site("London");
  const site_id chi = *t.find_site("Chicago");
  CHECK(t.site_at(lon).lat == Approx(51.5074));

  const double km = great_circle_km(t.site_at(ny).lat, t.site_at(ny).lon,
                                    t.site_at(lon).lat, t.site_at(lon).lon);
  // 5,570 km at 5 us/km: ~27.85 ms one way, plus 50 us.
  const std::int64_t expected = std::llround(km / 200'000.0 * 1e9) + 50'000;
  CHECK(t.find_link(ny, lon)->latency_ns == expected);
  CHECK(t.find_link(lon, ny)->latency_ns == expected);
  CHECK(expected == Approx(27'851'111 + 50'000).epsilon(0.001));
  CHECK(fibre_latency_ns(1000.0) == 5'000'000);

  // Full mesh: the direct link is the fastest route (triangle inequality
  // plus a per-hop cost).
  CHECK(undirected_links(t) == 3);
  CHECK(t.route(chi, lon)->hops == std::vector<site_id>{chi, lon});
}

TEST_CASE("geographic: nearest-k links each place to its k nearest", "[generators]") {
  geographic_params params;
  params.rule = geo_connect::nearest_k;
  params.k = 1;
  params.per_hop_ns = 1'000;
  const topology t = geographic(
      std::vector<std::string>{"London", "Paris", "Tokyo", "Hong Kong", "New York"},
      params);
  const auto id = [&](const char* name) { return *t.find_site(name); };
  // London<->Paris and Tokyo<->Hong Kong are mutual nearest; New York's
  // nearest of these is London.
  CHECK(t.neighbours(id("Paris")) == std::vector<site_id>{id("London")});
  CHECK(t.neighbours(id("Tokyo")) == std::vector<site_id>{id("Hong Kong")});
  CHECK(t.neighbours(id("New York")) == std::vector<site_id>{id("London")});
  CHECK(undirected_links(t) == 3);
  // Two components: no route from New York to Tokyo.
  CHECK_FALSE(t.route(id("New York"), id("Tokyo")));
  // New York -> Paris goes through London, paying the per-hop cost twice.
  const auto r = t.route(id("New York"), id("Paris"));
  REQUIRE(r);
  CHECK(r->hops == std::vector<site_id>{id("New York"), id("London"), id("Paris")});
  CHECK(r->latency_ns == t.find_link(id("New York"), id("London"))->latency_ns +
                             t.find_link(id("London"), id("Paris"))->latency_ns);

  params.k = 2;
  CHECK(geographic(std::vector<std::string>{"London", "Paris", "Tokyo"}, params)
            .link_count() == 6);
}

TEST_CASE("geographic: custom places and bad input", "[generators]") {
  geographic_params params;
  const topology t =
      geographic(std::vector<place>{{"A", 0.0, 0.0}, {"B", 0.0, 1.0}}, params);
  // One degree of longitude on the equator: 6371 * pi / 180 = 111.19 km.
  CHECK(t.find_link(0, 1)->latency_ns == fibre_latency_ns(111.19492664455873));
  CHECK_THROWS_WITH(geographic(std::vector<std::string>{"London", "Atlantis"}, params),
                    Catch::Contains("unknown place 'Atlantis'"));
  CHECK_THROWS_AS(geographic(std::vector<place>{{"X", 95.0, 0.0}}, params),
                  std::invalid_argument);
  params.rule = geo_connect::nearest_k;
  params.k = 2;
  CHECK_THROWS_AS(geographic(std::vector<std::string>{"London", "Paris"}, params),
                  std::invalid_argument);
}
