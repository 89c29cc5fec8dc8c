#pragma once

/// The exchange shard as a replicated state machine: each validator applies
/// the committed log entries, in index order, to its own deterministic
/// matching engine, and so produces the same trade tape (the book events of
/// every entry). Pure: no CAF, no clock, no I/O.
///
/// ## State hash
///
/// A BLAKE2b-256 chain over the tape: after every applied command,
/// hash = BLAKE2b(hash || canonical bytes of its events). Equal hashes mean
/// equal tapes so far, whatever the log indices; refused entries, noops and
/// config entries leave it as it is.
///
/// The canonical bytes of an event: its kind (one byte), then a mask of which
/// of its twelve other fields are not zero (a varint; bit i for field i in
/// the order reject, cancel, side, symbol, id, owner, maker, maker_owner,
/// price, qty, leaves, maker_leaves), then those fields in that order as
/// varints (unsigned LEB128; the four signed ones zigzag-encoded first).
/// Each event has exactly one encoding and each encoding decodes to one
/// event, so the chain covers every field of every event; most fields are
/// zero for a given kind (order_book.hpp), which keeps a command's events
/// within one BLAKE2b block more often than not.
///
/// ## Snapshots
///
/// The engine has no serialization of its own, so the state machine mirrors
/// every live order from the events (owner, side, type, time in force, open
/// quantity, limit and stop price, and its time priority: a sequence number
/// set on acceptance, on a re-queueing modify and on a stop's trigger). A
/// snapshot lists, per book, the last trade price, the resting orders oldest
/// first and the pending stops in arrival order. restore() builds a fresh
/// engine, sets the last trade price with one trade between two throw-away
/// orders (ids 1 and 2, owners 1 and 2, one lot, on the empty book; so the
/// book's trade statistics restart from that one trade and are not part of
/// the state), then re-enters the resting orders as limit orders with their
/// open quantity in time priority, then the pending stops as they were sent.
/// Time priority within each level, the stops' trigger order and the stop
/// conditions are therefore those of the original, and so is everything the
/// book does next (tested).

#include "consensus/raft/exchange_command.hpp"
#include "consensus/raft/raft_types.hpp"
#include "consensus/raft/state_digest.hpp"

#include "market/matching_engine.hpp"
#include "market/symbol_table.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace marketsim::consensus::raft {

/// What applying one log entry did.
struct exchange_apply_result {
  index_t index = 0;
  /// Empty when the entry was applied (or was a noop/config entry); else why
  /// it was refused: a malformed command (consumed: the applied index moves
  /// on, nothing else changes) or an index out of order (nothing changes).
  std::string error;
  /// The tape of this entry (empty for noop/config entries and refusals).
  std::vector<market::book_event> events;

  bool ok() const { return error.empty(); }
};

class replicated_exchange {
public:
  /// A replica trading `symbols` of `table` (same arguments on every
  /// replica). Throws std::invalid_argument for a symbol not in the table
  /// (start-up only).
  replicated_exchange(market::symbol_table table, std::vector<market::symbol_id> symbols);
  ~replicated_exchange();

  replicated_exchange(const replicated_exchange&) = delete;
  replicated_exchange& operator=(const replicated_exchange&) = delete;

  /// Applies committed entry `e`, which must be applied_index() + 1 (else it
  /// is refused). Command entries are decoded (see exchange_command.hpp) and
  /// run on the engine; noop and config entries, and malformed commands, only
  /// advance the index. The result is valid until the next apply() or
  /// restore().
  const exchange_apply_result& apply(const log_entry& e);

  index_t applied_index() const { return applied_index_; }
  state_digest state_hash() const { return tape_hash_; }
  std::uint64_t events_applied() const { return events_; }
  std::uint64_t trades_applied() const { return trades_; }

  /// The state as bytes (a protobuf pb::ExchangeSnapshot), for a Raft
  /// snapshot at applied_index().
  std::string snapshot() const;

  /// Replaces the state with a snapshot's. Returns an empty string on
  /// success, else why the bytes were refused (the state is then unchanged).
  std::string restore(std::string_view bytes);

  /// The engine's invariants, and that the mirror of live orders matches the
  /// books; empty when all hold. Slow: for tests.
  std::string check_invariants() const;

  const market::matching_engine& engine() const { return *engine_; }

  /// A live order as the mirror keeps it.
  struct live_order {
    market::owner_id owner = 0;
    market::symbol_id symbol = 0;
    market::side side = market::side::buy;
    market::order_type type = market::order_type::limit;
    market::time_in_force tif = market::time_in_force::gtc;
    market::price_t price = 0;
    market::price_t stop_price = 0;
    market::qty_t open = 0;
    bool post_only = false;
    bool pending_stop = false;
    std::uint64_t seq = 0; ///< time priority: smaller is older
  };

private:
  /// Ids are unique per book only: the same id may be live in two books.
  struct order_key {
    market::symbol_id symbol = 0;
    market::order_id id = 0;
    friend bool operator==(const order_key&, const order_key&) = default;
  };
  struct order_key_hash {
    std::size_t operator()(const order_key& k) const {
      return std::hash<std::uint64_t>{}(k.id * 0x9E3779B97F4A7C15ull ^ k.symbol);
    }
  };

  void run(const exchange_command& cmd, std::vector<market::book_event>& out);
  void mirror(const market::order_request* submitted,
              const std::vector<market::book_event>& events);
  void hash_tape(const std::vector<market::book_event>& events);

  market::symbol_table table_;
  std::vector<market::symbol_id> symbols_;
  std::unique_ptr<market::matching_engine> engine_;
  std::unordered_map<order_key, live_order, order_key_hash> live_;
  std::uint64_t next_seq_ = 1;
  index_t applied_index_ = 0;
  state_digest tape_hash_{};
  std::uint64_t events_ = 0;
  std::uint64_t trades_ = 0;
  exchange_apply_result result_;
  std::string scratch_; ///< hash_tape()'s buffer
};

} // namespace marketsim::consensus::raft
