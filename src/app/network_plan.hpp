#pragma once

/// A scenario's `network:` section turned into what a run executes: the
/// topology, the link model of every directed link, where each part of the
/// market sits, and the disruptions as a time-ordered list of state changes.
/// Pure (no actor is spawned here); run.cpp spawns the network from it and
/// sends each event's change to the network actor at its time.
///
/// The schema is in scenario.hpp. The parser checks the syntax, units and
/// ranges; make_network_plan checks what needs the built network (site,
/// link and region names, connectivity) and throws scenario_error
/// `file:line: what` at the offending name. parse_scenario builds the plan
/// once to run those checks, so the plan of a loaded scenario always builds.

#include "actors/messages.hpp" // net_link_state, net_congestion, net_site_state
#include "network/link_model.hpp"
#include "network/topology.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace marketsim::app {

struct scenario;

/// The random stream tag of the network's seed (derive_seed(scenario seed,
/// network_seed_tag)); also seeds the random topology generators.
inline constexpr std::uint64_t network_seed_tag = 0x4E45'5457'4F52'4B00; // "NETWORK\0"

/// One scheduled change of the network's state.
struct network_event {
  std::chrono::nanoseconds at{0}; ///< since the run's start
  /// For the log, e.g. "congestion node_0-node_1 x3, bandwidth x0.5 (begins)".
  std::string what;
  std::variant<actors::net_link_state, actors::net_congestion, actors::net_site_state>
      change;

  friend bool operator==(const network_event&, const network_event&) = default;
};

/// A scenario's network, ready to spawn.
struct network_plan {
  network::topology topology;
  /// The link model of each directed link (latency distribution, bandwidth,
  /// loss).
  std::function<network::link_params(const network::directed_link&)> make_link;
  std::uint64_t seed = 0;                    ///< derived from the scenario seed
  std::vector<network::site_id> shard_sites; ///< one per scenario shard, in order
  network::site_id hub_site = 0;             ///< the signal hub's site
  network::site_id oracle_site = 0;          ///< the fundamental oracle's site
  std::vector<network::site_id> group_sites; ///< one per scenario agent group, in order
  std::vector<network_event> events;         ///< sorted by time (stable)

  /// The link parameters of every directed link, ordered by (from, to) like
  /// topology.links(): what make_link returns for each (for tests and logs).
  std::map<std::pair<network::site_id, network::site_id>, network::link_params>
      link_models;
};

/// The plan of a scenario's `network:` section; nullopt when it has none.
std::optional<network_plan> make_network_plan(const scenario& sc);

} // namespace marketsim::app
