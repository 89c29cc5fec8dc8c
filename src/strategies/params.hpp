#pragma once

/// Strategy parameters: each strategy declares its parameters (name, type,
/// default, range) and receives validated values. The scenario loader checks
/// a scenario's parameters against the declaration, so an unknown name, a
/// wrong type or a value out of range is a config error with file:line.
/// Pure: no YAML, no CAF.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace marketsim::strategies {

enum class param_type : std::uint8_t {
  integer,  ///< std::int64_t
  number,   ///< double
  boolean,  ///< bool
  text,     ///< std::string
  duration, ///< nanoseconds, written `20ms`, `1s`, ... in scenarios
};

std::string_view to_string(param_type x);

using param_value = std::variant<std::int64_t, double, bool, std::string>;

/// One declared parameter.
struct param_spec {
  std::string name;
  param_type type = param_type::number;
  std::string description;
  /// Used when the scenario omits the parameter; none = required.
  std::optional<param_value> default_value;
  /// Inclusive bounds for integer, number and duration (duration in ns).
  std::optional<double> min;
  std::optional<double> max;
  /// Allowed values for text; empty = any.
  std::vector<std::string> choices;
};

// -- declaring parameters ------------------------------------------------------

/// Shorthands for declaring parameters with a default (so none is required).
param_spec integer_param(std::string name, std::string description, std::int64_t def,
                         double min, double max);
param_spec number_param(std::string name, std::string description, double def, double min,
                        double max);
/// Bounds in nanoseconds.
param_spec duration_param(std::string name, std::string description, std::int64_t def_ns,
                          double min_ns, double max_ns);
/// `choices` empty: any text.
param_spec text_param(std::string name, std::string description, std::string def,
                      std::vector<std::string> choices = {});
param_spec boolean_param(std::string name, std::string description, bool def);

/// Validated values of a strategy's parameters, every declared one present.
class param_values {
public:
  param_values() = default;

  std::int64_t integer(std::string_view name) const;
  double number(std::string_view name) const;
  bool boolean(std::string_view name) const;
  const std::string& text(std::string_view name) const;
  std::int64_t duration_ns(std::string_view name) const;
  bool has(std::string_view name) const;

  /// Sets a value (the loader and tests use this; `check` validates).
  void set(std::string name, param_value v);
  const std::map<std::string, param_value, std::less<>>& all() const { return values_; }

private:
  const param_value& get(std::string_view name) const;
  std::map<std::string, param_value, std::less<>> values_;
};

/// Checks `given` against `specs`: every name declared, every type right
/// (an integer is accepted for a number), bounds and choices respected,
/// defaults filled in for missing ones, required ones present. Returns the
/// complete values, or throws std::invalid_argument naming the parameter and
/// what is wrong (the loader prefixes file:line).
param_values check_params(const std::vector<param_spec>& specs, const param_values& given);

} // namespace marketsim::strategies
