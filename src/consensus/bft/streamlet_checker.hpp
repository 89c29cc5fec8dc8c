#pragma once

/// The safety checker: finalized chains of honest validators must be
/// prefixes of one another (no two honest validators finalize different
/// blocks at one height). Pure; used after every simulated run.

#include "consensus/bft/streamlet_types.hpp"

#include <string>
#include <utility>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

struct safety_report {
  bool safe = true;
  /// The first violation found: who, at which height, which two blocks.
  std::string violation;
};

/// `chains[i]` = (a name for the node, its finalized hashes from height 1).
safety_report check_finalized_prefixes(
    const std::vector<std::pair<std::string, std::vector<hash256>>>& chains);

} // namespace marketsim::consensus::bft::streamlet
