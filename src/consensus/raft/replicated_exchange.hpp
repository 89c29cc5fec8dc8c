#pragma once

/// The exchange shard as a replicated state machine: each validator applies
/// the committed log entries, in index order, to its own deterministic
/// matching engine, and so produces the same trade tape (the book events of
/// every entry). Pure: no CAF, no clock, no I/O.
///
/// ## State hash
///
/// A BLAKE2b-256 chain over the tape, in links of about 1 KiB. The canonical
/// bytes of each applied command (its number of events as a varint, then its
/// events) go to the open link; when the open link holds `link_bytes` or
/// more after a command, chain = BLAKE2b(chain || open link) and the next
/// link opens empty. state_hash() is BLAKE2b(chain || open link), or the
/// chain itself when the open link is empty (so all zeros before the first
/// event). Links close at points that the tape alone fixes, so equal tapes
/// give equal hashes on every replica, whatever the log indices and whenever
/// the hash is asked for; equal hashes mean equal tapes so far. Refused
/// entries, noops, config entries and commands without events leave it as it
/// is. Why links and not one hash per command: most commands are 20-40 bytes
/// and BLAKE2b costs a compression per 128-byte block (and at least one per
/// call), so a hash per command cost a compression per command.
///
/// The canonical bytes of an event: its kind (one byte), then a mask of which
/// of its twelve other fields are not zero (a varint; bit i for field i in
/// the order reject, cancel, side, symbol, id, owner, maker, maker_owner,
/// price, qty, leaves, maker_leaves), then those fields in that order as
/// varints (unsigned LEB128; the four signed ones zigzag-encoded first).
/// Each event has exactly one encoding and each encoding decodes to one
/// event, so the chain covers every field of every event, and where each
/// command ends.
///
/// ## Snapshots
///
/// A snapshot carries the chain and the open link (canonical bytes, not a
/// hash function's internal state), and lists, per book, the last trade
/// price, the resting orders oldest first and the pending stops in arrival
/// order, as the book lists them (order_book::list_live_orders: owner,
/// side, type, time in force, open quantity, limit and stop price, in time
/// priority: arrival, a re-queueing modify, a stop's trigger). The state
/// machine keeps no copy of its own: the books are the state. restore()
/// builds a fresh engine, sets
/// the last trade price with one trade between two throw-away orders (ids 1
/// and 2, owners 1 and 2, one lot, on the empty book; so the book's trade
/// statistics restart from that one trade and are not part of the state),
/// then re-enters the resting orders as limit orders with their open
/// quantity in time priority, then the pending stops as they were sent.
/// Time priority within each level, the stops' trigger order and the stop
/// conditions are therefore those of the original, and so is everything the
/// book does next (tested).

#include "consensus/raft/exchange_command.hpp"
#include "consensus/raft/raft_types.hpp"
#include "consensus/raft/state_digest.hpp"

#include "market/matching_engine.hpp"
#include "market/symbol_table.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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
  /// See "State hash": one BLAKE2b of at most about 1 KiB when a link is open.
  state_digest state_hash() const;
  std::uint64_t events_applied() const { return events_; }
  std::uint64_t trades_applied() const { return trades_; }

  /// The state as bytes (a protobuf pb::ExchangeSnapshot), for a Raft
  /// snapshot at applied_index().
  std::string snapshot() const;

  /// Replaces the state with a snapshot's. Returns an empty string on
  /// success, else why the bytes were refused (the state is then unchanged).
  std::string restore(std::string_view bytes);

  /// The engine's invariants; empty when all hold. Slow: for tests.
  std::string check_invariants() const;

  const market::matching_engine& engine() const { return *engine_; }

private:
  void run(const exchange_command& cmd, std::vector<market::book_event>& out);
  void hash_tape(const std::vector<market::book_event>& events);

  market::symbol_table table_;
  std::vector<market::symbol_id> symbols_;
  std::unique_ptr<market::matching_engine> engine_;
  index_t applied_index_ = 0;
  /// The chain (the first 32 bytes) and the open link: link_.substr(0,
  /// link_len_), exactly what closing the link hashes. link_ is never shrunk,
  /// so appending a command needs no allocation and no zero-filling.
  std::string link_;
  std::size_t link_len_ = 0;
  std::uint64_t events_ = 0;
  std::uint64_t trades_ = 0;
  exchange_apply_result result_;
};

} // namespace marketsim::consensus::raft
