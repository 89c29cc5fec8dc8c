// Finalized transactions per second and finality latency of the pure
// Streamlet core with real Ed25519 signatures, in-process: all n validators
// run on this one thread in the deterministic simulation (streamlet_sim),
// on a synchronous network (every message within a quarter epoch), no
// Byzantine validator, no echo (the simulated network already delivers every
// broadcast to everyone). Each epoch, `batch` opaque transactions of
// `tx_bytes` reach every validator's pool; the leader proposes them as one
// block.
//
// Throughput = transactions finalized by validator 0 / seconds of the whole
// run, i.e. the work of all n validators on one core; a deployment with a
// core per validator would do at least as well. Both wall-clock and process
// CPU seconds are shown: on a shared machine the CPU figure is the stable one. Latency is
// in simulated time (from the start of a block's epoch to its finalization) and in
// epochs; it depends on the epoch length, not on this machine.
//
//   build/bench/streamlet_load [epochs=40] [batch=5000] [tx_bytes=100] [n...=4 7 16]

#include "consensus/bft/streamlet_sim.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

using namespace marketsim::consensus::bft::streamlet;

int main(int argc, char** argv) {
  std::uint64_t epochs = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 40;
  std::uint32_t batch = argc > 2 ? static_cast<std::uint32_t>(std::atoi(argv[2])) : 5000;
  std::size_t tx_bytes = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 100;
  std::vector<std::uint32_t> sizes;
  for (int i = 4; i < argc; ++i)
    sizes.push_back(static_cast<std::uint32_t>(std::atoi(argv[i])));
  if (sizes.empty())
    sizes = {4, 7, 16};

  std::printf(
      "streamlet_load: %llu epochs of 1 s (simulated), batch %u txs of %zu bytes\n",
      static_cast<unsigned long long>(epochs), batch, tx_bytes);
  std::printf("%4s %10s %13s %12s %8s %8s %15s %13s %9s\n", "n", "finalized",
              "txs/s (wall)", "txs/s (cpu)", "wall s", "cpu s", "latency (sim s)",
              "latency (ep)", "messages");
  for (auto n : sizes) {
    sim_params p;
    p.protocol.n = n;
    p.protocol.epoch_duration = 1'000'000'000;
    p.protocol.leader = leader_rule::round_robin;
    p.protocol.max_block_txs = batch;
    p.protocol.echo = false;
    p.seed = 1;
    p.partition_before_gst = false;
    p.gst = 0;
    p.delta = p.protocol.epoch_duration / 4;
    p.duration = static_cast<time_ns>(epochs) * p.protocol.epoch_duration;
    p.txs_per_epoch = batch;
    p.tx_bytes = tx_bytes;
    auto t0 = std::chrono::steady_clock::now();
    auto c0 = std::clock();
    auto r = run_simulation(p);
    double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    if (!r.safety.safe) {
      std::fprintf(stderr, "streamlet_load: safety violated: %s\n",
                   r.safety.violation.c_str());
      return 1;
    }
    auto txs = r.nodes[0].finalized_txs;
    std::printf("%4u %10llu %13.0f %12.0f %8.2f %8.2f %15.2f %13.2f %9llu\n", n,
                static_cast<unsigned long long>(txs), static_cast<double>(txs) / wall,
                static_cast<double>(txs) / cpu, wall, cpu, r.mean_latency_ns / 1e9,
                r.mean_latency_epochs, static_cast<unsigned long long>(r.messages));
  }
  return 0;
}
