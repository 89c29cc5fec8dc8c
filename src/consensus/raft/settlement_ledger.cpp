#include "consensus/raft/settlement_ledger.hpp"

#include "consensus/raft/raft.pb.h"

namespace marketsim::consensus::raft {

using market::owner_id;
using market::qty_t;
using market::symbol_id;

// -- commands --------------------------------------------------------------------

std::string encode(const settlement_command& cmd) {
  pb::SettlementCommand msg;
  if (const auto* d = std::get_if<deposit_command>(&cmd)) {
    auto& o = *msg.mutable_deposit();
    o.set_owner(d->owner);
    o.set_cash(d->cash);
    o.set_symbol(d->symbol);
    o.set_qty(d->qty);
  } else {
    auto& batch = *msg.mutable_trades();
    for (const trade_record& t : std::get<std::vector<trade_record>>(cmd)) {
      auto& o = *batch.add_trades();
      o.set_symbol(t.symbol);
      o.set_price(t.price);
      o.set_qty(t.qty);
      o.set_buyer(t.buyer);
      o.set_seller(t.seller);
    }
  }
  return msg.SerializeAsString();
}

decoded<settlement_command> decode_settlement_command(std::string_view bytes) {
  pb::SettlementCommand msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return {std::nullopt, "not a SettlementCommand (protobuf parse failed)"};
  switch (msg.command_case()) {
  case pb::SettlementCommand::kDeposit: {
    const auto& d = msg.deposit();
    return {settlement_command{deposit_command{d.owner(), d.cash(), d.symbol(), d.qty()}},
            {}};
  }
  case pb::SettlementCommand::kTrades: {
    std::vector<trade_record> trades;
    trades.reserve(static_cast<std::size_t>(msg.trades().trades_size()));
    for (const auto& t : msg.trades().trades())
      trades.push_back({t.symbol(), t.price(), t.qty(), t.buyer(), t.seller()});
    return {settlement_command{std::move(trades)}, {}};
  }
  case pb::SettlementCommand::COMMAND_NOT_SET:
    break;
  }
  return {std::nullopt, "empty SettlementCommand (no command set)"};
}

std::vector<trade_record> trades_of(std::span<const market::book_event> events) {
  std::vector<trade_record> out;
  for (const market::book_event& ev : events) {
    if (ev.kind != market::event_kind::trade)
      continue;
    bool taker_buys = ev.side == market::side::buy;
    out.push_back({ev.symbol, ev.price, ev.qty, taker_buys ? ev.owner : ev.maker_owner,
                   taker_buys ? ev.maker_owner : ev.owner});
  }
  return out;
}

// -- applying ----------------------------------------------------------------------

ledger_apply_result settlement_ledger::apply(const log_entry& e) {
  if (e.index != applied_index_ + 1)
    return {e.index, "entry " + std::to_string(e.index) + " applied where " +
                         std::to_string(applied_index_ + 1) + " is next"};
  applied_index_ = e.index;
  if (e.kind != entry_kind::command)
    return {e.index, {}};
  auto cmd = decode_settlement_command(e.data);
  if (!cmd)
    return {e.index, std::move(cmd.reason)};
  if (const auto* d = std::get_if<deposit_command>(&*cmd.value))
    return {e.index, deposit(*d)};
  return {e.index, settle(std::get<std::vector<trade_record>>(*cmd.value))};
}

namespace {

bool add(std::int64_t& into, std::int64_t x) {
  return !__builtin_add_overflow(into, x, &into);
}

} // namespace

std::string settlement_ledger::deposit(const deposit_command& d) {
  cash_t new_cash = cash(d.owner);
  cash_t total_cash = deposited_cash_;
  qty_t new_pos = position(d.owner, d.symbol);
  auto dep = deposited_.find(d.symbol);
  qty_t total_pos = dep == deposited_.end() ? 0 : dep->second;
  if (!add(new_cash, d.cash) || !add(total_cash, d.cash) || !add(new_pos, d.qty) ||
      !add(total_pos, d.qty))
    return "deposit to " + std::to_string(d.owner) + " overflows";
  account& a = accounts_[d.owner];
  a.cash = new_cash;
  a.positions[d.symbol] = new_pos;
  deposited_cash_ = total_cash;
  deposited_[d.symbol] = total_pos;
  if (total_pos == 0)
    deposited_.erase(d.symbol);
  prune(d.owner);
  return {};
}

std::string settlement_ledger::settle(std::span<const trade_record> trades) {
  for (std::size_t i = 0; i < trades.size(); ++i) {
    if (auto err = settle_one(trades[i]); !err.empty()) {
      std::string why = "trade " + std::to_string(i + 1) + " of the batch: " + err;
      while (i-- > 0)
        unsettle(trades[i]);
      return why;
    }
  }
  trades_ += trades.size();
  return {};
}

std::string settlement_ledger::settle_one(const trade_record& t) {
  if (t.price <= 0 || t.qty <= 0)
    return "non-positive price or quantity";
  cash_t notional = 0;
  if (__builtin_mul_overflow(t.price, t.qty, &notional))
    return "notional overflows";
  if (t.buyer == t.seller)
    return {}; // nets to nothing (the book never produces it)
  cash_t buyer_cash = cash(t.buyer);
  cash_t seller_cash = cash(t.seller);
  qty_t buyer_pos = position(t.buyer, t.symbol);
  qty_t seller_pos = position(t.seller, t.symbol);
  if (__builtin_sub_overflow(buyer_cash, notional, &buyer_cash) ||
      !add(seller_cash, notional) || !add(buyer_pos, t.qty) ||
      __builtin_sub_overflow(seller_pos, t.qty, &seller_pos))
    return "balance overflows";
  account& buyer = accounts_[t.buyer];
  account& seller = accounts_[t.seller];
  buyer.cash = buyer_cash;
  seller.cash = seller_cash;
  buyer.positions[t.symbol] = buyer_pos;
  seller.positions[t.symbol] = seller_pos;
  prune(t.buyer);
  prune(t.seller);
  return {};
}

void settlement_ledger::unsettle(const trade_record& t) {
  // The exact inverse of a trade that settled: restores the values it had,
  // so it cannot overflow.
  if (t.buyer == t.seller)
    return;
  cash_t notional = t.price * t.qty;
  accounts_[t.buyer].cash += notional;
  accounts_[t.seller].cash -= notional;
  accounts_[t.buyer].positions[t.symbol] -= t.qty;
  accounts_[t.seller].positions[t.symbol] += t.qty;
  prune(t.buyer);
  prune(t.seller);
}

void settlement_ledger::prune(owner_id owner) {
  auto it = accounts_.find(owner);
  if (it == accounts_.end())
    return;
  auto& positions = it->second.positions;
  std::erase_if(positions, [](const auto& p) { return p.second == 0; });
  if (it->second.cash == 0 && positions.empty())
    accounts_.erase(it);
}

// -- queries -------------------------------------------------------------------------

cash_t settlement_ledger::cash(owner_id owner) const {
  auto it = accounts_.find(owner);
  return it == accounts_.end() ? 0 : it->second.cash;
}

qty_t settlement_ledger::position(owner_id owner, symbol_id symbol) const {
  auto it = accounts_.find(owner);
  if (it == accounts_.end())
    return 0;
  auto p = it->second.positions.find(symbol);
  return p == it->second.positions.end() ? 0 : p->second;
}

std::string settlement_ledger::check_conservation() const {
  __int128 cash = 0;
  std::map<symbol_id, __int128> shares;
  for (const auto& [owner, a] : accounts_) {
    cash += a.cash;
    for (const auto& [sym, qty] : a.positions)
      shares[sym] += qty;
  }
  if (cash != deposited_cash_)
    return "cash: accounts hold " + std::to_string(static_cast<long long>(cash)) +
           ", deposited " + std::to_string(deposited_cash_);
  std::erase_if(shares, [](const auto& p) { return p.second == 0; });
  for (const auto& [sym, total] : deposited_) {
    auto it = shares.find(sym);
    if (it == shares.end() || it->second != total)
      return "symbol " + std::to_string(sym) + ": positions do not add up to " +
             std::to_string(total) + " deposited";
  }
  if (shares.size() != deposited_.size())
    return "positions in a symbol nobody deposited";
  return {};
}

state_digest settlement_ledger::state_hash() const {
  canonical_bytes b;
  b.u64(accounts_.size());
  for (const auto& [owner, a] : accounts_) {
    b.u64(owner);
    b.i64(a.cash);
    b.u64(a.positions.size());
    for (const auto& [sym, qty] : a.positions) {
      b.u32(sym);
      b.i64(qty);
    }
  }
  b.i64(deposited_cash_);
  b.u64(deposited_.size());
  for (const auto& [sym, qty] : deposited_) {
    b.u32(sym);
    b.i64(qty);
  }
  return blake2b_256(b.view());
}

// -- snapshots -------------------------------------------------------------------------

std::string settlement_ledger::snapshot() const {
  pb::LedgerSnapshot s;
  s.set_applied_index(applied_index_);
  s.set_trades(trades_);
  s.set_deposited_cash(deposited_cash_);
  for (const auto& [sym, qty] : deposited_) {
    auto& p = *s.add_deposited();
    p.set_symbol(sym);
    p.set_qty(qty);
  }
  for (const auto& [owner, a] : accounts_) {
    auto& acc = *s.add_accounts();
    acc.set_owner(owner);
    acc.set_cash(a.cash);
    for (const auto& [sym, qty] : a.positions) {
      auto& p = *acc.add_positions();
      p.set_symbol(sym);
      p.set_qty(qty);
    }
  }
  return s.SerializeAsString();
}

std::string settlement_ledger::restore(std::string_view bytes) {
  pb::LedgerSnapshot s;
  if (!s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return "not a LedgerSnapshot (protobuf parse failed)";
  settlement_ledger next;
  next.applied_index_ = s.applied_index();
  next.trades_ = s.trades();
  next.deposited_cash_ = s.deposited_cash();
  for (const auto& p : s.deposited())
    if (p.qty() != 0 && !next.deposited_.emplace(p.symbol(), p.qty()).second)
      return "symbol " + std::to_string(p.symbol()) + " deposited twice";
  for (const auto& acc : s.accounts()) {
    account a;
    a.cash = acc.cash();
    for (const auto& p : acc.positions())
      if (p.qty() != 0 && !a.positions.emplace(p.symbol(), p.qty()).second)
        return "account " + std::to_string(acc.owner()) + " lists a symbol twice";
    if ((a.cash != 0 || !a.positions.empty()) &&
        !next.accounts_.emplace(acc.owner(), std::move(a)).second)
      return "account " + std::to_string(acc.owner()) + " listed twice";
  }
  if (auto err = next.check_conservation(); !err.empty())
    return "snapshot does not conserve: " + err;
  *this = std::move(next);
  return {};
}

} // namespace marketsim::consensus::raft
