#include "app/scenario.hpp"

#include "app/network_plan.hpp"
#include "consensus/bft/byzantine.hpp"
#include "consensus/bft/dolev_strong_byzantine.hpp"
#include "consensus/bft/streamlet_trades.hpp"
#include "network/generators.hpp"

#include "market/account.hpp"
#include "market/fundamental.hpp"
#include "strategies/registry.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace marketsim::app {

std::string_view to_string(clock_mode x) {
  switch (x) {
  case clock_mode::virtual_time:
    return "virtual";
  case clock_mode::real_time:
    return "real";
  }
  return "?";
}

clock_mode parse_clock(std::string_view text) {
  if (text == "virtual")
    return clock_mode::virtual_time;
  if (text == "real")
    return clock_mode::real_time;
  throw std::invalid_argument("expected virtual or real, got '" + std::string{text} +
                              "'");
}

std::string_view to_string(scheduler_policy x) {
  switch (x) {
  case scheduler_policy::stealing:
    return "stealing";
  case scheduler_policy::sharing:
    return "sharing";
  }
  return "?";
}

std::string_view to_string(host_failure_policy x) {
  return x == host_failure_policy::stop ? "stop" : "continue";
}

namespace {

bool is_host_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
}

} // namespace

host_endpoint parse_host_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw std::invalid_argument("'" + std::string{text} + "' must read host:port");
  auto host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      throw std::invalid_argument("'" + std::string{text} + "' must read [ipv6]:port");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    throw std::invalid_argument("'" + std::string{text} +
                                "': write an IPv6 address as [address]:port");
  }
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535)
    throw std::invalid_argument("'" + std::string{text} +
                                "': the port must be a number in [1, 65535]");
  host_endpoint h;
  h.host = std::string{host};
  h.port = static_cast<std::uint16_t>(port);
  return h;
}

std::vector<host_endpoint> parse_host_list(std::string_view text) {
  std::vector<host_endpoint> result;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto item =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    if (item.empty())
      throw std::invalid_argument("an empty entry in the host list '" +
                                  std::string{text} + "'");
    auto eq = item.find('=');
    auto h =
        parse_host_address(eq == std::string_view::npos ? item : item.substr(eq + 1));
    h.name = std::string{eq == std::string_view::npos ? item : item.substr(0, eq)};
    if (eq != std::string_view::npos && !is_host_name(h.name))
      throw std::invalid_argument("host name '" + h.name +
                                  "' must be letters, digits, '_' or '-'");
    for (const auto& other : result)
      if (other.name == h.name)
        throw std::invalid_argument("host '" + h.name + "' is given twice");
    result.push_back(std::move(h));
    if (comma == std::string_view::npos)
      break;
    pos = comma + 1;
  }
  return result;
}

std::size_t scenario::symbol_index(std::string_view name) const {
  for (std::size_t i = 0; i < symbols.size(); ++i)
    if (symbols[i].name == name)
      return i;
  throw std::out_of_range("unknown symbol " + std::string{name});
}

std::uint64_t scenario::agent_count() const {
  std::uint64_t n = 0;
  for (const auto& g : agents)
    n += g.count;
  return n;
}

std::chrono::nanoseconds parse_duration(std::string_view text) {
  std::int64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end == first || value < 0)
    throw std::invalid_argument("expected a duration like 500ms or 5s, got '" +
                                std::string{text} + "'");
  std::string_view unit{end, static_cast<std::size_t>(last - end)};
  using namespace std::chrono;
  if (unit == "ns")
    return nanoseconds{value};
  if (unit == "us")
    return duration_cast<nanoseconds>(microseconds{value});
  if (unit == "ms")
    return duration_cast<nanoseconds>(milliseconds{value});
  if (unit == "s")
    return duration_cast<nanoseconds>(seconds{value});
  if (unit == "m")
    return duration_cast<nanoseconds>(minutes{value});
  throw std::invalid_argument("expected a duration unit ns, us, ms, s or m, got '" +
                              std::string{text} + "'");
}

std::string format_duration(std::chrono::nanoseconds d) {
  auto ns = d.count();
  if (ns == 0)
    return "0s";
  struct unit {
    std::int64_t size;
    const char* name;
  };
  static constexpr unit units[] = {
      {60'000'000'000, "m"}, {1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}};
  for (const auto& u : units)
    if (ns % u.size == 0)
      return std::to_string(ns / u.size) + u.name;
  return std::to_string(ns) + "ns";
}

std::string_view to_string(topology_kind x) {
  switch (x) {
  case topology_kind::star:
    return "star";
  case topology_kind::mesh:
    return "mesh";
  case topology_kind::ring:
    return "ring";
  case topology_kind::tree:
    return "tree";
  case topology_kind::random:
    return "random";
  case topology_kind::small_world:
    return "small_world";
  case topology_kind::scale_free:
    return "scale_free";
  case topology_kind::geographic:
    return "geographic";
  case topology_kind::regions:
    return "regions";
  case topology_kind::custom:
    return "custom";
  }
  return "?";
}

std::string_view to_string(disruption_kind x) {
  switch (x) {
  case disruption_kind::congestion:
    return "congestion";
  case disruption_kind::link_failure:
    return "link_failure";
  case disruption_kind::node_failure:
    return "node_failure";
  case disruption_kind::regional_outage:
    return "regional_outage";
  case disruption_kind::partition:
    return "partition";
  }
  return "?";
}

std::int64_t parse_bandwidth(std::string_view text) {
  const std::string t{text};
  const char* first = t.c_str();
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(first, &end);
  if (end == first || errno != 0 || !std::isfinite(value) || value <= 0 ||
      !(std::isdigit(static_cast<unsigned char>(t.front())) || t.front() == '.'))
    throw std::invalid_argument("expected a bandwidth like 1000kbps, 10Mbps or 1Gbps, "
                                "got '" +
                                t + "'");
  std::string_view unit{end};
  double scale = 0;
  if (unit == "bps")
    scale = 1;
  else if (unit == "kbps")
    scale = 1e3;
  else if (unit == "Mbps")
    scale = 1e6;
  else if (unit == "Gbps")
    scale = 1e9;
  else
    throw std::invalid_argument(
        "expected a bandwidth unit bps, kbps, Mbps or Gbps, got '" + t + "'");
  auto bps = std::round(value * scale);
  if (bps < 1)
    throw std::invalid_argument("bandwidth '" + t + "' is below 1 bit/s");
  if (bps > 1e18)
    throw std::invalid_argument("bandwidth '" + t + "' is too large");
  return static_cast<std::int64_t>(bps);
}

network::latency_distribution parse_link_latency(std::string_view text) {
  if (text.find('(') != std::string_view::npos)
    return network::parse_latency(text);
  // A plain duration is a constant latency; parse_latency reads decimals too.
  return network::parse_latency("constant(" + std::string{text} + ")");
}

market::fundamental_params make_fundamental_params(const scenario& sc,
                                                   std::uint64_t seed) {
  if (!sc.has_fundamentals)
    throw std::invalid_argument("the scenario has no fundamentals");
  const auto& f = sc.fundamentals;
  market::fundamental_params p;
  if (f.preset == "three_stocks") {
    p = market::three_stock_preset(seed);
  } else {
    for (const auto& s : f.symbols)
      p.symbols.push_back({s.symbol, 1, s.mean, s.kappa, s.sigma, 0});
    p.correlation = f.correlation;
    p.seed = seed;
  }
  // Prices on each symbol's own tick.
  for (auto& s : p.symbols)
    s.tick = sc.symbols.at(sc.symbol_index(s.name)).tick_size;
  return p;
}

namespace {

/// The symbols of the `three_stocks` preset.
std::vector<std::string> preset_symbols() {
  std::vector<std::string> names;
  for (const auto& s : market::three_stock_preset(0).symbols)
    names.push_back(s.name);
  return names;
}

std::string join(const std::vector<std::string>& words) {
  std::string result;
  for (const auto& w : words) {
    if (!result.empty())
      result += ", ";
    result += w;
  }
  return result;
}

/// The largest generated networks: sites, and sites of a mesh or random
/// graph (n^2 / 2 links or candidate pairs).
constexpr std::size_t max_nodes = 100'000;
constexpr std::size_t max_pairwise_nodes = 2'000;

/// Reads nodes of one file and turns every problem into `file:line: ...`.
class reader {
public:
  reader(std::string file, const strategies::strategy_registry& registry)
      : file_(std::move(file)), registry_(&registry) {}

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& what) const {
    // A null mark (line -1) happens for an empty document: report line 1.
    auto line = std::max(mark.line + 1, 1);
    throw scenario_error(file_ + ":" + std::to_string(line) + ": " + what);
  }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const {
    fail(node.Mark(), what);
  }

  /// Requires a map whose keys are all in `allowed`, each at most once.
  void check_map(const YAML::Node& node, const std::string& what,
                 std::initializer_list<std::string_view> allowed) const {
    if (!node.IsMap())
      fail(node, what + " must be a map");
    check_map_keys(node, what, {allowed.begin(), allowed.end()});
  }

  /// A key like "10ms)" is the rest of an unquoted value with a comma inside
  /// a flow map ({latency: normal(50ms, 10ms)}).
  static std::string comma_hint(const std::string& key) {
    if (key.find(')') == std::string::npos)
      return "";
    return "; inside {...} quote a value with a comma, e.g. "
           "latency: \"normal(50ms, 10ms)\"";
  }

  /// The value of `key`; fails at the map's line when it is missing.
  YAML::Node required(const YAML::Node& map, const std::string& key,
                      const std::string& what) const {
    auto value = map[key];
    if (!value)
      fail(map, "missing key '" + key + "' in " + what);
    if (value.IsNull())
      fail(value, "'" + key + "' in " + what + " has no value");
    return value;
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar())
      fail(node, "'" + key + "' must be a single value, not a " +
                     (node.IsMap() ? std::string{"map"} : std::string{"list"}));
    return node.Scalar();
  }

  std::int64_t integer(const YAML::Node& node, const std::string& key) const {
    auto text = scalar(node, key);
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range)
      fail(node, "'" + key + "' is out of range: '" + text + "'");
    if (ec != std::errc{} || end != text.data() + text.size())
      fail(node, "'" + key + "' must be an integer, got '" + text + "'");
    return value;
  }

  std::int64_t positive(const YAML::Node& node, const std::string& key) const {
    auto value = integer(node, key);
    if (value <= 0)
      fail(node, "'" + key + "' must be positive, got " + std::to_string(value));
    return value;
  }

  std::int64_t non_negative(const YAML::Node& node, const std::string& key) const {
    auto value = integer(node, key);
    if (value < 0)
      fail(node, "'" + key + "' must not be negative, got " + std::to_string(value));
    return value;
  }

  std::uint32_t count32(const YAML::Node& node, const std::string& key,
                        bool allow_zero) const {
    auto value = allow_zero ? non_negative(node, key) : positive(node, key);
    if (value > std::numeric_limits<std::uint32_t>::max())
      fail(node, "'" + key + "' is too large: " + std::to_string(value));
    return static_cast<std::uint32_t>(value);
  }

  /// A finite number (an integer is a number too).
  double number(const YAML::Node& node, const std::string& key) const {
    auto text = scalar(node, key);
    double value = 0;
    try {
      value = node.as<double>();
    } catch (const YAML::Exception&) {
      fail(node, "'" + key + "' must be a number, got '" + text + "'");
    }
    if (!std::isfinite(value))
      fail(node, "'" + key + "' must be a finite number, got '" + text + "'");
    return value;
  }

  double non_negative_number(const YAML::Node& node, const std::string& key) const {
    auto value = number(node, key);
    if (value < 0)
      fail(node, "'" + key + "' must not be negative, got " + node.Scalar());
    return value;
  }

  bool boolean(const YAML::Node& node, const std::string& key) const {
    auto text = scalar(node, key);
    if (text == "true")
      return true;
    if (text == "false")
      return false;
    fail(node, "'" + key + "' must be true or false, got '" + text + "'");
  }

  std::chrono::nanoseconds duration(const YAML::Node& node,
                                    const std::string& key) const {
    auto text = scalar(node, key);
    try {
      return parse_duration(text);
    } catch (const std::invalid_argument& e) {
      fail(node, "'" + key + "': " + e.what());
    }
  }

  std::chrono::nanoseconds positive_duration(const YAML::Node& node,
                                             const std::string& key) const {
    auto d = duration(node, key);
    if (d.count() <= 0)
      fail(node, "'" + key + "' must be positive");
    return d;
  }

  /// A symbol name that is one of `known`.
  std::string known_symbol(const YAML::Node& node, const std::string& key,
                           const std::vector<symbol_config>& known) const {
    auto name = scalar(node, key);
    auto is_known = std::any_of(known.begin(), known.end(),
                                [&](const symbol_config& s) { return s.name == name; });
    if (!is_known)
      fail(node, "unknown symbol '" + name + "'");
    return name;
  }

  /// A list of symbol names, each one of `known`, without repetition.
  std::vector<std::string> symbol_list(const YAML::Node& node, const std::string& key,
                                       const std::vector<symbol_config>& known) const {
    if (!node.IsSequence())
      fail(node, "'" + key + "' must be a list of symbol names");
    std::vector<std::string> result;
    for (const auto& item : node) {
      auto name = known_symbol(item, key, known);
      if (std::find(result.begin(), result.end(), name) != result.end())
        fail(item, "symbol '" + name + "' is listed twice");
      result.push_back(std::move(name));
    }
    if (result.empty())
      fail(node, "'" + key + "' must list at least one symbol");
    return result;
  }

  // -- the network section -------------------------------------------------------

  static int line_of(const YAML::Node& node) { return std::max(node.Mark().line + 1, 1); }

  site_ref site_name(const YAML::Node& node, const std::string& key) const {
    auto name = scalar(node, key);
    if (name.empty())
      fail(node, "'" + key + "' must name a site");
    return {name, line_of(node)};
  }

  /// A new site's name: non-empty, without '>' (it would read as a direction).
  std::string new_site_name(const YAML::Node& node, const std::string& key) const {
    auto name = scalar(node, key);
    if (name.empty() || name.find('>') != std::string::npos)
      fail(node, "site name '" + name + "' must be non-empty, without '>'");
    return name;
  }

  network::latency_distribution latency(const YAML::Node& node,
                                        const std::string& key) const {
    if (node.IsScalar()) {
      try {
        return parse_link_latency(node.Scalar());
      } catch (const std::invalid_argument& e) {
        fail(node, "'" + key + "': " + e.what());
      }
    }
    if (!node.IsMap())
      fail(node, "'" + key +
                     "' must be a duration, a distribution like "
                     "normal(50ms, 10ms), or a map with 'distribution'");
    auto kind_node = required(node, "distribution", key);
    auto kind = scalar(kind_node, "distribution");
    auto ns = [&](const char* k) {
      return static_cast<std::int64_t>(duration(required(node, k, key), k).count());
    };
    auto num = [&](const char* k) { return number(required(node, k, key), k); };
    network::latency_distribution::model_type model;
    if (kind == "constant") {
      check_map(node, key, {"distribution", "value"});
      model = network::latency::constant{ns("value")};
    } else if (kind == "normal") {
      check_map(node, key, {"distribution", "mean", "std"});
      model = network::latency::normal{ns("mean"), ns("std")};
    } else if (kind == "exponential") {
      check_map(node, key, {"distribution", "mean"});
      model = network::latency::exponential{ns("mean")};
    } else if (kind == "pareto") {
      check_map(node, key, {"distribution", "scale", "shape"});
      model = network::latency::pareto{ns("scale"), num("shape")};
    } else if (kind == "cubic") {
      check_map(node, key, {"distribution", "min", "a", "scale", "clip"});
      network::latency::cubic_jitter c;
      c.min_ns = ns("min");
      c.scale_ns = ns("scale");
      if (node["a"])
        c.a = num("a");
      if (node["clip"])
        c.clip = num("clip");
      model = c;
    } else {
      fail(kind_node, "unknown latency distribution '" + kind +
                          "' (known: constant, normal, exponential, pareto, cubic)");
    }
    try {
      return network::latency_distribution{model};
    } catch (const std::invalid_argument& e) {
      fail(node, "'" + key + "': " + e.what());
    }
  }

  std::int64_t bandwidth(const YAML::Node& node, const std::string& key) const {
    auto text = scalar(node, key);
    try {
      return parse_bandwidth(text);
    } catch (const std::invalid_argument& e) {
      fail(node, "'" + key + "': " + e.what());
    }
  }

  /// A probability in [0, 1], or a percentage "2%".
  double probability(const YAML::Node& node, const std::string& key) const {
    auto text = scalar(node, key);
    double value = 0;
    if (!text.empty() && text.back() == '%') {
      YAML::Node number_part{text.substr(0, text.size() - 1)};
      try {
        value = number_part.as<double>() / 100.0;
      } catch (const YAML::Exception&) {
        fail(node,
             "'" + key + "' must be a probability or a percentage, got '" + text + "'");
      }
    } else {
      value = number(node, key);
    }
    if (!(value >= 0 && value <= 1))
      fail(node, "'" + key + "' must be in [0, 1] (or 0% to 100%), got '" + text + "'");
    return value;
  }

  /// The link property keys of `node` (latency, bandwidth, loss, ordered); the
  /// caller has checked the map's keys.
  link_config link_props(const YAML::Node& node) const {
    link_config c;
    if (auto x = node["latency"])
      c.latency = latency(x, "latency");
    if (auto x = node["bandwidth"])
      c.bandwidth_bps = bandwidth(x, "bandwidth");
    if (auto x = node["loss"])
      c.loss_rate = probability(x, "loss");
    if (auto x = node["ordered"])
      c.ordered = boolean(x, "ordered");
    return c;
  }

  /// `a-b` or `a->b`; the sites are resolved when the network is built.
  link_ref link_text(const YAML::Node& node, const std::string& key) const {
    link_ref l;
    l.text = scalar(node, key);
    l.line = line_of(node);
    auto arrow = l.text.find("->");
    if (arrow != std::string::npos) {
      l.directed = true;
      l.from = l.text.substr(0, arrow);
      l.to = l.text.substr(arrow + 2);
      if (l.from.empty() || l.to.empty())
        fail(node, "link '" + l.text + "' must read a->b");
    } else if (l.text.find('-') == std::string::npos) {
      fail(node, "link '" + l.text + "' must read a-b (both directions) or a->b");
    }
    return l;
  }

  /// A link as `a-b`, `a->b` or {from, to, directed}, plus property keys when
  /// `with_props`.
  link_entry link_item(const YAML::Node& node, bool with_props) const {
    link_entry e;
    if (node.IsScalar()) {
      e.link = link_text(node, "link");
      return e;
    }
    const std::string what = "a link";
    if (with_props)
      check_map(
          node, what,
          {"link", "from", "to", "directed", "latency", "bandwidth", "loss", "ordered"});
    else
      check_map(node, what, {"link", "from", "to", "directed"});
    if (auto text = node["link"]) {
      if (node["from"] || node["to"] || node["directed"])
        fail(node, "a link takes either 'link' or 'from'/'to', not both");
      e.link = link_text(text, "link");
    } else {
      auto from = required(node, "from", what + " (or 'link')");
      e.link.from = site_name(from, "from").name;
      e.link.to = site_name(required(node, "to", what), "to").name;
      e.link.line = line_of(from);
      if (auto d = node["directed"])
        e.link.directed = boolean(d, "directed");
    }
    if (with_props)
      e.props = link_props(node);
    return e;
  }

  std::vector<link_ref> link_list(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence() || node.size() == 0)
      fail(node, "'" + key + "' must be a non-empty list of links (a-b or a->b)");
    std::vector<link_ref> result;
    for (const auto& item : node)
      result.push_back(link_item(item, false).link);
    return result;
  }

  std::vector<site_ref> site_list(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence() || node.size() == 0)
      fail(node, "'" + key + "' must be a non-empty list of site names");
    std::vector<site_ref> result;
    for (const auto& item : node)
      result.push_back(site_name(item, key));
    return result;
  }

  std::size_t size_param(const YAML::Node& node, const std::string& key,
                         bool allow_zero) const {
    return count32(node, key, allow_zero);
  }

  /// A position: `place: <known place>`, `lat`/`lon`, or `coordinates: [lat, lon]`.
  void position(const YAML::Node& node, bool& has, double& lat, double& lon) const {
    auto place = node["place"];
    auto coords = node["coordinates"];
    auto la = node["lat"];
    auto lo = node["lon"];
    int given = (place ? 1 : 0) + (coords ? 1 : 0) + ((la || lo) ? 1 : 0);
    if (given > 1)
      fail(node, "give one of 'place', 'coordinates' or 'lat'/'lon'");
    if (place) {
      auto name = scalar(place, "place");
      auto p = network::find_place(name);
      if (!p) {
        std::vector<std::string> names;
        for (const auto& k : network::known_places())
          names.push_back(k.name);
        fail(place, "unknown place '" + name + "' (known: " + join(names) + ")");
      }
      has = true;
      lat = p->lat;
      lon = p->lon;
    } else if (coords) {
      if (!coords.IsSequence() || coords.size() != 2)
        fail(coords, "'coordinates' must be [latitude, longitude]");
      has = true;
      lat = number(coords[0], "latitude");
      lon = number(coords[1], "longitude");
    } else if (la || lo) {
      if (!la || !lo)
        fail(node, "a position needs both 'lat' and 'lon'");
      has = true;
      lat = number(la, "lat");
      lon = number(lo, "lon");
    }
    if (has && (lat < -90 || lat > 90))
      fail(node, "latitude must be in [-90, 90]");
    if (has && (lon < -180 || lon > 180))
      fail(node, "longitude must be in [-180, 180]");
  }

  site_config site_item(const YAML::Node& item, bool geographic) const {
    site_config s;
    s.line = line_of(item);
    if (item.IsScalar()) {
      s.name = new_site_name(item, "site");
      if (geographic) {
        auto p = network::find_place(s.name);
        if (!p)
          fail(item, "unknown place '" + s.name +
                         "' (give {name, lat, lon} or {name, place} for others)");
        s.has_position = true;
        s.lat = p->lat;
        s.lon = p->lon;
      }
      return s;
    }
    check_map(item, geographic ? "a place" : "a site",
              {"name", "place", "lat", "lon", "coordinates", "kind"});
    s.name = new_site_name(required(item, "name", "a site"), "name");
    position(item, s.has_position, s.lat, s.lon);
    if (geographic && !s.has_position) {
      auto p = network::find_place(s.name);
      if (!p)
        fail(item, "place '" + s.name +
                       "' needs a position (place, lat/lon or "
                       "coordinates)");
      s.has_position = true;
      s.lat = p->lat;
      s.lon = p->lon;
    }
    if (auto kind = item["kind"]) {
      auto text = scalar(kind, "kind");
      if (text == "host")
        s.kind = network::site_kind::host;
      else if (text == "exchange")
        s.kind = network::site_kind::exchange;
      else if (text == "agent_group")
        s.kind = network::site_kind::agent_group;
      else
        fail(kind, "'kind' must be host, exchange or agent_group, got '" + text + "'");
    }
    return s;
  }

  std::vector<site_config> site_items(const YAML::Node& node, const std::string& key,
                                      bool geographic) const {
    if (!node.IsSequence() || node.size() == 0)
      fail(node, "'" + key + "' must be a non-empty list");
    std::vector<site_config> result;
    for (const auto& item : node)
      result.push_back(site_item(item, geographic));
    return result;
  }

  std::vector<region_config> regions(const YAML::Node& node) const {
    if (!node.IsSequence() || node.size() == 0)
      fail(node, "'regions' must be a non-empty list");
    std::vector<region_config> result;
    for (const auto& item : node) {
      const std::string what = "a region";
      check_map(
          item, what,
          {"name", "nodes", "sites", "place", "coordinates", "lat", "lon", "latency"});
      region_config r;
      r.line = line_of(item);
      auto name = required(item, "name", what);
      r.name = new_site_name(name, "name");
      for (const auto& other : result)
        if (other.name == r.name)
          fail(name, "region '" + r.name + "' is defined twice");
      auto nodes = item["nodes"];
      auto sites = item["sites"];
      if (nodes && sites)
        fail(item, "a region takes 'nodes' or 'sites', not both");
      if (sites) {
        if (!sites.IsSequence() || sites.size() == 0)
          fail(sites, "'sites' must be a non-empty list of names");
        for (const auto& s : sites)
          r.sites.push_back(new_site_name(s, "sites"));
      } else {
        auto n =
            size_param(required(item, "nodes", what + " (or 'sites')"), "nodes", false);
        for (std::size_t i = 0; i < n; ++i)
          r.sites.push_back(r.name + "_" + std::to_string(i));
      }
      position(item, r.has_position, r.lat, r.lon);
      if (auto l = item["latency"])
        r.latency = latency(l, "latency");
      result.push_back(std::move(r));
    }
    return result;
  }

  std::vector<region_latency>
  region_latencies(const YAML::Node& node, const std::vector<region_config>& rs) const {
    if (!node.IsMap())
      fail(node, "'inter_region_latency' must be a map of region-region: latency");
    std::vector<region_latency> result;
    auto is_region = [&](std::string_view name) {
      return std::any_of(rs.begin(), rs.end(),
                         [&](const region_config& r) { return r.name == name; });
    };
    for (const auto& kv : node) {
      auto key = scalar(kv.first, "inter_region_latency");
      // The one split at a '-' that names two regions.
      std::vector<std::pair<std::string, std::string>> splits;
      for (auto dash = key.find('-'); dash != std::string::npos;
           dash = key.find('-', dash + 1))
        if (is_region(key.substr(0, dash)) && is_region(key.substr(dash + 1)))
          splits.emplace_back(key.substr(0, dash), key.substr(dash + 1));
      if (splits.size() != 1)
        fail(kv.first, splits.empty() ? "'" + key + "' does not name two regions as a-b"
                                      : "'" + key + "' names regions ambiguously");
      auto [a, b] = splits.front();
      if (a == b)
        fail(kv.first, "'" + key + "' names one region twice");
      for (const auto& other : result)
        if ((other.a == a && other.b == b) || (other.a == b && other.b == a))
          fail(kv.first, "the latency between " + a + " and " + b + " is given twice");
      result.push_back({a, b, latency(kv.second, key), line_of(kv.first)});
    }
    return result;
  }

  topology_config topology(const YAML::Node& node, topology_kind kind,
                           const YAML::Node& kind_node) const {
    topology_config t;
    t.kind = kind;
    t.line = line_of(kind_node);
    auto reject = [&](std::initializer_list<const char*> keys) {
      for (const auto* key : keys)
        if (auto x = node[key])
          fail(x, std::string{"'"} + key + "' does not apply to topology " +
                      std::string{to_string(kind)});
    };
    const bool generated = kind <= topology_kind::scale_free;
    if (generated) {
      auto nodes = node["nodes"];
      auto names = node["names"];
      if (nodes && names)
        fail(node, "give 'nodes' or 'names', not both");
      if (names) {
        if (!names.IsSequence() || names.size() == 0)
          fail(names, "'names' must be a non-empty list of site names");
        for (const auto& n : names)
          t.names.push_back(new_site_name(n, "names"));
        t.nodes = t.names.size();
      } else {
        t.nodes =
            size_param(required(node, "nodes", "network (or 'names')"), "nodes", false);
      }
      // Every pair is a link in a mesh (and a candidate in a random graph):
      // keep the link table within memory.
      const bool pairwise = kind == topology_kind::mesh || kind == topology_kind::random;
      const std::size_t cap = pairwise ? max_pairwise_nodes : max_nodes;
      if (t.nodes > cap)
        fail(node["nodes"] ? node["nodes"] : node["names"],
             "a " + std::string{to_string(kind)} + " network has at most " +
                 std::to_string(cap) + " sites, got " + std::to_string(t.nodes));
    } else {
      reject({"nodes", "names"});
    }
    auto kind_only = [&](const char* key, topology_kind k) {
      if (auto x = node[key]; x && kind != k)
        fail(x, std::string{"'"} + key + "' applies to topology " +
                    std::string{to_string(k)} + " only");
    };
    kind_only("branching", topology_kind::tree);
    kind_only("p", topology_kind::random);
    kind_only("k", topology_kind::small_world);
    kind_only("beta", topology_kind::small_world);
    kind_only("m", topology_kind::scale_free);
    kind_only("places", topology_kind::geographic);
    kind_only("connect", topology_kind::geographic);
    kind_only("nearest", topology_kind::geographic);
    kind_only("per_hop", topology_kind::geographic);
    kind_only("regions", topology_kind::regions);
    kind_only("intra_region_latency", topology_kind::regions);
    kind_only("inter_region_latency", topology_kind::regions);
    kind_only("sites", topology_kind::custom);
    switch (kind) {
    case topology_kind::tree:
      if (auto b = node["branching"])
        t.branching = size_param(b, "branching", false);
      break;
    case topology_kind::random: {
      auto p = required(node, "p", "a random network");
      t.p = probability(p, "p");
      break;
    }
    case topology_kind::small_world: {
      auto k = required(node, "k", "a small_world network");
      t.k = size_param(k, "k", false);
      if (t.k % 2 != 0 || t.k < 2 || t.k >= t.nodes)
        fail(k, "'k' must be even, at least 2 and below the node count " +
                    std::to_string(t.nodes));
      t.beta = probability(required(node, "beta", "a small_world network"), "beta");
      break;
    }
    case topology_kind::scale_free: {
      auto m = required(node, "m", "a scale_free network");
      t.m = size_param(m, "m", false);
      if (t.m >= t.nodes)
        fail(m, "'m' must be below the node count " + std::to_string(t.nodes));
      break;
    }
    case topology_kind::geographic: {
      t.sites =
          site_items(required(node, "places", "a geographic network"), "places", true);
      if (auto c = node["connect"]) {
        auto text = scalar(c, "connect");
        if (text == "nearest")
          t.nearest = true;
        else if (text != "full_mesh")
          fail(c, "'connect' must be full_mesh or nearest, got '" + text + "'");
      }
      if (auto k = node["nearest"]) {
        if (!t.nearest)
          fail(k, "'nearest' needs connect: nearest");
        t.nearest_k = size_param(k, "nearest", false);
      }
      if (t.nearest && (t.nearest_k < 1 || t.nearest_k >= t.sites.size()))
        fail(node["nearest"] ? node["nearest"] : node["connect"],
             "'nearest' must be at least 1 and below the place count " +
                 std::to_string(t.sites.size()));
      if (auto h = node["per_hop"])
        t.per_hop = duration(h, "per_hop");
      break;
    }
    case topology_kind::regions:
      t.regions = regions(required(node, "regions", "a regions network"));
      if (auto l = node["intra_region_latency"])
        t.intra_region_latency = latency(l, "intra_region_latency");
      if (auto l = node["inter_region_latency"])
        t.inter_region_latency = region_latencies(l, t.regions);
      break;
    case topology_kind::custom:
      t.sites = site_items(required(node, "sites", "a custom network"), "sites", false);
      break;
    default:
      break;
    }
    return t;
  }

  disruption_config disruption(const YAML::Node& item,
                               std::chrono::nanoseconds run_duration) const {
    const std::string what = "a disruption";
    if (!item.IsMap())
      fail(item, "a disruption must be a map with 'type'");
    auto type = required(item, "type", what);
    auto text = scalar(type, "type");
    disruption_config d;
    d.line = line_of(item);
    std::initializer_list<std::string_view> common = {"type", "start", "duration"};
    auto keys = [&](std::initializer_list<std::string_view> more) {
      std::vector<std::string_view> all{common};
      all.insert(all.end(), more.begin(), more.end());
      return all;
    };
    std::vector<std::string_view> allowed;
    if (text == "congestion") {
      d.kind = disruption_kind::congestion;
      allowed = keys(
          {"links", "latency_multiplier", "bandwidth_factor", "bandwidth_reduction"});
    } else if (text == "link_failure") {
      d.kind = disruption_kind::link_failure;
      allowed = keys({"links"});
    } else if (text == "node_failure") {
      d.kind = disruption_kind::node_failure;
      allowed = keys({"site", "sites"});
    } else if (text == "regional_outage") {
      d.kind = disruption_kind::regional_outage;
      allowed = keys(
          {"region", "latency_multiplier", "bandwidth_factor", "bandwidth_reduction"});
    } else if (text == "partition") {
      d.kind = disruption_kind::partition;
      allowed = keys({"groups"});
    } else {
      fail(type, "unknown disruption type '" + text +
                     "' (known: congestion, link_failure, node_failure, "
                     "regional_outage, partition)");
    }
    check_map_keys(item, "a " + text + " disruption", allowed);
    auto start = required(item, "start", what);
    d.start = duration(start, "start");
    if (d.start >= run_duration)
      fail(start, "'start' " + format_duration(d.start) +
                      " is not before the scenario's duration " +
                      format_duration(run_duration));
    if (auto dur = item["duration"])
      d.duration = positive_duration(dur, "duration");
    switch (d.kind) {
    case disruption_kind::congestion:
    case disruption_kind::regional_outage: {
      auto m = item["latency_multiplier"];
      auto f = item["bandwidth_factor"];
      auto r = item["bandwidth_reduction"];
      if (m) {
        d.latency_multiplier = number(m, "latency_multiplier");
        if (d.latency_multiplier < 1)
          fail(m, "'latency_multiplier' must be at least 1, got " + m.Scalar());
      }
      if (f && r)
        fail(r, "give 'bandwidth_factor' or 'bandwidth_reduction', not both");
      if (f) {
        d.bandwidth_factor = number(f, "bandwidth_factor");
        if (!(d.bandwidth_factor > 0 && d.bandwidth_factor <= 1))
          fail(f, "'bandwidth_factor' must be in (0, 1], got " + f.Scalar());
      }
      if (r) {
        auto reduction = number(r, "bandwidth_reduction");
        if (!(reduction >= 0 && reduction < 1))
          fail(r, "'bandwidth_reduction' must be in [0, 1), got " + r.Scalar());
        d.bandwidth_factor = 1 - reduction;
      }
      if (d.kind == disruption_kind::congestion) {
        d.links = link_list(required(item, "links", what), "links");
        if (!m && !f && !r)
          fail(item, "a congestion needs 'latency_multiplier' and/or "
                     "'bandwidth_factor' (or 'bandwidth_reduction')");
      } else {
        d.region = site_name(required(item, "region", what), "region");
        d.degrade = m || f || r;
      }
      break;
    }
    case disruption_kind::link_failure:
      d.links = link_list(required(item, "links", what), "links");
      for (std::size_t i = 0; i < d.links.size(); ++i)
        if (d.links[i].directed)
          fail(item["links"][i], "a link failure cuts both directions: write '" +
                                     d.links[i].from + "-" + d.links[i].to + "'");
      break;
    case disruption_kind::node_failure: {
      auto one = item["site"];
      auto many = item["sites"];
      if (one && many)
        fail(item, "give 'site' or 'sites', not both");
      if (one)
        d.sites.push_back(site_name(one, "site"));
      else if (many)
        d.sites = site_list(many, "sites");
      else
        fail(item, "missing key 'site' (or 'sites') in " + what);
      break;
    }
    case disruption_kind::partition: {
      auto groups = required(item, "groups", what);
      if (!groups.IsSequence() || groups.size() < 2)
        fail(groups, "'groups' must be a list of at least two lists of sites");
      for (const auto& g : groups)
        d.groups.push_back(site_list(g, "groups"));
      break;
    }
    }
    return d;
  }

  /// check_map with a run-time list of keys.
  void check_map_keys(const YAML::Node& node, const std::string& what,
                      const std::vector<std::string_view>& allowed) const {
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar())
        fail(kv.first, "keys of " + what + " must be plain words");
      auto key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(kv.first, "unknown key '" + key + "' in " + what +
                           " (allowed: " + join({allowed.begin(), allowed.end()}) + ")" +
                           comma_hint(key));
      if (!seen.insert(key).second)
        fail(kv.first, "duplicate key '" + key + "' in " + what);
    }
  }

  placement_config placement(const YAML::Node& node) const {
    check_map(node, "placement", {"default", "hub", "oracle"});
    placement_config p;
    if (auto x = node["default"])
      p.fallback = site_name(x, "default");
    if (auto x = node["hub"])
      p.hub = site_name(x, "hub");
    if (auto x = node["oracle"])
      p.oracle = site_name(x, "oracle");
    return p;
  }

  network_config network_section(const YAML::Node& node,
                                 std::chrono::nanoseconds run_duration) const {
    check_map(node, "network",
              {"topology",
               "nodes",
               "names",
               "branching",
               "p",
               "k",
               "beta",
               "m",
               "places",
               "connect",
               "nearest",
               "per_hop",
               "regions",
               "intra_region_latency",
               "inter_region_latency",
               "sites",
               "link",
               "links",
               "placement",
               "disruptions"});
    network_config n;
    n.line = line_of(node);
    auto kind_node = required(node, "topology", "network");
    auto kind_text = scalar(kind_node, "topology");
    static constexpr topology_kind kinds[] = {
        topology_kind::star,       topology_kind::mesh,       topology_kind::ring,
        topology_kind::tree,       topology_kind::random,     topology_kind::small_world,
        topology_kind::scale_free, topology_kind::geographic, topology_kind::regions,
        topology_kind::custom};
    auto kind = std::find_if(std::begin(kinds), std::end(kinds),
                             [&](topology_kind k) { return to_string(k) == kind_text; });
    if (kind == std::end(kinds))
      fail(kind_node, "unknown topology '" + kind_text +
                          "' (known: star, mesh, ring, tree, random, small_world, "
                          "scale_free, geographic, regions, custom)");
    n.topology = topology(node, *kind, kind_node);
    if (auto link = node["link"]) {
      check_map(link, "link", {"latency", "bandwidth", "loss", "ordered"});
      n.link = link_props(link);
      if (n.link.latency &&
          (*kind == topology_kind::geographic || *kind == topology_kind::regions))
        fail(link["latency"], "a " + kind_text +
                                  " network's latencies come from geography; "
                                  "override single links in 'links'");
    }
    if (auto links = node["links"]) {
      if (!links.IsSequence())
        fail(links, "'links' must be a list of links");
      for (const auto& item : links)
        n.links.push_back(link_item(item, true));
    } else if (*kind == topology_kind::custom) {
      fail(node, "a custom network needs 'links'");
    }
    if (auto p = node["placement"])
      n.placement = placement(p);
    if (auto list = node["disruptions"]) {
      if (!list.IsSequence())
        fail(list, "'disruptions' must be a list");
      for (const auto& item : list)
        n.disruptions.push_back(disruption(item, run_duration));
    }
    return n;
  }

  access_config access(const YAML::Node& node, std::size_t group) const {
    check_map(node, "access", {"name", "latency", "bandwidth", "loss", "ordered"});
    access_config a;
    a.line = line_of(node);
    a.name = "group_" + std::to_string(group);
    if (auto name = node["name"])
      a.name = new_site_name(name, "name");
    a.link = link_props(node);
    return a;
  }

  // -- sections ------------------------------------------------------------------

  scheduler_config scheduler(const YAML::Node& node) const {
    check_map(node, "scheduler", {"threads", "policy"});
    scheduler_config result;
    if (auto threads = node["threads"])
      result.threads = count32(threads, "threads", true);
    if (auto policy = node["policy"]) {
      auto text = scalar(policy, "policy");
      if (text == "stealing")
        result.policy = scheduler_policy::stealing;
      else if (text == "sharing")
        result.policy = scheduler_policy::sharing;
      else
        fail(policy, "'policy' must be stealing or sharing, got '" + text + "'");
    }
    return result;
  }

  void output(const YAML::Node& node, scenario& sc) const {
    if (node.IsScalar()) {
      sc.output = node.Scalar();
      return;
    }
    check_map(node, "output", {"folder", "l1_sample"});
    if (auto folder = node["folder"])
      sc.output = scalar(folder, "folder");
    if (auto sample = node["l1_sample"])
      sc.l1_sample = positive_duration(sample, "l1_sample");
  }

  std::vector<symbol_config> symbols(const YAML::Node& node) const {
    if (!node.IsSequence() || node.size() == 0)
      fail(node, "'symbols' must be a non-empty list");
    std::vector<symbol_config> result;
    for (const auto& item : node) {
      const std::string what = "a symbol";
      check_map(item, what,
                {"name", "tick_size", "lot_size", "reference_price", "max_order_qty"});
      symbol_config s;
      auto name = required(item, "name", what);
      s.name = scalar(name, "name");
      if (s.name.empty() || s.name.find_first_of(",;:\" \t") != std::string::npos)
        fail(name, "symbol name '" + s.name +
                       "' must be non-empty, without spaces, commas, colons or quotes");
      for (const auto& other : result)
        if (other.name == s.name)
          fail(name, "symbol '" + s.name + "' is defined twice");
      s.tick_size = positive(required(item, "tick_size", what), "tick_size");
      s.lot_size = positive(required(item, "lot_size", what), "lot_size");
      auto ref = required(item, "reference_price", what);
      s.reference_price = positive(ref, "reference_price");
      if (s.reference_price % s.tick_size != 0)
        fail(ref, "'reference_price' " + std::to_string(s.reference_price) +
                      " is not a multiple of tick_size " + std::to_string(s.tick_size));
      if (auto max = item["max_order_qty"])
        s.max_order_qty = positive(max, "max_order_qty");
      result.push_back(std::move(s));
    }
    return result;
  }

  std::vector<shard_config> shards(const YAML::Node& node,
                                   const std::vector<symbol_config>& known) const {
    if (!node.IsSequence() || node.size() == 0)
      fail(node, "'shards' must be a non-empty list");
    std::vector<shard_config> result;
    std::map<std::string, std::size_t> owner; // symbol -> shard index
    for (const auto& item : node) {
      check_map(item, "a shard", {"symbols", "site", "price_band_bps"});
      auto list = required(item, "symbols", "a shard");
      shard_config shard;
      shard.symbols = symbol_list(list, "symbols", known);
      if (auto site = item["site"])
        shard.site = site_name(site, "site");
      if (auto band = item["price_band_bps"])
        shard.price_band_bps = non_negative(band, "price_band_bps");
      std::size_t i = 0;
      for (const auto& name : shard.symbols) {
        auto [it, inserted] = owner.emplace(name, result.size());
        if (!inserted)
          fail(list[i], "symbol '" + name + "' is on two shards (shard " +
                            std::to_string(it->second + 1) + " and shard " +
                            std::to_string(result.size() + 1) + ")");
        ++i;
      }
      result.push_back(std::move(shard));
    }
    for (const auto& s : known)
      if (owner.count(s.name) == 0)
        fail(node, "symbol '" + s.name + "' is on no shard");
    return result;
  }

  std::vector<std::vector<double>> correlation(const YAML::Node& node,
                                               std::size_t n) const {
    if (!node.IsSequence() || node.size() != n)
      fail(node, "'correlation' must be a list of " + std::to_string(n) +
                     " rows, one per symbol");
    std::vector<std::vector<double>> rows;
    for (const auto& row : node) {
      if (!row.IsSequence() || row.size() != n)
        fail(row,
             "each row of 'correlation' must hold " + std::to_string(n) + " numbers");
      std::vector<double> values;
      for (const auto& x : row)
        values.push_back(number(x, "correlation"));
      rows.push_back(std::move(values));
    }
    try {
      market::correlation_cholesky(rows);
    } catch (const std::invalid_argument& e) {
      fail(node, std::string{"'correlation': "} + e.what());
    }
    return rows;
  }

  fundamentals_config fundamentals(const YAML::Node& node,
                                   const std::vector<symbol_config>& known) const {
    check_map(node, "fundamentals", {"period", "preset", "symbols", "correlation"});
    fundamentals_config f;
    if (auto period = node["period"])
      f.period = positive_duration(period, "period");
    auto preset = node["preset"];
    auto list = node["symbols"];
    if (preset && list)
      fail(preset, "fundamentals take either 'preset' or 'symbols', not both");
    if (preset) {
      f.preset = scalar(preset, "preset");
      if (f.preset != "three_stocks")
        fail(preset,
             "unknown fundamentals preset '" + f.preset + "' (known: three_stocks)");
      if (auto corr = node["correlation"])
        fail(corr, "the preset sets the correlation; remove 'correlation'");
      for (const auto& name : preset_symbols()) {
        auto defined =
            std::any_of(known.begin(), known.end(),
                        [&](const symbol_config& s) { return s.name == name; });
        if (!defined)
          fail(preset, "preset three_stocks needs the symbols " + join(preset_symbols()) +
                           "; '" + name + "' is not defined");
      }
      return f;
    }
    if (!list)
      fail(node, "fundamentals need 'preset' or 'symbols'");
    if (!list.IsSequence() || list.size() == 0)
      fail(list, "'symbols' of fundamentals must be a non-empty list");
    for (const auto& item : list) {
      const std::string what = "a fundamental";
      check_map(item, what, {"symbol", "mean", "kappa", "sigma"});
      fundamental_config s;
      auto sym = required(item, "symbol", what);
      s.symbol = known_symbol(sym, "symbol", known);
      for (const auto& other : f.symbols)
        if (other.symbol == s.symbol)
          fail(sym, "symbol '" + s.symbol + "' has two fundamentals");
      auto mean = required(item, "mean", what);
      s.mean = number(mean, "mean");
      if (s.mean <= 0)
        fail(mean, "'mean' must be positive, got " + mean.Scalar());
      s.kappa = non_negative_number(required(item, "kappa", what), "kappa");
      s.sigma = non_negative_number(required(item, "sigma", what), "sigma");
      f.symbols.push_back(std::move(s));
    }
    if (auto corr = node["correlation"])
      f.correlation = correlation(corr, f.symbols.size());
    return f;
  }

  account_config account(const YAML::Node& node,
                         const std::vector<symbol_config>& known) const {
    check_map(node, "an account",
              {"cash", "positions", "fees", "allow_short", "max_short", "allow_margin",
               "max_borrow"});
    account_config a;
    if (auto cash = node["cash"])
      a.cash = integer(cash, "cash");
    if (auto positions = node["positions"]) {
      if (!positions.IsMap())
        fail(positions, "'positions' must be a map of symbol: quantity");
      for (const auto& kv : positions) {
        auto name = known_symbol(kv.first, "positions", known);
        if (a.positions.count(name) > 0)
          fail(kv.first, "symbol '" + name + "' has two positions");
        a.positions[name] = integer(kv.second, name);
      }
    }
    if (auto fees = node["fees"]) {
      check_map(fees, "fees", {"maker_bps", "taker_bps"});
      auto bps = [&](const char* key) -> std::int32_t {
        auto n = fees[key];
        if (!n)
          return 0;
        auto v = integer(n, key);
        if (v < -10'000 || v > 10'000)
          fail(n, std::string{"'"} + key + "' must be between -10000 and 10000, got " +
                      std::to_string(v));
        return static_cast<std::int32_t>(v);
      };
      a.maker_bps = bps("maker_bps");
      a.taker_bps = bps("taker_bps");
    }
    if (auto x = node["allow_short"])
      a.allow_short = boolean(x, "allow_short");
    if (auto x = node["max_short"])
      a.max_short = non_negative(x, "max_short");
    if (auto x = node["allow_margin"])
      a.allow_margin = boolean(x, "allow_margin");
    if (auto x = node["max_borrow"])
      a.max_borrow = non_negative(x, "max_borrow");
    // The account's rules, at the line of the value that breaks them.
    auto floor = a.allow_margin ? -a.max_borrow : 0;
    if (a.cash < floor)
      fail(node["cash"] ? node["cash"] : node,
           "'cash' " + std::to_string(a.cash) + " is below the cash floor " +
               std::to_string(floor) + " (allow_margin and max_borrow lower it)");
    for (const auto& kv : node["positions"] ? node["positions"] : YAML::Node{}) {
      auto qty = a.positions.at(kv.first.Scalar());
      if (qty < 0 && !a.allow_short)
        fail(kv.second, "short position " + std::to_string(qty) + " of " +
                            kv.first.Scalar() + " needs allow_short: true");
      if (qty < 0 && -qty > a.max_short)
        fail(kv.second, "short position " + std::to_string(qty) + " of " +
                            kv.first.Scalar() + " is beyond max_short " +
                            std::to_string(a.max_short));
    }
    return a;
  }

  /// One parameter's YAML value as the type its declaration asks for.
  strategies::param_value param(const YAML::Node& node,
                                const strategies::param_spec& spec) const {
    const auto& key = spec.name;
    switch (spec.type) {
    case strategies::param_type::integer:
      return integer(node, key);
    case strategies::param_type::number:
      return number(node, key);
    case strategies::param_type::boolean:
      return boolean(node, key);
    case strategies::param_type::text:
      return scalar(node, key);
    case strategies::param_type::duration:
      return static_cast<std::int64_t>(duration(node, key).count());
    }
    fail(node, "parameter '" + key + "' has an unknown type");
  }

  /// Converts and checks every parameter at its own line, then the whole set
  /// (required ones, defaults) and the strategy's own combination checks.
  strategies::param_values params(const YAML::Node* node,
                                  const strategies::strategy_info& info,
                                  const YAML::Node& where,
                                  const std::vector<symbol_config>& known,
                                  strategies::param_values given) const {
    const std::string of = " of strategy '" + info.name + "'";
    std::set<std::string> seen;
    if (node) {
      if (!node->IsMap())
        fail(*node, "'params' must be a map of name: value");
      for (const auto& kv : *node) {
        auto name = scalar(kv.first, "params");
        auto spec = std::find_if(info.params.begin(), info.params.end(),
                                 [&](const auto& p) { return p.name == name; });
        if (spec == info.params.end()) {
          std::vector<std::string> names;
          for (const auto& p : info.params)
            names.push_back(p.name);
          fail(kv.first, "unknown parameter '" + name + "'" + of + " (known: " +
                             (names.empty() ? std::string{"none"} : join(names)) + ")");
        }
        if (!seen.insert(name).second)
          fail(kv.first, "duplicate parameter '" + name + "'");
        if (given.has(name) && name == "symbols")
          fail(kv.first, "the symbols are given twice: as the group's 'symbols' and "
                         "as a parameter");
        if (kv.second.IsNull())
          fail(kv.second, "parameter '" + name + "'" + of + " has no value");
        auto value = param(kv.second, *spec);
        if (name == "symbols" && spec->type == strategies::param_type::text)
          symbol_names(kv.second, std::get<std::string>(value), known);
        // The declaration's own check (type, bounds, choices) of this one value.
        try {
          strategies::param_values one;
          one.set(name, value);
          strategies::check_params({*spec}, one);
        } catch (const std::invalid_argument& e) {
          fail(kv.second, "strategy '" + info.name + "': " + e.what());
        }
        given.set(name, std::move(value));
      }
    }
    strategies::param_values checked;
    try {
      checked = strategies::check_params(info.params, given);
      // Combinations the per-parameter checks cannot express.
      info.make(checked);
    } catch (const std::invalid_argument& e) {
      fail(node ? *node : where, "strategy '" + info.name + "': " + e.what());
    }
    return checked;
  }

  /// The names in a comma-separated list of symbols (a strategy's `symbols`
  /// parameter), each of `known`; empty for an empty list (all symbols).
  std::vector<std::string> symbol_names(const YAML::Node& node, const std::string& list,
                                        const std::vector<symbol_config>& known) const {
    std::vector<std::string> names;
    std::string_view rest = list;
    auto trim = [](std::string_view x) {
      while (!x.empty() && x.front() == ' ')
        x.remove_prefix(1);
      while (!x.empty() && x.back() == ' ')
        x.remove_suffix(1);
      return x;
    };
    if (trim(rest).empty())
      return names;
    for (;;) {
      auto comma = rest.find(',');
      std::string name{trim(rest.substr(0, comma))};
      auto is_known = std::any_of(known.begin(), known.end(),
                                  [&](const symbol_config& s) { return s.name == name; });
      if (!is_known)
        fail(node, "unknown symbol '" + name + "' in parameter 'symbols'");
      if (std::find(names.begin(), names.end(), name) == names.end())
        names.push_back(std::move(name));
      if (comma == std::string_view::npos)
        break;
      rest.remove_prefix(comma + 1);
    }
    return names;
  }

  /// Parameters the loader fills in from the rest of the group, unless the
  /// file gives them: `symbols` (the group's symbols, when the file lists
  /// them) and `reference_price` (the agents' symbols' reference price, when
  /// they all share one).
  strategies::param_values derived_params(const YAML::Node& item,
                                          const strategies::strategy_info& info,
                                          const std::vector<std::string>& symbols,
                                          const std::vector<symbol_config>& known) const {
    strategies::param_values derived;
    auto declares = [&](const char* name, strategies::param_type type) {
      return std::any_of(info.params.begin(), info.params.end(),
                         [&](const auto& p) { return p.name == name && p.type == type; });
    };
    if (item["symbols"] && declares("symbols", strategies::param_type::text)) {
      std::string list;
      for (const auto& name : symbols)
        list += (list.empty() ? "" : ",") + name;
      derived.set("symbols", list);
    }
    auto given = item["params"];
    bool reference_given = given && given.IsMap() && given["reference_price"];
    if (!reference_given &&
        declares("reference_price", strategies::param_type::integer)) {
      std::set<std::int64_t> refs;
      for (const auto& name : symbols)
        for (const auto& s : known)
          if (s.name == name)
            refs.insert(s.reference_price);
      if (refs.size() == 1)
        derived.set("reference_price", *refs.begin());
    }
    return derived;
  }

  agent_group_config agent_group(const YAML::Node& item,
                                 const std::vector<symbol_config>& known,
                                 std::size_t index) const {
    const std::string what = "an agent group";
    check_map(
        item, what,
        {"count", "strategy", "params", "symbols", "start", "account", "site", "access"});
    agent_group_config g;
    g.line = item.Mark().line + 1;
    auto count = required(item, "count", what);
    g.count = count32(count, "count", true);
    auto strategy = required(item, "strategy", what);
    g.strategy = scalar(strategy, "strategy");
    const auto* info = registry_->find(g.strategy);
    if (!info)
      fail(strategy, "unknown strategy '" + g.strategy +
                         "' (known: " + join(registry_->names()) + ")");
    if (auto list = item["symbols"]) {
      g.symbols = symbol_list(list, "symbols", known);
    } else {
      for (const auto& s : known)
        g.symbols.push_back(s.name);
    }
    if (auto start = item["start"])
      g.start = duration(start, "start");
    auto params_node = item["params"];
    // The strategy's own `symbols` parameter, when the file gives it instead
    // of the group's `symbols`, says which symbols the agents trade.
    if (!item["symbols"] && params_node && params_node.IsMap()) {
      if (auto list = params_node["symbols"]; list && list.IsScalar()) {
        auto names = symbol_names(list, list.Scalar(), known);
        if (!names.empty())
          g.symbols = std::move(names);
      }
    }
    g.params = params(params_node ? &params_node : nullptr, *info, strategy, known,
                      derived_params(item, *info, g.symbols, known));
    if (auto acc = item["account"]) {
      g.account = account(acc, known);
      // The account's own rules (e.g. a short position needs allow_short).
      try {
        market::account{to_account_params(g.account, known)};
      } catch (const std::invalid_argument& e) {
        fail(acc, std::string{"account: "} + e.what());
      }
    }
    if (auto site = item["site"])
      g.site = site_name(site, "site");
    if (auto acc = item["access"])
      g.access = access(acc, index);
    return g;
  }

  scenario document(const YAML::Node& root) const {
    if (!root.IsMap())
      fail(root, "a scenario must be a map (seed, duration, symbols, shards, agents)");
    check_map(root, "the scenario",
              {"name", "clock", "seed", "duration", "output", "scheduler", "symbols",
               "shards", "fundamentals", "agents", "network", "deployment", "settlement",
               "price_consensus", "halt"});
    const std::string what = "the scenario";
    scenario sc;
    sc.file = file_;
    sc.name = std::filesystem::path{file_}.stem().string();
    if (auto name = root["name"]) {
      sc.name = scalar(name, "name");
      if (sc.name.empty() || sc.name.find_first_of("/\\") != std::string::npos)
        fail(name, "'name' must be a non-empty name without slashes");
    }
    if (auto clock = root["clock"]) {
      try {
        sc.clock = parse_clock(scalar(clock, "clock"));
      } catch (const std::invalid_argument& e) {
        fail(clock, std::string{"'clock': "} + e.what());
      }
    }
    sc.seed =
        static_cast<std::uint64_t>(non_negative(required(root, "seed", what), "seed"));
    sc.duration = positive_duration(required(root, "duration", what), "duration");
    sc.output = "runs/" + sc.name;
    if (auto out = root["output"])
      output(out, sc);
    if (auto sched = root["scheduler"])
      sc.scheduler = scheduler(sched);
    sc.symbols = symbols(required(root, "symbols", what));
    sc.shards = shards(required(root, "shards", what), sc.symbols);
    if (auto f = root["fundamentals"]) {
      sc.fundamentals = fundamentals(f, sc.symbols);
      sc.has_fundamentals = true;
      try {
        market::fundamental_process{make_fundamental_params(sc, 0)};
      } catch (const std::invalid_argument& e) {
        fail(f, std::string{"fundamentals: "} + e.what());
      }
    }
    auto groups = required(root, "agents", what);
    if (!groups.IsSequence() || groups.size() == 0)
      fail(groups, "'agents' must be a non-empty list of agent groups");
    for (const auto& item : groups)
      sc.agents.push_back(agent_group(item, sc.symbols, sc.agents.size()));
    if (sc.agent_count() == 0)
      fail(groups, "the scenario has no agents (every count is 0)");
    if (auto net = root["network"]) {
      sc.network = network_section(net, sc.duration);
      // Names, links and shapes, checked by building the plan (its errors
      // are scenario_errors at the offending line).
      make_network_plan(sc);
    } else {
      require_no_network(root["shards"], "a shard");
      require_no_network(groups, "an agent group");
    }
    if (auto dep = root["deployment"])
      sc.deployment = deployment(dep, sc);
    if (auto st = root["settlement"])
      sc.settlement = settlement(st, sc);
    if (auto pc = root["price_consensus"])
      sc.price_consensus = price_consensus(pc, sc);
    if (auto h = root["halt"])
      sc.halt = halt(h, sc);
    return sc;
  }

  /// The `halt:` section (see "Trading halt" in scenario.hpp).
  halt_config halt(const YAML::Node& node, const scenario& sc) const {
    check_map(node, "halt",
              {"at", "validators", "faulty", "round", "reason", "sender", "byzantine"});
    halt_config c;
    c.line = node.Mark().line + 1;
    auto at = required(node, "at", "halt");
    c.at = positive_duration(at, "at");
    if (c.at >= sc.duration)
      fail(at, "'at' must be before the end of the run (" + format_duration(sc.duration) + ")");
    if (auto v = node["validators"]) {
      auto n = non_negative(v, "validators");
      if (n < 2 || n > 31)
        fail(v, "'validators' must be 2 .. 31, got " + std::to_string(n));
      c.validators = static_cast<std::uint32_t>(n);
    }
    if (auto f = node["faulty"]) {
      auto n = non_negative(f, "faulty");
      if (n >= c.validators)
        fail(f, "'faulty' must be below 'validators' (" + std::to_string(c.validators) +
                    "), got " + std::to_string(n));
      c.faulty = static_cast<std::uint32_t>(n);
    } else if (c.faulty >= c.validators) {
      c.faulty = c.validators - 1;
    }
    if (auto r = node["round"])
      c.round = positive_duration(r, "round");
    if (auto why = node["reason"])
      c.reason = scalar(why, "reason");
    if (auto s = node["sender"]) {
      c.sender = scalar(s, "sender");
      if (c.sender != "honest" && c.sender != "equivocate" && c.sender != "silent")
        fail(s, "'sender' must be honest, equivocate or silent, got '" + c.sender + "'");
    }
    if (auto b = node["byzantine"]) {
      namespace bft = consensus::bft;
      auto known = [](const std::string& name) {
        auto k = bft::ds_behaviour_from_string(name);
        return k && *k != bft::ds_behaviour_kind::honest;
      };
      c.byzantine = byzantine_map(b, c.validators, known,
                                  "silent, equivocate, forge_relay, selective_relay");
      if (c.byzantine.count(c.sender_id) > 0)
        fail(b, "'byzantine': validator " + std::to_string(c.sender_id) +
                    " is the sender: set its behaviour with 'sender'");
      const auto faulty = c.byzantine.size() + (c.sender == "honest" ? 0 : 1);
      if (faulty > c.faulty)
        fail(b, "'byzantine': " + std::to_string(faulty) +
                    " Byzantine validators (the sender included), more than 'faulty' (" +
                    std::to_string(c.faulty) + ") tolerates");
    }
    if (sc.deployment)
      fail(node, "'halt' does not combine with 'deployment' yet");
    return c;
  }

  /// Validator id -> Byzantine behaviour (`extra`: names beyond byzantine.hpp's).
  std::map<std::uint32_t, std::string> byzantine_map(const YAML::Node& b, std::uint32_t validators,
                                                     const std::vector<std::string>& extra) const {
    auto known = [&](const std::string& name) {
      return consensus::bft::streamlet::behaviour_from_string(name) ||
             std::find(extra.begin(), extra.end(), name) != extra.end();
    };
    return byzantine_map(b, validators, known,
                         "crash, silent, equivocate, vote_invalid, forge, selective_delay, "
                         "fake_txs, double_spend" +
                             (extra.empty() ? std::string{} : ", " + extra.front()));
  }

  /// Validator id -> a behaviour `known` accepts (`listed` names them in the
  /// error); at least one validator stays honest.
  std::map<std::uint32_t, std::string>
  byzantine_map(const YAML::Node& b, std::uint32_t validators,
                const std::function<bool(const std::string&)>& known,
                const std::string& listed) const {
    std::map<std::uint32_t, std::string> out;
    if (!b.IsMap())
      fail(b, "'byzantine' must be a map of validator id (from 0): behaviour");
    for (const auto& kv : b) {
      auto id = non_negative(kv.first, "byzantine");
      if (static_cast<std::uint64_t>(id) >= validators)
        fail(kv.first, "'byzantine': there is no validator " + std::to_string(id) +
                           " (ids are 0 .. " + std::to_string(validators - 1) + ")");
      auto name = scalar(kv.second, "byzantine");
      if (!known(name))
        fail(kv.second, "'byzantine': unknown behaviour '" + name + "' (" + listed + ")");
      out[static_cast<std::uint32_t>(id)] = name;
    }
    if (out.size() == validators)
      fail(b, "'byzantine': at least one validator must be honest");
    return out;
  }

  /// The `price_consensus:` section (see "Consensus prices" in scenario.hpp).
  price_consensus_config price_consensus(const YAML::Node& node, const scenario& sc) const {
    check_map(node, "price_consensus",
              {"symbol", "validators", "epoch", "sources", "noise_bps", "step_bps",
               "min_sources", "byzantine"});
    price_consensus_config c;
    c.line = node.Mark().line + 1;
    auto sym = required(node, "symbol", "price_consensus");
    c.symbol = known_symbol(sym, "symbol", sc.symbols);
    const auto index = sc.symbol_index(c.symbol);
    bool banded = false;
    for (const auto& shard : sc.shards)
      for (const auto& name : shard.symbols)
        if (name == c.symbol)
          banded = shard.price_band_bps > 0;
    if (!banded)
      fail(sym, "the shard of '" + c.symbol +
                    "' needs a price_band_bps: the band the consensus price sets");
    (void) index;
    auto count = [&](const char* key, std::int64_t lo, std::int64_t hi, auto& field) {
      if (auto v = node[key]) {
        auto n = non_negative(v, key);
        if (n < lo || n > hi)
          fail(v, std::string{"'"} + key + "' must be " + std::to_string(lo) + " .. " +
                      std::to_string(hi) + ", got " + std::to_string(n));
        field = static_cast<std::remove_reference_t<decltype(field)>>(n);
      }
    };
    count("validators", 1, 31, c.validators);
    count("sources", 1, 64, c.sources);
    count("noise_bps", 0, 10'000, c.noise_bps);
    count("step_bps", 0, 10'000, c.step_bps);
    count("min_sources", 1, 64, c.min_sources);
    if (c.min_sources > c.sources)
      fail(node["min_sources"] ? node["min_sources"] : node,
           "'min_sources' (" + std::to_string(c.min_sources) + ") exceeds 'sources' (" +
               std::to_string(c.sources) + ")");
    if (auto e = node["epoch"])
      c.epoch = positive_duration(e, "epoch");
    if (auto b = node["byzantine"])
      c.byzantine = byzantine_map(b, c.validators, {"shift_price"});
    if (sc.deployment)
      fail(node, "'price_consensus' does not combine with 'deployment' yet");
    return c;
  }

  /// The `settlement:` section (see "Settlement" in scenario.hpp).
  settlement_config settlement(const YAML::Node& node, const scenario& sc) const {
    check_map(node, "settlement",
              {"protocol", "validators", "election_timeout", "heartbeat", "batch",
               "batch_window", "crash_leader_at", "restart_after", "persist",
               "snapshot_every", "epoch", "max_block_txs", "trade_batch",
               "trade_batch_window", "byzantine"});
    settlement_config c;
    c.line = node.Mark().line + 1;
    if (auto p = node["protocol"]) {
      auto name = scalar(p, "protocol");
      if (name == "streamlet")
        c.protocol = settlement_protocol::streamlet;
      else if (name != "raft")
        fail(p, "'protocol' must be raft or streamlet, got '" + name + "'");
    }
    // Keys of the other protocol are refused rather than ignored.
    const bool streamlet = c.protocol == settlement_protocol::streamlet;
    for (const char* key : {"election_timeout", "heartbeat", "batch", "batch_window",
                            "crash_leader_at", "restart_after", "persist", "snapshot_every"})
      if (streamlet && node[key])
        fail(node[key], std::string{"'"} + key + "' is a raft setting (protocol: streamlet)");
    for (const char* key :
         {"epoch", "max_block_txs", "trade_batch", "trade_batch_window", "byzantine"})
      if (!streamlet && node[key])
        fail(node[key], std::string{"'"} + key + "' is a streamlet setting (protocol: raft)");
    if (auto e = node["epoch"])
      c.epoch = positive_duration(e, "epoch");
    if (auto m = node["max_block_txs"]) {
      auto n = non_negative(m, "max_block_txs");
      if (n < 1)
        fail(m, "'max_block_txs' must be at least 1");
      c.max_block_txs = static_cast<std::size_t>(n);
    }
    if (auto b = node["trade_batch"]) {
      auto n = non_negative(b, "trade_batch");
      if (n < 1 || n > consensus::bft::streamlet::max_batch_trades)
        fail(b, "'trade_batch' must be 1 .. " +
                    std::to_string(consensus::bft::streamlet::max_batch_trades) + ", got " +
                    std::to_string(n));
      c.trade_batch = static_cast<std::uint32_t>(n);
    }
    if (auto w = node["trade_batch_window"])
      c.trade_batch_window = duration(w, "trade_batch_window"); // refuses negative ones
    if (auto v = node["validators"]) {
      auto n = non_negative(v, "validators");
      if (n < 1 || n > 15)
        fail(v, "'validators' must be 1 .. 15, got " + std::to_string(n));
      c.validators = static_cast<std::uint32_t>(n);
    }
    if (auto e = node["election_timeout"]) {
      if (!e.IsSequence() || e.size() != 2)
        fail(e, "'election_timeout' must be [min, max], e.g. [150ms, 300ms]");
      c.election_timeout_min = positive_duration(e[0], "election_timeout");
      c.election_timeout_max = positive_duration(e[1], "election_timeout");
      if (c.election_timeout_max <= c.election_timeout_min)
        fail(e, "'election_timeout': the maximum must be above the minimum");
    }
    if (auto h = node["heartbeat"])
      c.heartbeat = positive_duration(h, "heartbeat");
    if (c.heartbeat >= c.election_timeout_min)
      fail(node["heartbeat"] ? node["heartbeat"] : node,
           "'heartbeat' must be below the minimum election timeout (" +
               format_duration(c.election_timeout_min) + ")");
    if (auto b = node["batch"]) {
      auto n = non_negative(b, "batch");
      if (n < 1)
        fail(b, "'batch' must be at least 1");
      c.batch = static_cast<std::uint32_t>(n);
    }
    if (auto w = node["batch_window"]) {
      c.batch_window = duration(w, "batch_window");
      if (c.batch_window.count() < 0)
        fail(w, "'batch_window' must not be negative");
    }
    if (auto at = node["crash_leader_at"]) {
      c.crash_leader_at = positive_duration(at, "crash_leader_at");
      if (*c.crash_leader_at >= sc.duration)
        fail(at, "'crash_leader_at' must be before the end of the run (" +
                     format_duration(sc.duration) + ")");
    }
    if (auto r = node["restart_after"]) {
      if (!c.crash_leader_at)
        fail(r, "'restart_after' needs 'crash_leader_at'");
      c.restart_after = positive_duration(r, "restart_after");
    }
    if (auto p = node["persist"])
      c.persist = boolean(p, "persist");
    if (auto k = node["snapshot_every"])
      c.snapshot_every = static_cast<std::uint64_t>(non_negative(k, "snapshot_every"));
    if (auto b = node["byzantine"])
      c.byzantine = byzantine_map(b, c.validators, {});
    if (sc.deployment)
      fail(node, "'settlement' does not combine with 'deployment' yet (the validators "
                 "run in the process that starts the run)");
    return c;
  }

  /// The `deployment:` section (see "Deployment" in scenario.hpp).
  deployment_config deployment(const YAML::Node& node, const scenario& sc) const {
    check_map(node, "deployment",
              {"hosts", "shards", "agents", "on_host_failure", "connect_timeout"});
    deployment_config d;
    d.line = node.Mark().line + 1;
    auto host_name = [&](const YAML::Node& n, const std::string& key) {
      auto name = scalar(n, key);
      if (!is_host_name(name))
        fail(n, "host name '" + name + "' must be letters, digits, '_' or '-'");
      return name;
    };
    if (auto hosts = node["hosts"]) {
      if (!hosts.IsMap() || hosts.size() == 0)
        fail(hosts, "'hosts' must be a non-empty map of name: host:port");
      for (const auto& kv : hosts) {
        auto name = host_name(kv.first, "hosts");
        for (const auto& h : d.hosts)
          if (h.name == name)
            fail(kv.first, "host '" + name + "' is given twice");
        host_endpoint h;
        try {
          h = parse_host_address(scalar(kv.second, name));
        } catch (const std::invalid_argument& e) {
          fail(kv.second, std::string{"host '"} + name + "': " + e.what());
        }
        h.name = name;
        h.line = kv.first.Mark().line + 1;
        d.hosts.push_back(std::move(h));
      }
    }
    auto placement = [&](const YAML::Node& map, const std::string& key, std::size_t count,
                         const std::string& what) {
      std::map<std::size_t, std::string> result;
      if (!map.IsMap())
        fail(map, "'" + key + "' must be a map of " + what + " index: host name");
      for (const auto& kv : map) {
        auto index = non_negative(kv.first, key);
        if (static_cast<std::uint64_t>(index) >= count)
          fail(kv.first, "'" + key + "': there is no " + what + " " +
                             std::to_string(index) + " (the scenario has " +
                             std::to_string(count) + ", numbered from 0)");
        if (!result.emplace(static_cast<std::size_t>(index), host_name(kv.second, key))
                 .second)
          fail(kv.first, "'" + key + "': " + what + " " + std::to_string(index) +
                             " is placed twice");
      }
      return result;
    };
    if (auto shards = node["shards"])
      d.shards = placement(shards, "shards", sc.shards.size(), "shard");
    if (auto agents = node["agents"])
      d.agents = placement(agents, "agents", sc.agents.size(), "agent group");
    if (auto policy = node["on_host_failure"]) {
      auto text = scalar(policy, "on_host_failure");
      if (text == "stop")
        d.on_host_failure = host_failure_policy::stop;
      else if (text == "continue")
        d.on_host_failure = host_failure_policy::continue_;
      else
        fail(policy, "'on_host_failure' must be stop or continue, got '" + text + "'");
    }
    if (auto timeout = node["connect_timeout"])
      d.connect_timeout = positive_duration(timeout, "connect_timeout");
    if (sc.network)
      fail(node, "'deployment' does not combine with 'network' (a network model runs "
                 "in one process)");
    return d;
  }

  /// `site` and `access` need a `network:` section.
  void require_no_network(const YAML::Node& list, const std::string& what) const {
    for (const auto& item : list)
      for (const char* key : {"site", "access"})
        if (auto x = item[key])
          fail(x,
               "'" + std::string{key} + "' of " + what + " needs a 'network:' section");
  }

  static market::account_params
  to_account_params(const account_config& a, const std::vector<symbol_config>& known) {
    market::account_params p;
    p.cash = a.cash;
    for (const auto& [name, qty] : a.positions)
      for (std::size_t i = 0; i < known.size(); ++i)
        if (known[i].name == name)
          p.positions[static_cast<market::symbol_id>(i)] = {qty,
                                                            known[i].reference_price};
    p.fees = {a.maker_bps, a.taker_bps};
    p.allow_short = a.allow_short;
    p.max_short = a.max_short;
    p.allow_margin = a.allow_margin;
    p.max_borrow = a.max_borrow;
    return p;
  }

private:
  std::string file_;
  const strategies::strategy_registry* registry_;
};

} // namespace

market::account_params make_account_params(const scenario& sc, const account_config& a) {
  return reader::to_account_params(a, sc.symbols);
}

scenario parse_scenario(std::string_view yaml, const std::string& file,
                        const strategies::strategy_registry& registry) {
  reader r{file, registry};
  YAML::Node root;
  try {
    root = YAML::Load(std::string{yaml});
  } catch (const YAML::ParserException& e) {
    r.fail(e.mark, "malformed YAML: " + e.msg);
  }
  return r.document(root);
}

scenario load_scenario(const std::string& path,
                       const strategies::strategy_registry& registry) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw scenario_error(path +
                         ": cannot open the scenario file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path, registry);
}

} // namespace marketsim::app
