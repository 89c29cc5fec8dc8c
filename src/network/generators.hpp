#pragma once

/// Topology generators: regular shapes, random graphs and geographic networks
/// of named real places. Pure: randomness comes from the caller's seeded
/// actors::random_stream, so the same seed gives the same graph.
///
/// Every generator adds sites named "n0", "n1", ... (kind host, ids 0..n-1 in
/// that order) and connects them with undirected links (`topology::connect`,
/// two directed links each) that all carry `props`. Bad parameters throw
/// std::invalid_argument.

#include "actors/random.hpp"
#include "network/topology.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::network {

// -- regular shapes ---------------------------------------------------------------

/// Site 0 is the hub, linked to each of sites 1..n-1. n >= 1.
topology star(std::size_t n, const link_props& props);

/// Every pair of sites linked: n(n-1)/2 links. n >= 1.
topology full_mesh(std::size_t n, const link_props& props);

/// Site i linked to site (i+1) mod n: n links for n >= 3, one for n = 2, none
/// for n = 1.
topology ring(std::size_t n, const link_props& props);

/// A complete `branching`-ary tree in breadth-first order: the parent of site
/// i > 0 is (i-1) / branching. n - 1 links. n >= 1, branching >= 1.
topology tree(std::size_t n, std::size_t branching, const link_props& props);

// -- random graphs ----------------------------------------------------------------

/// G(n, p): each of the n(n-1)/2 pairs (i < j, in lexicographic order) is
/// linked with probability p, p in [0, 1]. The graph is returned as drawn,
/// connected or not: check topology::is_connected() and draw again with
/// another seed if the scenario needs it (forcing connectivity would change
/// the distribution).
topology erdos_renyi(std::size_t n, double p, const link_props& props,
                     actors::random_stream& rng);

/// Watts-Strogatz small world: a ring lattice where each site is linked to
/// its k/2 nearest neighbours on each side (k even, 2 <= k < n), then, for
/// each site i in order and each j = 1..k/2, the lattice link i -- (i+j) mod
/// n is rewired with probability beta (in [0, 1]) to i -- t, t uniform among
/// the sites that are neither i nor already linked to i (kept when there is
/// none). The link count stays n*k/2; beta = 0 is the ring lattice.
topology watts_strogatz(std::size_t n, std::size_t k, double beta,
                        const link_props& props, actors::random_stream& rng);

/// Barabasi-Albert preferential attachment: sites 0..m start as a full mesh;
/// each later site links to m distinct earlier sites, each chosen with
/// probability proportional to its degree. m(m+1)/2 + (n-m-1)*m links.
/// m >= 1, n > m.
topology barabasi_albert(std::size_t n, std::size_t m, const link_props& props,
                         actors::random_stream& rng);

// -- geography -------------------------------------------------------------------

/// Earth's mean radius (IUGG), used by great_circle_km.
inline constexpr double earth_radius_km = 6371.0;

/// Speed of light in optical fibre (refractive index ~1.5): ~200,000 km/s,
/// i.e. 5,000 ns per km.
inline constexpr double fibre_km_per_s = 200'000.0;

/// Great-circle distance in km between two points given in degrees
/// (haversine formula, spherical Earth of radius earth_radius_km).
double great_circle_km(double lat1, double lon1, double lat2, double lon2);

/// One-way propagation latency over `km` of fibre, in ns (rounded).
std::int64_t fibre_latency_ns(double km);

struct place {
  std::string name;
  double lat = 0.0; ///< degrees, north positive
  double lon = 0.0; ///< degrees, east positive
};

/// The built-in table of named places (financial centres), in a fixed order.
std::span<const place> known_places();

/// The place of that name in known_places() (exact, case-sensitive), or
/// nothing.
std::optional<place> find_place(std::string_view name);

enum class geo_connect : std::uint8_t {
  full_mesh, ///< every pair of places linked
  nearest_k, ///< each place linked to its k nearest (ties by lower id); union
};

struct geographic_params {
  std::int64_t per_hop_ns = 0; ///< added to every link's propagation latency
  std::int64_t bandwidth_bps = 10'000'000'000;
  double loss_rate = 0.0;
  geo_connect rule = geo_connect::full_mesh;
  std::size_t k = 2; ///< for nearest_k: 1 <= k < number of places
};

/// One site per place (named after it, kind host, ids in the given order,
/// lat/lon set); each link's latency_ns is
/// fibre_latency_ns(great_circle_km(a, b)) + per_hop_ns.
topology geographic(const std::vector<place>& places, const geographic_params& params);

/// The same, with places looked up in known_places() by name (throws
/// std::invalid_argument for an unknown name).
topology geographic(const std::vector<std::string>& names,
                    const geographic_params& params);

} // namespace marketsim::network
