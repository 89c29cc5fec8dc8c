#pragma once

/// `marketsim node`: an actor system with CAF's middleman that publishes a
/// node actor (protocol.hpp). On request the node spawns a scenario's shards
/// or an agent group's traders and answers with their handles; from then on
/// they are ordinary actors that the coordinator and the other nodes reach
/// through the middleman.
///
/// What to spawn is the app's business (it knows scenarios and strategies):
/// the node gets it as node_hooks and keeps only the sessions, the handshake
/// and the lifetimes. Every actor spawned for a session is quit when its
/// owner releases it, when the owner goes away (the coordinator ended or its
/// host was lost) and when the node stops.

#include "distributed/protocol.hpp"
#include "distributed/transport.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace marketsim::distributed {

/// What the node spawns. Each returns the handles in the order asked, or
/// throws a std::exception whose what() the requester gets as the error.
struct node_hooks {
  std::function<std::vector<caf::actor>(caf::actor_system&, const spawn_shards&)> shards;
  std::function<std::vector<caf::actor>(caf::actor_system&, const spawn_group&)> group;
};

struct node_params {
  std::string name;              ///< reported in the welcome and in logs
  std::uint64_t fingerprint = 0; ///< of this program's vocabulary (and salt)
  std::string version;           ///< marketsim's version
  node_hooks hooks;
};

/// Spawns the node actor (not published; see run_node).
caf::actor spawn_node(caf::actor_system& sys, node_params params);

struct node_options {
  std::string bind = "127.0.0.1"; ///< "" or 0.0.0.0: every interface
  std::uint16_t port = 0;         ///< 0: an ephemeral port (printed)
  std::string name;               ///< default: <hostname>#<pid>
  /// Mixed into the fingerprint: a node that does not speak our vocabulary,
  /// for tests of the handshake.
  std::uint64_t vocabulary_salt = 0;
  std::uint32_t threads = 0; ///< scheduler threads; 0: one per core
  transport_security security;
};

/// Runs a node until SIGINT or SIGTERM. Prints one line, `marketsim node
/// <name> listening on <bind>:<port> (vocabulary <fingerprint>)`, to `out`
/// once it listens (flushed: scripts read the port from it). Returns 0 after
/// a signal, 2 when it cannot listen or the security settings are bad (one
/// line on `err`).
int run_node(const node_options& options, node_hooks hooks, std::ostream& out,
             std::ostream& err);

} // namespace marketsim::distributed
