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
/// 3. The message goes hop by hop, in time order: at each site the next site
///    comes from the current route from there to `to` (so a message in
///    flight follows a reroute), and that link transmits it
///    (link_model::transmit) at the time it reaches the link, queueing behind
///    whatever reached the link earlier, paying serialization, then
///    propagation plus jitter; it may be lost (counted per link and per pair).
///    Arriving at an intermediate site is an event: the network sends itself
///    an `actors::net_hop` for the arrival time, with the original sender.
///    A site with no route on to `to` counts the message as unroutable.
/// 4. At the last hop the payload is scheduled on the actor clock for its
///    arrival time and delivered to `dest` **with the net_send's sender as
///    its sender**: the destination's current_sender() is the real sender,
///    so a returned value goes straight back to it (outside the network; a
///    reply that should travel the network is a net_send of its own).
///    A send from a site to itself is delivered at once.
///
/// Links are ordered per link_model (ordered by default).
///
/// ## Why one network actor, hop by hop
///
/// One actor owning every link model is deterministic and simple: the
/// virtual-time scheduler orders the hop events, and each link's random
/// draws happen in the order messages reach it. An earlier version computed
/// a whole route when a message entered; that booked downstream links ahead
/// of time, and on a loaded ring the queueing delays fed on each other
/// without bound (docs/BENCHMARKS.md, section 6). Hop events cost one job per
/// hop; with the network's load far below one core, one actor is not a
/// bottleneck yet.
///
/// ## Splitting into one actor per link later
///
/// Each directed link becomes an actor owning its link_model and receiving
/// the net_hop events of its messages; the network actor keeps the topology
/// and the next-hop table and forwards congestion/state to the link actors.
/// Determinism then relies on the virtual-time scheduler's ordering of
/// same-time messages, as now.

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
