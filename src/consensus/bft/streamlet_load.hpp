#pragma once

/// Load on Streamlet validators in real time, and what it achieved: used by
/// `marketsim streamlet-validator --load-rate` (one validator per process)
/// and `marketsim streamlet-bench` (n validators in one process).
///
/// Each validator gets its own driver, which submits transactions to that
/// validator only, as clients submit to the validator nearest to them: a
/// validator's pool then holds its own clients' transactions, and they are
/// finalized in the blocks it leads. Each transaction carries its origin and
/// the steady-clock time of its submission, so the validator's meter times
/// submission -> finalization for its own transactions (one host's clock:
/// right across hosts too).
///
/// Or a driver is an exchange shard: it submits shard-signed trade batches
/// (streamlet_trades.hpp) of realistic settlement commands, its origin being
/// its shard index; the meter then counts finalized trades, and times each
/// own batch from the driver's submission (which it tells the meter).

#include "consensus/bft/streamlet_validator.hpp"

#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

// -- load transactions -------------------------------------------------------------

/// The header of a load transaction: tag "mslt", u32 origin, u64 sequence
/// number, i64 submission time (steady clock, ns), little endian; then zero
/// padding up to the transaction's size.
struct load_tx {
  std::uint32_t origin = 0;
  std::uint64_t seq = 0;
  std::int64_t submitted_ns = 0;
};

inline constexpr std::size_t load_tx_header_bytes = 24;

/// A transaction of `bytes` bytes (at least the header's 24).
std::string encode_load_tx(const load_tx& t, std::size_t bytes);
/// nullopt for anything that is not a load transaction.
std::optional<load_tx> decode_load_tx(std::string_view tx);

/// Now on the steady clock, in ns (what load_tx::submitted_ns holds).
std::int64_t steady_now_ns();

/// `count` settlement commands (raft/settlement_ledger.hpp encode(), one
/// trade each) as a shard prints them: trades of 4 symbols near a price,
/// between 1,000 owners, varying with `first_seq` (deterministic).
std::vector<std::string> sample_trade_commands(std::uint64_t first_seq, std::size_t count);

/// The key of exchange shard `shard` of a trade-batch load, derived from a
/// fixed seed: benchmarks only (anyone can sign as any shard). Driver k of
/// `streamlet-bench` and the driver of `streamlet-validator --id k+1` are
/// shard k.
crypto::key_pair load_shard_key(std::uint32_t shard);
/// Shards 0 .. shards-1's public keys: the keys the validators' trade rule
/// (trade_rules) takes for such a load.
std::vector<crypto::public_key> load_shard_keys(std::uint32_t shards);

// -- the meter ---------------------------------------------------------------------

/// What one validator finalized and proved, fed by its observer (which runs
/// in the validator's actor: every member is behind a mutex or atomic, so
/// the process's main thread may read it at any time).
class finality_meter {
public:
  /// `self`: the validator's index; `own_origin`: the origin of its
  /// driver's transactions; ids are printed as index + `id_base`.
  finality_meter(validator_id self, streamlet_params protocol, std::uint32_t own_origin,
                 std::uint32_t id_base = 0);

  /// An observer that records into this meter (keep the meter alive as long
  /// as the validator). With `keep_lines`, each finalized block and each
  /// piece of evidence also becomes a line for take_lines().
  validator_observer observer(bool keep_lines = false);

  struct block_record {
    epoch_t epoch = 0;
    std::uint64_t height = 0;
    hash256 hash;
    std::size_t txs = 0;
    std::uint64_t trades = 0;      ///< in its trade batches
    time_ns latency_ns = 0;        ///< from the start of its epoch to finalization
    std::uint64_t latency_epochs = 0; ///< finalizing epoch - block epoch
  };
  struct summary {
    std::uint64_t height = 0;
    std::string last_hash; ///< hex of the block at `height` ("" at genesis)
    epoch_t last_epoch = 0;
    std::uint64_t txs = 0;
    std::uint64_t trades = 0; ///< in trade batches
    std::uint64_t evidence = 0;
    std::map<std::string, std::uint64_t> evidence_by; ///< "double_proposal by 3" -> count
    std::uint64_t rejected = 0;
    std::uint64_t malformed = 0;
    std::uint64_t own_finalized = 0; ///< load transactions, or trades of own batches
    double own_latency_p50_ms = 0;
    double own_latency_p99_ms = 0;
    double own_latency_max_ms = 0;
    double block_latency_ms = 0;     ///< mean over blocks
    double block_latency_epochs = 0; ///< mean over blocks
  };

  summary read() const;
  /// The finalized blocks so far, oldest first.
  std::vector<block_record> blocks() const;
  /// Lines since the last call (with keep_lines).
  std::vector<std::string> take_lines();
  /// Own load transactions, or trades of own batches, finalized so far
  /// (read by the driver).
  std::uint64_t own_finalized() const { return own_finalized_.load(std::memory_order_relaxed); }
  /// A shard driver's batch starting at `first_seq` left at `at_ns`
  /// (steady clock): its latency is timed from here.
  void batch_submitted(std::uint64_t first_seq, std::int64_t at_ns);

  /// Finalized transactions (or, with `trades`, trades in trade batches)
  /// per second in the blocks of epochs (from, to], counting `to - from`
  /// epochs: a sustained rate without the start and the end of the run.
  double rate(epoch_t from, epoch_t to, bool trades = false) const;

private:
  void on_finalized(const std::shared_ptr<const block>& b, time_ns now);
  void on_evidence(const evidence& e);

  validator_id self_;
  streamlet_params protocol_;
  std::uint32_t own_origin_;
  std::uint32_t id_base_;
  bool keep_lines_ = false;

  mutable std::mutex mutex_;
  std::vector<block_record> blocks_;
  std::uint64_t txs_ = 0;
  std::uint64_t trades_ = 0;
  std::map<std::uint64_t, std::int64_t> own_batches_; ///< first_seq -> submitted (steady ns)
  std::vector<std::int64_t> own_latency_ns_;
  std::map<std::string, std::uint64_t> evidence_by_;
  std::uint64_t evidence_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t malformed_ = 0;
  std::deque<std::string> lines_;
  std::atomic<std::uint64_t> own_finalized_{0};
};

// -- the driver --------------------------------------------------------------------

struct load_params {
  std::uint32_t origin = 0;
  /// Transactions per second; 0: saturate (keep `window` unfinalized).
  double rate = 0;
  /// At most this many own transactions submitted and not yet finalized, in
  /// both modes (a rate the group cannot follow stops here instead of growing
  /// the pool without bound).
  std::uint64_t window = 10'000;
  std::size_t tx_bytes = 100;
  std::chrono::milliseconds interval{10}; ///< how often it submits
  /// When to start (a node's driver waits for genesis: what it submitted
  /// before would be a backlog that inflates the first epochs' rate).
  std::chrono::nanoseconds start_in{0};
  std::size_t max_per_message = 2'000;
  /// > 0: the driver is shard `origin`, submitting batches of this many
  /// trades signed with `shard_key` (rate and window then count trades).
  std::uint32_t trades_per_batch = 0;
  std::optional<crypto::key_pair> shard_key;
};

/// What a driver submitted (read by the main thread).
struct load_counters {
  std::atomic<std::uint64_t> submitted{0};
};

/// Spawns a driver that submits to `validator` (streamlet_submit) until it
/// is sent an exit message. `meter` is the validator's (own_finalized).
caf::actor spawn_load_driver(caf::actor_system& sys, caf::actor validator, load_params p,
                             std::shared_ptr<finality_meter> meter,
                             std::shared_ptr<load_counters> counters);

} // namespace marketsim::consensus::bft::streamlet
