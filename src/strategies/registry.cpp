#include "strategies/registry.hpp"

#include "strategies/builtin.hpp"

#include <set>
#include <stdexcept>

namespace marketsim::strategies {

void strategy_registry::add(strategy_info info) {
  if (info.name.empty())
    throw std::invalid_argument("strategy registry: a strategy needs a name");
  if (find(info.name) != nullptr)
    throw std::invalid_argument("strategy registry: '" + info.name +
                                "' is registered twice");
  if (!info.make)
    throw std::invalid_argument("strategy registry: '" + info.name + "' has no make");
  // A declaration mistake (two parameters with one name, a default of the
  // wrong type or out of its own bounds) would otherwise only show when a
  // scenario omits the parameter: catch it at start-up instead.
  std::set<std::string> names;
  for (const auto& spec : info.params) {
    if (spec.name.empty() || !names.insert(spec.name).second)
      throw std::invalid_argument("strategy registry: '" + info.name +
                                  "' declares an empty or repeated parameter name '" +
                                  spec.name + "'");
    if (spec.default_value) {
      try {
        check_params({spec}, {});
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("strategy registry: '" + info.name +
                                    "': bad default: " + e.what());
      }
    }
  }
  infos_.push_back(std::move(info));
}

const strategy_info* strategy_registry::find(std::string_view name) const {
  for (const auto& info : infos_)
    if (info.name == name)
      return &info;
  return nullptr;
}

std::vector<std::string> strategy_registry::names() const {
  std::vector<std::string> result;
  result.reserve(infos_.size());
  for (const auto& info : infos_)
    result.push_back(info.name);
  return result;
}

strategy_registry builtin_strategies() {
  strategy_registry r;
  register_zero_intelligence(r);
  register_noise(r);
  register_value(r);
  register_market_maker(r);
  register_momentum(r);
  register_mean_reversion(r);
  register_breakout(r);
  register_arbitrage(r);
  register_venue_router(r);
  register_shock(r);
  register_sentinel(r);
  return r;
}

} // namespace marketsim::strategies
