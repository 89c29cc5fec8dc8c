#pragma once

/// The network as a CAF actor: it owns a topology and one link_model per
/// directed link, and carries `actors::net_send` payloads from site to site.
///
/// ## What happens to a net_send
///
/// 1. The payload's size is its serialized size (caf::binary_serializer into
///    a reused buffer). A payload the serializer refuses (an unregistered
///    type, which could not cross a process boundary either) is counted as
///    unserializable, logged once and not delivered.
/// 2. The route from `from` to `to` is topology::route, cached per
///    (from, to) and recomputed after any link, congestion or site change.
///    Without a route the message is counted as unroutable for its pair and
///    logged (once per pair); nothing is delivered.
/// 3. The message walks the route hop by hop: hop k transmits it
///    (link_model::transmit) at the time hop k-1 delivered it (the first hop
///    at the network's current time), so it queues behind earlier traffic on
///    every link, pays serialization there, then propagation plus jitter, and
///    may be lost. A loss on any hop ends the walk (counted per link and per
///    pair).
/// 4. Otherwise the payload is scheduled on the actor clock for the final
///    arrival time and delivered to `dest` **with the net_send's sender as
///    its sender**: the destination's current_sender() is the real sender,
///    so a returned value goes straight back to it (outside the network; a
///    reply that should travel the network is a net_send of its own).
///    A route from a site to itself has no hop: the payload is delivered at
///    once.
///
/// Links are ordered per link_model (ordered by default); the message's
/// route is fixed when it enters the network, so a link going down does not
/// recall messages already computed to cross it.
///
/// ## Why one network actor
///
/// One actor that computes a whole path at once is the simplest model that
/// is deterministic: every message claims each link's wire in the order in
/// which the network received it, and all random draws happen in that order,
/// so the same seed and the same sends give the same delivery times, on any
/// scheduler. Its approximation: a message claims a downstream link when it
/// enters the network, not when it reaches that link, so a later message
/// that reaches a shared downstream link first still queues behind it
/// (link_model queues it behind everything sent before). With the network's
/// load far below one core, one actor is not a bottleneck.
///
/// ## Splitting into one actor per link later
///
/// Each directed link becomes an actor owning its link_model. The network
/// actor keeps the topology and the route cache and sends the first link a
/// hop message {route, index, original sender, dest, payload, bytes}; each
/// link transmits at its own now, and schedules the hop message to the next
/// link (or the payload to dest on the last hop) at the delivery time. Link
/// and site changes go to the network actor, which updates the topology and
/// forwards congestion/state to the link actors. Determinism then needs the
/// virtual-time scheduler's ordering of same-time messages.

#include "actors/interfaces.hpp"
#include "network/link_model.hpp"
#include "network/topology.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>

namespace marketsim::network {

struct network_params {
  /// Seeds every link's random stream: link a->b uses
  /// actors::derive_seed(seed, link_stream(a, b)).
  std::uint64_t seed = 0;
  /// The link model of each directed link, from its properties; empty: the
  /// default (constant propagation latency_ns, the link's bandwidth and loss
  /// rate, ordered). Congestion multipliers set later apply through
  /// link_model::set_latency_multiplier.
  std::function<link_params(const directed_link&)> make_link;
};

/// The random stream tag of the directed link a->b.
constexpr std::uint64_t link_stream(site_id a, site_id b) {
  return (std::uint64_t{a} << 32) | b;
}

/// The default link model of a directed link (see network_params::make_link).
link_params default_link_params(const directed_link& l);

/// Spawns the network over `topo`. Throws std::invalid_argument (from
/// link_model) if a link's parameters are invalid.
actors::network_actor spawn_network(caf::actor_system& sys, topology topo,
                                    network_params params = {});

} // namespace marketsim::network
