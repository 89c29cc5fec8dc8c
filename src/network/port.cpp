#include "network/port.hpp"

#include "network/link_actor.hpp"

#include <caf/all.hpp>
#include <caf/binary_serializer.hpp>

#include <algorithm>
#include <utility>

namespace marketsim::network {

network_port::network_port(std::shared_ptr<network_shared> net,
                           actors::network_actor controller)
    : net_(std::move(net)), controller_(std::move(controller)) {
  // nop
}

std::int32_t network_port::prepare(caf::local_actor* self, actors::net_send& msg,
                                   std::int64_t now_ns, actors::net_hop& hop) {
  auto slow_path = [&] {
    auto controller = caf::actor_cast<caf::strong_actor_ptr>(controller_);
    controller->enqueue(caf::make_mailbox_element(
                            caf::strong_actor_ptr{self->ctrl()}, caf::make_message_id(),
                            caf::mailbox_element::forwarding_stack{}, std::move(msg)),
                        self->context());
    return std::int32_t{-1};
  };
  if (!msg.dest || msg.from == msg.to)
    return slow_path();
  const auto first = net_->current(routes_, routes_seen_).first(msg.from, msg.to);
  if (first < 0)
    return slow_path();
  buffer_.clear();
  {
    caf::binary_serializer sink{self->system(), buffer_};
    auto err = sink(msg.payload);
    // As in the controller: an unregistered type may write nothing and
    // return no error.
    if (err || (buffer_.empty() && !msg.payload.empty()))
      return slow_path();
  }
  hop = actors::net_hop{.origin = msg.from,
                        .at = msg.from,
                        .to = msg.to,
                        .fresh = true,
                        .bytes = buffer_.size(),
                        .entered_ns = now_ns,
                        .queueing_ns = 0,
                        .dest = std::move(msg.dest),
                        .payload = std::move(msg.payload),
                        .reply_to = std::move(msg.reply_to)};
  return first;
}

void network_port::send(caf::local_actor* self, actors::net_send msg) {
  actors::net_hop hop;
  const auto first = prepare(self, msg, net_->ns_at(self->clock().now()), hop);
  if (first >= 0)
    send_hop(self, net_->links[static_cast<std::size_t>(first)],
             caf::strong_actor_ptr{self->ctrl()}, std::move(hop), nullptr);
}

void network_port::send_burst(caf::local_actor* self,
                              std::vector<actors::net_send>& burst) {
  // Groups by first link, in order of first appearance; few links per burst.
  std::vector<std::pair<std::int32_t, actors::net_hop_batch>> groups;
  const auto now_ns = net_->ns_at(self->clock().now()); // one instant for all
  for (auto& msg : burst) {
    actors::net_hop hop;
    const auto first = prepare(self, msg, now_ns, hop);
    if (first < 0)
      continue;
    auto i = std::find_if(groups.begin(), groups.end(),
                          [&](const auto& g) { return g.first == first; });
    if (i == groups.end()) {
      groups.emplace_back(first, actors::net_hop_batch{});
      i = groups.end() - 1;
    }
    i->second.hops.push_back(std::move(hop));
  }
  burst.clear();
  for (auto& [first, batch] : groups) {
    const auto& link = net_->links[static_cast<std::size_t>(first)];
    if (batch.hops.size() == 1) {
      send_hop(self, link, caf::strong_actor_ptr{self->ctrl()},
               std::move(batch.hops.front()), nullptr);
      continue;
    }
    link->enqueue(caf::make_mailbox_element(
                      caf::strong_actor_ptr{self->ctrl()}, caf::make_message_id(),
                      caf::mailbox_element::forwarding_stack{}, std::move(batch)),
                  self->context());
  }
}

} // namespace marketsim::network
