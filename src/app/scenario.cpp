#include "app/scenario.hpp"

#include "market/account.hpp"
#include "market/fundamental.hpp"
#include "strategies/registry.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
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
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar())
        fail(kv.first, "keys of " + what + " must be plain words");
      auto key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(kv.first, "unknown key '" + key + "' in " + what +
                           " (allowed: " + join({allowed.begin(), allowed.end()}) + ")");
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
                                 const std::vector<symbol_config>& known) const {
    const std::string what = "an agent group";
    check_map(item, what, {"count", "strategy", "params", "symbols", "start", "account"});
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
    return g;
  }

  scenario document(const YAML::Node& root) const {
    if (!root.IsMap())
      fail(root, "a scenario must be a map (seed, duration, symbols, shards, agents)");
    check_map(root, "the scenario",
              {"name", "clock", "seed", "duration", "output", "scheduler", "symbols",
               "shards", "fundamentals", "agents"});
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
      sc.agents.push_back(agent_group(item, sc.symbols));
    if (sc.agent_count() == 0)
      fail(groups, "the scenario has no agents (every count is 0)");
    return sc;
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
