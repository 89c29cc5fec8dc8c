#pragma once

/// The process around a long-running member of a group (a Raft or Streamlet
/// validator, a load driver): its actor system's configuration and its stop
/// signals.

#include "distributed/transport.hpp"

#include <caf/actor_system_config.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace marketsim::distributed {

/// The whole vocabulary registered, the `sharing` scheduler policy (see
/// /work/shared/CAF.md: stealing went quadratic on fan-out) on `threads`
/// threads (0: one per core), and the transport configured for `s`; a bad
/// TLS setup is left in `security_error` (check it before starting).
struct process_config : caf::actor_system_config {
  caf::error security_error;
  process_config(std::uint32_t threads, const transport_security& s);

  /// True when the security is usable; else writes "<who>: <what is wrong>"
  /// as one line to `err`.
  bool usable(const std::string& who, std::ostream& err) const;
};

/// Blocks SIGINT and SIGTERM in the calling thread from construction on.
/// Construct it before the actor system: CAF's threads inherit the mask, so
/// only this thread takes the signals, with wait() or wait_for().
class stop_signals {
public:
  stop_signals();

  /// Waits for SIGINT or SIGTERM; returns it.
  int wait();
  /// Waits at most `d`; returns the signal, or 0 when none came.
  int wait_for(std::chrono::milliseconds d);

private:
  sigset_t set_;
};

/// Publishes a long-running member `a` on `bind:port` with address reuse
/// (a member restarted after kill -9 gets its port back at once, see
/// publish()). On failure writes "<who>: cannot listen on <bind>:<port>:
/// <why>" as one line to `err`, quits `a` and returns nullopt.
std::optional<std::uint16_t> publish_member(caf::actor_system& sys, const caf::actor& a,
                                            std::uint16_t port, const std::string& bind,
                                            const transport_security& s, const std::string& who,
                                            std::ostream& err);

/// "SIGINT", "SIGTERM" or "a signal".
const char* signal_name(int signal);

} // namespace marketsim::distributed
