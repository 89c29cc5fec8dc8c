#pragma once

/// The network's topology and routing core: sites, directed links with their
/// properties and current state, and shortest routes on the current effective
/// latency. Pure and synchronous (no CAF, no clock, no I/O); Boost.Graph is an
/// implementation detail of topology.cpp.
///
/// ## Model
///
/// - A site is a host, an exchange or an agent group, with a name (unique) and
///   a position (latitude/longitude in degrees; 0/0 when it has none).
/// - Links are **directed**. `connect(a, b, props)` adds the two directions
///   a->b and b->a with the same properties; `connect_directed` adds one.
///   At most one link per ordered pair.
/// - The effective latency of a link is `latency_ns * latency_multiplier`
///   (rounded to the nearest ns); the multiplier (>= 1) models congestion.
/// - A link carries traffic when it is up and both its ends are up. A down
///   site carries nothing: no route starts, ends or passes there.
///
/// ## Routing and tie-breaking
///
/// `route(from, to)` is a shortest route by effective latency over the links
/// that carry traffic (Dijkstra). Ties are broken deterministically, so that
/// the same topology in the same state always gives the same route:
/// 1. the lowest total effective latency;
/// 2. among those, the fewest hops;
/// 3. among those, walking back from the destination, the predecessor with
///    the smallest site id at every step.
/// The result does not depend on the order in which links were added.
///
/// Cost: each route() or all_routes_from() call builds the graph of what
/// carries traffic and runs one Dijkstra, O(E log V). Callers on a message
/// path should keep the routes and recompute them when the state changes.
///
/// Errors (unknown site, self-link, duplicate link, negative latency, an
/// effective latency above max_link_latency_ns, loss outside [0, 1],
/// non-positive bandwidth, multiplier below 1) throw
/// std::invalid_argument: topologies are built and changed from scenarios at
/// start-up or by test drivers, not on a hot path.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace marketsim::network {

using site_id = std::uint32_t;

enum class site_kind : std::uint8_t { host, exchange, agent_group };

std::string_view to_string(site_kind k);

struct site {
  std::string name;
  site_kind kind = site_kind::host;
  double lat = 0.0; ///< degrees, north positive
  double lon = 0.0; ///< degrees, east positive
};

/// The largest effective latency of one link (1e15 ns, about 11.6 days), so
/// that route latencies of up to 9,000 such links fit in int64.
inline constexpr std::int64_t max_link_latency_ns = 1'000'000'000'000'000;

/// Properties and current state of one directed link.
struct link_props {
  std::int64_t latency_ns = 0;                 ///< propagation latency, >= 0
  std::int64_t bandwidth_bps = 10'000'000'000; ///< bits per second, > 0
  double loss_rate = 0.0;                      ///< probability in [0, 1]
  bool up = true;
  double latency_multiplier = 1.0; ///< congestion, >= 1

  /// latency_ns * latency_multiplier, rounded to the nearest ns.
  std::int64_t effective_latency_ns() const;

  friend bool operator==(const link_props&, const link_props&) = default;
};

/// One directed link as listed by topology::links().
struct directed_link {
  site_id from = 0;
  site_id to = 0;
  link_props props;

  friend bool operator==(const directed_link&, const directed_link&) = default;
};

/// A route: the sites it visits, `from` first and `to` last (a route from a
/// site to itself is that one site), and its total effective latency.
struct route {
  std::vector<site_id> hops;
  std::int64_t latency_ns = 0;

  friend bool operator==(const route&, const route&) = default;
};

class topology {
public:
  // -- building ----------------------------------------------------------------

  /// Adds a site and returns its id (ids are dense: 0, 1, 2, ... in order of
  /// addition). Throws if the name is empty or already taken.
  site_id add_site(site s);

  /// Adds the two directed links a->b and b->a with the same properties.
  void connect(site_id a, site_id b, const link_props& props);

  /// Adds the one directed link a->b.
  void connect_directed(site_id a, site_id b, const link_props& props);

  // -- state changes -----------------------------------------------------------

  /// Sets both directions of the link between a and b up or down (a cut
  /// fibre cuts both ways). At least one direction must exist.
  void set_link_up(site_id a, site_id b, bool up);

  /// Sets the congestion multiplier (>= 1) of the directed link a->b only:
  /// queues build up per direction. The link must exist.
  void set_congestion(site_id a, site_id b, double multiplier);

  void set_site_up(site_id s, bool up);
  void site_up(site_id s) { set_site_up(s, true); }
  void site_down(site_id s) { set_site_up(s, false); }

  // -- queries -----------------------------------------------------------------

  std::size_t site_count() const { return sites_.size(); }
  /// Number of directed links (an undirected link counts twice).
  std::size_t link_count() const { return links_.size(); }

  const site& site_at(site_id s) const;
  bool is_site_up(site_id s) const;
  std::optional<site_id> find_site(std::string_view name) const;

  /// The directed link a->b, or nullptr if there is none.
  const link_props* find_link(site_id a, site_id b) const;

  /// Every directed link, ordered by (from, to).
  std::vector<directed_link> links() const;

  /// Number of directed links leaving s (up or down).
  std::size_t out_degree(site_id s) const;

  /// Sites reachable from s over one link, ascending (up or down).
  std::vector<site_id> neighbours(site_id s) const;

  /// The shortest route from `from` to `to` on the current state (see the
  /// header comment for the tie-breaking), or nothing if `to` is unreachable
  /// or either end is down.
  std::optional<network::route> route(site_id from, site_id to) const;

  /// The routes from `from` to every site, indexed by site id, from a single
  /// Dijkstra run; each entry equals route(from, id).
  std::vector<std::optional<network::route>> all_routes_from(site_id from) const;

  /// True when every up site reaches every other up site over links that
  /// carry traffic (true for zero or one up site).
  bool is_connected() const;

private:
  void require_site(site_id s, const char* what) const;

  std::vector<site> sites_;
  std::vector<bool> site_up_;
  std::map<std::string, site_id, std::less<>> by_name_;
  // Ordered so that iteration (links(), graph construction) is deterministic.
  std::map<std::pair<site_id, site_id>, link_props> links_;
};

} // namespace marketsim::network
