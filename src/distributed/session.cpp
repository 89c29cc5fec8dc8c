#include "distributed/session.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/group_manager.hpp>
#include <caf/node_id.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <fmt/format.h>

#include <map>

namespace marketsim::distributed {

namespace {

/// The session owner's own request: monitor an actor of a host.
using watch_atom = caf::atom_constant<caf::atom("nodewatch")>;

std::int64_t now_ns(caf::actor_system& sys) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             sys.clock().now().time_since_epoch())
      .count();
}

/// An error as a person reads it: the reason text that the node or the
/// transport put in its context, else CAF's rendering.
std::string describe(caf::actor_system& sys, const caf::error& e) {
  if (e == caf::exit_reason::remote_link_unreachable)
    return "connection lost (remote_link_unreachable)";
  const auto& ctx = e.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return sys.render(e);
}

struct owner_state {
  std::shared_ptr<loss_log> log;
  std::map<caf::actor_addr, std::uint32_t> hosts; ///< watched actor -> host
  std::map<std::uint32_t, caf::actor> nodes;      ///< host -> its node actor
  static inline const char* name = "marketsim_session";
};

caf::behavior session_owner(caf::stateful_actor<owner_state>* self,
                            std::shared_ptr<loss_log> log) {
  self->state.log = std::move(log);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto i = self->state.hosts.find(dm.source);
    if (i == self->state.hosts.end())
      return;
    auto& st = self->state;
    const auto host = i->second;
    st.hosts.erase(i);
    if (st.log->lost(host))
      return;
    auto reason = describe(self->system(), dm.reason);
    st.log->record(host, reason);
    // The other nodes, and the relays here, hear of it (protocol.hpp, step 4).
    const auto lost_node = caf::to_string(dm.source.node());
    for (const auto& [h, node] : st.nodes)
      if (h != host && !st.log->lost(h))
        self->send(node, peer_lost_atom::value, lost_node, reason);
    self->send(self->system().groups().get_local(peer_lost_group), peer_lost_atom::value,
               lost_node, reason);
  });
  return {
      [self](watch_atom, const caf::actor& target, std::uint32_t host, bool is_node) {
        if (!target)
          return;
        self->state.hosts.emplace(target.address(), host);
        if (is_node)
          self->state.nodes.emplace(host, target);
        self->monitor(target);
      },
  };
}

template <class Request>
std::vector<caf::actor>
spawn_request(caf::actor_system& sys, const remote_node& node, const Request& request,
              std::chrono::milliseconds timeout, const char* what) {
  caf::scoped_actor self{sys};
  std::vector<caf::actor> out;
  std::string failure;
  self->request(node.handle, timeout, request)
      .receive([&](spawned& x) { out = std::move(x.actors); },
               [&](const caf::error& e) { failure = describe(sys, e); });
  if (!failure.empty())
    throw node_error(
        fmt::format("host {} ({}): {}: {}", node.name, node.address, what, failure));
  return out;
}

} // namespace

void loss_log::record(std::uint32_t host, std::string reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& l : losses_)
    if (l.host == host)
      return;
  losses_.push_back({host, std::move(reason), std::chrono::steady_clock::now()});
}

std::vector<loss_log::loss> loss_log::losses() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return losses_;
}

bool loss_log::lost(std::uint32_t host) const {
  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& l : losses_)
    if (l.host == host)
      return true;
  return false;
}

std::size_t loss_log::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return losses_.size();
}

remote_node join_node(caf::actor_system& sys, const std::string& name,
                      const std::string& host, std::uint16_t port,
                      const transport_security& security,
                      std::chrono::milliseconds timeout, std::uint64_t fingerprint,
                      const caf::actor& owner) {
  remote_node node;
  node.name = name;
  node.address = host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                     : fmt::format("{}:{}", host, port);
  auto handle = connect(sys, host, port, security, timeout);
  if (!handle)
    throw node_error(fmt::format("host {} ({}): {}", name, node.address,
                                 describe(sys, handle.error())));
  node.handle = std::move(*handle);
  caf::scoped_actor self{sys};
  std::string failure;
  const auto sent = now_ns(sys);
  self->request(node.handle, timeout, hello_atom::value, fingerprint,
                std::string{MARKETSIM_VERSION}, owner)
      .receive(
          [&](welcome_atom, bool accepted, const std::string& node_name,
              std::uint64_t node_fingerprint, const std::string& version,
              std::int64_t node_clock, const std::string& reason) {
            const auto received = now_ns(sys);
            node.node_name = node_name;
            node.clock_offset_ns = node_clock - (sent + (received - sent) / 2);
            if (!accepted)
              failure = "the node refused the session: " + reason;
            else if (node_fingerprint != fingerprint)
              failure =
                  fmt::format("message vocabulary mismatch: the node (marketsim {}) "
                              "has {:016x}, this program (marketsim {}) {:016x}",
                              version, node_fingerprint, MARKETSIM_VERSION, fingerprint);
          },
          [&](const caf::error& e) {
            failure =
                e == caf::sec::unexpected_response || e == caf::sec::unexpected_message
                    ? "not a marketsim node, or one that speaks another protocol (" +
                          sys.render(e) + ")"
                    : "no handshake: " + describe(sys, e);
          });
  if (!failure.empty())
    throw node_error(fmt::format("host {} ({}): {}", name, node.address, failure));
  return node;
}

std::vector<caf::actor> spawn_on(caf::actor_system& sys, const remote_node& node,
                                 const spawn_shards& request,
                                 std::chrono::milliseconds timeout) {
  return spawn_request(sys, node, request, timeout, "spawning shards");
}

std::vector<caf::actor> spawn_on(caf::actor_system& sys, const remote_node& node,
                                 const spawn_group& request,
                                 std::chrono::milliseconds timeout) {
  return spawn_request(sys, node, request, timeout, "spawning an agent group");
}

bool release(caf::actor_system& sys, const remote_node& node, const caf::actor& owner,
             std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  bool ok = false;
  self->request(node.handle, timeout, release_atom::value, owner)
      .receive([&](caf::ok_atom) { ok = true; }, [&](const caf::error&) {});
  return ok;
}

caf::actor spawn_session_owner(caf::actor_system& sys, std::shared_ptr<loss_log> log) {
  return sys.spawn(session_owner, std::move(log));
}

void watch(const caf::actor& owner, const caf::actor& target, std::uint32_t host,
           bool is_node) {
  caf::anon_send(owner, watch_atom::value, target, host, is_node);
}

} // namespace marketsim::distributed
