#pragma once

/// `marketsim run`: one scenario, in virtual time (a deterministic
/// discrete-event loop) or in real time (CAF's scheduler), from spawning the
/// shards, the signal hub, the fundamental oracle and the agents to the
/// collected results. No CAF in this header: the report and the CLI only see
/// plain results.

#include "app/scenario.hpp"
#include "app/price_consensus.hpp"
#include "app/settlement.hpp"
#include "app/trading_halt.hpp"
#include "market/types.hpp"

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::strategies {
class strategy_registry;
} // namespace marketsim::strategies

namespace marketsim::distributed {
struct node_hooks;
struct transport_security;
} // namespace marketsim::distributed

namespace marketsim::app {

struct network_plan; // app/network_plan.hpp

/// One line of the trade tape.
struct trade_record {
  std::uint64_t seq = 0;    ///< 1.. over the whole run, in tape order
  std::int64_t time_ns = 0; ///< since the start of the run
  std::string symbol;
  market::price_t price = 0;
  market::qty_t qty = 0;
  market::side aggressor = market::side::buy;
  market::order_id maker_id = 0;
  market::order_id taker_id = 0;
  market::owner_id maker_owner = 0;
  market::owner_id taker_owner = 0;
};

/// The best bid and offer of one symbol at one sampling time (a side without
/// orders has price and quantity 0).
struct l1_sample {
  std::int64_t time_ns = 0; ///< since the start of the run
  std::uint32_t symbol = 0; ///< index into run_result::symbols
  market::price_t bid = 0;
  market::qty_t bid_qty = 0;
  market::price_t ask = 0;
  market::qty_t ask_qty = 0;
};

struct symbol_result {
  std::string name;
  std::uint64_t orders = 0;  ///< new orders the shard accepted
  std::uint64_t rejects = 0; ///< requests the shard rejected
  std::uint64_t trades = 0;
  market::qty_t volume = 0;
  double vwap = 0; ///< 0 without trades
  market::price_t last_price = 0;
  std::uint64_t l1_updates = 0;
  /// Time-weighted over the time both sides were quoted; none if never.
  std::optional<double> average_spread;
  /// At the end of the run; none unless both sides are quoted.
  std::optional<market::price_t> final_spread;
  /// What positions are valued at: the last trade, else the final mid, else
  /// the reference price.
  market::price_t mark = 0;
};

/// One agent at the end of the run. Money in price units x quantity units.
struct agent_record {
  std::uint64_t index = 0; ///< 0.. in scenario order
  market::owner_id owner = 0;
  std::string strategy;
  std::int64_t cash = 0;
  /// Non-flat positions: symbol index, quantity.
  std::vector<std::pair<std::uint32_t, market::qty_t>> positions;
  std::int64_t realised = 0;
  std::int64_t unrealised = 0;
  std::int64_t equity = 0; ///< cash + positions at the marks
  std::int64_t fees = 0;   ///< paid, net of rebates
  /// Equity minus starting equity (cash + starting positions at the reference
  /// prices): realised + unrealised - fees.
  std::int64_t pnl = 0;
  std::uint64_t orders = 0;
  std::uint64_t fills = 0;
  std::uint64_t rejects = 0;
  bool failed = false;
  std::string error; ///< why it failed
  /// What the strategy recorded (name, value), in order of first recording
  /// (actors::agent_report::metrics).
  std::vector<std::pair<std::string, double>> metrics;
};

/// One directed link of the network at the end of the run (actors::net_link_stats
/// with site names). Latencies are per link: queueing, serialization and
/// propagation of the messages it delivered.
struct network_link_result {
  std::string from;
  std::string to;
  std::uint64_t messages = 0; ///< transmitted, lost or not
  std::uint64_t bytes = 0;
  std::uint64_t drops = 0;
  std::int64_t queueing_total_ns = 0;
  std::int64_t queueing_max_ns = 0;
  std::int64_t latency_min_ns = 0;
  std::int64_t latency_p50_ns = 0;
  std::int64_t latency_p90_ns = 0;
  std::int64_t latency_p99_ns = 0;
  std::int64_t latency_max_ns = 0;
};

/// What became of the messages sent from one site to another.
struct network_route_result {
  std::string from;
  std::string to;
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;    ///< lost on a link
  std::uint64_t unroutable = 0; ///< no route (partition, site or link down)
};

/// The network of a run with a `network:` section.
struct network_result {
  std::size_t sites = 0;
  std::vector<network_link_result> links;   ///< by (from, to) site id
  std::vector<network_route_result> routes; ///< pairs that carried traffic
  std::uint64_t unserializable = 0;         ///< payloads the network refused
  std::uint64_t proxies = 0;   ///< network ports made (network/endpoints.hpp)
  std::uint64_t forwarded = 0; ///< messages the ports handed to the network
  /// Messages from senders outside the network (their replies bypass it) and
  /// without a sender; requests refused by a port. Non-zero means an actor
  /// was not placed.
  std::uint64_t unplaced_senders = 0;
  std::uint64_t anonymous = 0;
  std::uint64_t refused_requests = 0;
  std::size_t events = 0; ///< scheduled state changes applied
  /// After the agents stopped, the run waited until nothing was in flight:
  /// whether that happened, and the simulated (or wall) time it took.
  bool settled = true;
  std::chrono::nanoseconds settle_time{0};

  std::uint64_t sent() const;
  std::uint64_t delivered() const;
  std::uint64_t dropped() const;
  std::uint64_t unroutable() const;
};

/// One host of a run across hosts and what ran there.
struct host_result {
  std::string name;      ///< the deployment's name
  std::string address;   ///< host:port
  std::string node_name; ///< what the node calls itself
  std::vector<std::size_t> shards; ///< scenario indices
  std::vector<std::size_t> groups; ///< agent group indices
  std::uint64_t agents = 0;
  bool lost = false;
  std::chrono::nanoseconds lost_at{0}; ///< since the agents' start
  std::string reason;                  ///< why it was lost (the exit reason)
};

struct run_result {
  std::string name;
  std::string file;
  clock_mode clock = clock_mode::virtual_time;
  std::uint64_t seed = 0;
  std::uint32_t threads = 1; ///< worker threads (1 in virtual time)
  scheduler_policy policy = scheduler_policy::sharing;
  std::size_t shards = 0;
  bool fundamentals = false;
  std::chrono::nanoseconds l1_sample_period{0};
  /// The scenario's agent groups: strategy and count, in order.
  std::vector<std::pair<std::string, std::uint32_t>> groups;
  /// Simulated time covered (virtual) or the run's duration (real).
  std::chrono::nanoseconds sim_time{0};
  /// Wall time from the agents' start to the end of run_until.
  std::chrono::nanoseconds elapsed{0};
  /// Virtual time: messages handled during the run (0 in real time).
  std::uint64_t events = 0;
  std::uint64_t shard_requests = 0; ///< new, cancel and modify requests handled
  std::uint64_t unroutable_reports = 0;
  std::vector<symbol_result> symbols; ///< in scenario order
  std::vector<agent_record> agents;   ///< by index
  std::vector<trade_record> tape; ///< ordered by time, then symbol, then shard sequence
  std::vector<l1_sample> l1;      ///< by time, then symbol
  /// With a network model only.
  std::optional<network_result> network;
  /// With a `settlement:` section only.
  std::optional<settlement_result> settlement;
  /// With a `price_consensus:` section only.
  std::optional<price_consensus_result> price_consensus;
  /// With a `halt:` section only.
  std::optional<halt_result> halt;
  /// Across hosts only (run_scenario_on_hosts): the remote hosts, in the
  /// order given; whatever none of them holds ran on the starting host.
  std::vector<host_result> hosts;
  /// Across hosts: the run ended early because a host was lost
  /// (on_host_failure: stop).
  bool stopped_by_host_failure = false;

  /// Events per second of wall time (0 in real time).
  double events_per_second() const;
  /// Trades per second of wall time.
  double trades_per_second() const;
  /// New orders the agents sent, in all.
  std::uint64_t orders_sent() const;
  /// New orders sent per second of wall time.
  double orders_per_second() const;
};

struct run_options {
  /// Write a progress line (simulated time, events/s) to `progress_out`
  /// about every half second.
  bool progress = false;
  std::ostream* progress_out = nullptr;
};

/// Runs `sc` for its duration with the strategies of `registry` and collects
/// the results. Throws std::runtime_error if the actors do not answer at the
/// end (a bug), std::invalid_argument if an agent cannot be built.
run_result run_scenario(const scenario& sc, const strategies::strategy_registry& registry,
                        const run_options& options = {});

/// As above with the network of `plan` instead of the scenario's own
/// (make_network_plan): every shard, the hub, the oracle and every agent
/// group sit at their plan's sites, and their messages travel the network
/// (network/endpoints.hpp). nullptr: no network, messages go straight.
///
/// With a network, the end of the run differs: the agents stop and the
/// oracle quits at the end of the duration, then the run goes on until no
/// message is in flight (network_result::settled, settle_time), so that
/// accounts, shard statistics and the tape agree. Trades of orders still in
/// flight at the end can therefore be stamped after the duration.
run_result run_scenario(const scenario& sc, const strategies::strategy_registry& registry,
                        const network_plan* plan, const run_options& options = {});

// -- across hosts ------------------------------------------------------------------

/// Where each part of a scenario runs: the hosts in use (host_endpoint) and,
/// per shard and per agent group, the index of its host (none: this
/// process).
struct deployment_plan {
  std::vector<host_endpoint> hosts;
  std::vector<std::optional<std::size_t>> shard_host; ///< by shard index
  std::vector<std::optional<std::size_t>> group_host; ///< by agent group index
  host_failure_policy on_host_failure = host_failure_policy::stop;
  std::chrono::nanoseconds connect_timeout{std::chrono::seconds{5}};
};

/// The plan of `sc` with the command line's hosts (`--hosts`; they add to
/// and replace the scenario's `deployment.hosts` by name). See "Deployment"
/// in scenario.hpp for the defaults. Throws std::invalid_argument: virtual
/// time, a network model, no host at all, a placement on a host without an
/// address.
deployment_plan make_deployment_plan(const scenario& sc,
                                     const std::vector<host_endpoint>& cli_hosts);

/// Setting up a run across hosts failed before it started: a host refused
/// or did not answer, spoke another vocabulary, or could not spawn its part.
class deployment_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Runs `sc` in real time over `plan`'s hosts (`marketsim node` processes):
/// the shards and agent groups the plan places on a host are spawned there
/// through its node actor; the signal hub, the oracle, the market-data
/// recorder and everything else run here. All results come back here over
/// the same typed messages as in a local run. `scenario_text` is the
/// scenario's YAML (the nodes parse it themselves). A lost host is reported
/// in run_result::hosts; with on_host_failure: stop the run ends early
/// (run_result::stopped_by_host_failure), with continue it goes on and the
/// lost host's agents are reported failed. Throws deployment_error when the
/// setup fails (every host joined so far is released first).
run_result run_scenario_on_hosts(const scenario& sc, std::string scenario_text,
                                 const strategies::strategy_registry& registry,
                                 const deployment_plan& plan,
                                 const distributed::transport_security& security);

/// What a `marketsim node` spawns: a scenario's shards, an agent group's
/// traders, with the strategies of `registry` (which must outlive the node).
distributed::node_hooks make_node_hooks(const strategies::strategy_registry& registry);

} // namespace marketsim::app
