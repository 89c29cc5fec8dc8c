#pragma once

/// A faster way into the network than the controller, for actors that send
/// a lot: the network port.
///
/// `self->send(controller, net_send{...})` costs two jobs before the first
/// link transmits (the controller's, which sizes and routes the payload, then
/// the first link actor's). A network_port does the controller's part in the
/// sending actor's own job (the payload's serialized size, the first link of
/// the current route) and hands the hop straight to that link actor: one job
/// per message fewer, and no single actor that every message passes through
/// (in real time the senders size their own payloads in parallel).
///
/// The outcome is the same as through the controller: the same link
/// transmits at the same time, the destination sees the same sender (the
/// calling actor, or reply_to when set), and the statistics count the same
/// (the first link actor counts it as sent). Whatever the fast path does not
/// handle -- no destination, a send within one site, no route, a payload the
/// serializer refuses -- goes to the controller as a plain net_send, which
/// counts it as before.
///
/// A port is a value with its own route cache and serialization buffer: give
/// each actor its own copy (copies are cheap) and use a copy from one actor
/// only.

#include "actors/interfaces.hpp"
#include "network/network_actor.hpp"
#include "network/topology.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace marketsim::network {

struct network_shared;
struct route_snapshot;

class network_port {
public:
  network_port() = default;
  network_port(std::shared_ptr<network_shared> net, actors::network_actor controller);

  /// False for a default-constructed port.
  explicit operator bool() const { return net_ != nullptr; }

  /// The network this port sends into.
  const actors::network_actor& controller() const { return controller_; }

  /// Sends `msg` into the network with `self` (the calling actor, in its own
  /// handler) as its sender: the same as self->send(controller(), msg).
  void send(caf::local_actor* self, actors::net_send msg);

  /// Sends every message of `burst` as send() would, in order, and empties
  /// it; the messages whose routes start on the same link reach that link
  /// together, as one actors::net_hop_batch: one job at the link instead of
  /// one per message. The link transmits them in burst order at this instant,
  /// as it would the separate hops (if another actor's message reaches that
  /// link at the same instant, it can no longer fall between them).
  void send_burst(caf::local_actor* self, std::vector<actors::net_send>& burst);

private:
  /// The fast path's part of a send at `now_ns` (ns since the network's
  /// start, the hop's entered_ns): the index of the first link, with the hop
  /// to give it in `hop`; or, when the controller must handle it, sends
  /// `msg` there and returns a negative value.
  std::int32_t prepare(caf::local_actor* self, actors::net_send& msg, std::int64_t now_ns,
                       actors::net_hop& hop);

  std::shared_ptr<network_shared> net_;
  actors::network_actor controller_;
  std::shared_ptr<const route_snapshot> routes_; ///< cached; see network_shared
  std::uint64_t routes_seen_ = 0;
  std::vector<char> buffer_;
};

/// A network and a port into it.
struct network_with_port {
  actors::network_actor controller;
  network_port port;
};

/// spawn_network (network_actor.hpp), also returning a port.
network_with_port spawn_network_with_port(caf::actor_system& sys, topology topo,
                                          network_params params = {});

} // namespace marketsim::network
