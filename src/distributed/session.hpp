#pragma once

/// The coordinator's side of the node protocol (protocol.hpp): joining a
/// node (connect + handshake), spawning on it, watching what runs there and
/// releasing it at the end. Every step has a bounded timeout; failures are
/// node_errors whose what() says which host and what went wrong.

#include "distributed/protocol.hpp"
#include "distributed/transport.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace marketsim::distributed {

/// Joining, spawning or releasing failed.
class node_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A node the coordinator has joined.
struct remote_node {
  std::string name;      ///< the deployment's name of the host
  std::string address;   ///< host:port
  std::string node_name; ///< what the node calls itself
  caf::actor handle;     ///< the node actor (a proxy)
  /// The node's actor clock minus ours, estimated at the handshake (the
  /// middle of the round trip): a time stamped there minus this is ours.
  std::int64_t clock_offset_ns = 0;
};

/// Connects to `host:port` and shakes hands; `owner` is the session actor
/// (spawn_session_owner). Throws node_error: refused or unreachable, timed
/// out, not a marketsim node, or a vocabulary mismatch.
remote_node join_node(caf::actor_system& sys, const std::string& name,
                      const std::string& host, std::uint16_t port,
                      const transport_security& security,
                      std::chrono::milliseconds timeout, std::uint64_t fingerprint,
                      const caf::actor& owner);

/// Spawns on `node`; returns the handles. Throws node_error.
std::vector<caf::actor> spawn_on(caf::actor_system& sys, const remote_node& node,
                                 const spawn_shards& request,
                                 std::chrono::milliseconds timeout);
std::vector<caf::actor> spawn_on(caf::actor_system& sys, const remote_node& node,
                                 const spawn_group& request,
                                 std::chrono::milliseconds timeout);

/// Asks `node` to quit what it spawned for `owner`; false if it did not
/// answer within `timeout` (a lost node never does).
bool release(caf::actor_system& sys, const remote_node& node, const caf::actor& owner,
             std::chrono::milliseconds timeout);

/// Losses of hosts as the session owner saw them (down messages of the
/// actors it watches), shared with the thread that runs the run.
class loss_log {
public:
  struct loss {
    std::uint32_t host = 0; ///< as given to watch()
    std::string reason;     ///< the exit reason, rendered
    std::chrono::steady_clock::time_point at;
  };

  /// Records the first loss of `host`; later ones are ignored.
  void record(std::uint32_t host, std::string reason);
  std::vector<loss> losses() const;
  bool lost(std::uint32_t host) const;
  std::size_t size() const;

private:
  mutable std::mutex mtx_;
  std::vector<loss> losses_;
};

/// The session owner: monitors actors by host (watch) and records in `log`
/// the first down message from each host. Nodes monitor it in turn.
caf::actor spawn_session_owner(caf::actor_system& sys, std::shared_ptr<loss_log> log);

/// Tells the session owner to monitor `target`, which runs on `host`;
/// `is_node`: it is the node actor of that host, which the owner tells of the
/// loss of any other host (protocol.hpp, step 4).
void watch(const caf::actor& owner, const caf::actor& target, std::uint32_t host,
           bool is_node = false);

} // namespace marketsim::distributed
