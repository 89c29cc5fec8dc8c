#pragma once

/// The node protocol: what the host that starts a run (the coordinator) and a
/// `marketsim node` say to each other, on top of the market's own vocabulary
/// (actors/messages.hpp), which crosses hosts unchanged.
///
/// 1. Handshake. The coordinator asks `(hello_atom, fingerprint, version,
///    owner)`; the node answers `(welcome_atom, accepted, node name,
///    its fingerprint, its version, its clock in ns, reason)`. Both carry only
///    CAF's built-in types, so that the handshake itself works between
///    programs whose vocabularies differ: that is what it detects. A node
///    refuses a peer with another fingerprint (accepted = false) and logs it;
///    the coordinator refuses a node likewise. `owner` is the coordinator's
///    session actor: the node monitors it and quits what it spawned for the
///    session when the owner goes away (the coordinator ended or was lost).
/// 2. Spawning. spawn_shards and spawn_group, answered with `spawned` (the
///    handles, in order) or an error (sec::runtime_error with the reason).
///    Both carry the scenario as its YAML text: the node parses and validates
///    it with its own strategies, exactly as a local run would.
/// 3. Release. `(release_atom, owner)` quits every actor of the session;
///    answered with caf::ok_atom.
/// 4. Loss of a host. When the coordinator loses a host it tells every other
///    node `(peer_lost_atom, the lost node's id as text, reason)`. Nodes reach
///    each other through the coordinator (CAF 0.17 opens no direct links by
///    default), and CAF does not tell a node that an indirect route died: its
///    proxies of the lost host's actors stay "alive" and swallow what is sent
///    to them. The node passes the notice to the local group peer_lost_group,
///    where the shard relays (shard_relay.hpp) listen.
///
/// The node is a dynamically typed actor on purpose: a typed remote_actor
/// would refuse a node with another interface before the handshake could say
/// why.

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace marketsim::distributed {

// -- atoms -------------------------------------------------------------------------

using hello_atom = caf::atom_constant<caf::atom("nodehello")>;
using welcome_atom = caf::atom_constant<caf::atom("nodewelcom")>;
using release_atom = caf::atom_constant<caf::atom("noderelea")>;
using peer_lost_atom = caf::atom_constant<caf::atom("nodelost")>;

/// The local group (in every process) that hears of lost hosts.
inline constexpr const char* peer_lost_group = "marketsim.peer-lost";

// -- messages ----------------------------------------------------------------------

/// Spawn these shards of the scenario (indices from 0, scenario order).
struct spawn_shards {
  std::string scenario; ///< the YAML text
  std::string file;     ///< its name, for error messages
  std::uint64_t seed = 0;
  std::vector<std::uint32_t> shards;
  caf::actor owner; ///< the session (see the file comment)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, spawn_shards& x) {
  return f(caf::meta::type_name("marketsim.spawn_shards"), x.scenario, x.file, x.seed,
           x.shards, x.owner);
}

/// Spawn the traders of one agent group.
struct spawn_group {
  std::string scenario; ///< the YAML text
  std::string file;
  std::uint64_t seed = 0;
  std::uint32_t group = 0;       ///< index in the scenario's agent groups
  std::uint64_t first_index = 0; ///< the group's first agent index
  /// Every shard of the scenario, in scenario order (remote or not).
  std::vector<caf::actor> shards;
  caf::actor hub;            ///< the signal hub
  std::int64_t start_ns = 0; ///< the run's start on the node's actor clock
  caf::actor owner;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, spawn_group& x) {
  return f(caf::meta::type_name("marketsim.spawn_group"), x.scenario, x.file, x.seed,
           x.group, x.first_index, x.shards, x.hub, x.start_ns, x.owner);
}

/// The answer to a spawn request: the handles, in the order asked.
struct spawned {
  std::vector<caf::actor> actors;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, spawned& x) {
  return f(caf::meta::type_name("marketsim.spawned"), x.actors);
}

// -- vocabulary --------------------------------------------------------------------

/// Registers the node protocol's message types (call with
/// actors::add_message_types, in every process).
void add_node_message_types(caf::actor_system_config& cfg);

/// A fingerprint of the registered vocabulary of `cfg`: FNV-1a over every
/// registered type name in order, each followed by the binary serialization
/// of a default-constructed value (so that a field added to or removed from a
/// fixed-size message changes it too). `salt` (tests: a simulated version
/// mismatch) is mixed in when non-zero.
std::uint64_t vocabulary_fingerprint(const caf::actor_system_config& cfg,
                                     std::uint64_t salt = 0);

/// The fingerprint of marketsim's full vocabulary (market + node protocol).
std::uint64_t vocabulary_fingerprint(std::uint64_t salt = 0);

} // namespace marketsim::distributed
