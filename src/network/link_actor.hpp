#pragma once

/// One directed link of the network as a CAF actor, and what the link actors
/// of one network share. spawn_network (network_actor.hpp) spawns one link
/// actor per directed link plus the controller; nothing else spawns them.
///
/// ## A hop at link a->b
///
/// A link actor receives an `actors::net_hop` at the time its message reaches
/// site a, with the message's original sender as the hop's sender.
/// 1. It looks up the current route from a to the destination site in the
///    shared route snapshot. No route (a partition, or a or the destination
///    down): the message is counted as unroutable and dropped. A route that
///    no longer starts with a->b (a reroute while the message was on its way
///    to a): the hop goes on at once to the link actor of the route's first
///    link.
/// 2. Otherwise the link's link_model transmits it now (queueing behind what
///    reached the link earlier, serialization, propagation plus jitter,
///    loss). A lost message is counted as dropped.
/// 3. At the delivery time it is either delivered to `dest` (b is the
///    destination site; the destination sees the original sender, or
///    net_hop::reply_to when set) or scheduled as a hop to the link actor of
///    the next link from b (as the route looks now; that link checks again
///    when the hop arrives). With no route from b now, the hop is scheduled
///    to the controller instead, which dispatches it at the arrival time as
///    the route is then (or counts it as unroutable).
///
/// A net_hop_batch (a burst from a network_port) is its hops, one after the
/// other, in one job. A hop marked `fresh` (straight from a port) is counted
/// as sent here, where the controller would have counted it.
///
/// Every link actor therefore transmits its messages in the order they reach
/// it, as a real queue does, and its random stream advances in that order:
/// the virtual-time scheduler orders same-time events deterministically, so
/// the same seed gives the same run.
///
/// ## Sharing
///
/// The link actors and the controller share one `network_shared`: the
/// handles of every link actor (written once, before any message flows) and
/// the current route snapshot, an immutable table replaced as a whole by the
/// controller after each control change. Readers keep their own shared_ptr to
/// a snapshot and reload it when the version counter moves (an atomic load
/// per hop), so the real-time scheduler's threads never race on it.
///
/// ## Statistics
///
/// A link actor answers net_stats_request with a net_stats holding its one
/// link and the route counts it made (delivered, dropped, unroutable on the
/// way, sent for port traffic); the controller adds what it counted at the
/// entry (sent, unroutable at the first site, unserializable) and merges.
/// Counts are kept per message end, never per hop: a hop costs no count.
///
/// Per route, the link actor that delivers a message (its last link) also
/// records it in route_deliveries: its bytes, its latency (delivery time
/// minus net_hop::entered_ns) and its queueing (net_hop::queueing_ns, which
/// every link on the way added its queueing to, plus the last link's). A
/// route's deliveries may end at several link actors (two links into the
/// destination site, a reroute); add_route_count merges their counts and
/// their latency histograms, so the merged percentiles are exact.
///
/// ## Cost
///
/// One job per hop (the scheduled hop), plus one for the delivery; the route
/// snapshot is n * n int32 (n sites), rebuilt with one Dijkstra per site on
/// each control change: fine for hundreds of sites, to be revisited (lazy
/// rows) for many thousands.

#include "actors/interfaces.hpp"
#include "actors/messages.hpp"
#include "network/latency_histogram.hpp"
#include "network/link_model.hpp"
#include "network/topology.hpp"

#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/fwd.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <unordered_map>
#include <vector>

namespace marketsim::network {

/// The first link of the current route of every (site, destination) pair:
/// an immutable table, built from one topology state.
struct route_snapshot {
  static constexpr std::int32_t no_route = -1;
  static constexpr std::int32_t here = -2; ///< at == to, the site is up

  std::uint32_t sites = 0;
  /// first_link[at * sites + to]: the index of the route's first link (into
  /// network_shared::ends), no_route or here.
  std::vector<std::int32_t> first_link;

  std::int32_t first(site_id at, site_id to) const {
    if (at >= sites || to >= sites)
      return no_route;
    return first_link[static_cast<std::size_t>(at) * sites + to];
  }
};

/// The snapshot of `topo`'s current routes: one all_routes_from per site.
/// `ends` lists the directed links by index (as network_shared::ends).
route_snapshot make_route_snapshot(const topology& topo,
                                   const std::vector<directed_link>& ends);

/// a + b for a, b >= 0, at most INT64_MAX (sums of waits, which a link of
/// absurdly low bandwidth could push that far).
inline std::int64_t add_capped(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<std::int64_t>::max() : r;
}

/// The messages of one route delivered at one place (a link actor, or the
/// controller within a site): recorded once per message, at its delivery.
struct route_deliveries {
  std::uint64_t bytes = 0;
  std::int64_t total_queueing_ns = 0; ///< saturates at INT64_MAX
  std::int64_t max_queueing_ns = 0;
  latency_histogram latency; ///< its count() is the number delivered

  /// A message of `message_bytes` delivered `latency_ns` after it entered
  /// the network, having waited `queueing_ns` (>= 0) for wires on all its
  /// links. Inline: once per delivered message.
  void record(std::uint64_t message_bytes, std::int64_t latency_ns,
              std::int64_t queueing_ns) {
    bytes += message_bytes;
    total_queueing_ns = add_capped(total_queueing_ns, queueing_ns);
    max_queueing_ns = std::max(max_queueing_ns, queueing_ns);
    latency.record(latency_ns);
  }
};

/// `d` as the route count of (from, to): delivered, bytes, queueing,
/// latency and its buckets; sent, dropped and unroutable 0.
actors::net_route_count route_count_of(site_id from, site_id to,
                                       const route_deliveries& d);

/// Adds `part` into `into` (the same pair; `into` takes part's from and to):
/// the counts and sums, the larger max_queueing_ns, and the latency
/// histograms merged bucket by bucket, with min, max and percentiles those
/// of the merged histogram. Throws std::invalid_argument if either's latency
/// fields are not those of a histogram (latency_histogram::from_buckets).
void add_route_count(actors::net_route_count& into, const actors::net_route_count& part);

/// Route counts by (from, to) on a hot path: a dense table when the network
/// is small (sites * sites <= dense_limit), else a hash map. list() gives the
/// pairs counted so far, ordered by (from, to).
class route_counter {
public:
  static constexpr std::size_t default_dense_limit = 65'536;

  explicit route_counter(std::uint32_t sites = 0,
                         std::size_t dense_limit = default_dense_limit)
      : sites_(sites) {
    if (static_cast<std::size_t>(sites) * sites <= dense_limit)
      dense_.resize(static_cast<std::size_t>(sites) * sites);
  }

  actors::net_route_count& at(site_id from, site_id to) {
    if (!dense_.empty() && from < sites_ && to < sites_) {
      auto& c = dense_[static_cast<std::size_t>(from) * sites_ + to];
      c.from = from;
      c.to = to;
      return c;
    }
    auto& c = sparse_[(std::uint64_t{from} << 32) | to];
    c.from = from;
    c.to = to;
    return c;
  }

  std::vector<actors::net_route_count> list() const;

private:
  std::uint32_t sites_ = 0;
  std::vector<actors::net_route_count> dense_;
  std::unordered_map<std::uint64_t, actors::net_route_count> sparse_;
};

/// What the controller and the link actors of one network share.
struct network_shared {
  std::uint32_t sites = 0;
  /// The directed links by index, ordered by (from, to); their properties as
  /// at spawn time (only the ends are read later).
  std::vector<directed_link> ends;
  /// The link actor of each link, by index; written once by spawn_network
  /// before the controller's handle is returned.
  std::vector<caf::strong_actor_ptr> links;
  /// The controller, weakly (it holds this structure).
  caf::actor_addr controller;
  /// The actor clock at spawn: times are ns since then.
  caf::actor_clock::time_point start;

  /// `t` in ns since start.
  std::int64_t ns_at(caf::actor_clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - start).count();
  }

  /// Publishes a new route snapshot (controller only).
  void publish(route_snapshot s) {
    routes_.store(std::make_shared<const route_snapshot>(std::move(s)),
                  std::memory_order_release);
    version_.fetch_add(1, std::memory_order_acq_rel);
  }

  /// The current snapshot, reloaded into `cache` when it changed.
  const route_snapshot& current(std::shared_ptr<const route_snapshot>& cache,
                                std::uint64_t& seen) const {
    auto v = version_.load(std::memory_order_acquire);
    if (v != seen || !cache) {
      cache = routes_.load(std::memory_order_acquire);
      seen = v;
    }
    return *cache;
  }

private:
  std::atomic<std::shared_ptr<const route_snapshot>> routes_;
  std::atomic<std::uint64_t> version_{0};
};

/// Spawns the link actor of link `index` of `net` (not yet in net->links),
/// owning `model` (built by the caller, so that invalid parameters throw
/// there, before any actor exists).
actors::link_actor spawn_link(caf::actor_system& sys, std::shared_ptr<network_shared> net,
                              std::uint32_t index, link_model model);

/// Puts `payload` into `dest`'s mailbox with `sender` as its sender: now
/// (in the calling actor's execution unit) or, with `at`, at that time on the
/// actor clock. Takes `dest` over (the hop is spent).
void deliver_payload(caf::local_actor* self, caf::actor&& dest,
                     caf::strong_actor_ptr sender, caf::message payload,
                     const caf::actor_clock::time_point* at);

/// Sends `hop` with `sender` as its sender to `receiver`: now, or at `at`.
void send_hop(caf::local_actor* self, const caf::strong_actor_ptr& receiver,
              caf::strong_actor_ptr sender, actors::net_hop&& hop,
              const caf::actor_clock::time_point* at);

} // namespace marketsim::network
