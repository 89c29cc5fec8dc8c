#pragma once

/// A group of actors, one per process, that reach each other across hosts:
/// the list of who listens where, and a keeper per peer that connects to it
/// and connects again whenever the link is lost. Used by the Raft validators
/// (`marketsim validator`) and the Streamlet validators (`marketsim
/// streamlet-validator`); links over transport.hpp (plain or TLS).

#include "distributed/transport.hpp"

#include <caf/actor.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace marketsim::distributed {

/// Where a member of the group listens.
struct peer_address {
  std::uint32_t id = 0;
  std::string host;
  std::uint16_t port = 0;
};

/// Parses "1=127.0.0.1:7001,2=hostb:7002,...". Throws std::invalid_argument
/// with a one-line reason for an empty list, a missing `=` or `:`, an id of
/// 0 or not a number, a port out of 1..65535, or an id given twice.
std::vector<peer_address> parse_peer_list(const std::string& spec);

/// Time between two connection attempts to a peer that is down.
inline constexpr std::chrono::milliseconds reconnect_interval{300};

/// What one keeper does. The local actor learns of each new handle, and of
/// each loss (a null handle), as `actors::raft_peers{{peer_member}, {h}}`:
/// the Raft and the Streamlet validators both take their peers that way.
struct peer_link_params {
  std::string self_name; ///< for logs: "validator 3"
  std::string peer_name; ///< for logs: "validator 1"
  peer_address peer;     ///< where to connect
  std::uint32_t peer_member = 0; ///< the peer's id in the local actor's group
  std::uint32_t self_member = 0; ///< our id in the peer's group (announce)
  caf::actor local;
  /// Also hand `local` to the peer's actor, as raft_peers{{self_member},
  /// {local}}, over the new link. Needed when only one side connects (TLS:
  /// two nodes that connect to each other at once lose both links in CAF
  /// 0.17.6's OpenSSL module, so a member connects only to smaller ids).
  bool announce = false;
  transport_security security;
};

/// Spawns the keeper (detached: connect() blocks for up to a second). It
/// connects at once, then every reconnect_interval until it succeeds,
/// monitors the peer, and starts over when the peer goes down. Quit it with
/// an exit message.
caf::actor spawn_peer_link(caf::actor_system& sys, peer_link_params params);

/// Whether a member should keep a link to `peer`: never to itself; over TLS
/// only to smaller ids (see peer_link_params::announce).
bool should_connect(std::uint32_t self, std::uint32_t peer, const transport_security& s);

} // namespace marketsim::distributed
