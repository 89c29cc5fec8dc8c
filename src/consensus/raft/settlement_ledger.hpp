#pragma once

/// The settlement ledger as a replicated state machine: committed trades move
/// cash and shares between accounts; deposits bring them in. Integers only,
/// pure (no CAF, no clock, no I/O), deterministic: the same input gives the
/// same state and the same state_hash() on every replica.
///
/// Two ways to feed it, the same state either way:
/// - its own Raft log: apply() of entries holding an encoded
///   `settlement_command` (a deposit, or a batch of trades);
/// - the exchange's tape on the same replica: settle(trades_of(events)) after
///   each replicated_exchange::apply(), with deposit() for funding.
///
/// No risk checks: the trades are already committed by the exchange, so a
/// balance may go negative; what is refused is malformed input (a
/// non-positive price or quantity) and int64 overflow, atomically: a refused
/// batch changes nothing. Conservation: the sum of all cash equals the cash
/// deposited, and per symbol the sum of all positions equals the shares
/// deposited (check_conservation()).
///
/// The state is canonical: accounts with no cash and no positions, and zero
/// positions, are not kept, so equal balances give equal hashes whatever the
/// history.

#include "consensus/raft/decoded.hpp"
#include "consensus/raft/raft_types.hpp"
#include "consensus/raft/state_digest.hpp"

#include "market/types.hpp"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace marketsim::consensus::raft {

/// Cash in price units times quantity units (as market::money_t).
using cash_t = std::int64_t;

struct trade_record {
  market::symbol_id symbol = 0;
  market::price_t price = 0;
  market::qty_t qty = 0;
  market::owner_id buyer = 0;
  market::owner_id seller = 0;

  friend bool operator==(const trade_record&, const trade_record&) = default;
};

/// Adds `cash` and `qty` shares of `symbol` to `owner` (negative: withdraws).
struct deposit_command {
  market::owner_id owner = 0;
  cash_t cash = 0;
  market::symbol_id symbol = 0;
  market::qty_t qty = 0;

  friend bool operator==(const deposit_command&, const deposit_command&) = default;
};

using settlement_command = std::variant<deposit_command, std::vector<trade_record>>;

std::string encode(const settlement_command& cmd);
/// Refuses bytes that are not a SettlementCommand or set no command.
decoded<settlement_command> decode_settlement_command(std::string_view bytes);

/// The trades of a tape, in order: buyer and seller from the aggressor side
/// (the taker is `owner`, the maker `maker_owner`).
std::vector<trade_record> trades_of(std::span<const market::book_event> events);

struct ledger_apply_result {
  index_t index = 0;
  std::string error; ///< empty when applied; else why nothing changed

  bool ok() const { return error.empty(); }
};

class settlement_ledger {
public:
  /// Applies committed entry `e` (must be applied_index() + 1, else refused).
  /// Noop and config entries only advance the index; so does a refused
  /// command, which changes nothing else.
  ledger_apply_result apply(const log_entry& e);

  /// Settles a batch of trades, all or nothing. Empty on success, else why.
  std::string settle(std::span<const trade_record> trades);
  /// Empty on success, else why (overflow); nothing changed then.
  std::string deposit(const deposit_command& d);

  cash_t cash(market::owner_id owner) const;
  market::qty_t position(market::owner_id owner, market::symbol_id symbol) const;
  std::size_t accounts() const { return accounts_.size(); }
  index_t applied_index() const { return applied_index_; }
  std::uint64_t trades_settled() const { return trades_; }

  /// BLAKE2b-256 over the canonical bytes of the balances and the deposited
  /// totals (not of the index or counters).
  state_digest state_hash() const;

  /// The state as bytes (a protobuf pb::LedgerSnapshot).
  std::string snapshot() const;
  /// Replaces the state; empty on success, else why (state unchanged).
  std::string restore(std::string_view bytes);

  /// Cash and shares conserved; empty when they are.
  std::string check_conservation() const;

private:
  struct account {
    cash_t cash = 0;
    std::map<market::symbol_id, market::qty_t> positions; ///< no zeros kept
  };

  std::string settle_one(const trade_record& t);
  void unsettle(const trade_record& t);
  void prune(market::owner_id owner);

  std::map<market::owner_id, account> accounts_; ///< ordered: hashed in this order
  cash_t deposited_cash_ = 0;
  std::map<market::symbol_id, market::qty_t> deposited_;
  index_t applied_index_ = 0;
  std::uint64_t trades_ = 0;
};

} // namespace marketsim::consensus::raft
