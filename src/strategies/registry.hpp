#pragma once

/// Strategies by name. Scenarios name a strategy and give its parameters; the
/// registry knows how to check them and build the strategy.
///
/// Adding a strategy: write it in one file with a function
/// `void register_<name>(strategy_registry&)`, and call that function from
/// builtin_strategies() (registry.cpp). No global registration magic: the
/// registry is a value, built once at start-up.

#include "strategies/params.hpp"
#include "strategies/strategy.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::strategies {

struct strategy_info {
  std::string name;
  std::string summary; ///< one line, for `marketsim strategies` and errors
  std::vector<param_spec> params;
  /// Builds one instance from checked values. May throw std::invalid_argument
  /// for combinations the per-parameter checks cannot express.
  std::function<std::unique_ptr<strategy>(const param_values&)> make;
};

class strategy_registry {
public:
  /// Throws std::invalid_argument on an empty or duplicate name or no `make`.
  void add(strategy_info info);
  const strategy_info* find(std::string_view name) const;
  std::vector<std::string> names() const;

private:
  std::vector<strategy_info> infos_;
};

/// A registry with every built-in strategy.
strategy_registry builtin_strategies();

} // namespace marketsim::strategies
