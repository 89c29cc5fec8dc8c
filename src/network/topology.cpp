#include "network/topology.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/property_map/property_map.hpp>

#include <algorithm>
#include <cmath>
#include <compare>
#include <stdexcept>

namespace marketsim::network {

namespace {

// -- path cost -----------------------------------------------------------------

/// Dijkstra's distance: effective latency first, hop count second, so that
/// among equally fast routes the shortest in hops wins (tie-break rule 2).
struct cost {
  std::int64_t latency_ns = 0;
  std::int64_t hops = 0;

  friend auto operator<=>(const cost&, const cost&) = default;
};

constexpr cost infinite_cost{std::numeric_limits<std::int64_t>::max(),
                             std::numeric_limits<std::int64_t>::max()};

/// Addition that saturates at infinity (Boost adds edge weights to the
/// distance of unreached vertices too).
struct cost_plus {
  cost operator()(const cost& a, const cost& b) const {
    if (a == infinite_cost || b == infinite_cost)
      return infinite_cost;
    return cost{a.latency_ns + b.latency_ns, a.hops + b.hops};
  }
};

struct edge_weight {
  cost w;
};

using graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS,
                                    boost::no_property, edge_weight>;

std::string site_text(site_id s) {
  return "site " + std::to_string(s);
}

std::string link_text(site_id a, site_id b) {
  return "link " + std::to_string(a) + "->" + std::to_string(b);
}

void validate(const link_props& p, site_id a, site_id b) {
  if (p.latency_ns < 0)
    throw std::invalid_argument(link_text(a, b) + ": negative latency " +
                                std::to_string(p.latency_ns) + " ns");
  if (!(p.latency_multiplier >= 1.0) || !std::isfinite(p.latency_multiplier))
    throw std::invalid_argument(link_text(a, b) + ": latency multiplier " +
                                std::to_string(p.latency_multiplier) +
                                " must be finite and >= 1");
  if (static_cast<double>(p.latency_ns) * p.latency_multiplier >
      static_cast<double>(max_link_latency_ns))
    throw std::invalid_argument(link_text(a, b) + ": effective latency above " +
                                std::to_string(max_link_latency_ns) + " ns");
  if (p.bandwidth_bps <= 0)
    throw std::invalid_argument(link_text(a, b) + ": bandwidth must be positive, got " +
                                std::to_string(p.bandwidth_bps) + " bit/s");
  if (!(p.loss_rate >= 0.0 && p.loss_rate <= 1.0))
    throw std::invalid_argument(link_text(a, b) + ": loss rate " +
                                std::to_string(p.loss_rate) + " is outside [0, 1]");
}

} // namespace

// -- site_kind and link_props --------------------------------------------------

std::string_view to_string(site_kind k) {
  switch (k) {
  case site_kind::host:
    return "host";
  case site_kind::exchange:
    return "exchange";
  case site_kind::agent_group:
    return "agent_group";
  }
  return "unknown";
}

std::int64_t link_props::effective_latency_ns() const {
  if (latency_multiplier == 1.0)
    return latency_ns;
  return std::llround(static_cast<double>(latency_ns) * latency_multiplier);
}

// -- building --------------------------------------------------------------------

site_id topology::add_site(site s) {
  if (s.name.empty())
    throw std::invalid_argument("add_site: a site needs a name");
  if (by_name_.contains(s.name))
    throw std::invalid_argument("add_site: duplicate site name '" + s.name + "'");
  if (sites_.size() >= std::numeric_limits<site_id>::max())
    throw std::invalid_argument("add_site: too many sites");
  const auto id = static_cast<site_id>(sites_.size());
  by_name_.emplace(s.name, id);
  sites_.push_back(std::move(s));
  site_up_.push_back(true);
  return id;
}

void topology::connect(site_id a, site_id b, const link_props& props) {
  // Check both directions before adding either, so a failure adds nothing.
  require_site(a, "connect");
  require_site(b, "connect");
  if (a == b)
    throw std::invalid_argument("connect: self-link at " + site_text(a));
  validate(props, a, b);
  if (links_.contains({a, b}) || links_.contains({b, a}))
    throw std::invalid_argument("connect: duplicate link between " + site_text(a) +
                                " and " + site_text(b));
  links_.emplace(std::pair{a, b}, props);
  links_.emplace(std::pair{b, a}, props);
}

void topology::connect_directed(site_id a, site_id b, const link_props& props) {
  require_site(a, "connect_directed");
  require_site(b, "connect_directed");
  if (a == b)
    throw std::invalid_argument("connect_directed: self-link at " + site_text(a));
  validate(props, a, b);
  if (!links_.emplace(std::pair{a, b}, props).second)
    throw std::invalid_argument("connect_directed: duplicate " + link_text(a, b));
}

// -- state changes -----------------------------------------------------------------

void topology::set_link_up(site_id a, site_id b, bool up) {
  require_site(a, "set_link_up");
  require_site(b, "set_link_up");
  bool found = false;
  for (const auto& key : {std::pair{a, b}, std::pair{b, a}}) {
    if (auto it = links_.find(key); it != links_.end()) {
      it->second.up = up;
      found = true;
    }
  }
  if (!found)
    throw std::invalid_argument("set_link_up: no link between " + site_text(a) + " and " +
                                site_text(b));
}

void topology::set_congestion(site_id a, site_id b, double multiplier) {
  require_site(a, "set_congestion");
  require_site(b, "set_congestion");
  auto it = links_.find({a, b});
  if (it == links_.end())
    throw std::invalid_argument("set_congestion: no " + link_text(a, b));
  if (!(multiplier >= 1.0) || !std::isfinite(multiplier))
    throw std::invalid_argument("set_congestion: " + link_text(a, b) + ": multiplier " +
                                std::to_string(multiplier) + " must be finite and >= 1");
  if (static_cast<double>(it->second.latency_ns) * multiplier >
      static_cast<double>(max_link_latency_ns))
    throw std::invalid_argument("set_congestion: " + link_text(a, b) +
                                ": effective latency above " +
                                std::to_string(max_link_latency_ns) + " ns");
  it->second.latency_multiplier = multiplier;
}

void topology::set_site_up(site_id s, bool up) {
  require_site(s, "set_site_up");
  site_up_[s] = up;
}

// -- queries ---------------------------------------------------------------------

const site& topology::site_at(site_id s) const {
  require_site(s, "site_at");
  return sites_[s];
}

bool topology::is_site_up(site_id s) const {
  require_site(s, "is_site_up");
  return site_up_[s];
}

std::optional<site_id> topology::find_site(std::string_view name) const {
  if (auto it = by_name_.find(name); it != by_name_.end())
    return it->second;
  return std::nullopt;
}

const link_props* topology::find_link(site_id a, site_id b) const {
  auto it = links_.find({a, b});
  return it == links_.end() ? nullptr : &it->second;
}

std::vector<directed_link> topology::links() const {
  std::vector<directed_link> out;
  out.reserve(links_.size());
  for (const auto& [key, props] : links_)
    out.push_back(directed_link{key.first, key.second, props});
  return out;
}

std::size_t topology::out_degree(site_id s) const {
  return neighbours(s).size();
}

std::vector<site_id> topology::neighbours(site_id s) const {
  require_site(s, "neighbours");
  std::vector<site_id> out;
  for (auto it = links_.lower_bound({s, 0}); it != links_.end() && it->first.first == s;
       ++it)
    out.push_back(it->first.second);
  return out;
}

std::optional<route> topology::route(site_id from, site_id to) const {
  require_site(to, "route");
  return all_routes_from(from)[to];
}

std::vector<std::optional<route>> topology::all_routes_from(site_id from) const {
  require_site(from, "all_routes_from");
  const std::size_t n = sites_.size();
  std::vector<std::optional<network::route>> out(n);
  if (!site_up_[from])
    return out;

  // The graph of what carries traffic now: up links between up sites.
  auto carries = [&](const auto& entry) {
    return entry.second.up && site_up_[entry.first.first] && site_up_[entry.first.second];
  };
  graph g(n);
  for (const auto& entry : links_)
    if (carries(entry))
      boost::add_edge(entry.first.first, entry.first.second,
                      edge_weight{cost{entry.second.effective_latency_ns(), 1}}, g);

  std::vector<cost> dist(n, infinite_cost);
  boost::dijkstra_shortest_paths(
      g, from,
      boost::weight_map(boost::get(&edge_weight::w, g))
          .distance_map(boost::make_iterator_property_map(
              dist.begin(), boost::get(boost::vertex_index, g)))
          .distance_compare(std::less<cost>())
          .distance_combine(cost_plus())
          .distance_inf(infinite_cost)
          .distance_zero(cost{}));

  // Tie-break rule 3: Boost's own predecessor depends on heap order, so pick
  // the predecessor here: the smallest u on a tight edge u->v. links_ is
  // ordered by source, so the first tight edge found has the smallest u. A
  // tight edge adds a hop, so predecessors have strictly smaller cost and the
  // walk back below ends at `from`.
  constexpr site_id none = std::numeric_limits<site_id>::max();
  std::vector<site_id> pred(n, none);
  const cost_plus plus;
  for (const auto& entry : links_) {
    const auto [u, v] = entry.first;
    if (!carries(entry) || pred[v] != none || dist[u] == infinite_cost)
      continue;
    if (plus(dist[u], cost{entry.second.effective_latency_ns(), 1}) == dist[v])
      pred[v] = u;
  }

  for (site_id v = 0; v < n; ++v) {
    if (dist[v] == infinite_cost)
      continue;
    network::route r;
    r.latency_ns = dist[v].latency_ns;
    for (site_id at = v; at != from; at = pred[at])
      r.hops.push_back(at);
    r.hops.push_back(from);
    std::reverse(r.hops.begin(), r.hops.end());
    out[v] = std::move(r);
  }
  return out;
}

bool topology::is_connected() const {
  const std::size_t n = sites_.size();
  std::vector<std::vector<site_id>> fwd(n), bwd(n);
  for (const auto& [key, props] : links_) {
    if (props.up && site_up_[key.first] && site_up_[key.second]) {
      fwd[key.first].push_back(key.second);
      bwd[key.second].push_back(key.first);
    }
  }
  site_id start = 0;
  while (start < n && !site_up_[start])
    ++start;
  if (start == n)
    return true;
  // Strongly connected iff the start reaches every up site and every up site
  // reaches the start.
  auto reaches_all = [&](const std::vector<std::vector<site_id>>& adj) {
    std::vector<bool> seen(n, false);
    std::vector<site_id> stack{start};
    seen[start] = true;
    while (!stack.empty()) {
      const site_id u = stack.back();
      stack.pop_back();
      for (site_id v : adj[u])
        if (!seen[v]) {
          seen[v] = true;
          stack.push_back(v);
        }
    }
    for (site_id v = 0; v < n; ++v)
      if (site_up_[v] && !seen[v])
        return false;
    return true;
  };
  return reaches_all(fwd) && reaches_all(bwd);
}

void topology::require_site(site_id s, const char* what) const {
  if (s >= sites_.size())
    throw std::invalid_argument(std::string(what) + ": unknown " + site_text(s) + " (" +
                                std::to_string(sites_.size()) + " sites)");
}

} // namespace marketsim::network
