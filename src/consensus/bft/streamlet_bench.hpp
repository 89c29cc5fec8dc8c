#pragma once

/// `marketsim streamlet-bench`: finalized transactions per second and
/// finality latency through the Streamlet validator actors, n validators in
/// one process on CAF's real-time scheduler, each with its own load driver
/// (streamlet_load.hpp); then, in the same run, the pure core on the same
/// work (streamlet_sim, all validators on one thread) as the baseline the
/// ratio is taken against. Across processes: bench/streamlet_processes.sh.
///
/// With `trades_per_batch` > 0 the load is settlement: each driver is an
/// exchange shard submitting shard-signed trade batches (streamlet_trades.hpp)
/// of settlement commands, the validators run the trade payload rule
/// (one signature verification per batch), and the figures are finalized
/// trades/s; the baseline is then the same actors on opaque transactions
/// with blocks of as many transactions as a block holds trades.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

struct streamlet_bench_options {
  std::vector<std::uint32_t> sizes{4, 7, 16};
  std::int64_t epoch_ms = 100;
  std::uint64_t epochs = 30;   ///< measured; plus 3 to warm up and 3 to finish
  std::uint64_t batch = 5000;  ///< max_block_txs (with trades: batches per block)
  double rate = 0;             ///< transactions/s offered by all drivers; 0: saturate
  std::uint64_t tx_bytes = 100;
  bool echo = false;
  std::string leader = "round-robin";
  std::uint32_t threads = 0; ///< scheduler threads; 0: one per core
  bool core_baseline = true;      ///< with trades: the opaque-transaction baseline
  std::uint32_t trades_per_batch = 0; ///< > 0: shard-signed trade batches of this many
};

/// Prints one line per size (and the baseline's). Exit 0; 1 when the
/// validators of a run disagree on a finalized block (a safety failure);
/// 2 for bad options.
int run_streamlet_bench(const streamlet_bench_options& options, std::ostream& out,
                        std::ostream& err);

} // namespace marketsim::consensus::bft::streamlet
