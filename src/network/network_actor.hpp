#pragma once

/// The network as CAF actors: one link actor per directed link
/// (link_actor.hpp), each owning its link_model, and a controller, whose
/// handle spawn_network returns. Senders name sites, never a path: they send
/// `actors::net_send` to the controller (or through a network_port,
/// port.hpp, which skips the controller's job).
///
/// ## What happens to a net_send
///
/// 1. The payload's size is its serialized size (caf::binary_serializer into
///    a reused buffer). A payload the serializer refuses (an unregistered
///    type, which could not cross a process boundary either) is counted as
///    unserializable, logged once and not delivered.
/// 2. The controller looks up the first link of the current route from
///    `from` to `to` in the route snapshot (all pairs, rebuilt after any
///    link, congestion or site change). Without a route the message is
///    counted as unroutable for its pair and logged (once per pair); nothing
///    is delivered. A send from a site to itself is delivered at once.
/// 3. Otherwise the hop (`actors::net_hop`, with the net_send's sender as its
///    sender) goes to that link's actor at once, and from there link by link
///    in time order (link_actor.hpp): each link transmits the message
///    (link_model::transmit) when it reaches the link, queueing behind
///    whatever reached it earlier, paying serialization, then propagation
///    plus jitter, and may lose it (counted per link and per pair). At each
///    site the next link comes from the route as it is then, so a message in
///    flight follows a reroute, and a site with no route on to `to` counts it
///    as unroutable.
/// 4. The last link puts the payload on the actor clock for its arrival time,
///    to `dest`, **with the net_send's sender as its sender**, or with
///    `reply_to` when that is set: the destination's current_sender() is the
///    real sender (or its proxy), so a returned value goes straight back to
///    it (outside the network; a reply that should travel the network is a
///    net_send of its own, see endpoints.hpp).
///
/// Links are ordered per link_model (ordered by default).
///
/// ## Control and statistics
///
/// The controller owns the topology. net_link_state and net_site_state
/// change it and publish a new route snapshot, which every link actor reads
/// from its next hop on; net_congestion also goes on to the link's actor,
/// which applies the latency multiplier and bandwidth factor to the messages
/// it transmits from then on. An invalid change is logged and changes
/// nothing. net_stats_request is answered once every link actor has
/// answered: the links in (from, to) order (link_model's statistics), and
/// per (from, to) pair (a route, whatever links it took) the counts of the
/// controller (sent, unroutable at the first site, delivered within a site)
/// and of the link actors (delivered, dropped, unroutable on the way) added
/// up, with, for the delivered messages: their bytes; their queueing (time
/// waiting for wires, summed over each message's hops; total and max); and
/// their end-to-end latency, from entering the network (the controller's or
/// a port's now) to delivery at the destination (min, p50, p90, p99, max,
/// and the histogram's buckets). The link actor that delivers a message
/// records it; the controller merges the pair's histograms from every link
/// actor bucket by bucket, so the percentiles are those of all the pair's
/// messages (within 1/32, min and max exact; latency_histogram.hpp).
///
/// ## Why one actor per link
///
/// Each link is a queue of its own, so each is an actor: links run in
/// parallel in real time, and a hop costs one job at the link that carries
/// it, however large the network. Determinism in virtual time holds as with
/// one network actor: every link transmits its messages in the order they
/// reach it and draws from its own random stream
/// (derive_seed(seed, link_stream(a, b))) in that order, and the
/// virtual-time scheduler orders same-time events deterministically. An
/// earlier version computed a whole route when a message entered; that
/// booked downstream links ahead of time, and on a loaded ring the queueing
/// delays fed on each other without bound (docs/BENCHMARKS.md, section 6),
/// hence hop by hop. The link actors are linked to the controller: quitting
/// the controller ends them.

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

/// Spawns the network over `topo`: one link actor per directed link, then the
/// controller, whose handle it returns. Throws std::invalid_argument (from
/// link_model) if a link's parameters are invalid, before any actor exists.
/// spawn_network_with_port (port.hpp) also returns a network_port.
actors::network_actor spawn_network(caf::actor_system& sys, topology topo,
                                    network_params params = {});

} // namespace marketsim::network
