#include "consensus/raft/shard_state_machine.hpp"

#include "consensus/raft/raft.pb.h"

#include <stdexcept>

namespace marketsim::consensus::raft {

shard_state_machine::shard_state_machine(const shard_params& params)
    : exchange_(params.symbols, params.listed) {
  for (const deposit_command& d : params.funding)
    if (auto err = ledger_.deposit(d); !err.empty())
      throw std::invalid_argument("shard_state_machine: funding: " + err);
}

const exchange_apply_result& shard_state_machine::apply(const log_entry& e) {
  const exchange_apply_result& r = exchange_.apply(e);
  if (r.ok() && !r.events.empty()) {
    // Trades of a committed tape always settle (no risk checks); only an
    // int64 overflow could refuse them, and then the ledger is unchanged and
    // check_invariants() reports the difference.
    (void)ledger_.settle(trades_of(r.events));
  }
  return r;
}

state_digest shard_state_machine::state_hash() const {
  state_digest x = exchange_.state_hash();
  state_digest l = ledger_.state_hash();
  return blake2b_256_chain(
      x, std::string_view(reinterpret_cast<const char*>(l.data()), l.size()));
}

std::string shard_state_machine::snapshot() const {
  pb::ShardSnapshot s;
  s.set_exchange(exchange_.snapshot());
  s.set_ledger(ledger_.snapshot());
  return s.SerializeAsString();
}

std::string shard_state_machine::restore(std::string_view bytes) {
  pb::ShardSnapshot s;
  if (!s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return "not a ShardSnapshot (protobuf parse failed)";
  // Check the ledger's part on a scratch ledger first, so that a failure of
  // either part leaves both unchanged.
  settlement_ledger scratch;
  if (auto err = scratch.restore(s.ledger()); !err.empty())
    return "ledger: " + err;
  if (auto err = exchange_.restore(s.exchange()); !err.empty())
    return "exchange: " + err;
  ledger_ = std::move(scratch);
  return {};
}

std::string shard_state_machine::check_invariants() const {
  if (auto err = exchange_.check_invariants(); !err.empty())
    return "exchange: " + err;
  if (auto err = ledger_.check_conservation(); !err.empty())
    return "ledger: " + err;
  if (ledger_.trades_settled() != exchange_.trades_applied())
    return "ledger settled " + std::to_string(ledger_.trades_settled()) +
           " trades, the exchange made " + std::to_string(exchange_.trades_applied());
  return {};
}

} // namespace marketsim::consensus::raft
