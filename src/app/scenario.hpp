#pragma once

/// Scenario files: YAML -> validated plain parameter structs. Nothing here
/// knows about actors; run.cpp turns a scenario into actors.
///
/// ## Schema
///
/// ```yaml
/// name: default            # optional; default: the file name without .yaml
/// clock: virtual           # optional; virtual (default) | real
/// seed: 42                 # required; every RNG stream derives from it
/// duration: 3s             # required; simulated (virtual) or wall (real) time;
///                          # integer + unit: ns, us, ms, s, m
/// output:                  # optional (a plain string is the folder)
///   folder: runs/default   # optional; default: runs/<name>
///   l1_sample: 100ms       # optional; L1 sampling period for l1.csv, > 0
/// scheduler:               # optional; real time only
///   threads: 2             # optional; 0 (default) = one per core
///   policy: sharing        # optional; sharing (default) | stealing; stealing
///                          # goes quadratic when one actor fans out to very many
/// symbols:                 # required, at least one
///   - name: ACME           # unique
///     tick_size: 1         # price units per tick, > 0
///     lot_size: 1          # quantity units per lot, > 0
///     reference_price: 10000  # > 0, a multiple of tick_size
///     max_order_qty: 1000000  # optional, > 0
/// shards:                  # required; every symbol on exactly one shard
///   - symbols: [ACME, INIT]
///     price_band_bps: 500  # optional, >= 0 (default 0 = off): reject trading more
///                          # than 5% from the latest finalized consensus price
///                          # (market/exchange_shard.hpp, "Price band")
/// fundamentals:            # optional: hidden values, published as signals
///   period: 1s             # optional; publication period, > 0 (default 1s)
///   preset: three_stocks   # either a preset (its symbols must be defined) ...
///   symbols:               # ... or one entry per symbol (time unit: 1 s)
///     - {symbol: ACME, mean: 10000, kappa: 0.05, sigma: 30}
///   correlation:           # optional with `symbols`; n x n, symbol order
///     - [1.0, 0.3]
///     - [0.3, 1.0]
/// agents:                  # required, at least one agent in all
///   - count: 50            # >= 0
///     strategy: zero_intelligence  # a registered strategy (`marketsim strategies`)
///     params: {...}        # optional; checked against the strategy's parameters
///     symbols: [ACME]      # optional; default: all symbols
///     start: 0s            # optional; when the group starts acting (>= 0)
///     account:             # optional; default: no cash, no positions, no fees
///       cash: 10000000     # money units (price units x quantity units)
///       positions: {ACME: 100}  # starting holdings, cost = reference price
///       fees: {maker_bps: -1, taker_bps: 3}  # each in [-10000, 10000]
///       allow_short: false
///       max_short: 0       # units per symbol, >= 0
///       allow_margin: false
///       max_borrow: 0      # money units, >= 0
///     site: node_3         # optional, needs `network:`; where the group sits
///     access:              # optional, needs `network:`: the group's own access
///       latency: 100ms     # site behind one access link to `site` (an agent
///       bandwidth: 500kbps # network profile); properties as in network.link,
///       loss: 0.02         # unset ones from network.link
///       name: momentum_access  # optional; default group_<i> (i from 0)
/// network: {...}           # optional; see "Network" below
/// deployment: {...}        # optional; see "Deployment" below
/// settlement: {...}        # optional; see "Settlement" below
/// price_consensus: {...}   # optional; see "Consensus prices" below
/// halt: {...}              # optional; see "Trading halt" below
/// ```
///
/// Shards take `site: <site>` too (`- {symbols: [ACME], site: node_1}`).
///
/// ## Network
///
/// Without `network:`, messages go straight from sender to receiver. With it,
/// the run spawns a network (network/network_actor.hpp) of sites and directed
/// links, places every shard, the signal hub, the fundamental oracle and every
/// agent group at a site, and changes the network's state on a schedule.
///
/// ```yaml
/// network:
///   topology: star         # required: star | mesh | ring | tree | random |
///                          # small_world | scale_free | geographic | regions |
///                          # custom
///   # -- generated shapes: sites node_0 .. node_{n-1} unless `names` --------
///   nodes: 8               # star, mesh, ring, tree, random, small_world,
///                          # scale_free; >= 1, at most 100,000 (2,000 for
///                          # mesh and random)
///   names: [a, b, c]       # optional; n names instead of `nodes`
///   branching: 2           # tree; >= 1 (default 2); site i's parent: (i-1)/b
///   p: 0.3                 # random (Erdos-Renyi G(n, p)); in [0, 1]. The graph
///                          # is drawn again (next derived seed) until it is
///                          # connected, at most 1000 times
///   k: 4                   # small_world: neighbours (even, 2 <= k < n);
///   beta: 0.1              #   rewiring probability in [0, 1]
///   m: 2                   # scale_free (Barabasi-Albert): links per new site
///   # -- geographic: one site per place, latency from distance ----------------
///   places: ["New York", London, {name: lab, lat: 47.4, lon: 8.5}]
///                          # a known place (network/generators.hpp:
///                          # known_places) or a name with lat/lon (degrees)
///   connect: full_mesh     # full_mesh (default) | nearest (each place to its
///   nearest: 2             #   `nearest` closest ones)
///   per_hop: 1ms           # added to each link's fibre latency (default 0)
///   # -- regions: the global shape ------------------------------------------
///   regions:
///     - name: us_east      # unique
///       nodes: 4           # sites us_east_0 .. us_east_3 (or `sites: [...]`)
///       place: New York    # or coordinates: [40.7128, -74.0060]
///       latency: 1ms       # optional: intra-region links (default
///                          # intra_region_latency)
///   intra_region_latency: 1ms  # optional (default 1ms): every pair of sites
///                          # within a region is linked with it
///   inter_region_latency:  # region pair -> latency of the link between the
///     us_east-us_west: 80ms #  regions' first sites (their gateways); every
///                          # pair of regions is linked, a pair missing here
///                          # gets the great-circle fibre latency of the
///                          # regions' coordinates (an error without them)
///   # -- custom: sites and links listed ---------------------------------------
///   sites:                 # custom only
///     - exchange           # a name, or
///     - {name: ny, place: New York, kind: exchange}  # kind: host (default) |
///     - {name: x, lat: 1.5, lon: 2}                  #   exchange | agent_group
///   # -- every topology ----------------------------------------------------
///   link:                  # default properties of every link
///     latency: normal(50ms, 10ms)  # see "Latency" below; default 0. Not
///                          # allowed with geographic and regions (their
///                          # latencies come from geography and the table)
///     bandwidth: 1000kbps  # bps, kbps, Mbps, Gbps (1000-based; decimals ok);
///                          # default 10Gbps
///     loss: 0.01           # probability in [0, 1], or a percentage "1%"
///     ordered: true        # no overtaking within a link (default true)
///   links:                 # custom: the links; otherwise: overrides of
///     - node_0-node_1      #   existing links (an unknown link is an error)
///     - {link: node_0->node_1, latency: 5ms, bandwidth: 10Mbps, loss: 0}
///     - {from: a, to: b, directed: false, latency: exponential(3ms)}
///   placement:             # optional; every place defaults to `default`
///     default: node_0      # optional; default: the first site
///     hub: node_0          # the signal hub (agents' signals)
///     oracle: node_0       # the fundamental oracle
///   disruptions:           # optional; each: a begin and an end
///     - type: congestion   # latency x multiplier, bandwidth x factor
///       links: [node_0-node_1, node_1->node_2]
///       start: 10s         # >= 0, before the scenario's duration
///       duration: 20s      # > 0; optional: without it, no end (lasts the run)
///       latency_multiplier: 3   # >= 1 (default 1)
///       bandwidth_factor: 0.5   # in (0, 1] (default 1), or
///                               # bandwidth_reduction: 0.5, in [0, 1)
///     - {type: link_failure, links: [node_2-node_5], start: 5s, duration: 10s}
///     - {type: node_failure, site: node_3, start: 5s, duration: 10s}
///                          # or sites: [node_3, node_4]
///     - {type: regional_outage, region: us_west, start: 5s, duration: 10s}
///                          # regions topology: the region's sites go down;
///                          # with latency_multiplier (and/or bandwidth_factor)
///                          # they stay up and every link touching the region
///                          # is congested instead
///     - {type: partition, groups: [[node_0, node_1], [node_2, us_west]],
///        start: 5s, duration: 10s}
///                          # every link between two different groups goes
///                          # down (members: sites or region names; groups
///                          # disjoint); sites in no group keep their links
/// ```
///
/// ## Deployment
///
/// Spreads a real-time run over `marketsim node` processes (one per host;
/// `marketsim run --hosts`). The host that starts the run keeps the signal
/// hub, the fundamental oracle and the market-data recorder, and everything
/// the deployment does not place elsewhere.
///
/// ```yaml
/// deployment:
///   hosts:                 # optional; name: host:port of a `marketsim node`;
///     a: 127.0.0.1:7001    #   `--hosts a=host:port,...` adds or replaces
///     b: 127.0.0.1:7002
///   shards: {0: a}         # optional; shard index (from 0) -> host name
///   agents: {2: b}         # optional; agent group index (from 0) -> host name
///   on_host_failure: stop  # optional; stop (default): end the run, exit
///                          # non-zero | continue: go on with what is left
///   connect_timeout: 5s    # optional; connecting and each setup step, > 0
/// ```
///
/// ## Settlement
///
/// Every trade of the run is settled on a replicated ledger: a group of Raft
/// validators (consensus/raft/validator.hpp) whose state machine is the
/// settlement ledger (cash and positions per owner). A feeder subscribed to
/// every shard's trades submits each trade, through a client that finds the
/// leader and retries, and the validators commit them in batches. The run
/// reports commit latency, throughput, the failover after a leader crash,
/// and whether every replica ends with the same ledger, equal to the ledger
/// of the run's own trade tape.
///
/// ```yaml
/// settlement:
///   protocol: raft         # optional; raft (the only one yet)
///   validators: 3          # optional; 1 .. 15 (default 3)
///   election_timeout: [150ms, 300ms]  # optional; randomized in [min, max)
///   heartbeat: 50ms        # optional; < the minimum election timeout
///   batch: 64              # optional; trades per message to the leader, >= 1
///   batch_window: 2ms      # optional; how long a batch may wait to fill, >= 0
///   crash_leader_at: 5s    # optional; kill the leader then (< duration)
///   restart_after: 2s      # optional, with crash_leader_at: bring it back
///   persist: true          # optional; logs on disk under <output>/raft/
///                          # (default false: in memory, a restart is empty)
///   snapshot_every: 1000   # optional; applied entries between snapshots (0: never)
/// ```
///
/// With `protocol: streamlet` the trades are transactions of Streamlet
/// blocks (consensus/bft/streamlet_validator.hpp: signed proposals and
/// votes, Ed25519) and each honest validator settles a trade when it
/// finalizes the block that holds it. Trades are signed by their shard in
/// batches (an Ed25519 key per shard from the scenario seed, held by the
/// shard's feeder; a batch is a run of the shard's consecutive trades, one
/// signature, one transaction): the feeder sends a batch when it holds
/// `trade_batch` trades, or `trade_batch_window` after its first trade, or
/// when the next trade's number does not follow. A block with a batch no
/// shard signed, or with a trade its chain settled already (a batch whose
/// range overlaps one on the chain), is invalid, gets no honest vote and
/// convicts its leader (consensus/bft/streamlet_trades.hpp). Some
/// validators may be Byzantine; `fake_txs` leaders insert a batch of trades
/// no shard executed, `double_spend` leaders settle trades of their chain
/// again (a settled batch replayed, or, colluding with the shard, a newly
/// signed batch overlapping a settled one):
///
/// ```yaml
/// settlement:
///   protocol: streamlet
///   validators: 4          # ids 0 .. n-1; safe while fewer than n/3 misbehave
///   epoch: 100ms           # optional; epoch duration (default 100ms)
///   max_block_txs: 1000    # optional; a leader's batch (of trade batches), >= 1
///   trade_batch: 256       # optional; trades per shard-signed batch, 1 .. 65536
///   trade_batch_window: 10ms  # optional; how long a batch may wait to fill, >= 0
///                          # (0: every trade is sent at once, alone)
///   byzantine: {3: equivocate}  # optional; id -> crash | silent | equivocate |
///                          # vote_invalid | forge | selective_delay | fake_txs |
///                          # double_spend
/// ```
///
/// The run then reports finality latency (submission to the last honest
/// validator's finalization), the misbehaviour proved with evidence, and
/// whether every honest validator's ledger equals the tape's. The Raft-only
/// keys (election_timeout, heartbeat, batch, batch_window, crash_leader_at,
/// restart_after, persist, snapshot_every) are refused with streamlet, and
/// the streamlet-only ones (epoch, max_block_txs, trade_batch,
/// trade_batch_window, byzantine) with raft.
///
/// The validators run next to the recorder, outside any `network:` (they
/// settle, they do not trade); settlement does not combine with
/// `deployment:` yet.
///
/// ## Consensus prices
///
/// Streamlet price validators agree every epoch on a reference price of one
/// symbol from simulated feeds (a random walk from the symbol's reference
/// price, several noisy sources; the epoch's leader proposes their median,
/// the others check it against their own view). Each finalized price moves
/// the band of the shard that trades the symbol (its `price_band_bps`,
/// required): orders priced outside it are rejected with
/// outside_price_band.
///
/// ```yaml
/// price_consensus:
///   symbol: ACME           # required; its shard must have price_band_bps
///   validators: 4          # optional; 1 .. 31 (default 4)
///   epoch: 500ms           # optional; epoch duration
///   sources: 5             # optional; feed sources, >= 1
///   noise_bps: 5           # optional; a source's noise around the walk
///   step_bps: 10           # optional; the walk's step per epoch
///   min_sources: 3         # optional; valid sources a proposal needs
///   byzantine: {3: equivocate}  # optional; id -> a behaviour as in
///                          # settlement, or shift_price (a leader 3% off)
/// ```
///
/// ## Trading halt
///
/// A halt decided by Byzantine broadcast (Dolev-Strong, any f < n): at `at`
/// the sender validator broadcasts the halt; after f+1 rounds every honest
/// validator has the same output, and if it is the halt every shard stops
/// taking new orders and modifies (rejected with trading_halted; cancels
/// still work). An equivocating or silent sender leaves everyone on the
/// default: no halt. Each validator is an actor of its own
/// (consensus/bft/dolev_strong_validator.hpp); Byzantine relays forge
/// signatures (refused, with evidence that convicts them, listed in the
/// report) or relay selectively, and change no decision.
///
/// With a `network:` section the validators sit at the shards' sites
/// (validator i at shard i mod shards) and their chains travel the network:
/// `round` must exceed the latency between those sites, or chains arrive
/// late, are refused, and the validators may fall back to the default or
/// even disagree (the report says so).
///
/// ```yaml
/// halt:
///   at: 5s                 # required; < duration
///   validators: 4          # optional; n, 2 .. 31
///   faulty: 1              # optional; f < n (f + 1 rounds)
///   round: 20ms            # optional; a round's length
///   reason: circuit breaker  # optional
///   sender: honest         # optional; honest | equivocate | silent (validator 0)
///   byzantine: {3: forge_relay}  # optional; id -> silent | equivocate |
///                          # forge_relay | selective_relay; with the sender,
///                          # at most `faulty`
/// ```
///
/// Without `deployment:`, `--hosts` puts every shard on the first host and
/// the agent groups round-robin on the others (on the first if alone).
/// Host names are words of letters, digits, `_` and `-`; every name used
/// needs an address (in `hosts:` or `--hosts`). Virtual time runs in one
/// process: a run across hosts needs `clock: real` (or `--clock real`), and
/// `deployment:` does not combine with `network:`.
///
/// Links: `a-b` names both directions, `a->b` one (site names containing `-`
/// are fine as long as exactly one split names two sites). `{from, to}` is
/// `from-to`, or `from->to` with `directed: true`. A link failure always cuts
/// both directions, so it takes `a-b` links only.
///
/// Latency: a duration (`5ms`: constant), a text as network/latency.hpp's
/// parse_latency reads (`normal(50ms, 10ms)`, `exponential(30ms)`,
/// `pareto(10ms, 2.5)`, `cubic(1ms, 0.5, 1ms)`, `cubic(1ms, 0.5, 1ms, 0.2)`),
/// or a map: `{distribution: normal, mean: 50ms, std: 10ms}`,
/// `{distribution: exponential, mean: 30ms}`, `{distribution: constant,
/// value: 5ms}`, `{distribution: pareto, scale: 10ms, shape: 2.5}`,
/// `{distribution: cubic, min: 1ms, a: 0.5, scale: 1ms, clip: 0.1}`.
/// Routing uses each link's mean latency (a Pareto without a mean: its scale).
///
/// Placement: a shard's or group's `site`, else placement.default, else the
/// first site. A group with `access` sits at its own access site (kind
/// agent_group) linked to its `site`; app/network_plan.hpp's group_sites
/// names the access site. Sites holding a shard become kind exchange.
///
/// The network's seed is derive_seed(seed, network_seed_tag); random shapes
/// draw from it. The network must be connected (every site reaches every
/// other) before any disruption.
///
/// Disruptions become events at absolute times (start and start + duration);
/// at equal times ends come before begins, otherwise file order. Overlapping
/// disruptions are allowed and not merged: each end restores the normal state
/// (multiplier 1, factor 1, up) of what its disruption touched, even if
/// another disruption still covers it.
///
/// Unknown keys are errors, never ignored. Every error is `file:line: what`,
/// the line being that of the offending key or value.
///
/// Strategy parameters are checked against the strategy's declaration
/// (strategies/params.hpp) and its own `make` (combinations). Two are filled
/// in from the group when the strategy declares them and the file does not
/// give them: `symbols` (the group's `symbols`, comma-separated; giving both
/// is an error) and `reference_price` (the reference price of the group's
/// symbols, when they all share one). A strategy's `symbols` parameter given
/// in `params` also sets the symbols the agents trade.

#include "network/latency.hpp"
#include "network/topology.hpp"
#include "strategies/params.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::strategies {
class strategy_registry;
} // namespace marketsim::strategies

namespace marketsim::market {
struct account_params;
struct fundamental_params;
} // namespace marketsim::market

namespace marketsim::app {

/// A bad scenario file. what() is `file:line: what is wrong` (`file: ...`
/// when there is no line, e.g. a file that cannot be opened).
class scenario_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Which clock drives a run.
enum class clock_mode {
  virtual_time, ///< deterministic discrete-event loop, one thread
  real_time,    ///< CAF's scheduler, wall-clock timers
};

std::string_view to_string(clock_mode x);

/// Parses `virtual` or `real`; throws std::invalid_argument otherwise.
clock_mode parse_clock(std::string_view text);

struct symbol_config {
  std::string name;
  std::int64_t tick_size = 1;
  std::int64_t lot_size = 1;
  std::int64_t reference_price = 0;
  std::int64_t max_order_qty = 1'000'000'000;

  friend bool operator==(const symbol_config&, const symbol_config&) = default;
};

/// A site named in the file, with the line of the name (for errors found
/// when the network is built).
struct site_ref {
  std::string name; ///< "" when not given
  int line = 0;

  friend bool operator==(const site_ref&, const site_ref&) = default;
};

struct shard_config {
  /// Names of the symbols this shard trades (each in `scenario::symbols`).
  std::vector<std::string> symbols;
  site_ref site; ///< with `network:` only
  /// market::shard_params::price_band_bps; 0 = no band.
  std::int64_t price_band_bps = 0;

  friend bool operator==(const shard_config&, const shard_config&) = default;
};

/// One symbol's hidden value process (see market/fundamental.hpp).
struct fundamental_config {
  std::string symbol; ///< one of `scenario::symbols`
  double mean = 0;    ///< price units, > 0
  double kappa = 0;   ///< per second, >= 0
  double sigma = 0;   ///< price units per sqrt(second), >= 0

  friend bool operator==(const fundamental_config&, const fundamental_config&) = default;
};

struct fundamentals_config {
  /// "" or the name of a preset (`three_stocks`).
  std::string preset;
  /// Without a preset: the processes, in the order of the correlation rows.
  std::vector<fundamental_config> symbols;
  /// Empty: independent symbols.
  std::vector<std::vector<double>> correlation;
  std::chrono::nanoseconds period{std::chrono::seconds{1}};

  friend bool operator==(const fundamentals_config&,
                         const fundamentals_config&) = default;
};

struct account_config {
  std::int64_t cash = 0;
  /// Starting positions by symbol name (units, negative = short).
  std::map<std::string, std::int64_t> positions;
  std::int32_t maker_bps = 0;
  std::int32_t taker_bps = 0;
  bool allow_short = false;
  std::int64_t max_short = 0;
  bool allow_margin = false;
  std::int64_t max_borrow = 0;

  friend bool operator==(const account_config&, const account_config&) = default;
};

// -- the network section (see "Network" above) -------------------------------------

/// Link properties as written; unset ones come from the level above
/// (a link's override, then network.link, then the built-in default).
struct link_config {
  std::optional<network::latency_distribution> latency;
  std::optional<std::int64_t> bandwidth_bps;
  std::optional<double> loss_rate;
  std::optional<bool> ordered;

  friend bool operator==(const link_config&, const link_config&) = default;
};

/// `a-b` (both directions) or `a->b` (directed).
struct link_ref {
  std::string from;
  std::string to;
  bool directed = false;
  /// The text as written, e.g. "node_0-node_1" ("" for {from, to}).
  std::string text;
  int line = 0;

  friend bool operator==(const link_ref&, const link_ref&) = default;
};

struct link_entry {
  link_ref link;
  link_config props;

  friend bool operator==(const link_entry&, const link_entry&) = default;
};

struct site_config {
  std::string name;
  network::site_kind kind = network::site_kind::host;
  bool has_position = false;
  double lat = 0; ///< degrees
  double lon = 0; ///< degrees
  int line = 0;

  friend bool operator==(const site_config&, const site_config&) = default;
};

struct region_config {
  std::string name;
  std::vector<std::string> sites; ///< names, first = gateway
  bool has_position = false;
  double lat = 0;
  double lon = 0;
  std::optional<network::latency_distribution> latency; ///< intra-region
  int line = 0;

  friend bool operator==(const region_config&, const region_config&) = default;
};

struct region_latency {
  std::string a;
  std::string b;
  network::latency_distribution latency;
  int line = 0;

  friend bool operator==(const region_latency&, const region_latency&) = default;
};

/// The generated shapes come first (star .. scale_free): the parser relies
/// on that order.
enum class topology_kind {
  star,
  mesh,
  ring,
  tree,
  random,
  small_world,
  scale_free,
  geographic,
  regions,
  custom
};

std::string_view to_string(topology_kind x);

struct topology_config {
  topology_kind kind = topology_kind::star;
  std::size_t nodes = 0;
  std::vector<std::string> names; ///< generated shapes: given names, or empty
  std::size_t branching = 2;      ///< tree
  double p = 0;                   ///< random
  std::size_t k = 0;              ///< small_world
  double beta = 0;                ///< small_world
  std::size_t m = 0;              ///< scale_free
  /// geographic: the places (with positions); custom: the sites.
  std::vector<site_config> sites;
  bool nearest = false;      ///< geographic: connect: nearest
  std::size_t nearest_k = 2; ///< geographic: nearest
  std::chrono::nanoseconds per_hop{0};
  std::vector<region_config> regions;
  network::latency_distribution intra_region_latency =
      network::latency::constant{1'000'000};
  std::vector<region_latency> inter_region_latency;
  int line = 0; ///< of `topology`

  friend bool operator==(const topology_config&, const topology_config&) = default;
};

enum class disruption_kind {
  congestion,
  link_failure,
  node_failure,
  regional_outage,
  partition
};

std::string_view to_string(disruption_kind x);

struct disruption_config {
  disruption_kind kind = disruption_kind::congestion;
  std::chrono::nanoseconds start{0};
  /// Empty: no end, the disruption lasts the run.
  std::optional<std::chrono::nanoseconds> duration;
  std::vector<link_ref> links;               ///< congestion, link_failure
  std::vector<site_ref> sites;               ///< node_failure
  site_ref region;                           ///< regional_outage
  std::vector<std::vector<site_ref>> groups; ///< partition: sites or regions
  double latency_multiplier = 1;             ///< congestion, regional_outage
  double bandwidth_factor = 1;               ///< congestion, regional_outage
  /// regional_outage: true when it congests (a multiplier or factor given)
  /// rather than takes the region's sites down.
  bool degrade = false;
  int line = 0;

  friend bool operator==(const disruption_config&, const disruption_config&) = default;
};

struct placement_config {
  site_ref fallback; ///< `default`
  site_ref hub;
  site_ref oracle;

  friend bool operator==(const placement_config&, const placement_config&) = default;
};

struct network_config {
  topology_config topology;
  link_config link; ///< defaults of every link
  std::vector<link_entry> links;
  placement_config placement;
  std::vector<disruption_config> disruptions;
  int line = 0; ///< of `network`

  friend bool operator==(const network_config&, const network_config&) = default;
};

/// An agent group's own site behind an access link.
struct access_config {
  std::string name; ///< the access site's name
  link_config link;
  int line = 0;

  friend bool operator==(const access_config&, const access_config&) = default;
};

/// `count` agents running the same strategy with the same parameters (each
/// with its own random stream).
struct agent_group_config {
  std::uint32_t count = 0;
  std::string strategy;
  /// Checked by the strategy's declaration: complete, defaults filled in.
  strategies::param_values params;
  /// Names of the symbols the group trades (each in `scenario::symbols`).
  std::vector<std::string> symbols;
  std::chrono::nanoseconds start{0};
  account_config account;
  site_ref site; ///< with `network:` only
  /// The group's access link (an agent network profile), with `network:` only.
  std::optional<access_config> access;
  /// Line of the group in the file (for errors found later, e.g. at spawn).
  int line = 0;
};

enum class scheduler_policy { stealing, sharing };

std::string_view to_string(scheduler_policy x);

// -- the deployment section (see "Deployment" above) ---------------------------------

/// What a run across hosts does when it loses one.
enum class host_failure_policy {
  stop,     ///< end the run: results of what is left, a non-zero exit
  continue_ ///< go on with the actors of the other hosts
};

std::string_view to_string(host_failure_policy x);

/// A `marketsim node` to run on: `name=host:port` on the command line,
/// `name: host:port` in `deployment.hosts`.
struct host_endpoint {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  int line = 0; ///< 0 when from the command line

  friend bool operator==(const host_endpoint&, const host_endpoint&) = default;
};

/// Parses `host:port` (IPv6: `[::1]:port`) into host and port; `name`
/// stays empty. Throws std::invalid_argument.
host_endpoint parse_host_address(std::string_view text);

/// Parses a `--hosts` list: `name=host:port,...` (an entry without `name=`
/// is named by its address). Throws std::invalid_argument.
std::vector<host_endpoint> parse_host_list(std::string_view text);

struct deployment_config {
  std::vector<host_endpoint> hosts;          ///< in file order
  std::map<std::size_t, std::string> shards; ///< shard index -> host name
  std::map<std::size_t, std::string> agents; ///< group index -> host name
  host_failure_policy on_host_failure = host_failure_policy::stop;
  std::chrono::nanoseconds connect_timeout{std::chrono::seconds{5}};
  int line = 0; ///< of `deployment`

  friend bool operator==(const deployment_config&, const deployment_config&) = default;
};

/// The `halt:` section (see "Trading halt" above).
struct halt_config {
  std::chrono::nanoseconds at{0};
  std::uint32_t validators = 4;
  std::uint32_t faulty = 1;
  std::chrono::nanoseconds round{std::chrono::milliseconds{20}};
  std::string reason = "halt decided by the validators";
  std::uint32_t sender_id = 0;
  std::string sender = "honest"; ///< honest | equivocate | silent
  /// Byzantine relays: validator id -> silent | equivocate | forge_relay |
  /// selective_relay (dolev_strong_byzantine.hpp); never the sender.
  std::map<std::uint32_t, std::string> byzantine;
  int line = 0;

  friend bool operator==(const halt_config&, const halt_config&) = default;
};

/// The `price_consensus:` section (see "Consensus prices" above).
struct price_consensus_config {
  std::string symbol;
  std::uint32_t validators = 4;
  std::chrono::nanoseconds epoch{std::chrono::milliseconds{500}};
  std::uint32_t sources = 5;
  std::int64_t noise_bps = 5;
  std::int64_t step_bps = 10;
  std::uint32_t min_sources = 3;
  std::map<std::uint32_t, std::string> byzantine; ///< validator id (from 0) -> behaviour
  int line = 0;

  friend bool operator==(const price_consensus_config&, const price_consensus_config&) = default;
};

enum class settlement_protocol { raft, streamlet };

struct settlement_config {
  settlement_protocol protocol = settlement_protocol::raft;
  std::uint32_t validators = 3;
  std::chrono::nanoseconds election_timeout_min{std::chrono::milliseconds{150}};
  std::chrono::nanoseconds election_timeout_max{std::chrono::milliseconds{300}};
  std::chrono::nanoseconds heartbeat{std::chrono::milliseconds{50}};
  std::uint32_t batch = 64;
  std::chrono::nanoseconds batch_window{std::chrono::milliseconds{2}};
  std::optional<std::chrono::nanoseconds> crash_leader_at;
  std::optional<std::chrono::nanoseconds> restart_after;
  bool persist = false;
  std::uint64_t snapshot_every = 0;
  // -- streamlet
  std::chrono::nanoseconds epoch{std::chrono::milliseconds{100}};
  std::size_t max_block_txs = 1000;
  std::uint32_t trade_batch = 256; ///< trades per shard-signed batch
  std::chrono::nanoseconds trade_batch_window{std::chrono::milliseconds{10}};
  std::map<std::uint32_t, std::string> byzantine; ///< validator id (from 0) -> behaviour
  int line = 0; ///< of `settlement`

  friend bool operator==(const settlement_config&, const settlement_config&) = default;
};

struct scheduler_config {
  std::uint32_t threads = 0; ///< 0: one per core
  scheduler_policy policy = scheduler_policy::sharing;

  friend bool operator==(const scheduler_config&, const scheduler_config&) = default;
};

struct scenario {
  std::string name;
  std::string file; ///< where it was loaded from
  clock_mode clock = clock_mode::virtual_time;
  std::uint64_t seed = 0;
  std::chrono::nanoseconds duration{0};
  std::string output;
  std::chrono::nanoseconds l1_sample{std::chrono::milliseconds{100}};
  scheduler_config scheduler;
  std::vector<symbol_config> symbols;
  std::vector<shard_config> shards;
  /// True when the file has `fundamentals:`.
  bool has_fundamentals = false;
  fundamentals_config fundamentals;
  std::vector<agent_group_config> agents;
  /// The `network:` section; none: messages go straight to their receiver.
  std::optional<network_config> network;
  /// The `deployment:` section; none: every actor in one process unless the
  /// command line gives hosts.
  std::optional<deployment_config> deployment;
  /// The `settlement:` section; none: trades are not settled.
  std::optional<settlement_config> settlement;
  /// The `price_consensus:` section; none: no consensus prices.
  std::optional<price_consensus_config> price_consensus;
  /// The `halt:` section; none: no trading halt.
  std::optional<halt_config> halt;

  /// Index of `name` in `symbols`; throws std::out_of_range when absent
  /// (cannot happen for a validated scenario's own names).
  std::size_t symbol_index(std::string_view name) const;
  /// Total number of agents over all groups.
  std::uint64_t agent_count() const;
};

/// The fundamental processes of a scenario with `fundamentals:`, symbols
/// named as in the scenario, seeded with `seed`. Throws std::invalid_argument
/// when the scenario has none.
market::fundamental_params make_fundamental_params(const scenario& sc,
                                                   std::uint64_t seed);

/// An agent's starting account: symbol names resolved to ids, starting
/// positions at a cost of their symbol's reference price.
market::account_params make_account_params(const scenario& sc, const account_config& a);

/// Reads and validates a scenario file against the strategies of `registry`;
/// throws scenario_error.
scenario load_scenario(const std::string& path,
                       const strategies::strategy_registry& registry);

/// Parses and validates YAML text; `file` names it in error messages and
/// gives the default scenario name (its stem). Throws scenario_error.
scenario parse_scenario(std::string_view yaml, const std::string& file,
                        const strategies::strategy_registry& registry);

/// Parses `1000kbps`, `10Mbps`, `1.5Gbps`, `800bps` (1000-based; the result
/// rounded to the bit/s, >= 1); throws std::invalid_argument.
std::int64_t parse_bandwidth(std::string_view text);

/// Parses a link latency given as text: a duration (`5ms`, constant) or a
/// distribution as network::parse_latency reads; throws std::invalid_argument.
network::latency_distribution parse_link_latency(std::string_view text);

/// Parses `5s`, `500ms`, `250us`, `100ns`, `2m`; throws std::invalid_argument.
std::chrono::nanoseconds parse_duration(std::string_view text);

/// The largest unit that divides `d` exactly: 1500000000 ns -> `1500ms`,
/// 2000000000 -> `2s`; parse_duration reads it back.
std::string format_duration(std::chrono::nanoseconds d);

} // namespace marketsim::app
