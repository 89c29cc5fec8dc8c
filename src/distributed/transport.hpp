#pragma once

/// Links between marketsim nodes: publishing an actor on a TCP port and
/// connecting to one, either over CAF's plain middleman or over CAF's OpenSSL
/// module with mutual certificate authentication (see README.md here for what
/// CAF 0.17.6 does and does not check).

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace CLI {
class App;
} // namespace CLI

namespace marketsim::distributed {

/// How this node's links are secured. Either plain (`tls == false`, no
/// credential set) or TLS with all of certificate, key and a CA: TLS without
/// them would make CAF fall back to anonymous (unauthenticated) cipher suites,
/// so it is refused rather than run.
struct transport_security {
  bool tls = false;        // false: plain middleman (loopback, trusted networks)
  std::string certificate; // PEM file of this node's certificate (chain)
  std::string key;         // PEM file of its private key
  std::string passphrase;  // of the key, if it is encrypted
  std::string cafile;      // PEM file of the CA(s) that sign the peers
  std::string capath;      // or a c_rehash'ed directory of CA certificates
};

/// Returns an empty error when `s` is usable: plain without credentials, or TLS
/// whose certificate, key (with passphrase) and CA files load with OpenSSL and
/// whose key matches the certificate. Checked up front because CAF loads them
/// lazily on its I/O thread and throws there (terminating the process) when it
/// cannot.
caf::error check(const transport_security& s);

/// Liveness of links: each middleman sends a BASP heartbeat every
/// `heartbeat_interval` and closes a connection that brought nothing (not even
/// a heartbeat) for `connection_timeout`. Without them a cut link (no RST, no
/// FIN: a cable, a firewall, `ip link set down`) goes unnoticed by TCP for
/// minutes and a run waits on the lost host; with them its actors are reported
/// down (remote_link_unreachable) within about `connection_timeout`. Both
/// sides of a link need them (configure() sets them for every node and run).
/// The timeout is a trade-off: the middleman's single I/O thread also
/// serializes every message to and from other hosts, and with a million
/// remote agents it fell more than 5 s behind (one 2,000,000-agent run lost
/// both nodes with a 5 s timeout), so a too short one reports healthy hosts
/// as lost (docs/BENCHMARKS.md section 8).
inline constexpr std::chrono::milliseconds heartbeat_interval{1000};
inline constexpr std::chrono::milliseconds connection_timeout{15000};

/// Loads the middleman (and the OpenSSL manager when `s.tls`) into `cfg`, sets
/// the heartbeat options above and CAF's `openssl.*` options. On an error (see check()) nothing secure is
/// loaded, and publish()/connect() with the same `s` fail with that error: a
/// bad TLS configuration never degrades to plain links.
caf::error configure(caf::actor_system_config& cfg, const transport_security& s);

/// Publishes `a` on `addr:port` (port 0: ephemeral; addr "": every
/// interface); returns the bound port or an error saying what failed. `s` must
/// be the security given to configure(); a plain publish on a TLS node is
/// refused (it would open an unauthenticated door). With `reuse_address`, the
/// port is bound with SO_REUSEADDR: a process restarted after kill -9 finds
/// its port held by the TIME_WAIT connections of its previous life, and on
/// Linux SO_REUSEADDR only overrides them when the old listener had it too
/// (a port another process listens on is still refused).
caf::expected<std::uint16_t> publish(caf::actor_system& sys, const caf::actor& a,
                                     std::uint16_t port, const std::string& addr,
                                     const transport_security& s,
                                     bool reuse_address = false);

/// Connects to the actor published at `host:port`, waiting at most `timeout`.
/// Errors (caf::sec codes, with the endpoint and cause in the context):
/// cannot_connect_to_node when nobody listens or the handshake fails (either
/// side rejected the other's certificate, or TLS met plain), connection_timeout
/// when no answer came in time, invalid_argument when `s` is unusable or is not
/// the security the system was configured with.
caf::expected<caf::actor> connect(caf::actor_system& sys, const std::string& host,
                                  std::uint16_t port, const transport_security& s,
                                  std::chrono::milliseconds timeout);

/// Where reject_unexpected() writes its lines; empty: spdlog's warn level.
using reject_log = std::function<void(const std::string&)>;

/// Makes `self` (an actor about to be published) reject every message its
/// behaviour does not handle: it logs one line (receiver, sender and a bounded
/// excerpt of the content) and answers requests with `sec::unexpected_message`
/// (CAF's default would print to stderr without bound). A remote message whose
/// type is unknown to this process, or whose payload does not deserialize,
/// reaches the actor as an empty message `()` in CAF 0.17.6, so it is
/// rejected and logged here too.
void reject_unexpected(caf::scheduled_actor* self, reject_log log = {});

/// Reads a transport_security from a YAML file:
///   tls: true
///   certificate: node.pem      # relative paths: to the file's directory
///   key: node.key
///   passphrase_file: node.pass # first line; or `passphrase: ...`
///   cafile: ca.pem             # and/or capath: dir
/// Unknown keys are an error (a typo must not silently disable TLS).
caf::expected<transport_security> read_security_file(const std::string& path);

/// Adds the command-line flags `--tls-config FILE` (the YAML file above),
/// `--tls-cert FILE`, `--tls-key FILE`, `--tls-key-pass-file FILE`,
/// `--tls-ca FILE` and `--tls-ca-path DIR` to `app`, writing into `s`. The
/// file sets `tls` as it says; each other flag turns `s.tls` on and overrides
/// the file's value. A path that does not exist is a parse error.
void add_security_options(CLI::App& app, transport_security& s);

} // namespace marketsim::distributed
