#include "network/generators.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <set>
#include <stdexcept>
#include <utility>

namespace marketsim::network {

namespace {

// -- helpers -----------------------------------------------------------------------

/// n sites "n0".."n{n-1}", ids 0..n-1.
topology with_sites(std::size_t n, const char* generator) {
  if (n == 0)
    throw std::invalid_argument(std::string(generator) + ": needs at least one site");
  topology t;
  for (std::size_t i = 0; i < n; ++i) {
    // Appended, not `"n" + to_string(i)`: g++ 12 at -O3 gives a false
    // -Wrestrict on the latter (GCC bug 105329).
    std::string name = "n";
    name += std::to_string(i);
    t.add_site(site{std::move(name), site_kind::host, 0.0, 0.0});
  }
  return t;
}

site_id id(std::size_t i) {
  return static_cast<site_id>(i);
}

void require_probability(double p, const char* generator, const char* what) {
  if (!(p >= 0.0 && p <= 1.0))
    throw std::invalid_argument(std::string(generator) + ": " + what + " " +
                                std::to_string(p) + " is outside [0, 1]");
}

/// A uniform index in [0, n), n > 0.
std::size_t pick(actors::random_stream& rng, std::size_t n) {
  return static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(n) - 1));
}

// Coordinates of city centres in decimal degrees, from the English Wikipedia
// article of each city (infobox "Coordinates", rounded to 4 decimals), as of
// 2024. City centres, not data centres: the error this makes (tens of km) is
// well below the per-hop cost of real routes.
const std::array<place, 16> places_table{{
    {"New York", 40.7128, -74.0060},
    {"Chicago", 41.8781, -87.6298},
    {"San Francisco", 37.7749, -122.4194},
    {"Toronto", 43.6532, -79.3832},
    {"Sao Paulo", -23.5505, -46.6333},
    {"London", 51.5074, -0.1278},
    {"Frankfurt", 50.1109, 8.6821},
    {"Paris", 48.8566, 2.3522},
    {"Amsterdam", 52.3676, 4.9041},
    {"Zurich", 47.3769, 8.5417},
    {"Mumbai", 19.0760, 72.8777},
    {"Singapore", 1.3521, 103.8198},
    {"Hong Kong", 22.3193, 114.1694},
    {"Tokyo", 35.6762, 139.6503},
    {"Seoul", 37.5665, 126.9780},
    {"Sydney", -33.8688, 151.2093},
}};

} // namespace

// -- regular shapes ----------------------------------------------------------------

topology star(std::size_t n, const link_props& props) {
  topology t = with_sites(n, "star");
  for (std::size_t i = 1; i < n; ++i)
    t.connect(0, id(i), props);
  return t;
}

topology full_mesh(std::size_t n, const link_props& props) {
  topology t = with_sites(n, "full_mesh");
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      t.connect(id(i), id(j), props);
  return t;
}

topology ring(std::size_t n, const link_props& props) {
  topology t = with_sites(n, "ring");
  if (n == 2)
    t.connect(0, 1, props);
  if (n >= 3)
    for (std::size_t i = 0; i < n; ++i)
      t.connect(id(i), id((i + 1) % n), props);
  return t;
}

topology tree(std::size_t n, std::size_t branching, const link_props& props) {
  if (branching == 0)
    throw std::invalid_argument("tree: branching must be at least 1");
  topology t = with_sites(n, "tree");
  for (std::size_t i = 1; i < n; ++i)
    t.connect(id((i - 1) / branching), id(i), props);
  return t;
}

// -- random graphs -------------------------------------------------------------------

topology erdos_renyi(std::size_t n, double p, const link_props& props,
                     actors::random_stream& rng) {
  require_probability(p, "erdos_renyi", "p");
  topology t = with_sites(n, "erdos_renyi");
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      if (rng.bernoulli(p))
        t.connect(id(i), id(j), props);
  return t;
}

topology watts_strogatz(std::size_t n, std::size_t k, double beta,
                        const link_props& props, actors::random_stream& rng) {
  if (k < 2 || k % 2 != 0 || k >= n)
    throw std::invalid_argument("watts_strogatz: k must be even with 2 <= k < n (k = " +
                                std::to_string(k) + ", n = " + std::to_string(n) + ")");
  require_probability(beta, "watts_strogatz", "beta");

  // Undirected edge set as (min, max) pairs; ordered for determinism.
  std::set<std::pair<std::size_t, std::size_t>> edges;
  auto key = [](std::size_t a, std::size_t b) {
    return std::pair{std::min(a, b), std::max(a, b)};
  };
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 1; j <= k / 2; ++j)
      edges.insert(key(i, (i + j) % n));

  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 1; j <= k / 2; ++j) {
      const auto lattice = key(i, (i + j) % n);
      // Draw for every lattice position, even one already rewired away, so
      // that the number of draws does not depend on earlier outcomes.
      if (!rng.bernoulli(beta) || !edges.contains(lattice))
        continue;
      std::vector<std::size_t> candidates;
      for (std::size_t c = 0; c < n; ++c)
        if (c != i && !edges.contains(key(i, c)))
          candidates.push_back(c);
      if (candidates.empty())
        continue;
      edges.erase(lattice);
      edges.insert(key(i, candidates[pick(rng, candidates.size())]));
    }
  }

  topology t = with_sites(n, "watts_strogatz");
  for (const auto& [a, b] : edges)
    t.connect(id(a), id(b), props);
  return t;
}

topology barabasi_albert(std::size_t n, std::size_t m, const link_props& props,
                         actors::random_stream& rng) {
  if (m == 0 || n <= m)
    throw std::invalid_argument("barabasi_albert: needs m >= 1 and n > m (n = " +
                                std::to_string(n) + ", m = " + std::to_string(m) + ")");
  topology t = with_sites(n, "barabasi_albert");
  // Each site appears here once per link end: a uniform pick from it is a
  // pick proportional to degree.
  std::vector<std::size_t> ends;
  for (std::size_t i = 0; i <= m; ++i)
    for (std::size_t j = i + 1; j <= m; ++j) {
      t.connect(id(i), id(j), props);
      ends.push_back(i);
      ends.push_back(j);
    }
  for (std::size_t v = m + 1; v < n; ++v) {
    // At least m + 1 distinct sites are in `ends`, so this terminates.
    std::set<std::size_t> targets;
    while (targets.size() < m)
      targets.insert(ends[pick(rng, ends.size())]);
    for (std::size_t u : targets) {
      t.connect(id(u), id(v), props);
      ends.push_back(u);
      ends.push_back(v);
    }
  }
  return t;
}

// -- geography ---------------------------------------------------------------------

double great_circle_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double rad = std::numbers::pi / 180.0;
  const double phi1 = lat1 * rad;
  const double phi2 = lat2 * rad;
  const double dphi = (lat2 - lat1) * rad;
  const double dlambda = (lon2 - lon1) * rad;
  const double s1 = std::sin(dphi / 2);
  const double s2 = std::sin(dlambda / 2);
  const double h = s1 * s1 + std::cos(phi1) * std::cos(phi2) * s2 * s2;
  // min() guards against rounding just above 1 for antipodal points.
  return 2.0 * earth_radius_km * std::asin(std::min(1.0, std::sqrt(h)));
}

std::int64_t fibre_latency_ns(double km) {
  return std::llround(km / fibre_km_per_s * 1e9);
}

std::span<const place> known_places() {
  return places_table;
}

std::optional<place> find_place(std::string_view name) {
  for (const place& p : places_table)
    if (p.name == name)
      return p;
  return std::nullopt;
}

topology geographic(const std::vector<place>& places, const geographic_params& params) {
  const std::size_t n = places.size();
  if (n == 0)
    throw std::invalid_argument("geographic: needs at least one place");
  if (params.per_hop_ns < 0)
    throw std::invalid_argument("geographic: negative per-hop cost " +
                                std::to_string(params.per_hop_ns) + " ns");
  if (params.rule == geo_connect::nearest_k && (params.k == 0 || params.k >= n))
    throw std::invalid_argument(
        "geographic: nearest_k needs 1 <= k < number of places (k = " +
        std::to_string(params.k) + ", places = " + std::to_string(n) + ")");
  topology t;
  for (const place& p : places) {
    if (!(p.lat >= -90.0 && p.lat <= 90.0 && p.lon >= -180.0 && p.lon <= 180.0))
      throw std::invalid_argument("geographic: place '" + p.name +
                                  "' has coordinates out of range");
    t.add_site(site{p.name, site_kind::host, p.lat, p.lon});
  }

  auto km = [&](std::size_t a, std::size_t b) {
    return great_circle_km(places[a].lat, places[a].lon, places[b].lat, places[b].lon);
  };
  std::set<std::pair<std::size_t, std::size_t>> edges;
  for (std::size_t a = 0; a < n; ++a) {
    std::vector<std::size_t> others;
    for (std::size_t b = 0; b < n; ++b)
      if (b != a)
        others.push_back(b);
    if (params.rule == geo_connect::nearest_k) {
      // Stable: equal distances keep ascending id order.
      std::stable_sort(others.begin(), others.end(),
                       [&](std::size_t x, std::size_t y) { return km(a, x) < km(a, y); });
      others.resize(params.k);
    }
    for (std::size_t b : others)
      edges.insert({std::min(a, b), std::max(a, b)});
  }

  for (const auto& [a, b] : edges) {
    link_props props;
    props.latency_ns = fibre_latency_ns(km(a, b)) + params.per_hop_ns;
    props.bandwidth_bps = params.bandwidth_bps;
    props.loss_rate = params.loss_rate;
    t.connect(id(a), id(b), props);
  }
  return t;
}

topology geographic(const std::vector<std::string>& names,
                    const geographic_params& params) {
  std::vector<place> places;
  places.reserve(names.size());
  for (const std::string& name : names) {
    auto p = find_place(name);
    if (!p)
      throw std::invalid_argument("geographic: unknown place '" + name + "'");
    places.push_back(std::move(*p));
  }
  return geographic(places, params);
}

} // namespace marketsim::network
