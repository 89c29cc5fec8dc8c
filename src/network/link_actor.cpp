#include "network/link_actor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace marketsim::network {

route_snapshot make_route_snapshot(const topology& topo,
                                   const std::vector<directed_link>& ends) {
  route_snapshot s;
  const auto n = static_cast<std::uint32_t>(topo.site_count());
  s.sites = n;
  s.first_link.assign(static_cast<std::size_t>(n) * n, route_snapshot::no_route);
  auto index_of = [&](site_id a, site_id b) {
    auto i = std::lower_bound(
        ends.begin(), ends.end(), std::pair{a, b},
        [](const directed_link& l, const std::pair<site_id, site_id>& k) {
          return std::pair{l.from, l.to} < k;
        });
    if (i == ends.end() || i->from != a || i->to != b)
      throw std::logic_error("network: a route uses a link the network does not have");
    return static_cast<std::int32_t>(i - ends.begin());
  };
  for (site_id from = 0; from < n; ++from) {
    auto routes = topo.all_routes_from(from);
    for (site_id to = 0; to < n; ++to) {
      const auto& r = routes[to];
      if (!r)
        continue;
      auto& slot = s.first_link[static_cast<std::size_t>(from) * n + to];
      slot = r->hops.size() < 2 ? route_snapshot::here : index_of(r->hops[0], r->hops[1]);
    }
  }
  return s;
}

namespace {

latency_histogram latency_of(const actors::net_route_count& c) {
  std::vector<latency_histogram::bucket> buckets;
  buckets.reserve(c.latency_buckets.size());
  for (const auto& b : c.latency_buckets)
    buckets.push_back({b.index, b.count});
  return latency_histogram::from_buckets(buckets, c.latency_min_ns, c.latency_max_ns);
}

void set_latency(actors::net_route_count& c, const latency_histogram& h) {
  c.latency_min_ns = h.min();
  c.latency_p50_ns = h.percentile(0.50);
  c.latency_p90_ns = h.percentile(0.90);
  c.latency_p99_ns = h.percentile(0.99);
  c.latency_max_ns = h.max();
  c.latency_buckets.clear();
  for (const auto& b : h.nonzero_buckets())
    c.latency_buckets.push_back({b.index, b.count});
}

} // namespace

actors::net_route_count route_count_of(site_id from, site_id to,
                                       const route_deliveries& d) {
  actors::net_route_count c;
  c.from = from;
  c.to = to;
  c.delivered = d.latency.count();
  c.bytes = d.bytes;
  c.total_queueing_ns = d.total_queueing_ns;
  c.max_queueing_ns = d.max_queueing_ns;
  set_latency(c, d.latency);
  return c;
}

void add_route_count(actors::net_route_count& into, const actors::net_route_count& part) {
  into.from = part.from;
  into.to = part.to;
  into.sent += part.sent;
  into.delivered += part.delivered;
  into.dropped += part.dropped;
  into.unroutable += part.unroutable;
  into.bytes += part.bytes;
  into.total_queueing_ns = add_capped(into.total_queueing_ns, part.total_queueing_ns);
  into.max_queueing_ns = std::max(into.max_queueing_ns, part.max_queueing_ns);
  if (part.latency_buckets.empty())
    return;
  auto merged = latency_of(into);
  merged.merge(latency_of(part));
  set_latency(into, merged);
}

std::vector<actors::net_route_count> route_counter::list() const {
  std::vector<actors::net_route_count> out;
  auto counted = [](const actors::net_route_count& c) {
    return c.sent != 0 || c.delivered != 0 || c.dropped != 0 || c.unroutable != 0;
  };
  for (const auto& c : dense_)
    if (counted(c))
      out.push_back(c);
  for (const auto& [key, c] : sparse_)
    if (counted(c))
      out.push_back(c);
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    return std::pair{x.from, x.to} < std::pair{y.from, y.to};
  });
  return out;
}

void deliver_payload(caf::local_actor* self, caf::actor&& dest,
                     caf::strong_actor_ptr sender, caf::message payload,
                     const caf::actor_clock::time_point* at) {
  auto element = caf::make_mailbox_element(std::move(sender), caf::make_message_id(),
                                           caf::mailbox_element::forwarding_stack{},
                                           std::move(payload));
  // Takes over the handle's reference: no count up and down.
  auto receiver = caf::actor_cast<caf::strong_actor_ptr>(std::move(dest));
  if (at == nullptr)
    receiver->enqueue(std::move(element), self->context());
  else
    self->clock().schedule_message(*at, std::move(receiver), std::move(element));
}

void send_hop(caf::local_actor* self, const caf::strong_actor_ptr& receiver,
              caf::strong_actor_ptr sender, actors::net_hop&& hop,
              const caf::actor_clock::time_point* at) {
  // One allocation: the hop is stored in the mailbox element itself.
  auto element =
      caf::make_mailbox_element(std::move(sender), caf::make_message_id(),
                                caf::mailbox_element::forwarding_stack{}, std::move(hop));
  if (at == nullptr)
    receiver->enqueue(std::move(element), self->context());
  else
    self->clock().schedule_message(*at, receiver, std::move(element));
}

namespace {

struct link_state {
  std::shared_ptr<network_shared> net;
  std::uint32_t index = 0;
  site_id from = 0;
  site_id to = 0;
  std::optional<link_model> model;
  std::shared_ptr<const route_snapshot> routes; ///< cached; see network_shared
  std::uint64_t routes_seen = 0;
  /// Route counts made here, at a message's ends only (never per hop):
  /// sent (fresh hops from a port) from this link's site by destination;
  /// delivered at this link's far end by origin: delivered_from[slot - 1]
  /// with slot = delivery_slot[origin] (0: none yet), so that memory grows
  /// with the origins seen, not with every site; any other delivery by pair;
  /// the rest (drops, unroutable, a fresh hop from elsewhere) by pair.
  std::vector<std::uint64_t> sent_to;
  std::vector<std::uint32_t> delivery_slot;
  std::vector<std::pair<site_id, route_deliveries>> delivered_from;
  std::map<std::pair<site_id, site_id>, route_deliveries> delivered_other;
  route_counter other{0};
  std::set<std::pair<site_id, site_id>> logged_unroutable;

  static inline const char* name = "marketsim.network_link";

  void count_sent(site_id origin, site_id dest) {
    if (origin == from && dest < sent_to.size())
      ++sent_to[dest];
    else
      ++other.at(origin, dest).sent;
  }

  /// `hop` delivered at `deliver_at_ns`, the last link's queueing included
  /// in hop.queueing_ns. Once per delivered message: the common case (an
  /// origin seen before, delivered at this link's far end) stays short.
  void count_delivered(const actors::net_hop& hop, std::int64_t deliver_at_ns) {
    route_deliveries* d = nullptr;
    if (hop.to == to && hop.origin < delivery_slot.size() &&
        delivery_slot[hop.origin] != 0)
      d = &delivered_from[delivery_slot[hop.origin] - 1].second;
    else
      d = &first_deliveries(hop);
    d->record(hop.bytes, deliver_at_ns - hop.entered_ns, hop.queueing_ns);
  }

  /// The deliveries of hop's route in the other cases: a new slot, or by
  /// pair when not delivered at this link's far end.
  [[gnu::noinline]] route_deliveries& first_deliveries(const actors::net_hop& hop) {
    if (hop.to != to || hop.origin >= delivery_slot.size())
      return delivered_other[{hop.origin, hop.to}];
    delivered_from.emplace_back(hop.origin, route_deliveries{});
    delivery_slot[hop.origin] = static_cast<std::uint32_t>(delivered_from.size());
    return delivered_from.back().second;
  }

  actors::net_route_count& count_for(site_id origin, site_id dest) {
    return other.at(origin, dest);
  }
};

using link_pointer = actors::link_actor::stateful_pointer<link_state>;

/// The sender the destination sees: reply_to, else the original sender.
caf::strong_actor_ptr visible_sender(link_pointer self, actors::net_hop& hop) {
  return hop.reply_to ? caf::actor_cast<caf::strong_actor_ptr>(std::move(hop.reply_to))
                      : self->current_sender();
}

void on_hop(link_pointer self, actors::net_hop& hop) {
  auto& st = self->state;
  if (hop.fresh) {
    st.count_sent(hop.origin, hop.to);
    hop.fresh = false;
  }
  const auto& routes = st.net->current(st.routes, st.routes_seen);
  const auto first = routes.first(hop.at, hop.to);
  if (first == route_snapshot::no_route) {
    ++st.count_for(hop.origin, hop.to).unroutable;
    if (st.logged_unroutable.insert({hop.at, hop.to}).second)
      spdlog::warn("network: no route from site {} to site {}; counted as unroutable "
                   "(logged once per pair and link)",
                   hop.at, hop.to);
    return;
  }
  if (first == route_snapshot::here) { // not sent to a link normally
    st.count_delivered(hop, st.net->ns_at(self->clock().now()));
    deliver_payload(self, std::move(hop.dest), visible_sender(self, hop),
                    std::move(hop.payload), nullptr);
    return;
  }
  if (static_cast<std::uint32_t>(first) != st.index) {
    // Rerouted since the hop was scheduled: the current route's first link
    // takes it, at once.
    send_hop(self, st.net->links[static_cast<std::size_t>(first)], self->current_sender(),
             std::move(hop), nullptr);
    return;
  }
  const auto d = st.model->transmit(st.net->ns_at(self->clock().now()), hop.bytes);
  if (d.lost) {
    ++st.count_for(hop.origin, hop.to).dropped;
    return;
  }
  hop.queueing_ns = add_capped(hop.queueing_ns, d.queueing_ns);
  const auto when = st.net->start + std::chrono::nanoseconds{d.deliver_at_ns};
  if (st.to == hop.to) {
    st.count_delivered(hop, d.deliver_at_ns);
    deliver_payload(self, std::move(hop.dest), visible_sender(self, hop),
                    std::move(hop.payload), &when);
    return;
  }
  hop.at = st.to;
  const auto next = routes.first(st.to, hop.to);
  if (next >= 0) {
    send_hop(self, st.net->links[static_cast<std::size_t>(next)], self->current_sender(),
             std::move(hop), &when);
    return;
  }
  // No route on from the far end now: the controller decides at the arrival
  // time, when the route may be back.
  auto controller = caf::actor_cast<caf::strong_actor_ptr>(st.net->controller);
  if (!controller) {
    ++st.count_for(hop.origin, hop.to).unroutable;
    return;
  }
  send_hop(self, controller, self->current_sender(), std::move(hop), &when);
}

actors::net_stats make_link_stats(const link_state& st) {
  actors::net_stats out;
  auto s = st.model->stats();
  actors::net_link_stats l;
  l.from = st.from;
  l.to = st.to;
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
  route_counter all{0};
  for (const auto& c : st.other.list())
    all.at(c.from, c.to) = c;
  for (site_id s = 0; s < st.sent_to.size(); ++s)
    if (st.sent_to[s] != 0)
      all.at(st.from, s).sent += st.sent_to[s];
  for (const auto& [origin, d] : st.delivered_from)
    add_route_count(all.at(origin, st.to), route_count_of(origin, st.to, d));
  for (const auto& [pair, d] : st.delivered_other)
    add_route_count(all.at(pair.first, pair.second),
                    route_count_of(pair.first, pair.second, d));
  out.routes = all.list();
  return out;
}

actors::link_actor::behavior_type link_fn(link_pointer self,
                                          std::shared_ptr<network_shared> net,
                                          std::uint32_t index, link_model model) {
  auto& st = self->state;
  st.from = net->ends.at(index).from;
  st.to = net->ends.at(index).to;
  st.net = std::move(net);
  st.index = index;
  st.model.emplace(std::move(model));
  const auto sites = st.net->sites;
  st.sent_to.assign(sites, 0);
  st.delivery_slot.assign(sites, 0);
  return {
      // The hop first: it is nearly every message a link gets.
      [=](actors::net_hop& hop) { on_hop(self, hop); },
      [=](actors::net_hop_batch& batch) {
        for (auto& hop : batch.hops)
          on_hop(self, hop);
      },
      [=](const actors::net_congestion& msg) {
        // The controller validated the change against the topology first.
        try {
          self->state.model->set_latency_multiplier(msg.multiplier);
          self->state.model->set_bandwidth_factor(msg.bandwidth_factor);
        } catch (const std::exception& e) {
          spdlog::error("network: congestion of link {}->{} rejected: {}",
                        self->state.from, self->state.to, e.what());
        }
      },
      [=](const actors::net_stats_request&) -> actors::net_stats {
        return make_link_stats(self->state);
      },
  };
}

} // namespace

actors::link_actor spawn_link(caf::actor_system& sys, std::shared_ptr<network_shared> net,
                              std::uint32_t index, link_model model) {
  return sys.spawn(link_fn, std::move(net), index, std::move(model));
}

} // namespace marketsim::network
