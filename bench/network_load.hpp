#pragma once

/// Link hops per second of the network actor in virtual time, on one core.
///
/// A generated topology (ring, star or tree of `sites` sites; constant
/// propagation latency, high bandwidth, no loss) carries small payloads from
/// N sender actors to one sink actor per site. Sender i sits at site
/// i mod sites; on each of its `ticks` timer ticks (fixed interval, random
/// first phase) it sends `burst` payloads, each to the sink of a site drawn
/// uniformly among the other sites, through the network (`net_send` to the
/// controller, or the same through a network_port with `ingress`). A link
/// hop is one message crossing one directed link: the sum, over every link,
/// of the messages it transmitted (net_stats), which with no loss is the sum
/// of the route lengths of the delivered messages.
///
/// Same-run baseline: the same senders with the same random draws send the
/// same payloads straight to the same sinks (no network), right after the
/// network pass. Both passes run until no event is left, so every payload
/// sent has been delivered before the clocks stop.

#include <chrono>
#include <cstdint>
#include <string>

namespace marketsim::bench {

enum class network_shape { ring, star, tree };

std::string to_string(network_shape x);

/// How senders enter the network: a net_send to the controller (the
/// contract every actor can use), a network::network_port (port.hpp: the
/// first link actor directly, one job per message fewer), or the port's
/// send_burst (a tick's payloads that start on the same link reach it in
/// one job).
enum class network_ingress { controller, port, burst };

std::string to_string(network_ingress x);

struct network_load_params {
  network_shape shape = network_shape::ring;
  std::uint32_t sites = 32;
  std::uint32_t tree_branching = 2; ///< for tree only
  std::uint32_t senders = 256;
  std::uint32_t ticks = 2'000; ///< timer ticks per sender
  std::uint32_t burst = 4;     ///< payloads sent per tick
  std::chrono::nanoseconds interval{std::chrono::milliseconds{1}};
  std::int64_t latency_ns = 50'000;             ///< per link, constant
  std::int64_t bandwidth_bps = 100'000'000'000; ///< per link
  std::uint64_t seed = 1;
  network_ingress ingress = network_ingress::controller;
};

/// One pass (through the network, or direct).
struct network_pass_result {
  std::uint64_t sent = 0;     ///< payloads sent by the senders
  std::uint64_t received = 0; ///< payloads the sinks received
  std::uint64_t events = 0;   ///< jobs the runtime ran during the pass
  std::int64_t sim_ns = 0;    ///< simulated time at the end of the pass
  double wall_seconds = 0;
  double cpu_seconds = 0; ///< user + system of the process (getrusage)
};

struct network_load_result {
  network_load_params params;
  network_pass_result net;
  network_pass_result direct;
  std::uint64_t hops = 0;       ///< link transmissions (net_stats links)
  std::uint64_t route_hops = 0; ///< sum of route lengths, from route counts
  std::uint64_t hop_bytes = 0;  ///< bytes over all links (net_stats links)
  std::uint64_t delivered = 0;  ///< net_stats routes: delivered
  std::uint64_t dropped = 0;    ///< net_stats routes: dropped
  std::uint64_t unroutable = 0;
  std::int64_t max_queueing_ns = 0; ///< worst wait for a wire, any link
  std::int64_t max_link_p99_ns = 0; ///< worst per-link p99 latency
  double hops_per_sec = 0;          ///< per wall second of the network pass
  double hops_per_cpu_sec = 0;      ///< per CPU second of the network pass
  double net_msgs_per_cpu_sec = 0;
  double direct_msgs_per_cpu_sec = 0;
  /// CPU seconds per message through the network / CPU seconds per message
  /// sent directly: the cost of the network path relative to a plain send.
  double cost_ratio = 0;
};

/// Runs both passes, each in its own virtual-time runtime. Throws
/// std::invalid_argument on bad parameters (fewer than 2 sites, no senders,
/// ticks or burst, a non-positive interval) and std::runtime_error if the
/// network's statistics cannot be read or the counts do not add up.
network_load_result run_network_load(const network_load_params&);

/// A multi-line report.
std::string to_string(const network_load_result&);

} // namespace marketsim::bench
