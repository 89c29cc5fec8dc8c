#pragma once

/// A deterministic simulation of n Streamlet validators on an adversarial
/// network, for safety and liveness tests over many seeds and for the load
/// benchmark. One thread, a seeded RNG, virtual time that jumps to the next
/// event: the same params give the same run.
///
/// The network (partial synchrony): before GST every message takes up to
/// `pre_gst_max_delay`, and the endpoints are split into two sides whose
/// messages to each other are held back until `heal` (default: GST); every
/// message sent before GST arrives by GST + delta. After GST and the heal,
/// every message arrives within `delta`.
///
/// Outages: during each of `outages`, everything sent by or to one validator
/// is lost (not delayed): the case block sync (streamlet.hpp) exists for.
///
/// Twins (the bound test): each Byzantine validator runs two honest cores
/// with its one key, one on each side, so each side sees a consistent,
/// honest-looking peer while the validator signs two chains. With f >= n/3
/// each side can notarize alone and the honest sides finalize conflicting
/// blocks; with f < n/3 at most one side can.

#include "consensus/bft/byzantine.hpp"
#include "consensus/bft/streamlet_checker.hpp"

#include <map>
#include <string>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

/// A validator cut off from everyone: its messages sent or due in [from, until) are lost.
struct outage {
  validator_id who = 0;
  time_ns from = 0;
  time_ns until = 0;
};

struct sim_params {
  streamlet_params protocol;
  std::uint64_t seed = 1;
  /// Validators that are not honest, and how they behave.
  std::map<validator_id, behaviour_kind> byzantine;
  bool twins = false; ///< every Byzantine validator is a twin pair instead
  time_ns duration = 0;
  time_ns gst = 0;
  time_ns heal = -1; ///< when the sides reconnect; -1: at GST
  time_ns delta = 0;
  time_ns pre_gst_max_delay = 0;
  bool partition_before_gst = true;
  std::uint32_t txs_per_epoch = 4; ///< coin transfers submitted to every node
  std::size_t tx_bytes = 0;        ///< 0: coin transfers under coin_rules; else opaque
                                   ///< transactions of this size, no payload rule
  time_ns tick_interval = 0;       ///< 0: a quarter epoch
  bool keep_blocks = false;        ///< fill sim_node_report::finalized_blocks
  std::vector<outage> outages;
};

struct sim_node_report {
  std::string name; ///< "v3", "v1/twin-a", ...
  validator_id id = 0;
  bool honest = true;
  std::vector<hash256> finalized;
  std::vector<std::shared_ptr<const block>> finalized_blocks; ///< same order
  std::uint64_t finalized_at_gst = 0; ///< finalized height when GST came
  std::uint64_t finalized_txs = 0;
  streamlet_stats stats;
};

struct sim_result {
  std::vector<sim_node_report> nodes;
  safety_report safety;                     ///< over honest nodes
  std::vector<evidence> misbehaviour;       ///< reported by honest nodes
  bool evidence_verifies = true;            ///< every piece passed verify_evidence
  std::uint64_t rejected_bad_signature = 0; ///< at honest nodes
  std::uint64_t messages = 0;               ///< delivered
  /// Finality latency over blocks finalized by honest nodes: from the start of
  /// the block's epoch to its finalization at the node (simulated ns), and in
  /// epochs (finalizing epoch - block epoch).
  double mean_latency_ns = 0;
  double mean_latency_epochs = 0;

  /// Every honest node finalized at least `k` blocks after GST.
  bool live(std::uint64_t k = 1) const;
};

sim_result run_simulation(const sim_params& p);

/// One line describing the run (for failure messages).
std::string describe(const sim_params& p);

} // namespace marketsim::consensus::bft::streamlet
