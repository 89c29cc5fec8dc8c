#pragma once

/// The values the Raft core, its storage and the replicated state machines
/// share. Pure: no CAF, no I/O. The core (raft.hpp) owns the protocol; the
/// storage (raft_storage.hpp) persists these values; state machines
/// (replicated_exchange.hpp, settlement_ledger.hpp) apply committed commands.

#include <cstdint>
#include <string>
#include <vector>

namespace marketsim::consensus::raft {

using node_id = std::uint32_t; ///< a validator's id; 0 means "nobody"
using term_t = std::uint64_t;
using index_t = std::uint64_t; ///< log positions start at 1; 0 is "before the log"

inline constexpr node_id no_node = 0;

/// What a log entry carries. `noop` is the entry a new leader appends to
/// commit its term; `config` carries a membership change; `command` carries
/// opaque bytes for the state machine.
enum class entry_kind : std::uint8_t { command = 0, noop = 1, config = 2 };

struct log_entry {
  term_t term = 0;
  index_t index = 0;
  entry_kind kind = entry_kind::command;
  std::string data; ///< command bytes, or the encoded cluster_config

  friend bool operator==(const log_entry&, const log_entry&) = default;
};

/// The voting members. Sorted, no duplicates.
struct cluster_config {
  std::vector<node_id> voters;

  friend bool operator==(const cluster_config&, const cluster_config&) = default;
};

/// What must be on disk before a node answers a vote or an append.
struct hard_state {
  term_t term = 0;
  node_id voted_for = no_node;

  friend bool operator==(const hard_state&, const hard_state&) = default;
};

/// A snapshot covers the log up to and including `last_index`.
struct snapshot_meta {
  index_t last_index = 0;
  term_t last_term = 0;
  cluster_config config;

  friend bool operator==(const snapshot_meta&, const snapshot_meta&) = default;
};

struct snapshot {
  snapshot_meta meta;
  std::string data; ///< the state machine's serialized state

  friend bool operator==(const snapshot&, const snapshot&) = default;
};

} // namespace marketsim::consensus::raft
