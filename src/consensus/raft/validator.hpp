#pragma once

/// The Raft validator actor: the thin shell around the pure core
/// (raft.hpp). It turns messages from its peers, client commands and its own
/// timer into core calls, and the core's outputs into, in this order, writes
/// to its storage (raft_storage.hpp; synced before anything is sent), sends
/// to its peers, and applications of committed entries to its state machine,
/// whose results answer the clients.
///
/// ## Talking to a validator
///
/// Plain sends, never caf::request (see actors/consensus_messages.hpp):
/// - `raft_peers`: the other validators' ids and handles. Handles may be
///   direct, network proxies (network/endpoints.hpp: latency, loss and
///   partitions then apply to Raft's messages) or remote actors.
/// - `raft_submit` / `raft_submit_batch` from a client: answered with one
///   `raft_submit_reply` per command (the answers of one step to one sender
///   travel together as a `raft_submit_reply_batch`, reply_groups.hpp), to
///   the sender, only when the entry is
///   committed and applied here (`committed`, or `rejected` when the state
///   machine refused it), or at once with `redirect` (not the leader; the
///   hint names the leader it follows) or `unavailable`. An entry that was
///   overwritten by another leader's is answered `lost`; a validator that
///   crashes answers nothing, so clients retry after a timeout. A command
///   with a session (client_sessions.hpp) is applied at most once: a retry
///   that commits again reaches the state machine as a noop and is answered
///   with the first application's answer.
/// - `raft_membership`: add or remove one voter (answered like a command,
///   once the configuration entry commits).
/// - `raft_status_request`: answered with `raft_status`.
/// - the core's messages (request_vote, append_entries, ...) from peers.
///
/// ## Crash and restart
///
/// Killing the actor is a crash: what it wrote is in `data_dir`. A validator
/// spawned again with the same `data_dir` recovers its term, vote, log and
/// snapshot, restores its state machine from the snapshot, and re-applies
/// the committed entries after it as it re-learns the commit index from the
/// leader. Without a `data_dir` the state lives in memory and a restart
/// starts empty (a replaced disk).
///
/// ## Snapshots
///
/// With `snapshot_every` = k, after every k applied entries the validator
/// snapshots its state machine, gives the snapshot to the core (which
/// compacts its log) and to the storage (atomic file, then the log prefix is
/// dropped). Followers that fall behind the compacted prefix get
/// install_snapshot.

#include "consensus/raft/raft.hpp"
#include "consensus/raft/raft_types.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::consensus::raft {

/// A deterministic state machine replicated by a validator group: every
/// replica applies the same committed entries in the same order and must
/// reach the same state (state_hash()).
class state_machine {
public:
  struct result {
    std::string output; ///< what the client gets back
    std::string error;  ///< non-empty: the command was refused (nothing changed)
    std::uint64_t trades = 0; ///< trades the entry made (exchange) or settled (ledger)
  };

  virtual ~state_machine() = default;

  /// Applies committed entry `e` (commands; noop and config entries too, so
  /// the machine can track the index). Must be deterministic.
  virtual result apply(const log_entry& e) = 0;
  virtual std::string snapshot() const = 0;
  /// Empty on success, else why the bytes were refused.
  virtual std::string restore(std::string_view bytes) = 0;
  /// Lower-case hex digest of the state (equal on replicas that agree).
  virtual std::string state_hash() const = 0;
};

using state_machine_factory = std::function<std::unique_ptr<state_machine>()>;

/// The replicated exchange (replicated_exchange.hpp) as a state machine: a
/// command is an encoded exchange_command, the output a summary of what it
/// did, `events=N trades=M` (the book events themselves are on every
/// replica's tape: apply_observer).
state_machine_factory exchange_machine(std::vector<std::string> symbols,
                                       std::int64_t tick_size = 1, std::int64_t lot_size = 1);

/// The settlement ledger (settlement_ledger.hpp) as a state machine: a
/// command is an encoded settlement_command; the output is empty.
state_machine_factory ledger_machine();

/// Called after each committed entry is applied (tests, tapes, metrics).
/// Runs in the validator's actor: must be cheap and thread-safe for what it
/// touches (in real time validators run on several threads).
using apply_observer =
    std::function<void(node_id validator, const log_entry& e, const state_machine::result& r)>;

struct validator_params {
  node_id id = no_node;
  cluster_config voters;  ///< the founding members (empty for a joining node)
  raft_params raft;
  std::uint64_t seed = 0; ///< for the core's election timeouts
  std::string data_dir;   ///< "" = in memory (nothing survives a restart)
  /// true: every storage write is fsync'ed; false: written at once, one
  /// fdatasync per message handled, before any send (same guarantee, batched).
  bool sync_every_write = false;
  std::uint64_t snapshot_every = 0; ///< applied entries between snapshots (0: never)
  state_machine_factory machine;
  apply_observer on_apply;
};

/// Spawns a validator. Throws std::runtime_error when its storage cannot be
/// opened or recovered (the message names the file and offset).
caf::actor spawn_validator(caf::actor_system& sys, validator_params params);

} // namespace marketsim::consensus::raft
