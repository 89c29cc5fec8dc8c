#include "app/network_plan.hpp"

#include "actors/random.hpp"
#include "app/scenario.hpp"
#include "network/generators.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

namespace marketsim::app {

namespace {

using network::site_id;
using link_key = std::pair<site_id, site_id>;

/// The random stream of the topology's n-th draw (random shapes); far from
/// the link streams network::link_stream(a, b) of the same seed.
constexpr std::uint64_t topology_stream = 0xFFFF'FFFF'FFFF'0000;

/// Draws of a random graph before giving up on a connected one.
constexpr int max_draws = 1000;

std::string number_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

/// The routing weight of a link: its mean latency (a Pareto without a mean:
/// its scale), in ns.
std::int64_t routing_latency_ns(const network::latency_distribution& d) {
  auto mean = d.mean();
  if (!std::isfinite(mean)) {
    if (const auto* p = std::get_if<network::latency::pareto>(&d.model()))
      return p->scale_ns;
    return network::max_latency_ns;
  }
  return std::min(static_cast<std::int64_t>(std::llround(mean)), network::max_latency_ns);
}

/// One begin or end of a disruption, before sorting.
struct pending_event {
  network_event event;
  bool is_end = false;
};

/// Builds one scenario's plan; every error is a scenario_error at the line
/// of the name or entry that causes it.
class builder {
public:
  explicit builder(const scenario& sc) : sc_(sc), net_(*sc.network) {}

  network_plan build() {
    plan_.seed = actors::derive_seed(sc_.seed, network_seed_tag);
    defaults_ = merged(base_defaults(), net_.link);
    try {
      shape();
    } catch (const std::invalid_argument& e) {
      fail(net_.topology.line, e.what());
    }
    if (net_.topology.kind != topology_kind::custom)
      overrides();
    place();
    make_topology();
    check_connected();
    disruptions();
    finish();
    return std::move(plan_);
  }

private:
  [[noreturn]] void fail(int line, const std::string& what) const {
    throw scenario_error(sc_.file + ":" + std::to_string(std::max(line, 1)) + ": " +
                         what);
  }

  // -- links ---------------------------------------------------------------------

  static network::link_params base_defaults() {
    network::link_params p;
    p.bandwidth_bps = 10'000'000'000;
    return p;
  }

  /// `base` with the properties `c` sets.
  static network::link_params merged(network::link_params base, const link_config& c) {
    if (c.latency)
      base.propagation = *c.latency;
    if (c.bandwidth_bps)
      base.bandwidth_bps = *c.bandwidth_bps;
    if (c.loss_rate)
      base.loss_rate = *c.loss_rate;
    if (c.ordered)
      base.ordered = *c.ordered;
    return base;
  }

  network::link_params with_latency(network::latency_distribution d) const {
    auto p = defaults_;
    p.propagation = d;
    return p;
  }

  void add_link(site_id a, site_id b, const network::link_params& p) {
    links_[{a, b}] = p;
    links_[{b, a}] = p;
  }

  bool has_link(site_id a, site_id b) const { return links_.count({a, b}) > 0; }

  std::string link_name(site_id a, site_id b, bool directed) const {
    return sites_[a].name + (directed ? "->" : "-") + sites_[b].name;
  }

  // -- sites -----------------------------------------------------------------------

  site_id add_site(network::site s, int line) {
    if (s.name.empty())
      fail(line, "a site needs a name");
    if (by_name_.count(s.name) > 0)
      fail(line, "site '" + s.name + "' is defined twice");
    auto id = static_cast<site_id>(sites_.size());
    by_name_.emplace(s.name, id);
    sites_.push_back(std::move(s));
    return id;
  }

  std::optional<site_id> find(std::string_view name) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end())
      return std::nullopt;
    return it->second;
  }

  site_id site(const site_ref& ref) const {
    if (auto id = find(ref.name))
      return *id;
    fail(ref.line, "unknown site '" + ref.name + "'" + known_sites());
  }

  std::string known_sites() const {
    std::string list;
    std::size_t shown = 0;
    for (const auto& s : sites_) {
      if (shown == 8) {
        list += ", ...";
        break;
      }
      list += (list.empty() ? "" : ", ") + s.name;
      ++shown;
    }
    return " (sites: " + list + ")";
  }

  /// The two ends of a written link; `a-b` is split at the one '-' that
  /// leaves two site names.
  std::pair<site_id, site_id> ends(const link_ref& ref) const {
    if (!ref.from.empty()) {
      auto a = site({ref.from, ref.line});
      auto b = site({ref.to, ref.line});
      if (a == b)
        fail(ref.line, "link '" + describe(ref) + "' joins a site to itself");
      return {a, b};
    }
    std::vector<std::pair<site_id, site_id>> splits;
    for (auto dash = ref.text.find('-'); dash != std::string::npos;
         dash = ref.text.find('-', dash + 1)) {
      auto a = find(std::string_view{ref.text}.substr(0, dash));
      auto b = find(std::string_view{ref.text}.substr(dash + 1));
      if (a && b)
        splits.emplace_back(*a, *b);
    }
    if (splits.empty()) {
      auto dash = ref.text.find('-');
      if (ref.text.find('-', dash + 1) == std::string::npos) {
        for (auto part : {ref.text.substr(0, dash), ref.text.substr(dash + 1)})
          if (!find(part))
            fail(ref.line, "unknown site '" + part + "' in link '" + ref.text + "'" +
                               known_sites());
      }
      fail(ref.line,
           "link '" + ref.text + "' does not name two sites as a-b" + known_sites());
    }
    if (splits.size() > 1)
      fail(ref.line, "link '" + ref.text +
                         "' names sites ambiguously (a site name "
                         "contains '-'); use {from, to}");
    if (splits.front().first == splits.front().second)
      fail(ref.line, "link '" + ref.text + "' joins a site to itself");
    return splits.front();
  }

  static std::string describe(const link_ref& ref) {
    if (!ref.text.empty())
      return ref.text;
    return ref.from + (ref.directed ? "->" : "-") + ref.to;
  }

  /// The existing directed links a written link names: a->b, and b->a unless
  /// directed.
  std::vector<link_key> directions(const link_ref& ref) const {
    auto [a, b] = ends(ref);
    std::vector<link_key> result{{a, b}};
    if (!ref.directed)
      result.emplace_back(b, a);
    for (const auto& [x, y] : result)
      if (!has_link(x, y))
        fail(ref.line, "no link " + link_name(x, y, true) + " in the network (link '" +
                           describe(ref) + "')");
    return result;
  }

  // -- the shape -------------------------------------------------------------------

  void shape() {
    const auto& t = net_.topology;
    switch (t.kind) {
    case topology_kind::geographic:
      return geographic();
    case topology_kind::regions:
      return regions();
    case topology_kind::custom:
      return custom();
    default:
      return generated();
    }
  }

  network::topology draw() const {
    const auto& t = net_.topology;
    network::link_props any;
    switch (t.kind) {
    case topology_kind::star:
      return network::star(t.nodes, any);
    case topology_kind::mesh:
      return network::full_mesh(t.nodes, any);
    case topology_kind::ring:
      return network::ring(t.nodes, any);
    case topology_kind::tree:
      return network::tree(t.nodes, t.branching, any);
    case topology_kind::random:
      for (int n = 0; n < max_draws; ++n) {
        actors::random_stream rng{actors::derive_seed(plan_.seed, topology_stream + n)};
        auto g = network::erdos_renyi(t.nodes, t.p, any, rng);
        if (g.is_connected())
          return g;
      }
      fail(t.line, "no connected random network of " + std::to_string(t.nodes) +
                       " sites with p = " + number_text(t.p) + " in " +
                       std::to_string(max_draws) + " draws: raise p");
    case topology_kind::small_world: {
      actors::random_stream rng{actors::derive_seed(plan_.seed, topology_stream)};
      return network::watts_strogatz(t.nodes, t.k, t.beta, any, rng);
    }
    case topology_kind::scale_free: {
      actors::random_stream rng{actors::derive_seed(plan_.seed, topology_stream)};
      return network::barabasi_albert(t.nodes, t.m, any, rng);
    }
    default:
      break;
    }
    throw std::invalid_argument("not a generated topology");
  }

  /// A generated shape, its sites renamed node_i (or as given).
  void generated() {
    const auto& t = net_.topology;
    auto g = draw();
    for (std::size_t i = 0; i < g.site_count(); ++i) {
      network::site s;
      s.name = t.names.empty() ? "node_" + std::to_string(i) : t.names[i];
      add_site(std::move(s), t.line);
    }
    for (const auto& l : g.links())
      links_[{l.from, l.to}] = defaults_;
  }

  void geographic() {
    const auto& t = net_.topology;
    std::vector<network::place> places;
    for (const auto& s : t.sites) {
      places.push_back({s.name, s.lat, s.lon});
      network::site entry;
      entry.name = s.name;
      entry.kind = s.kind;
      entry.lat = s.lat;
      entry.lon = s.lon;
      add_site(std::move(entry), s.line);
    }
    network::geographic_params params;
    params.per_hop_ns = t.per_hop.count();
    params.rule =
        t.nearest ? network::geo_connect::nearest_k : network::geo_connect::full_mesh;
    params.k = t.nearest_k;
    auto g = network::geographic(places, params);
    for (const auto& l : g.links())
      links_[{l.from, l.to}] =
          with_latency(network::latency::constant{l.props.latency_ns});
  }

  void regions() {
    const auto& t = net_.topology;
    for (const auto& r : t.regions) {
      auto& ids = regions_[r.name];
      for (const auto& name : r.sites) {
        network::site s;
        s.name = name;
        s.lat = r.lat;
        s.lon = r.lon;
        ids.push_back(add_site(std::move(s), r.line));
      }
      auto intra = with_latency(r.latency ? *r.latency : t.intra_region_latency);
      for (std::size_t i = 0; i < ids.size(); ++i)
        for (std::size_t j = i + 1; j < ids.size(); ++j)
          add_link(ids[i], ids[j], intra);
    }
    // Gateways (each region's first site) linked pairwise.
    for (std::size_t i = 0; i < t.regions.size(); ++i)
      for (std::size_t j = i + 1; j < t.regions.size(); ++j) {
        const auto& a = t.regions[i];
        const auto& b = t.regions[j];
        add_link(regions_[a.name].front(), regions_[b.name].front(),
                 with_latency(inter_region(a, b)));
      }
  }

  network::latency_distribution inter_region(const region_config& a,
                                             const region_config& b) const {
    for (const auto& l : net_.topology.inter_region_latency)
      if ((l.a == a.name && l.b == b.name) || (l.a == b.name && l.b == a.name))
        return l.latency;
    if (!a.has_position || !b.has_position)
      fail(b.line, "no latency between regions " + a.name + " and " + b.name +
                       ": give it in inter_region_latency, or coordinates to both");
    return network::latency::constant{
        network::fibre_latency_ns(network::great_circle_km(a.lat, a.lon, b.lat, b.lon))};
  }

  void custom() {
    for (const auto& s : net_.topology.sites) {
      network::site entry;
      entry.name = s.name;
      entry.kind = s.kind;
      entry.lat = s.lat;
      entry.lon = s.lon;
      add_site(std::move(entry), s.line);
    }
    for (const auto& e : net_.links) {
      auto [a, b] = ends(e.link);
      auto p = merged(defaults_, e.props);
      for (auto [x, y] : {link_key{a, b}, link_key{b, a}}) {
        if (e.link.directed && x == b)
          continue;
        if (has_link(x, y))
          fail(e.link.line, "link " + link_name(x, y, true) + " is listed twice");
        links_[{x, y}] = p;
      }
    }
  }

  void overrides() {
    for (const auto& e : net_.links)
      for (const auto& key : directions(e.link))
        links_[key] = merged(links_[key], e.props);
  }

  // -- placement -------------------------------------------------------------------

  void place() {
    const auto& p = net_.placement;
    site_id fallback = p.fallback.name.empty() ? 0 : site(p.fallback);
    auto at = [&](const site_ref& ref) {
      return ref.name.empty() ? fallback : site(ref);
    };
    for (const auto& shard : sc_.shards) {
      auto s = at(shard.site);
      plan_.shard_sites.push_back(s);
      if (sites_[s].kind == network::site_kind::host)
        sites_[s].kind = network::site_kind::exchange;
    }
    plan_.hub_site = at(p.hub);
    plan_.oracle_site = at(p.oracle);
    for (const auto& g : sc_.agents) {
      auto s = at(g.site);
      if (g.access) {
        network::site access;
        access.name = g.access->name;
        access.kind = network::site_kind::agent_group;
        access.lat = sites_[s].lat;
        access.lon = sites_[s].lon;
        auto id = add_site(std::move(access), g.access->line);
        add_link(id, s, merged(defaults_, g.access->link));
        s = id;
      }
      plan_.group_sites.push_back(s);
    }
  }

  // -- the topology ----------------------------------------------------------------

  void make_topology() {
    try {
      for (const auto& s : sites_)
        plan_.topology.add_site(s);
      for (const auto& [key, p] : links_) {
        network::link_props props;
        props.latency_ns = routing_latency_ns(p.propagation);
        props.bandwidth_bps = p.bandwidth_bps;
        props.loss_rate = p.loss_rate;
        plan_.topology.connect_directed(key.first, key.second, props);
      }
    } catch (const std::invalid_argument& e) {
      fail(net_.topology.line, e.what());
    }
  }

  void check_connected() const {
    const auto& topo = plan_.topology;
    if (topo.is_connected())
      return;
    for (site_id from = 0; from < topo.site_count(); ++from) {
      auto routes = topo.all_routes_from(from);
      for (site_id to = 0; to < routes.size(); ++to)
        if (!routes[to])
          fail(net_.topology.line, "the network is not connected: " + sites_[from].name +
                                       " cannot reach " + sites_[to].name);
    }
  }

  // -- disruptions -----------------------------------------------------------------

  void emit(const disruption_config& d, network_event begin, network_event end) {
    begin.at = d.start;
    begin.what += " (begins)";
    events_.push_back({std::move(begin), false});
    if (d.duration) {
      end.at = d.start + *d.duration;
      end.what += " (ends)";
      events_.push_back({std::move(end), true});
    }
  }

  void congest(const disruption_config& d, const std::string& prefix, link_key key) {
    auto name = prefix + link_name(key.first, key.second, true);
    auto what = name;
    if (d.latency_multiplier != 1)
      what += " x" + number_text(d.latency_multiplier);
    if (d.bandwidth_factor != 1)
      what += std::string{d.latency_multiplier != 1 ? "," : ""} + " bandwidth x" +
              number_text(d.bandwidth_factor);
    emit(d,
         {{},
          what,
          actors::net_congestion{key.first, key.second, d.latency_multiplier,
                                 d.bandwidth_factor}},
         {{},
          name + " x1, bandwidth x1",
          actors::net_congestion{key.first, key.second, 1, 1}});
  }

  void link_down(const disruption_config& d, const std::string& prefix, site_id a,
                 site_id b) {
    auto name = prefix + link_name(a, b, false);
    emit(d, {{}, name + " down", actors::net_link_state{a, b, false}},
         {{}, name + " up", actors::net_link_state{a, b, true}});
  }

  void site_down(const disruption_config& d, const std::string& prefix, site_id s) {
    auto name = prefix + sites_[s].name;
    emit(d, {{}, name + " down", actors::net_site_state{s, false}},
         {{}, name + " up", actors::net_site_state{s, true}});
  }

  const std::vector<site_id>& region(const site_ref& ref) const {
    auto it = regions_.find(ref.name);
    if (it != regions_.end())
      return it->second;
    if (regions_.empty())
      fail(ref.line,
           "unknown region '" + ref.name + "': only a regions network has regions");
    std::string known;
    for (const auto& [name, ids] : regions_)
      known += (known.empty() ? "" : ", ") + name;
    fail(ref.line, "unknown region '" + ref.name + "' (regions: " + known + ")");
  }

  void disruptions() {
    for (const auto& d : net_.disruptions) {
      const std::string kind{to_string(d.kind)};
      switch (d.kind) {
      case disruption_kind::congestion:
        for (const auto& ref : d.links)
          for (auto key : directions(ref))
            congest(d, kind + " ", key);
        break;
      case disruption_kind::link_failure:
        for (const auto& ref : d.links) {
          auto [a, b] = ends(ref);
          if (!has_link(a, b) && !has_link(b, a))
            fail(ref.line, "no link " + link_name(a, b, false) + " in the network");
          link_down(d, kind + " ", a, b);
        }
        break;
      case disruption_kind::node_failure:
        for (const auto& ref : d.sites)
          site_down(d, kind + " ", site(ref));
        break;
      case disruption_kind::regional_outage:
        regional_outage(d);
        break;
      case disruption_kind::partition:
        partition(d);
        break;
      }
    }
  }

  void regional_outage(const disruption_config& d) {
    const auto& ids = region(d.region);
    const auto prefix = "regional_outage " + d.region.name + ": ";
    if (!d.degrade) {
      for (auto s : ids)
        site_down(d, prefix, s);
      return;
    }
    std::set<site_id> members{ids.begin(), ids.end()};
    for (const auto& [key, p] : links_)
      if (members.count(key.first) > 0 || members.count(key.second) > 0)
        congest(d, prefix, key);
  }

  void partition(const disruption_config& d) {
    std::map<site_id, std::size_t> group_of;
    for (std::size_t g = 0; g < d.groups.size(); ++g)
      for (const auto& ref : d.groups[g]) {
        std::vector<site_id> members;
        if (auto s = find(ref.name))
          members.push_back(*s);
        else if (regions_.count(ref.name) > 0)
          members = regions_.at(ref.name);
        else
          fail(ref.line, "unknown site or region '" + ref.name + "'" + known_sites());
        for (auto s : members) {
          auto [it, inserted] = group_of.emplace(s, g);
          if (!inserted)
            fail(ref.line, "site " + sites_[s].name + " is in two groups (" +
                               std::to_string(it->second + 1) + " and " +
                               std::to_string(g + 1) + ")");
        }
      }
    bool any = false;
    for (const auto& [key, p] : links_) {
      auto [a, b] = key;
      // Each undirected link once: a < b, or a lone b->a direction.
      if (a > b && has_link(b, a))
        continue;
      auto ga = group_of.find(a);
      auto gb = group_of.find(b);
      if (ga == group_of.end() || gb == group_of.end() || ga->second == gb->second)
        continue;
      link_down(d, "partition: ", std::min(a, b), std::max(a, b));
      any = true;
    }
    if (!any)
      fail(d.line, "the partition's groups share no link: nothing to cut");
  }

  // -- the result ------------------------------------------------------------------

  void finish() {
    // Ends before begins at equal times, so that back-to-back disruptions of
    // one link leave it disrupted; otherwise file order.
    std::stable_sort(events_.begin(), events_.end(),
                     [](const pending_event& x, const pending_event& y) {
                       if (x.event.at != y.event.at)
                         return x.event.at < y.event.at;
                       return x.is_end && !y.is_end;
                     });
    for (auto& e : events_)
      plan_.events.push_back(std::move(e.event));
    plan_.link_models = links_;
    auto models =
        std::make_shared<const std::map<link_key, network::link_params>>(links_);
    plan_.make_link = [models](const network::directed_link& l) {
      if (auto it = models->find({l.from, l.to}); it != models->end())
        return it->second;
      // A link the plan did not make: its own properties, constant latency.
      network::link_params p;
      p.bandwidth_bps = l.props.bandwidth_bps;
      p.propagation = network::latency::constant{l.props.latency_ns};
      p.loss_rate = l.props.loss_rate;
      return p;
    };
  }

  const scenario& sc_;
  const network_config& net_;
  network_plan plan_;
  network::link_params defaults_;
  std::vector<network::site> sites_;
  std::map<std::string, site_id, std::less<>> by_name_;
  std::map<link_key, network::link_params> links_;
  std::map<std::string, std::vector<site_id>> regions_;
  std::vector<pending_event> events_;
};

} // namespace

std::optional<network_plan> make_network_plan(const scenario& sc) {
  if (!sc.network)
    return std::nullopt;
  return builder{sc}.build();
}

} // namespace marketsim::app
