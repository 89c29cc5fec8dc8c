#include "distributed/node.hpp"

#include "actors/vocabulary.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/group_manager.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <map>
#include <ostream>
#include <pthread.h>
#include <set>
#include <thread>
#include <unistd.h>

namespace marketsim::distributed {

namespace {

/// The node's own stop request (from run_node, never remote).
using node_stop_atom = caf::atom_constant<caf::atom("nodestop")>;

struct node_state {
  node_params params;
  /// Session owner -> what was spawned for it.
  std::map<caf::actor_addr, std::vector<caf::actor>> sessions;
  static inline const char* name = "marketsim_node";
};

using node_pointer = caf::stateful_actor<node_state>*;

std::int64_t clock_ns(node_pointer self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             self->clock().now().time_since_epoch())
      .count();
}

/// Quits the actors of one session; returns how many.
std::size_t end_session(node_pointer self, const caf::actor_addr& owner) {
  auto i = self->state.sessions.find(owner);
  if (i == self->state.sessions.end())
    return 0;
  auto n = i->second.size();
  for (const auto& a : i->second)
    self->send_exit(a, caf::exit_reason::user_shutdown);
  self->state.sessions.erase(i);
  return n;
}

/// Runs a spawn hook for an accepted session and files what it spawned.
template <class Request, class Hook>
caf::result<spawned> spawn_for(node_pointer self, const Request& req, const Hook& hook,
                               const char* what) {
  auto session = self->state.sessions.find(req.owner.address());
  if (!req.owner || session == self->state.sessions.end())
    return caf::make_error(caf::sec::runtime_error,
                           std::string{what} + ": no handshake from this session first");
  try {
    spawned out{hook(self->system(), req)};
    session->second.insert(session->second.end(), out.actors.begin(), out.actors.end());
    spdlog::info("node {}: spawned {} actor(s) ({})", self->state.params.name,
                 out.actors.size(), what);
    return out;
  } catch (const std::exception& e) {
    spdlog::warn("node {}: {} failed: {}", self->state.params.name, what, e.what());
    return caf::make_error(caf::sec::runtime_error, std::string{what} + ": " + e.what());
  }
}

caf::behavior node_actor(node_pointer self, node_params params) {
  self->state.params = std::move(params);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto n = end_session(self, dm.source);
    spdlog::warn("node {}: session owner gone ({}): quit {} actor(s)",
                 self->state.params.name, self->system().render(dm.reason), n);
  });
  return {
      [self](hello_atom, std::uint64_t fingerprint, const std::string& version,
             const caf::actor& owner) -> caf::message {
        const auto& p = self->state.params;
        std::string reason;
        if (fingerprint != p.fingerprint)
          reason = fmt::format("message vocabulary mismatch: node {} (marketsim {}) has "
                               "{:016x}, the peer (marketsim {}) has {:016x}",
                               p.name, p.version, p.fingerprint, version, fingerprint);
        else if (!owner)
          reason = "no session owner given";
        if (!reason.empty()) {
          spdlog::error("node {}: refused a peer: {}", p.name, reason);
        } else if (self->state.sessions
                       .emplace(owner.address(), std::vector<caf::actor>{})
                       .second) {
          self->monitor(owner);
          spdlog::info("node {}: session opened (peer marketsim {})", p.name, version);
        }
        return caf::make_message(welcome_atom::value, reason.empty(), p.name,
                                 p.fingerprint, p.version, clock_ns(self), reason);
      },
      [self](const spawn_shards& req) {
        return spawn_for(self, req, self->state.params.hooks.shards, "spawn shards");
      },
      [self](const spawn_group& req) {
        return spawn_for(self, req, self->state.params.hooks.group, "spawn agent group");
      },
      [self](release_atom, const caf::actor& owner) {
        auto n = end_session(self, owner.address());
        if (owner)
          self->demonitor(owner);
        spdlog::info("node {}: session released: quit {} actor(s)",
                     self->state.params.name, n);
        return caf::ok_atom::value;
      },
      [self](peer_lost_atom, const std::string& lost_node, const std::string& reason) {
        spdlog::warn("node {}: the coordinator lost node {} ({}); telling its shard relays",
                     self->state.params.name, lost_node, reason);
        self->send(self->system().groups().get_local(peer_lost_group),
                   peer_lost_atom::value, lost_node, reason);
      },
      [self](node_stop_atom) {
        std::vector<caf::actor_addr> owners;
        for (const auto& kv : self->state.sessions)
          owners.push_back(kv.first);
        for (const auto& o : owners)
          end_session(self, o);
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

/// The node process's actor system: the vocabulary, the middleman (and TLS)
/// from transport::configure, the scheduler.
struct node_config : caf::actor_system_config {
  caf::error security_error;
  explicit node_config(const node_options& opts) {
    actors::add_message_types(*this);
    add_node_message_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
    auto threads = opts.threads > 0 ? opts.threads
                                    : std::max(1u, std::thread::hardware_concurrency());
    set("scheduler.max-threads", static_cast<std::size_t>(threads));
    security_error = configure(*this, opts.security);
  }
};

} // namespace

caf::actor spawn_node(caf::actor_system& sys, node_params params) {
  return sys.spawn(node_actor, std::move(params));
}

int run_node(const node_options& options, node_hooks hooks, std::ostream& out,
             std::ostream& err) {
  // Block the stop signals in every thread (CAF's threads inherit the mask):
  // this thread takes them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  node_config cfg{options};
  if (cfg.security_error) {
    err << "marketsim node: " << caf::to_string(cfg.security_error) << '\n';
    return 2;
  }
  caf::actor_system sys{cfg};
  node_params params;
  params.name = options.name;
  if (params.name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    params.name = fmt::format("{}#{}", host, ::getpid());
  }
  const auto fingerprint = vocabulary_fingerprint(cfg, options.vocabulary_salt);
  params.fingerprint = fingerprint;
  params.version = MARKETSIM_VERSION;
  params.hooks = std::move(hooks);
  const auto name = params.name;
  auto node = spawn_node(sys, std::move(params));
  auto port = publish(sys, node, options.port, options.bind, options.security);
  if (!port) {
    err << "marketsim node: cannot listen on "
        << (options.bind.empty() ? "*" : options.bind) << ":" << options.port << ": "
        << sys.render(port.error()) << '\n';
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    return 2;
  }
  out << fmt::format("marketsim node {} listening on {}:{} (vocabulary {:016x})\n", name,
                     options.bind.empty() ? "*" : options.bind, *port, fingerprint)
      << std::flush;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("node {}: stopping ({})", name, signal == SIGINT ? "SIGINT" : "SIGTERM");
  {
    caf::scoped_actor self{sys};
    self->request(node, std::chrono::seconds{10}, node_stop_atom::value)
        .receive([](caf::ok_atom) {},
                 [&](const caf::error& e) {
                   spdlog::warn("node {}: stopping: {}", name, sys.render(e));
                 });
  }
  sys.middleman().unpublish(node, *port);
  return 0;
}

} // namespace marketsim::distributed
