#include "network/endpoints.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message_view.hpp>
#include <caf/result.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace marketsim::network {

namespace {

/// The only message a proxy handles itself (nobody sends it): a behaviour
/// must not be empty, or the actor quits at once. Everything else goes
/// through the default handler, i.e. to the network.
using proxy_idle_atom = caf::atom_constant<caf::atom("ep_idle")>;

struct proxy_key {
  caf::actor_id target = 0;
  site_id from = 0;
  friend bool operator==(const proxy_key&, const proxy_key&) = default;
};

struct proxy_key_hash {
  std::size_t operator()(const proxy_key& k) const noexcept {
    return std::hash<std::uint64_t>{}(k.target * 0x9E37'79B9'7F4A'7C15ull ^ k.from);
  }
};

/// What the object knows about one of its proxies.
struct proxy_info {
  caf::actor target;
  site_id target_site = 0;
};

/// Logs `what` the first time `flag` is raised.
void log_once(std::atomic<bool>& flag, const char* what) {
  if (!flag.exchange(true, std::memory_order_relaxed))
    spdlog::warn("network endpoints: {} (logged once; see endpoint_stats)", what);
}

} // namespace

struct endpoints::impl : std::enable_shared_from_this<impl> {
  impl(caf::actor_system& s, actors::network_actor n, network_port p)
      : sys(s), net(std::move(n)), port(std::move(p)) {}

  caf::actor_system& sys;
  actors::network_actor net;
  network_port port; ///< copied into each proxy; empty: send to `net`

  mutable std::mutex mtx;
  std::unordered_map<caf::actor_id, site_id> sites;
  std::unordered_map<proxy_key, caf::actor, proxy_key_hash> by_key;
  std::unordered_map<caf::actor_id, proxy_info> info; ///< by proxy id
  std::vector<caf::actor> made;                       ///< in order of creation

  std::atomic<std::uint64_t> proxies_made{0};
  std::atomic<std::uint64_t> forwarded{0};
  std::atomic<std::uint64_t> unplaced_senders{0};
  std::atomic<std::uint64_t> anonymous{0};
  std::atomic<std::uint64_t> refused_requests{0};
  std::atomic<bool> logged_unplaced{false};
  std::atomic<bool> logged_anonymous{false};
  std::atomic<bool> logged_request{false};

  // -- under the lock --------------------------------------------------------------

  /// The actor behind `a`: a proxy's target, else `a`.
  const caf::actor& underlying_locked(const caf::actor& a) const {
    auto i = info.find(a.id());
    return i == info.end() ? a : i->second.target;
  }

  std::optional<site_id> site_locked(const caf::actor& a) const {
    if (auto i = info.find(a.id()); i != info.end())
      return i->second.target_site;
    if (auto i = sites.find(a.id()); i != sites.end())
      return i->second;
    return std::nullopt;
  }

  caf::actor reach_locked(const caf::actor& target_or_proxy, site_id from);

  // -- the proxies' side -------------------------------------------------------------

  /// The sender the target of a proxy at `to` should see for a message from
  /// `sender`: its port at `to` if it is placed; nullopt if it is not (the
  /// caller hands over the sender itself; counted).
  std::optional<caf::actor> reply_port(const caf::actor& sender, site_id to) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (site_locked(sender))
        return reach_locked(sender, to);
    }
    unplaced_senders.fetch_add(1, std::memory_order_relaxed);
    log_once(logged_unplaced, "a message to a network port came from an actor at no "
                              "site; its replies bypass the network");
    return std::nullopt;
  }
};

namespace {

/// P(target, from): forwards everything it receives to the network, from
/// site `from` to the target's site `to` (see endpoints.hpp).
caf::behavior proxy_fn(caf::event_based_actor* self, std::shared_ptr<endpoints::impl> ep,
                       caf::actor target, site_id from, site_id to) {
  self->set_default_handler([self, ep, target, from, to, port = ep->port](
                                caf::scheduled_actor* ptr, caf::message_view& x) mutable
                            -> caf::result<caf::message> {
    if (ptr->current_message_id().is_request()) {
      ep->refused_requests.fetch_add(1, std::memory_order_relaxed);
      log_once(ep->logged_request,
               "a request reached a network port; requests cannot travel the "
               "network (answered with unexpected_message)");
      return caf::make_error(caf::sec::unexpected_message);
    }
    auto payload = x.move_content_to_message();
    ep->forwarded.fetch_add(1, std::memory_order_relaxed);
    const auto& sender = ptr->current_sender();
    if (!sender) {
      ep->anonymous.fetch_add(1, std::memory_order_relaxed);
      log_once(ep->logged_anonymous,
               "an anonymous message reached a network port; its target sees no "
               "sender");
      // Sent anonymously too: the network then gives the target no sender
      // rather than this proxy (whose replies would loop back to it).
      caf::anon_send(ep->net, actors::net_send{from, to, target, std::move(payload), {}});
      return caf::delegated<caf::message>{};
    }
    auto real = caf::actor_cast<caf::actor>(sender);
    auto placed = ep->reply_port(real, to);
    auto reply_to = placed ? std::move(*placed) : std::move(real);
    actors::net_send msg{from, to, target, std::move(payload), std::move(reply_to)};
    if (port)
      port.send(self, std::move(msg));
    else
      self->send(ep->net, std::move(msg));
    return caf::delegated<caf::message>{};
  });
  return {
      [](proxy_idle_atom) {},
  };
}

} // namespace

caf::actor endpoints::impl::reach_locked(const caf::actor& target_or_proxy,
                                         site_id from) {
  const auto& target = underlying_locked(target_or_proxy);
  auto at = site_locked(target);
  if (!at || *at == from)
    return target;
  proxy_key key{target.id(), from};
  if (auto i = by_key.find(key); i != by_key.end())
    return i->second;
  auto proxy = sys.spawn(proxy_fn, shared_from_this(), target, from, *at);
  by_key.emplace(key, proxy);
  info.emplace(proxy.id(), proxy_info{target, *at});
  made.push_back(proxy);
  proxies_made.fetch_add(1, std::memory_order_relaxed);
  return proxy;
}

// -- endpoints -------------------------------------------------------------------------

endpoints::endpoints(caf::actor_system& sys, actors::network_actor net,
                     network_port port) {
  if (!net)
    throw std::invalid_argument("endpoints: no network actor");
  impl_ = std::make_shared<impl>(sys, std::move(net), std::move(port));
}

endpoints::~endpoints() {
  // The proxies keep the shared state alive while they run; what this object
  // holds (proxy handles) must not keep them alive in turn.
  clear();
}

void endpoints::place(const caf::actor& a, site_id s) {
  if (!a)
    throw std::invalid_argument("endpoints::place: null actor");
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->sites[a.id()] = s;
}

std::optional<site_id> endpoints::site_of(const caf::actor& a) const {
  if (!a)
    return std::nullopt;
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->site_locked(a);
}

caf::actor endpoints::reach(const caf::actor& target, site_id from) {
  if (!target)
    return target;
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->reach_locked(target, from);
}

caf::actor endpoints::present(const caf::actor& self, const caf::actor& peer) {
  if (!self || !peer)
    return self;
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto peer_site = impl_->site_locked(peer);
  if (!peer_site)
    return self;
  return impl_->reach_locked(self, *peer_site);
}

bool endpoints::is_proxy(const caf::actor& a) const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return a && impl_->info.count(a.id()) > 0;
}

std::vector<caf::actor> endpoints::proxies() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->made;
}

void endpoints::clear() {
  // Moved out first: destroying the last handle of a proxy must not happen
  // under the lock (nothing calls back today, but it costs nothing).
  std::vector<caf::actor> made;
  std::unordered_map<proxy_key, caf::actor, proxy_key_hash> by_key;
  std::unordered_map<caf::actor_id, proxy_info> info;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    made.swap(impl_->made);
    by_key.swap(impl_->by_key);
    info.swap(impl_->info);
    impl_->sites.clear();
  }
}

endpoint_stats endpoints::stats() const {
  endpoint_stats s;
  s.proxies = impl_->proxies_made.load(std::memory_order_relaxed);
  s.forwarded = impl_->forwarded.load(std::memory_order_relaxed);
  s.unplaced_senders = impl_->unplaced_senders.load(std::memory_order_relaxed);
  s.anonymous = impl_->anonymous.load(std::memory_order_relaxed);
  s.refused_requests = impl_->refused_requests.load(std::memory_order_relaxed);
  return s;
}

} // namespace marketsim::network
