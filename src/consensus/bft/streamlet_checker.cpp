#include "consensus/bft/streamlet_checker.hpp"

#include <algorithm>

namespace marketsim::consensus::bft::streamlet {

safety_report check_finalized_prefixes(
    const std::vector<std::pair<std::string, std::vector<hash256>>>& chains) {
  // Comparing each chain with the longest is enough: prefix-of is transitive,
  // and two chains that are both prefixes of the longest agree with each other.
  if (chains.empty())
    return {};
  auto longest = std::max_element(chains.begin(), chains.end(), [](auto& a, auto& b) {
    return a.second.size() < b.second.size();
  });
  for (const auto& [name, chain] : chains) {
    for (std::size_t i = 0; i < chain.size(); ++i) {
      if (chain[i] == longest->second[i])
        continue;
      return {false, name + " and " + longest->first +
                         " finalized different blocks at height " +
                         std::to_string(i + 1) + ": " + chain[i].short_hex() + " vs " +
                         longest->second[i].short_hex()};
    }
  }
  return {};
}

} // namespace marketsim::consensus::bft::streamlet
