#include "consensus/bft/streamlet_node.hpp"

#include "actors/consensus_messages.hpp"
#include "consensus/bft/streamlet_load.hpp"
#include "consensus/bft/streamlet_trades.hpp"
#include "consensus/crypto/key_file.hpp"
#include "consensus/crypto/roster_file.hpp"
#include "distributed/peer_links.hpp"
#include "distributed/process.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <filesystem>
#include <ostream>
#include <stdexcept>

namespace marketsim::consensus::bft::streamlet {

namespace {

using std::chrono::milliseconds;

/// Now on the system (wall) clock, in ns since 1970.
std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<leader_rule> leader_rule_of(const std::string& name) {
  if (name == "hash")
    return leader_rule::hash;
  if (name == "round-robin")
    return leader_rule::round_robin;
  return std::nullopt;
}

/// The group of a validator: its peers, its keys and the roster, checked
/// against each other. Throws std::invalid_argument with one line.
struct group_setup {
  std::vector<distributed::peer_address> peers;
  std::uint32_t n = 0;
  std::optional<crypto::key_pair> keys;
  std::vector<crypto::public_key> roster; ///< by index (id - 1)
  std::string keys_from;                  ///< for the start line
};

group_setup read_group(const streamlet_node_options& o) {
  group_setup g;
  g.peers = distributed::parse_peer_list(o.peers);
  g.n = static_cast<std::uint32_t>(g.peers.size());
  for (const auto& p : g.peers)
    if (p.id > g.n)
      throw std::invalid_argument(fmt::format(
          "--peers: Streamlet ids must be 1..n, the list has {} validators and id {}", g.n,
          p.id));
  if (o.id == 0 || o.id > g.n)
    throw std::invalid_argument(
        fmt::format("--id {} is not in --peers (ids 1..{})", o.id, g.n));
  const bool from_files = !o.key_file.empty() || !o.roster_file.empty();
  if (from_files == o.key_seed.has_value())
    throw std::invalid_argument(
        "give either --key FILE and --roster FILE, or --key-seed S (tests only)");
  if (o.key_seed) {
    for (std::uint32_t k = 0; k < g.n; ++k)
      g.roster.push_back(crypto::key_pair::derive(*o.key_seed, k).public_part());
    g.keys = crypto::key_pair::derive(*o.key_seed, o.id - 1);
    g.keys_from = fmt::format("derived from seed {}", *o.key_seed);
    return g;
  }
  if (o.key_file.empty() || o.roster_file.empty())
    throw std::invalid_argument("--key FILE and --roster FILE go together");
  for (const auto& file : {o.key_file, o.roster_file})
    if (std::filesystem::is_directory(file))
      throw std::invalid_argument(file + ": a directory, not a file");
  auto roster = crypto::load_roster(o.roster_file);
  if (!roster)
    throw std::invalid_argument(roster.message);
  for (std::uint32_t id = 1; id <= g.n; ++id) {
    auto it = roster.keys.find(id);
    if (it == roster.keys.end())
      throw std::invalid_argument(
          fmt::format("{}: validator {} of --peers is not in the roster", o.roster_file, id));
    g.roster.push_back(it->second);
  }
  if (roster.keys.size() != g.n)
    throw std::invalid_argument(fmt::format(
        "{}: {} validators, but --peers lists {}", o.roster_file, roster.keys.size(), g.n));
  auto keys = crypto::load_key_pair(o.key_file);
  if (!keys)
    throw std::invalid_argument(keys.message);
  if (keys.value->public_part() != g.roster[o.id - 1])
    throw std::invalid_argument(fmt::format(
        "{}: this key is not validator {}'s in {}", o.key_file, o.id, o.roster_file));
  g.keys = *keys.value;
  g.keys_from = o.key_file;
  return g;
}

/// The validator's parameters, checked. Throws std::invalid_argument.
streamlet_validator_params validator_params_of(const streamlet_node_options& o,
                                               group_setup& g) {
  if (o.epoch_ms < 10 || o.epoch_ms > 3'600'000)
    throw std::invalid_argument("--epoch-ms must be in 10..3600000");
  if (o.genesis_ms < 0)
    throw std::invalid_argument("--genesis-ms must not be negative");
  if (o.max_block_txs == 0)
    throw std::invalid_argument("--max-block-txs must be at least 1");
  auto rule = leader_rule_of(o.leader);
  if (!rule)
    throw std::invalid_argument("--leader: want hash or round-robin, got '" + o.leader + "'");
  auto kind = behaviour_from_string(o.behaviour);
  if (!kind)
    throw std::invalid_argument("--behaviour: unknown behaviour '" + o.behaviour + "'");
  if (*kind == behaviour_kind::fake_txs || *kind == behaviour_kind::double_spend)
    throw std::invalid_argument("--behaviour " + o.behaviour +
                                " needs coin transfers, which streamlet-validator does not run");
  if (o.crash_after_ms != 0 && *kind != behaviour_kind::crash)
    throw std::invalid_argument("--crash-after-ms goes with --behaviour crash");
  if (o.load && !(*o.load >= 0 && *o.load <= 1e8))
    throw std::invalid_argument("--load must be in 0..1e8 transactions/s");
  if (o.tx_bytes > 1'000'000)
    throw std::invalid_argument("--tx-bytes must be at most 1000000");
  if (o.trades_per_batch > max_batch_trades)
    throw std::invalid_argument(
        fmt::format("--trades must be at most {}", max_batch_trades));
  streamlet_validator_params p;
  p.protocol.n = g.n;
  p.protocol.epoch_duration = o.epoch_ms * 1'000'000;
  p.protocol.leader = *rule;
  p.protocol.max_block_txs = o.max_block_txs;
  p.protocol.echo = o.echo;
  p.id = o.id - 1;
  p.keys = *g.keys;
  p.roster = g.roster;
  p.behaviour = *kind;
  if (o.trades_per_batch > 0)
    p.payload = trade_rules(load_shard_keys(g.n));
  // Epoch 1 starts at genesis_ms (unix time); the actor clock is steady:
  // origin = steady now - (unix now - genesis).
  const auto since_genesis = unix_now_ns() - o.genesis_ms * 1'000'000;
  p.origin_ns = steady_now_ns() - since_genesis;
  // Started after genesis: possibly a restart, with nothing kept on disk.
  p.rejoin = since_genesis > 0;
  if (*kind == behaviour_kind::crash)
    p.behaviour_opts.crash_at = since_genesis + o.crash_after_ms * 1'000'000;
  return p;
}

// -- the gate: what the process publishes -----------------------------------------------

using gate_open_atom = caf::atom_constant<caf::atom("gateopen")>;

struct gate_state {
  static inline const char* name = "marketsim.streamlet_gate";
  caf::actor validator;
  std::map<std::uint32_t, caf::actor> peers; ///< by index; null while lost
  bool open = false;
};

/// Stands in front of the validator until genesis. A validator starts its
/// epochs at its first raft_peers, so the gate keeps the peers' links (the
/// keepers' raft_peers) until genesis and then hands the validator every
/// peer known so far; from then on it forwards them as they come. Peers'
/// messages go straight through: the validator itself holds what arrives
/// before it starts (streamlet_validator.hpp). Published instead of the
/// validator, it also rejects unexpected messages (transport.hpp).
caf::behavior streamlet_gate(caf::stateful_actor<gate_state>* self, caf::actor validator,
                             std::chrono::nanoseconds until_genesis) {
  self->state.validator = std::move(validator);
  distributed::reject_unexpected(self);
  self->delayed_send(self, std::max(until_genesis, std::chrono::nanoseconds{0}),
                     gate_open_atom::value);
  return {
      [self](actors::raft_peers& p) {
        auto& st = self->state;
        if (p.ids.size() != p.handles.size())
          return;
        for (std::size_t k = 0; k < p.ids.size(); ++k)
          st.peers[p.ids[k]] = p.handles[k];
        if (st.open)
          self->send(st.validator, std::move(p));
      },
      [self](actors::streamlet_wire& w) { self->send(self->state.validator, std::move(w)); },
      [self](actors::streamlet_sync& m) { self->send(self->state.validator, std::move(m)); },
      [self](actors::streamlet_submit& s) { self->send(self->state.validator, std::move(s)); },
      [self](gate_open_atom) {
        auto& st = self->state;
        actors::raft_peers all; // possibly empty: the validator starts either way
        for (const auto& [peer, h] : st.peers) {
          all.ids.push_back(peer);
          all.handles.push_back(h);
        }
        st.open = true;
        self->send(st.validator, std::move(all));
      },
  };
}

std::string evidence_list(const finality_meter::summary& s) {
  std::string text;
  for (const auto& [what, count] : s.evidence_by)
    text += fmt::format("{}{} x{}", text.empty() ? "" : ", ", what, count);
  return text.empty() ? "none" : text;
}

} // namespace

int run_streamlet_node(const streamlet_node_options& o, std::ostream& out,
                       std::ostream& err) {
  const std::string who = fmt::format("marketsim streamlet-validator {}", o.id);
  group_setup group;
  streamlet_validator_params params;
  try {
    group = read_group(o);
    params = validator_params_of(o, group);
  } catch (const std::exception& e) {
    err << who << ": " << e.what() << '\n';
    return 2;
  }
  if (o.key_seed)
    spdlog::warn("validator {}: keys derived from seed {}: anyone who knows it can sign as "
                 "any validator (tests only; use --key and --roster)",
                 o.id, *o.key_seed);
  if (o.trades_per_batch > 0)
    spdlog::warn(
        "validator {}: trades mode: the shards' keys are derived from a fixed seed "
        "(benchmarks only)",
        o.id);
  const auto& proto = params.protocol;
  const auto behaviour = params.behaviour;

  // The meter outlives the actor system, whose destructor waits for the
  // validator that reports into it.
  auto meter = std::make_shared<finality_meter>(params.id, proto, params.id, 1);
  distributed::stop_signals stop; // before the actor system (see process.hpp)
  distributed::process_config cfg{o.threads, o.security};
  if (!cfg.usable(who, err))
    return 2;
  caf::actor_system sys{cfg};
  params.observer = meter->observer(true);
  const auto origin_ns = params.origin_ns;
  auto validator = spawn_streamlet_validator(sys, std::move(params));
  const auto until_genesis = std::chrono::nanoseconds{o.genesis_ms * 1'000'000 - unix_now_ns()};
  auto gate = sys.spawn(streamlet_gate, validator, until_genesis);
  auto port = distributed::publish_member(sys, gate, o.port, o.bind, o.security, who, err);
  if (!port) {
    caf::anon_send_exit(validator, caf::exit_reason::user_shutdown);
    return 2;
  }
  auto core_now = [origin_ns] { return steady_now_ns() - origin_ns; };
  const auto first_epoch = epoch_at(proto, core_now());
  out << fmt::format("{} listening on {}:{} (n {}, f {}, epoch {} ms from unix ms {}, now "
                     "epoch {}, leader {}, echo {}, behaviour {}, keys {})\n",
                     who, o.bind.empty() ? "*" : o.bind, *port, group.n, (group.n - 1) / 3,
                     o.epoch_ms, o.genesis_ms, first_epoch, o.leader, o.echo ? "on" : "off",
                     to_string(behaviour), group.keys_from)
      << std::flush;

  // The keepers report to the gate, which starts the validator at genesis.
  std::vector<caf::actor> helpers{gate};
  for (const auto& p : group.peers)
    if (distributed::should_connect(o.id, p.id, o.security))
      helpers.push_back(distributed::spawn_peer_link(
          sys, {fmt::format("validator {}", o.id), fmt::format("validator {}", p.id), p,
                p.id - 1, o.id - 1, gate, o.security.tls, o.security}));
  auto counters = std::make_shared<load_counters>();
  if (o.load) {
    load_params lp;
    lp.origin = o.id - 1;
    lp.rate = *o.load;
    lp.window = o.load_window > 0 ? o.load_window
                                  : 3 * o.max_block_txs *
                                        std::max<std::uint64_t>(o.trades_per_batch, 1);
    lp.tx_bytes = o.tx_bytes;
    lp.start_in = until_genesis;
    lp.trades_per_batch = o.trades_per_batch;
    if (o.trades_per_batch > 0)
      lp.shard_key = load_shard_key(o.id - 1);
    helpers.push_back(spawn_load_driver(sys, validator, lp, meter, counters));
  }

  // Until a signal or the last epoch: print what the validator reports.
  const auto c0 = std::clock();
  const auto last_epoch = o.epochs > 0 ? first_epoch + o.epochs : 0;
  auto next_status = steady_now_ns() + o.status_ms * 1'000'000;
  int signal = 0;
  auto print_lines = [&] {
    for (const auto& line : meter->take_lines())
      if (o.print_blocks || line.rfind("finalized", 0) != 0)
        out << fmt::format("validator {}: {}\n", o.id, line);
    out << std::flush;
  };
  while (true) {
    signal = stop.wait_for(milliseconds{100});
    print_lines();
    const auto epoch = epoch_at(proto, core_now());
    if (o.status_ms > 0 && steady_now_ns() >= next_status) {
      next_status += o.status_ms * 1'000'000;
      auto s = meter->read();
      out << fmt::format("validator {}: status: epoch {}, finalized height {} ({} txs), "
                         "evidence {}, rejected {}, submitted {}\n",
                         o.id, epoch, s.height, s.txs, s.evidence, s.rejected,
                         counters->submitted.load())
          << std::flush;
    }
    if (signal != 0 || (last_epoch > 0 && epoch > last_epoch))
      break;
  }
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  if (signal != 0)
    spdlog::info("validator {}: stopping ({})", o.id, distributed::signal_name(signal));
  for (auto& h : helpers)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(validator, caf::exit_reason::user_shutdown);
  sys.middleman().unpublish(gate, *port);
  print_lines();

  const auto s = meter->read();
  const auto end_epoch = epoch_at(proto, core_now());
  // Sustained rate: without the first 3 and the last 3 epochs of the run.
  const auto from = first_epoch + 3;
  const auto to = end_epoch > 3 ? end_epoch - 3 : 0;
  // With trades, the rate, the submitted and own figures count trades.
  const bool trades = o.trades_per_batch > 0;
  out << fmt::format(
             "validator {}: summary: finalized height {} hash {} (epoch {}), {} txs{}, "
             "evidence {} ({}), rejected {}, malformed {}; epochs {}..{}; block "
             "latency {:.1f} ms {:.2f} epochs; sustained {:.0f} {}/s (epochs {}..{}); "
             "submitted {}, own finalized {}, own latency p50 {:.1f} ms p99 {:.1f} ms; "
             "cpu {:.2f} s\n",
             o.id, s.height, s.last_hash.empty() ? "genesis" : s.last_hash, s.last_epoch,
             s.txs, trades ? fmt::format(" ({} trades)", s.trades) : "", s.evidence,
             evidence_list(s), s.rejected, s.malformed, first_epoch, end_epoch,
             s.block_latency_ms, s.block_latency_epochs, meter->rate(from, to, trades),
             trades ? "trade" : "tx", from + 1, to, counters->submitted.load(),
             s.own_finalized, s.own_latency_p50_ms, s.own_latency_p99_ms, cpu)
      << std::flush;
  return 0;
}

// -- marketsim streamlet-keygen -----------------------------------------------------------

int run_streamlet_keygen(const streamlet_keygen_options& o, std::ostream& out,
                         std::ostream& err) {
  const std::string who = "marketsim streamlet-keygen";
  if (o.validators == 0 || o.validators > 10'000) {
    err << who << ": --validators must be in 1..10000\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) {
    err << who << ": cannot create " << o.out_dir << ": " << ec.message() << '\n';
    return 2;
  }
  crypto::roster_map roster;
  for (std::uint32_t id = 1; id <= o.validators; ++id) {
    crypto::key_seed seed;
    if (getrandom(seed.data(), seed.size(), 0) != static_cast<ssize_t>(seed.size())) {
      err << who << ": getrandom failed\n";
      return 2;
    }
    auto keys = crypto::key_pair::from_seed(seed);
    const auto file = std::filesystem::path{o.out_dir} / fmt::format("v{}.key", id);
    if (auto r = crypto::save_key_pair(file, keys); !r) {
      err << who << ": " << r.message << '\n';
      return 2;
    }
    roster[id] = keys.public_part();
  }
  const auto file = std::filesystem::path{o.out_dir} / "roster.txt";
  if (auto e = crypto::save_roster(file, roster); !e.empty()) {
    err << who << ": " << e << '\n';
    return 2;
  }
  out << fmt::format("{} key pairs in {}/v1.key .. v{}.key, roster in {}\n", o.validators,
                     o.out_dir, o.validators, file.string());
  return 0;
}

} // namespace marketsim::consensus::bft::streamlet
