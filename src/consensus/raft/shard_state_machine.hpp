#pragma once

/// What one validator of an exchange shard's Raft group applies: the
/// replicated exchange, and the settlement ledger fed with the trades of its
/// tape, as one state machine with one snapshot and one hash. Pure: no CAF,
/// no clock, no I/O.
///
/// Funding is configuration, not log input: every replica is built with the
/// same starting balances (from the scenario), so the ledger starts equal
/// everywhere and only committed trades move it.

#include "consensus/raft/replicated_exchange.hpp"
#include "consensus/raft/settlement_ledger.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace marketsim::consensus::raft {

struct shard_params {
  market::symbol_table symbols;
  std::vector<market::symbol_id> listed; ///< traded by this shard
  std::vector<deposit_command> funding;  ///< starting cash and positions
};

class shard_state_machine {
public:
  /// Throws std::invalid_argument for a listed symbol not in the table or a
  /// funding that overflows (start-up only).
  explicit shard_state_machine(const shard_params& params);

  /// Applies committed entry `e` (must be applied_index() + 1): the exchange
  /// runs it, the ledger settles the trades of its tape. The result (the
  /// entry's tape, or why it was refused) is valid until the next call.
  const exchange_apply_result& apply(const log_entry& e);

  index_t applied_index() const { return exchange_.applied_index(); }

  /// BLAKE2b-256 of the exchange's tape hash followed by the ledger's hash.
  state_digest state_hash() const;

  /// Both states, for a Raft snapshot at applied_index() (a protobuf
  /// pb::ShardSnapshot).
  std::string snapshot() const;
  /// Empty on success, else why (then nothing changed).
  std::string restore(std::string_view bytes);

  /// The exchange's invariants and the ledger's conservation; empty if held.
  std::string check_invariants() const;

  const replicated_exchange& exchange() const { return exchange_; }
  const settlement_ledger& ledger() const { return ledger_; }

private:
  replicated_exchange exchange_;
  settlement_ledger ledger_;
};

} // namespace marketsim::consensus::raft
