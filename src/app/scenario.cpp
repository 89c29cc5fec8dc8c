#include "app/scenario.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace marketsim::app {

std::string_view to_string(scheduler_policy x) {
  switch (x) {
  case scheduler_policy::stealing:
    return "stealing";
  case scheduler_policy::sharing:
    return "sharing";
  }
  return "?";
}

std::size_t scenario::symbol_index(std::string_view name) const {
  for (std::size_t i = 0; i < symbols.size(); ++i)
    if (symbols[i].name == name)
      return i;
  throw std::out_of_range("unknown symbol " + std::string{name});
}

std::uint64_t scenario::trader_count() const {
  std::uint64_t n = 0;
  for (const auto& g : traders)
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

namespace {

/// Reads nodes of one file and turns every problem into `file:line: ...`.
class reader {
public:
  explicit reader(std::string file) : file_(std::move(file)) {}

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
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar())
        fail(kv.first, "keys of " + what + " must be plain words");
      auto key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(kv.first, "unknown key '" + key + "' in " + what +
                           " (allowed: " + join(allowed) + ")");
      if (!seen.insert(key).second)
        fail(kv.first, "duplicate key '" + key + "' in " + what);
    }
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

  /// A number in [0, 1].
  double share(const YAML::Node& node, const std::string& key) const {
    auto text = scalar(node, key);
    double value = 0;
    try {
      value = node.as<double>();
    } catch (const YAML::Exception&) {
      fail(node, "'" + key + "' must be a number, got '" + text + "'");
    }
    if (!(value >= 0.0 && value <= 1.0))
      fail(node, "'" + key + "' must be between 0 and 1, got " + text);
    return value;
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

  /// A list of symbol names, each one of `known`, without repetition.
  std::vector<std::string> symbol_list(const YAML::Node& node, const std::string& key,
                                       const std::vector<symbol_config>& known) const {
    if (!node.IsSequence())
      fail(node, "'" + key + "' must be a list of symbol names");
    std::vector<std::string> result;
    for (const auto& item : node) {
      auto name = scalar(item, key);
      auto is_known = std::any_of(known.begin(), known.end(),
                                  [&](const symbol_config& s) { return s.name == name; });
      if (!is_known)
        fail(item, "unknown symbol '" + name + "'");
      if (std::find(result.begin(), result.end(), name) != result.end())
        fail(item, "symbol '" + name + "' is listed twice");
      result.push_back(std::move(name));
    }
    if (result.empty())
      fail(node, "'" + key + "' must list at least one symbol");
    return result;
  }

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
      check_map(item, "a shard", {"symbols"});
      auto list = required(item, "symbols", "a shard");
      shard_config shard{symbol_list(list, "symbols", known)};
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

  trader_group_config trader_group(const YAML::Node& item,
                                   const std::vector<symbol_config>& known) const {
    const std::string what = "a trader group";
    check_map(item, what,
              {"count", "strategy", "symbols", "interval", "jitter", "price_band",
               "market_order_share", "cancel_share", "max_quantity", "max_resting"});
    trader_group_config g;
    g.count = count32(required(item, "count", what), "count", false);
    auto strategy = required(item, "strategy", what);
    auto name = scalar(strategy, "strategy");
    if (name != "zero_intelligence")
      fail(strategy, "unknown strategy '" + name + "' (known: zero_intelligence)");
    g.strategy = strategy_kind::zero_intelligence;
    if (auto list = item["symbols"]) {
      g.symbols = symbol_list(list, "symbols", known);
    } else {
      for (const auto& s : known)
        g.symbols.push_back(s.name);
    }
    auto interval = required(item, "interval", what);
    g.interval = duration(interval, "interval");
    if (g.interval.count() <= 0)
      fail(interval, "'interval' must be positive");
    g.jitter = g.interval / 2;
    if (auto jitter = item["jitter"]) {
      g.jitter = duration(jitter, "jitter");
      if (g.jitter > g.interval)
        fail(jitter, "'jitter' must not exceed 'interval'");
    }
    g.price_band_ticks = non_negative(required(item, "price_band", what), "price_band");
    g.market_order_share =
        share(required(item, "market_order_share", what), "market_order_share");
    auto cancel = required(item, "cancel_share", what);
    g.cancel_share = share(cancel, "cancel_share");
    if (g.market_order_share + g.cancel_share > 1.0)
      fail(cancel, "'market_order_share' + 'cancel_share' must not exceed 1");
    g.max_quantity_lots = positive(required(item, "max_quantity", what), "max_quantity");
    if (auto max_resting = item["max_resting"])
      g.max_resting = count32(max_resting, "max_resting", false);
    return g;
  }

  scenario document(const YAML::Node& root) const {
    if (!root.IsMap())
      fail(root, "a scenario must be a map (seed, duration, symbols, shards, traders)");
    check_map(root, "the scenario",
              {"name", "seed", "duration", "output", "scheduler", "symbols", "shards",
               "traders"});
    const std::string what = "the scenario";
    scenario sc;
    sc.name = std::filesystem::path{file_}.stem().string();
    if (auto name = root["name"]) {
      sc.name = scalar(name, "name");
      if (sc.name.empty() || sc.name.find_first_of("/\\") != std::string::npos)
        fail(name, "'name' must be a non-empty name without slashes");
    }
    sc.seed =
        static_cast<std::uint64_t>(non_negative(required(root, "seed", what), "seed"));
    auto duration_node = required(root, "duration", what);
    sc.duration = duration(duration_node, "duration");
    if (sc.duration.count() <= 0)
      fail(duration_node, "'duration' must be positive");
    sc.output = "runs/" + sc.name;
    if (auto output = root["output"])
      sc.output = scalar(output, "output");
    if (auto sched = root["scheduler"])
      sc.scheduler = scheduler(sched);
    sc.symbols = symbols(required(root, "symbols", what));
    sc.shards = shards(required(root, "shards", what), sc.symbols);
    auto groups = required(root, "traders", what);
    if (!groups.IsSequence() || groups.size() == 0)
      fail(groups, "'traders' must be a non-empty list");
    for (const auto& item : groups)
      sc.traders.push_back(trader_group(item, sc.symbols));
    return sc;
  }

private:
  static std::string join(std::initializer_list<std::string_view> words) {
    std::string result;
    for (auto w : words) {
      if (!result.empty())
        result += ", ";
      result += w;
    }
    return result;
  }

  std::string file_;
};

} // namespace

scenario parse_scenario(std::string_view yaml, const std::string& file) {
  reader r{file};
  YAML::Node root;
  try {
    root = YAML::Load(std::string{yaml});
  } catch (const YAML::ParserException& e) {
    r.fail(e.mark, "malformed YAML: " + e.msg);
  }
  return r.document(root);
}

scenario load_scenario(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw scenario_error(path +
                         ": cannot open the scenario file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path);
}

} // namespace marketsim::app
