/// Specification of the replicated state machines (src/consensus/raft/
/// replicated_exchange.hpp, settlement_ledger.hpp, exchange_command.hpp):
/// replicas agree, malformed commands change nothing, snapshots resume
/// exactly, cash and shares are conserved.

#include "consensus/raft/bench_order.hpp"
#include "consensus/raft/exchange_command.hpp"
#include "consensus/raft/raft.pb.h"
#include "consensus/raft/replicated_exchange.hpp"
#include "consensus/raft/settlement_ledger.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace marketsim::consensus::raft;
using namespace marketsim::market;

symbol_table two_symbols() {
  symbol_table t;
  t.add({"AAA", 1, 1, 1'000});
  t.add({"BBB", 5, 10, 10'000});
  return t;
}

replicated_exchange make_exchange() {
  return replicated_exchange(two_symbols(), {0, 1});
}

order_request limit(order_id id, owner_id owner, side sd, price_t price, qty_t qty,
                    symbol_id sym = 0) {
  order_request r;
  r.id = id;
  r.owner = owner;
  r.symbol = sym;
  r.side = sd;
  r.price = price;
  r.qty = qty;
  return r;
}

log_entry command_entry(index_t index, const exchange_command& cmd) {
  return {1, index, entry_kind::command, encode(cmd)};
}

std::string apply_error(replicated_exchange& x, const log_entry& e) {
  return x.apply(e).error;
}

/// Random commands over two symbols and six owners, with stops, modifies,
/// cancels of live and dead ids, end of day, noops and malformed bytes.
class command_source {
public:
  explicit command_source(std::uint64_t seed) : rng_(seed) {}

  log_entry next(index_t index) {
    auto roll = pick(0, 99);
    if (roll < 2)
      return {1, index, entry_kind::noop, ""};
    if (roll < 4)
      return {1, index, entry_kind::command, malformed()};
    if (roll < 5)
      return command_entry(index, end_of_day_command{});
    if (roll < 20 && !ids_.empty())
      return command_entry(index, cancel_command{{any_id(), sym()}, owner()});
    if (roll < 32 && !ids_.empty()) {
      symbol_id s = sym();
      return command_entry(index,
                           modify_command{{any_id(), s, price(s), qty(s)}, owner()});
    }
    return command_entry(index, new_order());
  }

private:
  std::uint64_t pick(std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng_);
  }
  symbol_id sym() { return static_cast<symbol_id>(pick(0, 1)); }
  owner_id owner() { return pick(1, 6); }
  order_id any_id() { return ids_[pick(0, ids_.size() - 1)]; }
  price_t price(symbol_id s) {
    price_t tick = s == 0 ? 1 : 5;
    return (100 + static_cast<price_t>(pick(0, 20)) - 10) * tick;
  }
  qty_t qty(symbol_id s) {
    qty_t lot = s == 0 ? 1 : 10;
    return static_cast<qty_t>(pick(1, 20)) * lot;
  }

  order_request new_order() {
    order_request r;
    r.id =
        pick(0, 200) == 0 ? ids_.empty() ? 1 : any_id() : next_id_++; // some duplicates
    ids_.push_back(r.id);
    r.owner = owner();
    r.symbol = pick(0, 50) == 0 ? 7 : sym(); // an unknown symbol now and then
    symbol_id s = r.symbol == 7 ? 0 : r.symbol;
    r.side = pick(0, 1) ? side::buy : side::sell;
    auto t = pick(0, 19);
    r.type = t < 13   ? order_type::limit
             : t < 15 ? order_type::market
             : t < 17 ? order_type::stop
                      : order_type::stop_limit;
    auto tif = pick(0, 9);
    r.tif = tif < 5   ? time_in_force::gtc
            : tif < 7 ? time_in_force::day
            : tif < 9 ? time_in_force::ioc
                      : time_in_force::fok;
    r.price = price(s);
    r.stop_price = price(s);
    r.qty = qty(s);
    r.post_only = r.type == order_type::limit && pick(0, 9) == 0;
    return r;
  }

  std::string malformed() {
    switch (pick(0, 3)) {
    case 0:
      return "\xff\xff\xff garbage";
    case 1:
      return ""; // parses as an empty message: no command
    case 2: {
      order_request r = new_order();
      std::string bytes = encode(r);
      return bytes + std::string("\xa8\x06\x01", 3); // unknown field 101
    }
    default: {
      // side = 5 by hand: field 1 (new_order), length 2, field 4 varint 5.
      return std::string("\x0a\x02\x20\x05", 4);
    }
    }
  }

  std::mt19937_64 rng_;
  std::vector<order_id> ids_;
  order_id next_id_ = 10;
};

std::vector<log_entry> random_log(std::uint64_t seed, std::size_t n) {
  command_source src(seed);
  std::vector<log_entry> log;
  for (index_t i = 1; i <= n; ++i)
    log.push_back(src.next(i));
  return log;
}

void fund(settlement_ledger& l) {
  for (owner_id o = 1; o <= 6; ++o) {
    REQUIRE(l.deposit({o, 1'000'000, 0, 1'000}).empty());
    REQUIRE(l.deposit({o, 0, 1, 10'000}).empty());
  }
}

void require_invariants(const std::string& violation) {
  INFO(violation);
  REQUIRE(violation.empty());
}

int seeds_from_env(int fallback) {
  const char* env = std::getenv("RAFT_SM_SEEDS");
  return env != nullptr ? std::atoi(env) : fallback;
}

} // namespace

// -- commands -------------------------------------------------------------------

TEST_CASE("Exchange commands round-trip through their bytes", "[exchange_command]") {
  order_request r = limit(42, 7, side::sell, 105, 30, 1);
  r.type = order_type::stop_limit;
  r.tif = time_in_force::day;
  r.stop_price = 110;
  std::vector<exchange_command> cmds = {r, cancel_command{{42, 1}, 7},
                                        modify_command{{42, 1, 100, 20}, 7},
                                        end_of_day_command{}};
  for (const auto& cmd : cmds) {
    auto back = decode_exchange_command(encode(cmd));
    INFO(back.reason);
    REQUIRE(back);
    CHECK(back.value->index() == cmd.index());
    CHECK(encode(*back.value) == encode(cmd)); // the market's requests have no ==
  }
}

TEST_CASE("Malformed exchange commands are refused with a reason", "[exchange_command]") {
  auto refused = [](std::string_view bytes) {
    auto d = decode_exchange_command(bytes);
    CHECK_FALSE(d);
    return d.reason;
  };
  CHECK(refused("\xff\xff\xff") == "not an ExchangeCommand (protobuf parse failed)");
  CHECK(refused("") == "empty ExchangeCommand (no command set)");
  CHECK(refused(std::string("\x0a\x02\x20\x05", 4)) == "new order: side 5 out of range");
  CHECK(refused(std::string("\x0a\x02\x28\x09", 4)) == "new order: type 9 out of range");
  CHECK(refused(std::string("\x0a\x02\x30\x04", 4)) ==
        "new order: time in force 4 out of range");
  std::string good = encode(exchange_command{limit(1, 1, side::buy, 100, 1)});
  CHECK(refused(good + std::string("\xa8\x06\x01", 3)) ==
        "unknown fields in ExchangeCommand");
}

// -- the exchange ------------------------------------------------------------------

TEST_CASE("The exchange applies committed orders and produces the tape",
          "[replicated_exchange]") {
  auto x = make_exchange();
  CHECK(apply_error(x, command_entry(1, limit(1, 1, side::sell, 100, 10))).empty());
  state_digest after_one = x.state_hash();
  const auto& res = x.apply(command_entry(2, limit(2, 2, side::buy, 101, 4)));
  REQUIRE(res.ok());
  CHECK(res.index == 2);
  // accepted, trade at the maker's price, done (taker)
  REQUIRE(res.events.size() == 3);
  CHECK(res.events[0].kind == event_kind::accepted);
  CHECK(res.events[1].kind == event_kind::trade);
  CHECK(res.events[1].price == 100);
  CHECK(res.events[1].qty == 4);
  CHECK(res.events[2].kind == event_kind::done);
  CHECK(x.state_hash() != after_one);
  CHECK(x.applied_index() == 2);
  CHECK(x.trades_applied() == 1);
  // noops and config entries only advance the index.
  auto before = x.state_hash();
  CHECK(x.apply({1, 3, entry_kind::noop, ""}).ok());
  CHECK(x.apply({1, 4, entry_kind::config, "voters"}).ok());
  CHECK(x.applied_index() == 4);
  CHECK(x.state_hash() == before);
  CHECK(x.check_invariants().empty());
}

TEST_CASE("The state hash follows the tape, not the log indices nor when it is asked",
          "[replicated_exchange]") {
  // Enough commands to close several 1 KiB links of the hash chain.
  auto a = make_exchange();
  auto b = make_exchange();
  auto c = make_exchange();
  index_t ib = 0;
  std::vector<state_digest> seen;
  for (order_id id = 1; id <= 600; ++id) {
    auto cmd =
        limit(id, 1 + id % 5, id % 2 == 0 ? side::buy : side::sell,
              100 + static_cast<price_t>(id % 7) - 3, 1 + static_cast<qty_t>(id % 4));
    REQUIRE(a.apply(command_entry(id, cmd)).ok());
    seen.push_back(a.state_hash()); // asked after every command
    if (id % 3 == 0)                // b has noops in between, so other indices
      REQUIRE(b.apply({1, ++ib, entry_kind::noop, ""}).ok());
    REQUIRE(b.apply(command_entry(++ib, cmd)).ok());
    if (id == 600)
      cmd.qty += 1; // c differs in its last order only
    REQUIRE(c.apply(command_entry(id, cmd)).ok());
  }
  CHECK(a.events_applied() > 1000);
  CHECK(a.state_hash() == b.state_hash());
  CHECK(a.state_hash() != c.state_hash());
  // Each command moved the hash: no two of the 600 values are equal.
  std::sort(seen.begin(), seen.end());
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
}

TEST_CASE("Entries out of order are refused and change nothing",
          "[replicated_exchange]") {
  auto x = make_exchange();
  REQUIRE(x.apply(command_entry(1, limit(1, 1, side::sell, 100, 10))).ok());
  auto h = x.state_hash();
  CHECK(apply_error(x, command_entry(1, limit(2, 1, side::sell, 100, 10))) ==
        "entry 1 applied where 2 is next");
  CHECK(apply_error(x, command_entry(3, limit(2, 1, side::sell, 100, 10))) ==
        "entry 3 applied where 2 is next");
  CHECK(x.applied_index() == 1);
  CHECK(x.state_hash() == h);
  CHECK(x.engine().book(0)->live_orders() == 1);
}

TEST_CASE("A malformed command is refused identically by every replica and changes "
          "nothing but the index",
          "[replicated_exchange]") {
  std::vector<std::unique_ptr<replicated_exchange>> replicas;
  for (int i = 0; i < 3; ++i)
    replicas.push_back(std::make_unique<replicated_exchange>(
        two_symbols(), std::vector<symbol_id>{0, 1}));
  std::vector<log_entry> log = {
      command_entry(1, limit(1, 1, side::sell, 100, 10)),
      {1, 2, entry_kind::command, std::string("\x0a\x02\x20\x05", 4)},
      {1, 3, entry_kind::command, "\x01\x02garbage"},
      command_entry(4, limit(2, 2, side::buy, 100, 10)),
  };
  for (auto& x : replicas) {
    REQUIRE(x->apply(log[0]).ok());
    auto h = x->state_hash();
    auto snap = x->snapshot();
    CHECK(x->apply(log[1]).error == "new order: side 5 out of range");
    CHECK(x->apply(log[2]).error == "not an ExchangeCommand (protobuf parse failed)");
    CHECK(x->state_hash() == h);
    CHECK(x->applied_index() == 3);
    CHECK(x->events_applied() == 1);
    CHECK(x->engine().book(0)->live_orders() == 1);
    // The snapshot differs from the one before only in the applied index.
    auto other = make_exchange();
    REQUIRE(other.restore(x->snapshot()).empty());
    CHECK(other.state_hash() == h);
    CHECK(x->snapshot() != snap);
    REQUIRE(x->apply(log[3]).ok());
  }
  CHECK(replicas[0]->state_hash() == replicas[1]->state_hash());
  CHECK(replicas[1]->state_hash() == replicas[2]->state_hash());
}

TEST_CASE("Three replicas applying the same log produce the same tapes, hashes and "
          "ledgers",
          "[replicated_exchange][settlement_ledger][random]") {
  const int seeds = seeds_from_env(200);
  const std::size_t entries = 600;
  std::map<event_kind, std::size_t> kinds; // the logs exercise every kind of event
  std::map<cancel_reason, std::size_t> cancels;
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed << " (RAFT_SM_SEEDS=N runs seeds 1..N)");
    auto log = random_log(static_cast<std::uint64_t>(seed), entries);
    std::vector<std::unique_ptr<replicated_exchange>> xs;
    std::vector<settlement_ledger> ledgers(3);
    for (int i = 0; i < 3; ++i) {
      xs.push_back(std::make_unique<replicated_exchange>(two_symbols(),
                                                         std::vector<symbol_id>{0, 1}));
      fund(ledgers[static_cast<std::size_t>(i)]);
    }
    std::size_t refused = 0;
    for (const log_entry& e : log) {
      INFO("entry " << e.index);
      const auto& r0 = xs[0]->apply(e);
      std::vector<book_event> tape0 = r0.events;
      std::string err0 = r0.error;
      refused += err0.empty() ? 0 : 1;
      for (const auto& ev : tape0) {
        ++kinds[ev.kind];
        cancels[ev.cancel] += ev.kind == event_kind::cancelled ? 1 : 0;
      }
      REQUIRE(ledgers[0].settle(trades_of(tape0)).empty());
      for (std::size_t i = 1; i < 3; ++i) {
        const auto& ri = xs[i]->apply(e);
        REQUIRE(ri.error == err0);
        REQUIRE(ri.events == tape0);
        REQUIRE(ledgers[i].settle(trades_of(ri.events)).empty());
        REQUIRE(xs[i]->state_hash() == xs[0]->state_hash());
        REQUIRE(ledgers[i].state_hash() == ledgers[0].state_hash());
      }
      REQUIRE(ledgers[0].check_conservation().empty());
      if (e.index % 50 == 0)
        require_invariants(xs[0]->check_invariants());
    }
    require_invariants(xs[0]->check_invariants());
    CHECK(refused > 0);
    CHECK(xs[0]->trades_applied() > 0);
    CHECK(ledgers[0].trades_settled() == xs[0]->trades_applied());
  }
  for (auto k : {event_kind::accepted, event_kind::rejected, event_kind::trade,
                 event_kind::cancelled, event_kind::stop_triggered, event_kind::modified,
                 event_kind::done}) {
    INFO(to_string(k));
    CHECK(kinds[k] > 0);
  }
  for (auto c : {cancel_reason::user, cancel_reason::ioc_remainder,
                 cancel_reason::self_trade, cancel_reason::expired}) {
    INFO(to_string(c));
    CHECK(cancels[c] > 0);
  }
}

TEST_CASE("Snapshot at k, restore, apply the rest equals applying everything",
          "[replicated_exchange][settlement_ledger][random]") {
  const int seeds = seeds_from_env(100);
  const std::size_t entries = 500;
  std::size_t most_resting = 0; // the snapshots carry real books
  std::size_t with_stops = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    auto log = random_log(static_cast<std::uint64_t>(seed) + 1000, entries);
    // The reference: everything, remembering each entry's tape.
    auto full = make_exchange();
    settlement_ledger full_ledger;
    fund(full_ledger);
    std::vector<std::vector<book_event>> tapes;
    for (const log_entry& e : log) {
      tapes.push_back(full.apply(e).events);
      REQUIRE(full_ledger.settle(trades_of(tapes.back())).empty());
    }
    for (std::size_t k :
         {std::size_t{1}, std::size_t{37}, std::size_t{250}, std::size_t{499}}) {
      INFO("seed " << seed << ", snapshot after entry " << k);
      auto first = make_exchange();
      settlement_ledger first_ledger;
      fund(first_ledger);
      for (std::size_t i = 0; i < k; ++i)
        REQUIRE(first_ledger.settle(trades_of(first.apply(log[i]).events)).empty());
      std::string snap = first.snapshot();
      std::string ledger_snap = first_ledger.snapshot();
      for (symbol_id sym : {0u, 1u}) {
        const order_book& book = *first.engine().book(sym);
        std::size_t resting = 0;
        for (side sd : {side::buy, side::sell}) {
          std::vector<depth_level> levels;
          book.depth(sd, 1000, levels);
          for (const auto& lv : levels)
            resting += lv.orders;
        }
        most_resting = std::max(most_resting, resting);
        with_stops += book.live_orders() > resting ? 1 : 0;
      }

      auto second = make_exchange();
      REQUIRE(second.restore(snap).empty());
      settlement_ledger second_ledger;
      REQUIRE(second_ledger.restore(ledger_snap).empty());
      REQUIRE(second.snapshot() == snap);
      REQUIRE(second.state_hash() == first.state_hash());
      REQUIRE(second.applied_index() == k);
      require_invariants(second.check_invariants());
      REQUIRE(second_ledger.state_hash() == first_ledger.state_hash());
      for (std::size_t i = k; i < log.size(); ++i) {
        INFO("entry " << log[i].index);
        const auto& r = second.apply(log[i]);
        REQUIRE(r.events == tapes[i]);
        REQUIRE(second_ledger.settle(trades_of(r.events)).empty());
      }
      REQUIRE(second.state_hash() == full.state_hash());
      REQUIRE(second.snapshot() == full.snapshot());
      require_invariants(second.check_invariants());
      REQUIRE(second_ledger.state_hash() == full_ledger.state_hash());
      REQUIRE(second_ledger.check_conservation().empty());
    }
  }
  CHECK(most_resting >= 10);
  CHECK(with_stops > 0);
}

TEST_CASE("A restored book keeps time priority, pending stops and the last price",
          "[replicated_exchange]") {
  auto a = make_exchange();
  index_t i = 0;
  auto run = [&](replicated_exchange& x, const exchange_command& c) {
    const auto& r = x.apply(command_entry(x.applied_index() + 1, c));
    REQUIRE(r.ok());
    return r.events;
  };
  run(a, limit(1, 1, side::sell, 101, 5));
  run(a, limit(2, 2, side::sell, 101, 5));
  run(a, limit(3, 3, side::sell, 100, 5));
  run(a, limit(4, 4, side::buy, 100, 2)); // trades at 100: last price 100
  // Order 1 re-queues behind order 2 by a quantity increase.
  run(a, modify_command{{1, 0, 101, 6}, 1});
  order_request stop = limit(5, 5, side::buy, 0, 3);
  stop.type = order_type::stop;
  stop.stop_price = 101;
  run(a, stop);
  i = a.applied_index();
  auto b = make_exchange();
  REQUIRE(b.restore(a.snapshot()).empty());
  REQUIRE(b.engine().book(0)->stats().last_price == 100);
  // A buy for 10 at 101 takes order 3's rest at 100, then order 2 (older at
  // 101) before order 1; the trade at 101 triggers the stop.
  auto sweep = limit(6, 6, side::buy, 101, 10);
  auto ea = run(a, sweep);
  auto eb = run(b, sweep);
  CHECK(ea == eb);
  std::vector<order_id> makers;
  bool triggered = false;
  for (const auto& e : eb) {
    if (e.kind == event_kind::trade && e.id == 6)
      makers.push_back(e.maker);
    triggered = triggered || e.kind == event_kind::stop_triggered;
  }
  CHECK(makers == std::vector<order_id>{3, 2, 1});
  CHECK(triggered);
  CHECK(a.state_hash() == b.state_hash());
  CHECK(b.applied_index() == i + 1);
}

TEST_CASE("A bad exchange snapshot is refused and the state kept",
          "[replicated_exchange]") {
  auto x = make_exchange();
  REQUIRE(x.apply(command_entry(1, limit(1, 1, side::sell, 100, 10))).ok());
  auto h = x.state_hash();
  CHECK(x.restore("\xff\xff junk") == "not an ExchangeSnapshot (protobuf parse failed)");
  // A snapshot of another exchange listing a symbol this one does not trade.
  symbol_table t = two_symbols();
  t.add({"CCC", 1, 1, 100});
  replicated_exchange other(t, {2});
  CHECK(x.restore(other.snapshot()) == "symbol 2 is not traded here");
  // An open tape link that would have been closed (1 KiB or more).
  pb::ExchangeSnapshot long_link;
  REQUIRE(long_link.ParseFromString(x.snapshot()));
  long_link.set_tape_link(std::string(1024, 'x'));
  CHECK(x.restore(long_link.SerializeAsString()) == "open tape link of 1024 bytes");
  CHECK(x.state_hash() == h);
  CHECK(x.applied_index() == 1);
  CHECK(x.engine().book(0)->live_orders() == 1);
}

// -- the ledger ----------------------------------------------------------------------

TEST_CASE("Trades move cash and shares from the tape's buyer and seller",
          "[settlement_ledger]") {
  std::vector<book_event> tape(2);
  tape[0].kind = event_kind::accepted;
  tape[1].kind = event_kind::trade;
  tape[1].side = side::sell; // the taker sells
  tape[1].symbol = 1;
  tape[1].owner = 7;
  tape[1].maker_owner = 8;
  tape[1].price = 50;
  tape[1].qty = 3;
  auto trades = trades_of(tape);
  REQUIRE(trades == std::vector<trade_record>{{1, 50, 3, 8, 7}});
  settlement_ledger l;
  REQUIRE(l.settle(trades).empty());
  CHECK(l.cash(8) == -150); // no risk checks: committed trades always settle
  CHECK(l.cash(7) == 150);
  CHECK(l.position(8, 1) == 3);
  CHECK(l.position(7, 1) == -3);
  CHECK(l.check_conservation().empty());
  CHECK(l.trades_settled() == 1);
}

TEST_CASE("A refused batch changes nothing", "[settlement_ledger]") {
  settlement_ledger l;
  REQUIRE(l.deposit({1, 1'000, 0, 10}).empty());
  auto h = l.state_hash();
  auto snap = l.snapshot();
  std::vector<trade_record> batch = {{0, 10, 2, 2, 1}, {0, 10, 0, 2, 1}};
  CHECK(l.settle(batch) == "trade 2 of the batch: non-positive price or quantity");
  batch[1] = {0, std::int64_t{1} << 62, 4, 2, 1};
  CHECK(l.settle(batch) == "trade 2 of the batch: notional overflows");
  CHECK(l.deposit({1, INT64_MAX, 0, 0}) == "deposit to 1 overflows");
  CHECK(l.state_hash() == h);
  CHECK(l.snapshot() == snap);
  CHECK(l.accounts() == 1);
  CHECK(l.check_conservation().empty());
}

TEST_CASE("The ledger's own log: deposits and trade batches as commands",
          "[settlement_ledger]") {
  std::vector<log_entry> log = {
      {1, 1, entry_kind::command,
       encode(settlement_command{deposit_command{1, 500, 0, 0}})},
      {1, 2, entry_kind::command,
       encode(settlement_command{deposit_command{2, 0, 0, 9}})},
      {1, 3, entry_kind::noop, ""},
      {1, 4, entry_kind::command, "\xff\xfe not protobuf"},
      {1, 5, entry_kind::command,
       encode(settlement_command{std::vector<trade_record>{{0, 20, 4, 1, 2}}})},
  };
  settlement_ledger a;
  settlement_ledger b;
  for (const auto& e : log) {
    auto ra = a.apply(e);
    auto rb = b.apply(e);
    CHECK(ra.error == rb.error);
    CHECK(a.state_hash() == b.state_hash());
    CHECK(a.check_conservation().empty());
  }
  CHECK(a.apply(log[4]).error == "entry 5 applied where 6 is next");
  CHECK(a.applied_index() == 5);
  CHECK(a.cash(1) == 420);
  CHECK(a.cash(2) == 80);
  CHECK(a.position(1, 0) == 4);
  CHECK(a.position(2, 0) == 5);
  CHECK(decode_settlement_command("").reason ==
        "empty SettlementCommand (no command set)");
  settlement_ledger c;
  REQUIRE(c.restore(a.snapshot()).empty());
  CHECK(c.state_hash() == a.state_hash());
  CHECK(c.applied_index() == 5);
}

TEST_CASE("The ledger's hash depends on the balances, not on the history",
          "[settlement_ledger]") {
  settlement_ledger a;
  settlement_ledger b;
  REQUIRE(a.deposit({1, 100, 0, 0}).empty());
  REQUIRE(a.deposit({2, 100, 0, 0}).empty());
  REQUIRE(
      a.settle(std::vector<trade_record>{{0, 10, 1, 1, 2}, {0, 10, 1, 2, 1}}).empty());
  REQUIRE(b.deposit({2, 100, 0, 0}).empty());
  REQUIRE(b.deposit({1, 100, 0, 0}).empty());
  CHECK(a.state_hash() == b.state_hash());
  CHECK(a.accounts() == 2);
  REQUIRE(b.deposit({3, 1, 0, 0}).empty());
  CHECK(a.state_hash() != b.state_hash());
  CHECK(to_hex(a.state_hash()).size() == 64);
}

// -- throughput (hidden: run with "[.bench]") ---------------------------------

TEST_CASE("Apply throughput of the exchange and the ledger", "[.bench]") {
  auto log = random_log(7, 200'000);
  auto x = make_exchange();
  settlement_ledger l;
  fund(l);
  auto start = std::chrono::steady_clock::now();
  std::size_t trades = 0;
  for (const log_entry& e : log) {
    auto tr = trades_of(x.apply(e).events);
    trades += tr.size();
    REQUIRE(l.settle(tr).empty());
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("exchange+ledger: %zu entries (%zu trades) in %.3f s: %.0f entries/s\n",
              log.size(), trades, secs, static_cast<double>(log.size()) / secs);
  auto t0 = std::chrono::steady_clock::now();
  std::string snap = x.snapshot();
  auto restored = make_exchange();
  REQUIRE(restored.restore(snap).empty());
  double snap_secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("snapshot of %zu bytes taken and restored in %.4f s\n", snap.size(),
              snap_secs);
  REQUIRE(restored.state_hash() == x.state_hash());
}

TEST_CASE("Apply throughput of the exchange alone on the raft-bench orders", "[.bench]") {
  // The stream `marketsim raft-bench` sends, on the book it trades (one
  // symbol, tick 1, lot 1): what one replica does per committed order.
  // APPLY_BENCH_ORDERS=n for another count.
  const char* env = std::getenv("APPLY_BENCH_ORDERS");
  const std::size_t n = env != nullptr ? std::strtoull(env, nullptr, 10) : 400'000;
  std::vector<log_entry> log;
  log.reserve(n);
  for (index_t i = 1; i <= n; ++i)
    log.push_back(command_entry(i, raft_bench_order(i)));
  symbol_table table;
  table.add({"SYM", 1, 1});
  replicated_exchange x(table, {0});
  // CPU time of this thread as well as wall time: the machine is shared.
  auto cpu_now = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  };
  std::size_t refused = 0;
  const double cpu0 = cpu_now();
  auto start = std::chrono::steady_clock::now();
  for (const log_entry& e : log)
    refused += x.apply(e).ok() ? 0 : 1;
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_now() - cpu0;
  REQUIRE(refused == 0);
  std::printf(
      "exchange: %zu orders in %.3f s (%.3f s CPU): %.0f orders/s, %.0f ns/order, "
      "%.0f CPU ns/order; %llu events, %llu trades, %zu live orders at the end\n",
      n, secs, cpu, static_cast<double>(n) / secs, 1e9 * secs / static_cast<double>(n),
      1e9 * cpu / static_cast<double>(n),
      static_cast<unsigned long long>(x.events_applied()),
      static_cast<unsigned long long>(x.trades_applied()),
      x.engine().book(0)->live_orders());
  std::printf("state hash %s\n", to_hex(x.state_hash()).c_str());
  require_invariants(x.check_invariants());
}
