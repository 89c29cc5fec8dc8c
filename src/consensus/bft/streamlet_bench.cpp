#include "consensus/bft/streamlet_bench.hpp"

#include "actors/consensus_messages.hpp"
#include "consensus/bft/streamlet_load.hpp"
#include "consensus/bft/streamlet_sim.hpp"
#include "consensus/bft/streamlet_trades.hpp"
#include "distributed/process.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include <ctime>
#include <ostream>
#include <thread>

namespace marketsim::consensus::bft::streamlet {

namespace {

/// One size's run through the actors.
struct actor_run {
  double sustained = 0;  ///< finalized tx/s (trades/s) at validator 0 over the measured epochs
  double capacity = 0;   ///< batch / epoch: what the epochs allow
  std::uint64_t txs = 0; ///< finalized at validator 0, whole run
  double wall = 0;
  double cpu = 0;
  finality_meter::summary v0;
  std::uint64_t verified = 0; ///< trade batch signatures all validators verified
  std::uint64_t cached = 0;   ///< ... and found verified already
  std::string disagreement; ///< empty when every pair agrees at common heights
};

/// Every pair of validators agrees on the block at each height both finalized.
std::string check_agreement(const std::vector<std::shared_ptr<finality_meter>>& meters) {
  std::vector<std::vector<finality_meter::block_record>> chains;
  for (const auto& m : meters)
    chains.push_back(m->blocks());
  for (std::size_t a = 1; a < chains.size(); ++a) {
    const auto common = std::min(chains[0].size(), chains[a].size());
    for (std::size_t h = 0; h < common; ++h)
      if (chains[0][h].hash != chains[a][h].hash || chains[0][h].height != h + 1)
        return fmt::format("validators 0 and {} differ at height {}", a, h + 1);
  }
  return {};
}

actor_run run_actors(const streamlet_bench_options& o, std::uint32_t n) {
  const auto per = o.trades_per_batch;
  const auto shard_keys =
      per > 0 ? load_shard_keys(n) : std::vector<crypto::public_key>{};
  auto counters = std::make_shared<signed_tx_counters>();
  // The meters outlive the actor system, whose destructor waits for the
  // validators that report into them.
  std::vector<std::shared_ptr<finality_meter>> meters;
  distributed::process_config cfg{o.threads, {}};
  caf::actor_system sys{cfg};
  streamlet_params proto;
  proto.n = n;
  proto.epoch_duration = o.epoch_ms * 1'000'000;
  proto.leader = o.leader == "hash" ? leader_rule::hash : leader_rule::round_robin;
  proto.max_block_txs = o.batch;
  proto.echo = o.echo;
  const auto origin = steady_now_ns();
  std::vector<streamlet_validator_params> ps;
  for (std::uint32_t k = 0; k < n; ++k) {
    streamlet_validator_params p;
    p.protocol = proto;
    p.id = k;
    p.keys = crypto::key_pair::derive(42, k);
    for (std::uint32_t j = 0; j < n; ++j)
      p.roster.push_back(crypto::key_pair::derive(42, j).public_part());
    p.origin_ns = origin;
    if (per > 0)
      p.payload = trade_rules(shard_keys, counters);
    meters.push_back(std::make_shared<finality_meter>(k, proto, k));
    p.observer = meters.back()->observer();
    ps.push_back(std::move(p));
  }
  auto c0 = std::clock();
  auto t0 = std::chrono::steady_clock::now();
  // A validator holds what arrives before it knows its peers, so the order
  // of introduction does not matter.
  auto handles = spawn_streamlet_group(sys, std::move(ps));
  std::vector<caf::actor> drivers;
  for (std::uint32_t k = 0; k < n; ++k) {
    load_params lp;
    lp.origin = k;
    lp.rate = o.rate / n;
    lp.window = 3 * o.batch * std::max<std::uint64_t>(per, 1);
    lp.tx_bytes = o.tx_bytes;
    lp.trades_per_batch = per;
    if (per > 0)
      lp.shard_key = load_shard_key(k);
    drivers.push_back(
        spawn_load_driver(sys, handles[k], lp, meters[k], std::make_shared<load_counters>()));
  }
  const auto total_epochs = 3 + o.epochs + 3;
  std::this_thread::sleep_for(std::chrono::milliseconds{o.epoch_ms} *
                              static_cast<std::int64_t>(total_epochs));
  for (auto& h : drivers)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  for (auto& h : handles)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  actor_run r;
  r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  r.sustained = meters[0]->rate(3, 3 + o.epochs, per > 0);
  r.capacity = static_cast<double>(o.batch * std::max<std::uint64_t>(per, 1)) * 1000.0 /
               static_cast<double>(o.epoch_ms);
  r.v0 = meters[0]->read();
  r.txs = per > 0 ? r.v0.trades : r.v0.txs;
  r.verified = counters->verified.load();
  r.cached = counters->cached.load();
  r.disagreement = check_agreement(meters);
  return r;
}

/// The pure core on the same work: `batch` transactions per epoch into every
/// pool, as bench/streamlet_load.cpp does.
struct core_run {
  std::uint64_t txs = 0;
  double wall = 0;
  double cpu = 0;
  double latency_epochs = 0;
};

core_run run_core(const streamlet_bench_options& o, std::uint32_t n) {
  sim_params p;
  p.protocol.n = n;
  p.protocol.epoch_duration = o.epoch_ms * 1'000'000;
  p.protocol.leader = o.leader == "hash" ? leader_rule::hash : leader_rule::round_robin;
  p.protocol.max_block_txs = o.batch;
  p.protocol.echo = o.echo;
  p.seed = 1;
  p.partition_before_gst = false;
  p.gst = 0;
  p.delta = p.protocol.epoch_duration / 4;
  p.duration = static_cast<time_ns>(o.epochs + 6) * p.protocol.epoch_duration;
  p.txs_per_epoch = static_cast<std::uint32_t>(o.batch);
  p.tx_bytes = o.tx_bytes;
  auto t0 = std::chrono::steady_clock::now();
  auto c0 = std::clock();
  auto r = run_simulation(p);
  core_run c;
  c.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  c.cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  c.txs = r.nodes[0].finalized_txs;
  c.latency_epochs = r.mean_latency_epochs;
  return c;
}

/// One run's line: `what` finalized per second and its latencies.
std::string actor_line(std::string_view label, std::string_view what, std::uint32_t n,
                       const actor_run& a) {
  return fmt::format(
      "{} n={}: {:.0f} finalized {}/s sustained ({:.0f}% of the epochs' {:.0f}), "
      "{} {}s in {:.1f} s wall, {:.1f} s cpu = {:.0f} {}s per cpu s; block latency "
      "{:.1f} ms {:.2f} epochs; {} latency (submit to final) {}; height {}, "
      "evidence {}, rejected {}{}\n",
      label, n, a.sustained, what, 100.0 * a.sustained / a.capacity, a.capacity, a.txs, what,
      a.wall, a.cpu, static_cast<double>(a.txs) / a.cpu, what, a.v0.block_latency_ms,
      a.v0.block_latency_epochs, what,
      a.v0.own_finalized == 0
          ? std::string{"none of validator 0's own finalized"}
          : fmt::format("p50 {:.1f} ms p99 {:.1f} ms", a.v0.own_latency_p50_ms,
                        a.v0.own_latency_p99_ms),
      a.v0.height, a.v0.evidence, a.v0.rejected,
      a.disagreement.empty() ? "; all agree" : "; DISAGREE: " + a.disagreement);
}

/// "a/b", or "n/a (baseline 0)" when b is 0.
std::string ratio(double a, double b) {
  return b > 0 ? fmt::format("{:.3f}", a / b) : std::string{"n/a (baseline 0)"};
}

/// Shard-signed trade batches through the actors, then (as the baseline)
/// opaque transactions, as many to a block as a block holds trades.
int bench_trades(const streamlet_bench_options& o, std::uint32_t n, std::ostream& out) {
  auto a = run_actors(o, n);
  out << actor_line("trades", "trade", n, a)
      << fmt::format("trades n={}: {} trade batch signatures verified by {} validators = "
                     "{:.0f}/s over {:.1f} s wall ({:.0f}/s per validator), {} found verified "
                     "already\n",
                     n, a.verified, n, static_cast<double>(a.verified) / a.wall, a.wall,
                     static_cast<double>(a.verified) / a.wall / n, a.cached)
      << std::flush;
  int code = a.disagreement.empty() ? 0 : 1;
  if (!o.core_baseline)
    return code;
  auto opaque = o;
  opaque.trades_per_batch = 0;
  opaque.batch = o.batch * o.trades_per_batch;
  auto b = run_actors(opaque, n);
  out << actor_line("opaque", "tx", n, b)
      << fmt::format("trades/opaque n={}: sustained {}, per cpu s {}\n", n,
                     ratio(a.sustained, b.sustained),
                     ratio(static_cast<double>(a.txs) / a.cpu, static_cast<double>(b.txs) / b.cpu))
      << std::flush;
  return b.disagreement.empty() ? code : 1;
}

} // namespace

int run_streamlet_bench(const streamlet_bench_options& o, std::ostream& out,
                        std::ostream& err) {
  const std::string who = "marketsim streamlet-bench";
  if (o.sizes.empty() || o.epoch_ms < 10 || o.epochs == 0 || o.batch == 0 || o.rate < 0 ||
      (o.leader != "hash" && o.leader != "round-robin") ||
      o.trades_per_batch > max_batch_trades ||
      std::any_of(o.sizes.begin(), o.sizes.end(), [](auto n) { return n < 1 || n > 100; })) {
    err << who << ": want sizes in 1..100, --epoch-ms >= 10, --epochs and --batch >= 1, "
                  "--rate >= 0, --leader hash or round-robin, --trades <= "
        << max_batch_trades << "\n";
    return 2;
  }
  out << fmt::format("streamlet-bench: epoch {} ms, {} measured epochs (+3 warm-up, +3 tail), "
                     "batch {} txs of {}, {} load, echo {}, leader {}, {} threads\n",
                     o.epoch_ms, o.epochs, o.batch,
                     o.trades_per_batch > 0
                         ? fmt::format("{} shard-signed trades", o.trades_per_batch)
                         : fmt::format("{} bytes", o.tx_bytes),
                     o.rate > 0 ? fmt::format("{:.0f} {}/s", o.rate, o.trades_per_batch > 0 ? "trade" : "tx")
                                : "saturating",
                     o.echo ? "on" : "off", o.leader,
                     o.threads > 0 ? o.threads : std::thread::hardware_concurrency())
      << std::flush;
  int code = 0;
  for (auto n : o.sizes) {
    if (o.trades_per_batch > 0) {
      code = std::max(code, bench_trades(o, n, out));
      continue;
    }
    auto a = run_actors(o, n);
    out << actor_line("actors", "tx", n, a) << std::flush;
    if (!a.disagreement.empty())
      code = 1;
    if (!o.core_baseline)
      continue;
    auto c = run_core(o, n);
    const double core_per_cpu = static_cast<double>(c.txs) / c.cpu;
    out << fmt::format("core   n={}: {} txs in {:.2f} s wall, {:.2f} s cpu = {:.0f} tx/s wall, "
                       "{:.0f} txs per cpu s; latency {:.2f} epochs; actors/core per cpu s "
                       "{:.3f}\n",
                       n, c.txs, c.wall, c.cpu, static_cast<double>(c.txs) / c.wall,
                       core_per_cpu, c.latency_epochs,
                       static_cast<double>(a.txs) / a.cpu / core_per_cpu)
        << std::flush;
  }
  return code;
}

} // namespace marketsim::consensus::bft::streamlet
