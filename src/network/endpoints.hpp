#pragma once

/// Where the actors of a run live, and the handles that make their messages
/// travel the network (network_actor.hpp) instead of going straight to the
/// receiver. "The sender does not know the path": an actor talks to the
/// handle reach() gave it, exactly as it would talk to the actor itself, and
/// the network routes, delays, may drop, and delivers.
///
/// ## Proxies
///
/// reach(X, s) is a proxy actor P(X, s): the port through which actors at
/// site s reach X. A message M that P(X, s) receives from a sender S goes to
/// the network as
///
///     net_send{s, site(X), X, M, reply_to = P(S, site(X))}
///
/// so X sees as M's sender S's own port at X's site: a returned value, or any
/// later message X sends to that sender, travels back over the network with
/// the reverse route's delays. Proxies are made on first use and kept, one
/// per (target, site); an actor at s itself is reached directly (reach
/// returns X).
///
/// Senders outside the network: a sender that was never placed is handed to
/// X as is (its replies go straight back, as without a network), and a
/// message without a sender reaches X without one. Both are counted
/// (stats()) and logged once, since they usually mean a missing place().
///
/// Requests (caf::request, response ids) cannot travel the network: a
/// response routed by the network reaches the requester as an ordinary
/// message that no pending request matches. A proxy answers a request with
/// sec::unexpected_message (counted, logged once) instead of letting the
/// requester wait forever. Actors on the trading path use send(), and
/// handlers' return values come back as ordinary messages.
///
/// Messages the network cannot deliver (no route, lost, unserializable) are
/// counted by the network (net_stats), per pair of sites.
///
/// ## Lifetime
///
/// A proxy holds its target (and the network) strongly, and the object keeps
/// every proxy it made, so that a handle handed out stays valid for the whole
/// run. At the end of a run quit them: runtime::shutdown(ep.proxies()), after
/// or with the actors that hold their handles; clear() then drops the
/// object's own references.
///
/// ## Threads
///
/// Every member is thread-safe (one mutex): in real time, proxies on several
/// worker threads look up each other's handles concurrently.

#include "actors/interfaces.hpp"
#include "network/port.hpp"
#include "network/topology.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace marketsim::network {

/// What the proxies did, beyond the network's own counts.
struct endpoint_stats {
  std::uint64_t proxies = 0;          ///< proxies made
  std::uint64_t forwarded = 0;        ///< messages handed to the network
  std::uint64_t unplaced_senders = 0; ///< forwarded from a sender at no site
  std::uint64_t anonymous = 0;        ///< forwarded without a sender
  std::uint64_t refused_requests = 0; ///< requests answered with an error
};

class endpoints {
public:
  /// Proxies of `sys` forward to `net` (not null): through `port` when it is
  /// set (spawn_network_with_port; each proxy keeps its own copy and hands
  /// its messages to the first link itself, one job fewer per message),
  /// else as net_send messages to `net`.
  endpoints(caf::actor_system& sys, actors::network_actor net, network_port port = {});
  ~endpoints();

  endpoints(const endpoints&) = delete;
  endpoints& operator=(const endpoints&) = delete;

  /// The actor lives at site `s`. Placing it again moves it for proxies made
  /// later; proxies made before keep the old site: place actors once, before
  /// they send or are sent to.
  void place(const caf::actor& a, site_id s);

  /// Where `a` lives (for a proxy: where its target lives); nullopt if it
  /// was never placed.
  std::optional<site_id> site_of(const caf::actor& a) const;

  /// The handle through which actors at site `from` reach `target`: a
  /// message sent to it travels the network from `from` to target's site and
  /// reaches `target` with, as its sender, the real sender's handle at
  /// target's site (so return values and replies travel back over the
  /// network too). `target` itself when it is at `from`, or was never placed
  /// (it is outside the network); for a proxy, the proxy's target is meant.
  caf::actor reach(const caf::actor& target, site_id from);

  /// `self`'s handle as seen by the actor behind `peer` (a handle from
  /// reach(), or a plain actor): what to put in register_owner /
  /// md_subscribe / signal_subscribe listeners. `self` itself when either is
  /// outside the network or both are at the same site.
  caf::actor present(const caf::actor& self, const caf::actor& peer);

  /// Whether `a` is one of this object's proxies.
  bool is_proxy(const caf::actor& a) const;

  /// Every proxy made so far, in order of creation.
  std::vector<caf::actor> proxies() const;

  /// Drops every placement and every proxy reference held here. Proxies still
  /// referenced elsewhere keep running until quit.
  void clear();

  endpoint_stats stats() const;

  /// The shared state behind the object and its proxies (endpoints.cpp).
  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace marketsim::network
