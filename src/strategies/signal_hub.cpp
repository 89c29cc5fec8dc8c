#include "strategies/signal_hub.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::strategies {

namespace {

struct subscriber {
  actors::signal_listener_actor listener;
  std::uint64_t from = 0;
};

struct hub_state {
  static inline const char* name = "marketsim.signal_hub";

  /// Subscribers by topic, in order of subscription (deterministic delivery).
  std::map<std::string, std::vector<subscriber>, std::less<>> topics;
  std::set<caf::actor_addr> monitored;
};

using hub_ptr = actors::signal_hub_actor::stateful_pointer<hub_state>;

void drop(hub_state& st, const caf::actor_addr& who) {
  for (auto i = st.topics.begin(); i != st.topics.end();) {
    std::erase_if(i->second,
                  [&](const subscriber& s) { return s.listener.address() == who; });
    i = i->second.empty() ? st.topics.erase(i) : std::next(i);
  }
}

void publish(hub_ptr self, const actors::signal_message& x) {
  auto i = self->state.topics.find(x.topic);
  if (i == self->state.topics.end())
    return;
  auto sender = self->current_sender();
  for (const auto& sub : i->second) {
    bool is_publisher =
        (x.from != 0 && sub.from == x.from) ||
        (sender != nullptr && sub.listener.address() == sender->address());
    if (!is_publisher)
      self->send(sub.listener, x);
  }
}

void subscribe(hub_ptr self, actors::signal_subscribe& x) {
  auto& st = self->state;
  if (!x.listener)
    return;
  auto addr = x.listener.address();
  auto& subs = st.topics[x.topic];
  auto same = [&](const subscriber& s) { return s.listener.address() == addr; };
  if (auto i = std::find_if(subs.begin(), subs.end(), same); i != subs.end())
    i->from = x.from;
  else
    subs.push_back(subscriber{std::move(x.listener), x.from});
  if (st.monitored.insert(addr).second)
    self->monitor(addr);
}

actors::signal_hub_actor::behavior_type signal_hub(hub_ptr self) {
  self->set_down_handler([self](caf::down_msg& dm) {
    drop(self->state, dm.source);
    self->state.monitored.erase(dm.source);
  });
  return {
      [self](const actors::signal_message& x) { publish(self, x); },
      [self](actors::signal_subscribe& x) { subscribe(self, x); },
      [self](const actors::signal_unsubscribe& x) {
        if (x.listener)
          drop(self->state, x.listener.address());
      },
  };
}

} // namespace

actors::signal_hub_actor spawn_signal_hub(caf::actor_system& sys) {
  return sys.spawn(signal_hub);
}

} // namespace marketsim::strategies
