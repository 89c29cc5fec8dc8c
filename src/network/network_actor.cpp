#include "network/network_actor.hpp"

#include "actors/random.hpp"
#include "network/link_actor.hpp"
#include "network/port.hpp"

#include <caf/all.hpp>
#include <caf/binary_serializer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
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

struct controller_state {
  std::shared_ptr<network_shared> net;
  topology topo;
  std::shared_ptr<const route_snapshot> routes; ///< cached; see network_shared
  std::uint64_t routes_seen = 0;
  /// Route counts made here: sent; unroutable or delivered at the first
  /// site (the deliveries within a site). (The link actors count the rest,
  /// and sent for port traffic.)
  route_counter counts;
  std::map<pair_key, route_deliveries> delivered;
  std::set<pair_key> logged_unroutable;
  bool logged_unserializable = false;
  std::uint64_t unserializable = 0;
  std::vector<char> buffer; ///< reused for payload sizes

  static inline const char* name = "marketsim.network";

  actors::net_route_count& count_for(site_id from, site_id to) {
    return counts.at(from, to);
  }
};

using controller_pointer = actors::network_actor::stateful_pointer<controller_state>;

/// A hop at site hop.at, now: delivered if that is its destination, else
/// handed to the first link of the current route (with the current sender,
/// the original one, kept), else counted as unroutable.
void dispatch(controller_pointer self, actors::net_hop&& hop) {
  auto& st = self->state;
  const auto first = st.net->current(st.routes, st.routes_seen).first(hop.at, hop.to);
  if (first == route_snapshot::no_route) {
    ++st.count_for(hop.origin, hop.to).unroutable;
    if (st.logged_unroutable.insert({hop.at, hop.to}).second)
      spdlog::warn("network: no route from site {} to site {}; counted as unroutable "
                   "(logged once per pair)",
                   hop.at, hop.to);
    return;
  }
  if (first == route_snapshot::here) {
    st.delivered[{hop.origin, hop.to}].record(
        hop.bytes, st.net->ns_at(self->clock().now()) - hop.entered_ns, hop.queueing_ns);
    auto sender = hop.reply_to ? caf::actor_cast<caf::strong_actor_ptr>(hop.reply_to)
                               : self->current_sender();
    deliver_payload(self, std::move(hop.dest), std::move(sender), std::move(hop.payload),
                    nullptr);
    return;
  }
  send_hop(self, st.net->links[static_cast<std::size_t>(first)], self->current_sender(),
           std::move(hop), nullptr);
}

void on_send(controller_pointer self, actors::net_send& msg) {
  auto& st = self->state;
  auto& count = st.count_for(msg.from, msg.to);
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
                      err ? self->system().render(err)
                          : std::string{"unregistered type"});
      }
      return;
    }
  }
  dispatch(self, actors::net_hop{.origin = msg.from,
                                 .at = msg.from,
                                 .to = msg.to,
                                 .fresh = false,
                                 .bytes = st.buffer.size(),
                                 .entered_ns = st.net->ns_at(self->clock().now()),
                                 .queueing_ns = 0,
                                 .dest = std::move(msg.dest),
                                 .payload = std::move(msg.payload),
                                 .reply_to = std::move(msg.reply_to)});
}

/// The network's statistics from the controller's counts and the link
/// actors' answers (in link order). A pair's counts from several places
/// (the controller, the link actors where its messages ended) add up, and
/// their latency histograms merge (add_route_count), so the percentiles are
/// exact over all of the pair's deliveries.
actors::net_stats merge_stats(const controller_state& st,
                              const std::vector<actors::net_stats>& parts) {
  actors::net_stats out;
  std::map<pair_key, actors::net_route_count> routes;
  for (const auto& c : st.counts.list())
    add_route_count(routes[{c.from, c.to}], c);
  for (const auto& [key, d] : st.delivered)
    add_route_count(routes[key], route_count_of(key.first, key.second, d));
  out.links.reserve(parts.size());
  for (const auto& p : parts) {
    out.links.insert(out.links.end(), p.links.begin(), p.links.end());
    for (const auto& c : p.routes)
      add_route_count(routes[{c.from, c.to}], c);
  }
  out.routes.reserve(routes.size());
  for (const auto& [key, c] : routes)
    out.routes.push_back(c);
  out.unserializable = st.unserializable;
  return out;
}

/// Answers a statistics request: asks every link actor, merges when all
/// have answered (or fails with the first error).
caf::result<actors::net_stats> gather_stats(controller_pointer self) {
  struct gathering {
    std::vector<actors::net_stats> parts;
    std::size_t pending = 0;
    bool failed = false;
  };
  const auto& links = self->state.net->links;
  if (links.empty())
    return merge_stats(self->state, {});
  auto rp = self->make_response_promise<actors::net_stats>();
  auto g = std::make_shared<gathering>();
  g->parts.resize(links.size());
  g->pending = links.size();
  for (std::size_t i = 0; i < links.size(); ++i) {
    auto link = caf::actor_cast<actors::link_actor>(links[i]);
    self->request(link, caf::infinite, actors::net_stats_request{})
        .then(
            [self, rp, g, i](actors::net_stats& part) mutable {
              if (g->failed)
                return;
              g->parts[i] = std::move(part);
              if (--g->pending == 0)
                rp.deliver(merge_stats(self->state, g->parts));
            },
            [rp, g](caf::error& e) mutable {
              if (g->failed)
                return;
              g->failed = true;
              rp.deliver(std::move(e));
            });
  }
  return rp;
}

/// Applies one topology change and publishes the new routes; a rejected
/// change (std::invalid_argument from the topology) leaves everything as it
/// was and is logged. Returns whether it was applied.
template <class F>
bool control(controller_pointer self, const char* what, F change) {
  try {
    change();
  } catch (const std::exception& e) {
    spdlog::error("network: {} change rejected: {}", what, e.what());
    return false;
  }
  auto& st = self->state;
  st.net->publish(make_route_snapshot(st.topo, st.net->ends));
  return true;
}

actors::network_actor::behavior_type controller_fn(controller_pointer self,
                                                   std::shared_ptr<network_shared> net,
                                                   topology topo) {
  auto& st = self->state;
  st.net = std::move(net);
  st.topo = std::move(topo);
  st.counts = route_counter{st.net->sites};
  // Linked: the link actors go when the controller goes (quit, or dropped).
  for (const auto& l : st.net->links)
    self->link_to(caf::actor_cast<caf::actor_addr>(l));

  // Control messages come from test drivers and scenarios. An invalid one
  // (unknown site or link, multiplier below 1) changes nothing and is logged
  // as an error: the network keeps running for everyone else.
  return {
      [=](actors::net_send& msg) { on_send(self, msg); },
      [=](actors::net_hop& hop) { dispatch(self, std::move(hop)); },
      [=](const actors::net_link_state& msg) {
        control(self, "link state",
                [&] { self->state.topo.set_link_up(msg.a, msg.b, msg.up); });
      },
      [=](const actors::net_congestion& msg) {
        auto applied = control(self, "congestion", [&] {
          // The topology validates (and names the problem) first; it has
          // exactly the links that have a link actor.
          if (!(msg.bandwidth_factor > 0.0 && msg.bandwidth_factor <= 1.0))
            throw std::invalid_argument("bandwidth factor must be in (0, 1]");
          self->state.topo.set_congestion(msg.a, msg.b, msg.multiplier);
        });
        if (!applied)
          return;
        const auto& ends = self->state.net->ends;
        auto i = std::find_if(ends.begin(), ends.end(), [&](const directed_link& l) {
          return l.from == msg.a && l.to == msg.b;
        });
        if (i == ends.end())
          return;
        // The link applies it to messages it transmits from then on.
        auto link = self->state.net->links[static_cast<std::size_t>(i - ends.begin())];
        link->enqueue(caf::make_mailbox_element(self->ctrl(), caf::make_message_id(),
                                                caf::mailbox_element::forwarding_stack{},
                                                msg),
                      self->context());
      },
      [=](const actors::net_site_state& msg) {
        control(self, "site state",
                [&] { self->state.topo.set_site_up(msg.site, msg.up); });
      },
      [=](const actors::net_stats_request&) -> caf::result<actors::net_stats> {
        return gather_stats(self);
      },
  };
}

} // namespace

network_with_port spawn_network_with_port(caf::actor_system& sys, topology topo,
                                          network_params params) {
  auto net = std::make_shared<network_shared>();
  net->sites = static_cast<std::uint32_t>(topo.site_count());
  net->ends = topo.links();
  net->start = sys.clock().now();
  // Every model first: invalid parameters throw before any actor exists.
  std::vector<link_model> models;
  models.reserve(net->ends.size());
  for (const auto& l : net->ends) {
    auto lp = params.make_link ? params.make_link(l) : default_link_params(l);
    auto& model = models.emplace_back(
        std::move(lp), actors::derive_seed(params.seed, link_stream(l.from, l.to)));
    if (l.props.latency_multiplier != 1.0)
      model.set_latency_multiplier(l.props.latency_multiplier);
  }
  net->publish(make_route_snapshot(topo, net->ends));
  net->links.reserve(models.size());
  for (std::size_t i = 0; i < models.size(); ++i)
    net->links.push_back(caf::actor_cast<caf::strong_actor_ptr>(
        spawn_link(sys, net, static_cast<std::uint32_t>(i), std::move(models[i]))));
  auto controller = sys.spawn(controller_fn, net, std::move(topo));
  net->controller = caf::actor_cast<caf::actor_addr>(controller);
  network_port port{net, controller};
  return {std::move(controller), std::move(port)};
}

actors::network_actor spawn_network(caf::actor_system& sys, topology topo,
                                    network_params params) {
  return spawn_network_with_port(sys, std::move(topo), std::move(params)).controller;
}

} // namespace marketsim::network
