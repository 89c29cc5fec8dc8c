#include "strategies/params.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace marketsim::strategies {

std::string_view to_string(param_type x) {
  switch (x) {
  case param_type::integer:
    return "integer";
  case param_type::number:
    return "number";
  case param_type::boolean:
    return "boolean";
  case param_type::text:
    return "text";
  case param_type::duration:
    return "duration";
  }
  return "unknown";
}

namespace {

[[noreturn]] void fail(std::string_view name, const std::string& what) {
  throw std::invalid_argument("parameter '" + std::string{name} + "': " + what);
}

/// The name of the alternative a value holds, for "expected X, got Y".
std::string_view kind_of(const param_value& v) {
  switch (v.index()) {
  case 0:
    return "an integer";
  case 1:
    return "a number";
  case 2:
    return "a boolean";
  default:
    return "text";
  }
}

std::string_view expected(param_type t) {
  switch (t) {
  case param_type::integer:
    return "an integer";
  case param_type::number:
    return "a number";
  case param_type::boolean:
    return "a boolean";
  case param_type::text:
    return "text";
  case param_type::duration:
    return "a duration (like 500ms, or an integer of nanoseconds)";
  }
  return "?";
}

std::string format(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

/// `20ms`, `1s`, ...: the grammar scenarios use (app::parse_duration), an
/// integer followed by ns, us, ms, s or m. Repeated here because strategies
/// do not depend on app/.
std::int64_t parse_duration(std::string_view name, const std::string& text) {
  std::int64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end == first || value < 0)
    fail(name, "expected a duration like 500ms or 5s, got '" + text + "'");
  const std::string_view unit{end, static_cast<std::size_t>(last - end)};
  std::int64_t scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1'000;
  else if (unit == "ms")
    scale = 1'000'000;
  else if (unit == "s")
    scale = 1'000'000'000;
  else if (unit == "m")
    scale = 60'000'000'000;
  else
    fail(name, "expected a duration unit ns, us, ms, s or m, got '" + text + "'");
  if (value > std::numeric_limits<std::int64_t>::max() / scale)
    fail(name, "duration '" + text + "' is too long");
  return value * scale;
}

/// Brings `v` to the stored form of `spec.type` (an integer becomes a number
/// for a number parameter; a duration text becomes nanoseconds), or throws.
param_value normalise(const param_spec& spec, const param_value& v) {
  switch (spec.type) {
  case param_type::integer:
    if (std::holds_alternative<std::int64_t>(v))
      return v;
    break;
  case param_type::number:
    if (const auto* i = std::get_if<std::int64_t>(&v))
      return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) {
      if (!std::isfinite(*d))
        fail(spec.name, "must be a finite number");
      return v;
    }
    break;
  case param_type::boolean:
    if (std::holds_alternative<bool>(v))
      return v;
    break;
  case param_type::text:
    if (std::holds_alternative<std::string>(v))
      return v;
    break;
  case param_type::duration:
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
      if (*i < 0)
        fail(spec.name, "a duration cannot be negative");
      return v;
    }
    if (const auto* s = std::get_if<std::string>(&v))
      return parse_duration(spec.name, *s);
    break;
  }
  fail(spec.name, "expected " + std::string{expected(spec.type)} + ", got " +
                      std::string{kind_of(v)});
}

/// Bounds and choices of a normalised value.
void check_range(const param_spec& spec, const param_value& v) {
  if (spec.type == param_type::text) {
    if (spec.choices.empty())
      return;
    const auto& s = std::get<std::string>(v);
    for (const auto& c : spec.choices)
      if (c == s)
        return;
    std::string list;
    for (const auto& c : spec.choices)
      list += (list.empty() ? "" : ", ") + c;
    fail(spec.name, "'" + s + "' is not one of: " + list);
  }
  if (spec.type == param_type::boolean)
    return;
  const double x = std::holds_alternative<double>(v)
                       ? std::get<double>(v)
                       : static_cast<double>(std::get<std::int64_t>(v));
  const auto shown = [&] {
    return std::holds_alternative<double>(v) ? format(x)
                                             : std::to_string(std::get<std::int64_t>(v));
  };
  const std::string_view unit = spec.type == param_type::duration ? " ns" : "";
  if (spec.min && x < *spec.min)
    fail(spec.name, shown() + std::string{unit} + " is below the minimum " +
                        format(*spec.min) + std::string{unit});
  if (spec.max && x > *spec.max)
    fail(spec.name, shown() + std::string{unit} + " is above the maximum " +
                        format(*spec.max) + std::string{unit});
}

} // namespace

// -- param_values --------------------------------------------------------------

const param_value& param_values::get(std::string_view name) const {
  auto i = values_.find(name);
  if (i == values_.end())
    fail(name, "missing");
  return i->second;
}

std::int64_t param_values::integer(std::string_view name) const {
  const auto& v = get(name);
  if (const auto* i = std::get_if<std::int64_t>(&v))
    return *i;
  fail(name, "expected an integer, got " + std::string{kind_of(v)});
}

double param_values::number(std::string_view name) const {
  const auto& v = get(name);
  if (const auto* d = std::get_if<double>(&v))
    return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v))
    return static_cast<double>(*i);
  fail(name, "expected a number, got " + std::string{kind_of(v)});
}

bool param_values::boolean(std::string_view name) const {
  const auto& v = get(name);
  if (const auto* b = std::get_if<bool>(&v))
    return *b;
  fail(name, "expected a boolean, got " + std::string{kind_of(v)});
}

const std::string& param_values::text(std::string_view name) const {
  const auto& v = get(name);
  if (const auto* s = std::get_if<std::string>(&v))
    return *s;
  fail(name, "expected text, got " + std::string{kind_of(v)});
}

std::int64_t param_values::duration_ns(std::string_view name) const {
  // Checked values hold durations as integer nanoseconds.
  const auto& v = get(name);
  if (const auto* i = std::get_if<std::int64_t>(&v))
    return *i;
  fail(name, "expected a duration in nanoseconds, got " + std::string{kind_of(v)});
}

bool param_values::has(std::string_view name) const {
  return values_.find(name) != values_.end();
}

void param_values::set(std::string name, param_value v) {
  values_.insert_or_assign(std::move(name), std::move(v));
}

// -- check_params --------------------------------------------------------------

param_values check_params(const std::vector<param_spec>& specs,
                          const param_values& given) {
  std::set<std::string_view> declared;
  for (const auto& spec : specs)
    declared.insert(spec.name);
  for (const auto& [name, value] : given.all()) {
    if (declared.count(name) == 0) {
      std::string known;
      for (const auto& spec : specs)
        known += (known.empty() ? "" : ", ") + spec.name;
      fail(name, "unknown parameter (known: " + (known.empty() ? "none" : known) + ")");
    }
  }
  param_values result;
  for (const auto& spec : specs) {
    const auto i = given.all().find(spec.name);
    const param_value* v = nullptr;
    if (i != given.all().end())
      v = &i->second;
    else if (spec.default_value)
      v = &*spec.default_value;
    else
      fail(spec.name, "required, but not given");
    auto checked = normalise(spec, *v);
    check_range(spec, checked);
    result.set(spec.name, std::move(checked));
  }
  return result;
}

// -- declaring parameters ------------------------------------------------------

param_spec integer_param(std::string name, std::string description, std::int64_t def,
                         double min, double max) {
  return {std::move(name), param_type::integer, std::move(description), param_value{def},
          min, max, {}};
}

param_spec number_param(std::string name, std::string description, double def, double min,
                        double max) {
  return {std::move(name), param_type::number, std::move(description), param_value{def},
          min, max, {}};
}

param_spec duration_param(std::string name, std::string description, std::int64_t def_ns,
                          double min_ns, double max_ns) {
  return {std::move(name), param_type::duration, std::move(description),
          param_value{def_ns}, min_ns, max_ns, {}};
}

param_spec text_param(std::string name, std::string description, std::string def,
                      std::vector<std::string> choices) {
  return {std::move(name), param_type::text, std::move(description),
          param_value{std::move(def)}, std::nullopt, std::nullopt, std::move(choices)};
}

param_spec boolean_param(std::string name, std::string description, bool def) {
  return {std::move(name), param_type::boolean, std::move(description), param_value{def},
          std::nullopt, std::nullopt, {}};
}

} // namespace marketsim::strategies
