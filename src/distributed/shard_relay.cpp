#include "distributed/shard_relay.hpp"

#include "distributed/protocol.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/group_manager.hpp>
#include <caf/node_id.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <spdlog/spdlog.h>

#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>

namespace marketsim::distributed {

namespace {

/// The relay's answer to an order request its shard can no longer answer.
market::book_event unreachable(market::symbol_id symbol, market::order_id id,
                               market::owner_id owner) {
  market::book_event ev;
  ev.kind = market::event_kind::rejected;
  ev.reject = market::reject_reason::venue_unreachable;
  ev.symbol = symbol;
  ev.id = id;
  ev.owner = owner;
  return ev;
}

actors::order_reply reject_of(const actors::new_order& x) {
  return {x.client_order_id, 0, {unreachable(x.order.symbol, 0, x.order.owner)}};
}

actors::order_reply reject_of(const actors::cancel_order& x) {
  return {x.client_order_id, x.request.id,
          {unreachable(x.request.symbol, x.request.id, x.owner)}};
}

actors::order_reply reject_of(const actors::modify_order& x) {
  return {x.client_order_id, x.request.id,
          {unreachable(x.request.symbol, x.request.id, x.owner)}};
}

actors::order_reply_batch reject_of(const actors::new_order_batch& x) {
  actors::order_reply_batch out;
  out.replies.reserve(x.orders.size());
  for (const auto& o : x.orders)
    out.replies.push_back(reject_of(o));
  return out;
}

struct relay_state {
  caf::actor shard;
  std::uint32_t index = 0;
  bool lost = false;
  /// Forwarded order requests without a reply yet: each answers its sender
  /// with a reject when called.
  std::map<std::uint64_t, std::function<void()>> in_flight;
  std::uint64_t next_key = 0;
  /// Owners registered through this relay, and by which listener.
  std::unordered_map<market::owner_id, actors::order_listener_actor> listeners;
  std::unordered_map<caf::actor_addr, std::vector<market::owner_id>> owners_of;
  std::shared_ptr<std::uint64_t> rejected_after_loss = std::make_shared<std::uint64_t>(0);
  static inline const char* name = "marketsim_shard_relay";
};

using relay_ptr = caf::stateful_actor<relay_state>*;

/// Forwards the order request `x` to the shard and relays its reply to the
/// sender; answers with reject_of(x) if the shard is (or goes) down first.
template <class Reply, class Request>
caf::response_promise forward(relay_ptr self, const Request& x) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  if (st.lost) {
    ++*st.rejected_after_loss;
    rp.deliver(reject_of(x));
    return rp;
  }
  const auto key = st.next_key++;
  st.in_flight.emplace(key, [rp, reply = reject_of(x)]() mutable { rp.deliver(reply); });
  self->request(st.shard, caf::infinite, x)
      .then(
          [self, key, rp](Reply& r) mutable {
            if (self->state.in_flight.erase(key) > 0)
              rp.deliver(std::move(r));
          },
          [self, key](caf::error&) {
            // The shard is down (its host lost): answer as on the down message.
            auto& in_flight = self->state.in_flight;
            if (auto i = in_flight.find(key); i != in_flight.end()) {
              auto answer = std::move(i->second);
              in_flight.erase(i);
              answer();
            }
          });
  return rp;
}

void forget_listener(relay_ptr self, const caf::actor_addr& who) {
  auto& st = self->state;
  auto i = st.owners_of.find(who);
  if (i == st.owners_of.end())
    return;
  for (auto owner : i->second) {
    st.listeners.erase(owner);
    if (!st.lost)
      self->send(st.shard, actors::register_owner{owner, {}});
  }
  st.owners_of.erase(i);
}

/// The shard is gone (down, or its host lost): answer what is in flight.
void lose(relay_ptr self, const std::string& reason) {
  auto& st = self->state;
  if (st.lost)
    return;
  st.lost = true;
  auto in_flight = std::move(st.in_flight);
  st.in_flight.clear();
  if (!in_flight.empty())
    spdlog::warn("shard {} lost ({}): {} order request(s) in flight answered with a "
                 "reject (venue_unreachable)",
                 st.index, reason, in_flight.size());
  for (auto& [key, answer] : in_flight)
    answer();
}

caf::behavior shard_relay(relay_ptr self, caf::actor shard, std::uint32_t index) {
  auto& st = self->state;
  st.shard = std::move(shard);
  st.index = index;
  self->monitor(st.shard);
  self->attach_functor([index, after = st.rejected_after_loss] {
    if (*after > 0)
      spdlog::warn("shard {}: {} order request(s) sent after it went down were "
                   "rejected (venue_unreachable)",
                   index, *after);
  });
  self->join(self->system().groups().get_local(peer_lost_group));
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->state.shard.address())
      lose(self, self->system().render(dm.reason));
    else
      forget_listener(self, dm.source);
  });
  return {
      [self](peer_lost_atom, const std::string& node, const std::string& reason) {
        if (caf::to_string(self->state.shard.node()) == node)
          lose(self, reason);
      },
      [self](const actors::new_order& x) { return forward<actors::order_reply>(self, x); },
      [self](const actors::cancel_order& x) {
        return forward<actors::order_reply>(self, x);
      },
      [self](const actors::modify_order& x) {
        return forward<actors::order_reply>(self, x);
      },
      [self](const actors::new_order_batch& x) {
        return forward<actors::order_reply_batch>(self, x);
      },
      [self](actors::register_owner& x) {
        auto& st = self->state;
        if (auto old = st.listeners.find(x.owner); old != st.listeners.end()) {
          auto& owners = st.owners_of[old->second.address()];
          std::erase(owners, x.owner);
          st.listeners.erase(old);
        }
        if (x.listener) {
          auto addr = x.listener.address();
          auto& owners = st.owners_of[addr];
          if (owners.empty())
            self->monitor(x.listener);
          owners.push_back(x.owner);
          st.listeners.emplace(x.owner, std::move(x.listener));
          x.listener = caf::actor_cast<actors::order_listener_actor>(self);
        }
        self->send(st.shard, std::move(x));
      },
      [self](actors::execution_report& x) {
        auto& st = self->state;
        if (auto i = st.listeners.find(x.owner); i != st.listeners.end())
          self->send(i->second, std::move(x));
      },
      // The rest goes straight to the shard, which answers the sender.
      [self](actors::md_subscribe& x) { return self->delegate(self->state.shard, x); },
      [self](actors::md_unsubscribe& x) { return self->delegate(self->state.shard, x); },
      [self](actors::l2_request& x) { return self->delegate(self->state.shard, x); },
      [self](actors::stats_request& x) { return self->delegate(self->state.shard, x); },
      [self](actors::end_of_day& x) { return self->delegate(self->state.shard, x); },
      [self](actors::finalized_price& x) {
        return self->delegate(self->state.shard, x);
      },
      [self](actors::trading_halt& x) { return self->delegate(self->state.shard, x); },
      [self](actors::l2_publish_tick& x) { return self->delegate(self->state.shard, x); },
  };
}

} // namespace

actors::exchange_shard_actor spawn_shard_relay(caf::actor_system& sys,
                                               const actors::exchange_shard_actor& shard,
                                               std::uint32_t index) {
  return caf::actor_cast<actors::exchange_shard_actor>(
      sys.spawn(shard_relay, caf::actor_cast<caf::actor>(shard), index));
}

std::vector<actors::exchange_shard_actor>
relay_remote_shards(caf::actor_system& sys,
                    const std::vector<actors::exchange_shard_actor>& shards,
                    std::vector<caf::actor>& spawned) {
  std::vector<actors::exchange_shard_actor> out;
  out.reserve(shards.size());
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (!shards[i] || shards[i].node() == sys.node()) {
      out.push_back(shards[i]);
      continue;
    }
    out.push_back(spawn_shard_relay(sys, shards[i], static_cast<std::uint32_t>(i)));
    spawned.push_back(caf::actor_cast<caf::actor>(out.back()));
  }
  return out;
}

} // namespace marketsim::distributed
