#include "network/network_actor.hpp"

#include "actors/random.hpp"

#include <caf/all.hpp>
#include <caf/binary_serializer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <stdexcept>
#include <utility>
#include <vector>

namespace marketsim::network {

link_params default_link_params(const directed_link& l) {
  link_params p;
  p.bandwidth_bps = l.props.bandwidth_bps;
  p.propagation = latency::constant{l.props.latency_ns};
  p.loss_rate = l.props.loss_rate;
  p.ordered = true;
  return p;
}

namespace {

using pair_key = std::pair<site_id, site_id>;

struct network_state {
  topology topo;
  std::map<pair_key, link_model> links;
  /// Routes by (from, to); nullopt: no route on the current state.
  std::map<pair_key, std::optional<route>> routes;
  std::map<pair_key, actors::net_route_count> counts;
  /// Dense per-hop tables, indexed by from * site_count + to: the next site
  /// on the current route (next_unknown until looked up, no_route when there
  /// is none) and the link model of each directed link (null: no link). The
  /// hot path of every hop reads these, never the maps.
  std::vector<std::int64_t> next_hop;
  std::vector<link_model*> link_at;
  std::set<pair_key> logged_unroutable;
  bool logged_unserializable = false;
  std::uint64_t unserializable = 0;
  caf::actor_clock::time_point start;
  std::vector<char> buffer; ///< reused for payload sizes

  static inline const char* name = "marketsim.network";
};

using network_pointer = actors::network_actor::stateful_pointer<network_state>;

std::int64_t now_ns(network_pointer self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(self->clock().now() -
                                                              self->state.start)
      .count();
}

const std::optional<route>& cached_route(network_state& st, site_id from, site_id to) {
  auto key = pair_key{from, to};
  auto i = st.routes.find(key);
  if (i == st.routes.end()) {
    std::optional<route> r;
    if (from < st.topo.site_count() && to < st.topo.site_count())
      r = st.topo.route(from, to);
    i = st.routes.emplace(key, std::move(r)).first;
  }
  return i->second;
}

constexpr std::int64_t next_unknown = -2;
constexpr std::int64_t no_route = -1;

/// The next site from `at` towards `to` on the current route, or no_route.
std::int64_t next_site(network_state& st, site_id at, site_id to) {
  const auto n = st.topo.site_count();
  if (at >= n || to >= n)
    return no_route;
  auto& slot = st.next_hop[static_cast<std::size_t>(at) * n + to];
  if (slot == next_unknown) {
    const auto& r = cached_route(st, at, to);
    slot = !r ? no_route : r->hops.size() < 2 ? std::int64_t{to} : std::int64_t{r->hops[1]};
  }
  return slot;
}

actors::net_route_count& count_for(network_state& st, site_id from, site_id to) {
  auto key = pair_key{from, to};
  auto i = st.counts.find(key);
  if (i == st.counts.end()) {
    actors::net_route_count c;
    c.from = from;
    c.to = to;
    i = st.counts.emplace(key, c).first;
  }
  return i->second;
}

/// Puts `payload` into `dest`'s mailbox as if it came from `reply_to`, or
/// from the current sender (the original one) when that is null, now or at
/// `at_ns`.
void deliver(network_pointer self, std::optional<std::int64_t> at_ns,
             const caf::actor& dest, const caf::actor& reply_to, caf::message payload) {
  auto sender = reply_to ? caf::actor_cast<caf::strong_actor_ptr>(reply_to)
                         : self->current_sender();
  auto element = caf::make_mailbox_element(std::move(sender), caf::make_message_id(),
                                           caf::mailbox_element::forwarding_stack{},
                                           std::move(payload));
  auto receiver = caf::actor_cast<caf::strong_actor_ptr>(dest);
  if (!at_ns) {
    receiver->enqueue(std::move(element), self->context());
    return;
  }
  auto when = self->state.start + std::chrono::nanoseconds{*at_ns};
  self->clock().schedule_message(when, std::move(receiver), std::move(element));
}

/// Sends a hop to the network itself at `at_ns`, keeping the original sender.
void schedule_hop(network_pointer self, std::int64_t at_ns, actors::net_hop hop) {
  auto element = caf::make_mailbox_element(self->current_sender(), caf::make_message_id(),
                                           caf::mailbox_element::forwarding_stack{},
                                           caf::make_message(std::move(hop)));
  auto when = self->state.start + std::chrono::nanoseconds{at_ns};
  self->clock().schedule_message(when, caf::actor_cast<caf::strong_actor_ptr>(self),
                                 std::move(element));
}

/// One hop of a message at site `hop.at`, at the current time: the route is
/// looked up from here (so messages in flight follow a reroute), the first
/// link of it transmits the message now, and the message goes on at that
/// link's delivery time -- to its destination, or as the next hop. Links
/// therefore see their messages in time order, as a real queue does.
void forward(network_pointer self, actors::net_hop& hop) {
  auto& st = self->state;
  auto& count = count_for(st, hop.origin, hop.to);
  const auto next_or_none = next_site(st, hop.at, hop.to);
  if (next_or_none == no_route) {
    ++count.unroutable;
    if (st.logged_unroutable.insert({hop.at, hop.to}).second)
      spdlog::warn("network: no route from site {} to site {}; counted as unroutable "
                   "(logged once per pair)",
                   hop.at, hop.to);
    return;
  }
  const auto next = static_cast<site_id>(next_or_none);
  if (hop.at == hop.to) {
    ++count.delivered;
    deliver(self, std::nullopt, hop.dest, hop.reply_to, std::move(hop.payload));
    return;
  }
  auto* link = st.link_at[static_cast<std::size_t>(hop.at) * st.topo.site_count() + next];
  auto d = link->transmit(now_ns(self), hop.bytes);
  if (d.lost) {
    ++count.dropped;
    return;
  }
  if (next == hop.to) {
    ++count.delivered;
    deliver(self, d.deliver_at_ns, hop.dest, hop.reply_to, std::move(hop.payload));
    return;
  }
  hop.at = next;
  schedule_hop(self, d.deliver_at_ns, std::move(hop));
}

void on_send(network_pointer self, actors::net_send& msg) {
  auto& st = self->state;
  auto& count = count_for(st, msg.from, msg.to);
  ++count.sent;
  if (!msg.dest) {
    // A send to nobody is a caller bug; count it as undeliverable, loudly.
    ++count.unroutable;
    spdlog::warn("network: net_send from site {} to site {} without a destination actor",
                 msg.from, msg.to);
    return;
  }

  st.buffer.clear();
  {
    caf::binary_serializer sink{self->system(), st.buffer};
    auto err = sink(msg.payload);
    // CAF 0.17 reports an unregistered element type on stderr but may return
    // no error; it then writes nothing, whereas any serializable non-empty
    // message writes at least its type names.
    if (err || (st.buffer.empty() && !msg.payload.empty())) {
      ++st.unserializable;
      if (!st.logged_unserializable) {
        st.logged_unserializable = true;
        spdlog::error("network: cannot serialize a payload from site {} to site {} "
                      "({}), not delivered (logged once; see "
                      "net_stats::unserializable)",
                      msg.from, msg.to,
                      err ? self->system().render(err) : std::string{"unregistered type"});
      }
      return;
    }
  }
  actors::net_hop hop{msg.from,
                      msg.from,
                      msg.to,
                      st.buffer.size(),
                      std::move(msg.dest),
                      std::move(msg.payload),
                      std::move(msg.reply_to)};
  forward(self, hop);
}

actors::net_stats make_stats(const network_state& st) {
  actors::net_stats out;
  out.links.reserve(st.links.size());
  for (const auto& [key, model] : st.links) {
    auto s = model.stats();
    actors::net_link_stats l;
    l.from = key.first;
    l.to = key.second;
    l.messages = s.messages;
    l.bytes = s.bytes;
    l.drops = s.drops;
    l.total_queueing_ns = s.total_queueing_ns;
    l.max_queueing_ns = s.max_queueing_ns;
    l.latency_min_ns = s.latency_min_ns;
    l.latency_p50_ns = s.latency_p50_ns;
    l.latency_p90_ns = s.latency_p90_ns;
    l.latency_p99_ns = s.latency_p99_ns;
    l.latency_max_ns = s.latency_max_ns;
    out.links.push_back(l);
  }
  out.routes.reserve(st.counts.size());
  for (const auto& [key, c] : st.counts)
    out.routes.push_back(c);
  out.unserializable = st.unserializable;
  return out;
}

/// Applies one state change and drops every cached route; a rejected change
/// (std::invalid_argument from the topology, std::out_of_range for an unknown
/// link) leaves the state as it was and is logged.
template <class F>
void control(network_pointer self, const char* what, F change) {
  try {
    change();
  } catch (const std::exception& e) {
    spdlog::error("network: {} change rejected: {}", what, e.what());
    return;
  }
  self->state.routes.clear();
  std::fill(self->state.next_hop.begin(), self->state.next_hop.end(), next_unknown);
}

actors::network_actor::behavior_type network_fn(network_pointer self, topology topo,
                                                network_params params) {
  auto& st = self->state;
  st.start = self->clock().now();
  for (const auto& l : topo.links()) {
    auto lp = params.make_link ? params.make_link(l) : default_link_params(l);
    auto& model = st.links
                      .emplace(pair_key{l.from, l.to},
                               link_model{std::move(lp),
                                          actors::derive_seed(params.seed,
                                                              link_stream(l.from, l.to))})
                      .first->second;
    if (l.props.latency_multiplier != 1.0)
      model.set_latency_multiplier(l.props.latency_multiplier);
  }
  st.topo = std::move(topo);
  const auto n = st.topo.site_count();
  st.next_hop.assign(n * n, next_unknown);
  st.link_at.assign(n * n, nullptr);
  for (auto& [key, model] : st.links)
    st.link_at[static_cast<std::size_t>(key.first) * n + key.second] = &model;

  // Control messages come from test drivers and scenarios. An invalid one
  // (unknown site or link, multiplier below 1) changes nothing and is logged
  // as an error: the network keeps running for everyone else.
  return {
      [=](actors::net_send& msg) { on_send(self, msg); },
      [=](actors::net_hop& hop) { forward(self, hop); },
      [=](const actors::net_link_state& msg) {
        control(self, "link state", [&] {
          self->state.topo.set_link_up(msg.a, msg.b, msg.up);
        });
      },
      [=](const actors::net_congestion& msg) {
        control(self, "congestion", [&] {
          // The topology validates (and names the problem) first; it has
          // exactly the links that have a model.
          if (!(msg.bandwidth_factor > 0.0 && msg.bandwidth_factor <= 1.0))
            throw std::invalid_argument("bandwidth factor must be in (0, 1]");
          self->state.topo.set_congestion(msg.a, msg.b, msg.multiplier);
          auto& link = self->state.links.at({msg.a, msg.b});
          link.set_latency_multiplier(msg.multiplier);
          link.set_bandwidth_factor(msg.bandwidth_factor);
        });
      },
      [=](const actors::net_site_state& msg) {
        control(self, "site state", [&] {
          self->state.topo.set_site_up(msg.site, msg.up);
        });
      },
      [=](const actors::net_stats_request&) -> actors::net_stats {
        return make_stats(self->state);
      },
  };
}

} // namespace

actors::network_actor spawn_network(caf::actor_system& sys, topology topo,
                                    network_params params) {
  return sys.spawn(network_fn, std::move(topo), std::move(params));
}

} // namespace marketsim::network
