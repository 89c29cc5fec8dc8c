#include "distributed/peer_links.hpp"

#include "actors/consensus_messages.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace marketsim::distributed {

// -- parsing -------------------------------------------------------------------------

namespace {

std::uint64_t parse_number(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 10 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw std::invalid_argument(fmt::format("{}: '{}' is not a number", what, text));
  return std::stoull(text);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string::size_type from = 0;
  while (true) {
    auto at = text.find(sep, from);
    parts.push_back(text.substr(from, at == std::string::npos ? std::string::npos : at - from));
    if (at == std::string::npos)
      return parts;
    from = at + 1;
  }
}

} // namespace

std::vector<peer_address> parse_peer_list(const std::string& spec) {
  if (spec.empty())
    throw std::invalid_argument("the validator list is empty (want id=host:port,...)");
  std::vector<peer_address> out;
  std::set<std::uint32_t> seen;
  for (const auto& item : split(spec, ',')) {
    const auto eq = item.find('=');
    const auto colon = item.rfind(':');
    if (eq == std::string::npos || colon == std::string::npos || colon < eq)
      throw std::invalid_argument(
          fmt::format("validator list: '{}' is not id=host:port", item));
    peer_address a;
    const auto id = parse_number(item.substr(0, eq), "validator list: id");
    if (id == 0 || id > 0xffffffffu)
      throw std::invalid_argument(fmt::format("validator list: id {} out of 1..2^32-1", id));
    a.id = static_cast<std::uint32_t>(id);
    a.host = item.substr(eq + 1, colon - eq - 1);
    if (a.host.empty())
      throw std::invalid_argument(fmt::format("validator list: '{}' has no host", item));
    const auto port = parse_number(item.substr(colon + 1), "validator list: port");
    if (port == 0 || port > 65535)
      throw std::invalid_argument(
          fmt::format("validator list: port {} out of 1..65535 in '{}'", port, item));
    a.port = static_cast<std::uint16_t>(port);
    if (!seen.insert(a.id).second)
      throw std::invalid_argument(fmt::format("validator list: id {} given twice", a.id));
    out.push_back(std::move(a));
  }
  return out;
}

bool should_connect(std::uint32_t self, std::uint32_t peer, const transport_security& s) {
  return peer != self && (!s.tls || peer < self);
}

// -- the keeper ------------------------------------------------------------------------

namespace {

using peer_retry_atom = caf::atom_constant<caf::atom("peerretry")>;

struct keeper_state {
  static inline const char* name = "marketsim.peer_link";
  peer_link_params p;
  caf::actor current;
  std::uint64_t failures = 0;
};

caf::behavior peer_keeper(caf::stateful_actor<keeper_state, caf::event_based_actor>* self,
                          peer_link_params params) {
  self->state.p = std::move(params);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (!st.current || dm.source != st.current.address())
      return;
    spdlog::warn("{}: lost {} ({}:{}): {}; reconnecting every {} ms", st.p.self_name,
                 st.p.peer_name, st.p.peer.host, st.p.peer.port, caf::to_string(dm.reason),
                 reconnect_interval.count());
    st.current = nullptr;
    self->send(st.p.local, actors::raft_peers{{st.p.peer_member}, {caf::actor{}}});
    self->delayed_send(self, reconnect_interval, peer_retry_atom::value);
  });
  self->send(self, peer_retry_atom::value);
  return {
      [self](peer_retry_atom) {
        auto& st = self->state;
        if (st.current)
          return;
        auto h = connect(self->system(), st.p.peer.host, st.p.peer.port, st.p.security,
                         std::chrono::milliseconds{1000});
        if (!h) {
          // The first failure and then every 10 s: peers start in any order.
          if (st.failures++ % 33 == 0)
            spdlog::info("{}: {} not reachable yet ({}); retrying", st.p.self_name,
                         st.p.peer_name, self->system().render(h.error()));
          self->delayed_send(self, reconnect_interval, peer_retry_atom::value);
          return;
        }
        st.failures = 0;
        st.current = std::move(*h);
        self->monitor(st.current);
        spdlog::info("{}: connected to {} ({}:{})", st.p.self_name, st.p.peer_name,
                     st.p.peer.host, st.p.peer.port);
        self->send(st.p.local, actors::raft_peers{{st.p.peer_member}, {st.current}});
        if (st.p.announce) // the peer's actor learns our handle from us
          self->send(st.current, actors::raft_peers{{st.p.self_member}, {st.p.local}});
      },
  };
}

} // namespace

caf::actor spawn_peer_link(caf::actor_system& sys, peer_link_params params) {
  return sys.spawn<caf::detached>(peer_keeper, std::move(params));
}

} // namespace marketsim::distributed
