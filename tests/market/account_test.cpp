/// Specification of trader accounts and the ledger (src/market/account.hpp):
/// exact cash and positions, fees and rebates, average-cost PnL, pre-trade
/// checks with reservations, and conservation across a ledger.

#include "market/account.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

namespace {

using namespace marketsim::market;

constexpr symbol_id aaa = 0;
constexpr symbol_id bbb = 1;

order_request limit(order_id id, side sd, symbol_id s, price_t price, qty_t qty) {
  order_request r;
  r.id = id;
  r.owner = 1;
  r.symbol = s;
  r.side = sd;
  r.price = price;
  r.qty = qty;
  return r;
}

order_request market_order(order_id id, side sd, symbol_id s, qty_t qty) {
  order_request r = limit(id, sd, s, 0, qty);
  r.type = order_type::market;
  r.tif = time_in_force::ioc;
  return r;
}

fill taker(side sd, symbol_id s, price_t price, qty_t qty, order_id id = 0) {
  return fill{id, s, sd, price, qty, false};
}

fill maker(side sd, symbol_id s, price_t price, qty_t qty, order_id id = 0) {
  return fill{id, s, sd, price, qty, true};
}

account_params with_cash(money_t cash) {
  account_params p;
  p.cash = cash;
  return p;
}

account_params with_shares(symbol_id s, qty_t qty, price_t cost) {
  account_params p;
  p.positions[s] = holding{qty, cost};
  return p;
}

book_event trade(symbol_id s, owner_id taker_owner, order_id taker_id, side aggressor,
                 owner_id maker_owner, order_id maker_id, price_t price, qty_t qty) {
  book_event e;
  e.kind = event_kind::trade;
  e.symbol = s;
  e.owner = taker_owner;
  e.id = taker_id;
  e.side = aggressor;
  e.maker_owner = maker_owner;
  e.maker = maker_id;
  e.price = price;
  e.qty = qty;
  return e;
}

} // namespace

// -- cash, positions, fees ---------------------------------------------------------

TEST_CASE("Defaults: no cash, no positions, no short, no margin, no fees", "[account]") {
  account a;
  CHECK(a.cash() == 0);
  CHECK(a.positions().empty());
  CHECK(a.params().fees.maker_bps == 0);
  CHECK(a.params().fees.taker_bps == 0);
  CHECK_FALSE(a.params().allow_short);
  CHECK_FALSE(a.params().allow_margin);
  CHECK(a.check(limit(1, side::buy, aaa, 1, 1), 0) == reject_reason::insufficient_cash);
  CHECK(a.check(limit(1, side::sell, aaa, 1, 1), 0) ==
        reject_reason::insufficient_position);
  CHECK(a.check_invariants().empty());
}

TEST_CASE("Buying and selling move cash and shares exactly", "[account]") {
  account a{with_cash(1'000'000)};
  CHECK(a.on_fill(taker(side::buy, aaa, 250, 100)) == 0);
  CHECK(a.cash() == 975'000);
  CHECK(a.position(aaa) == 100);
  CHECK(a.basis(aaa) == 25'000);
  CHECK(a.position(bbb) == 0);

  a.on_fill(maker(side::sell, aaa, 260, 40));
  CHECK(a.cash() == 985'400);
  CHECK(a.position(aaa) == 60);
  CHECK(a.realised() == 400);
  CHECK(a.fees_paid() == 0);
  CHECK(a.check_invariants().empty());
}

TEST_CASE("Fees round up to whole units, rebates round down in size", "[account][fees]") {
  CHECK(fee_for(10'000, 100, 10) == 1'000); // exact: 10 bps of 1'000'000
  CHECK(fee_for(101, 3, 10) == 1);          // 0.303 -> 1
  CHECK(fee_for(101, 3, -10) == 0);         // rebate of 0.303 -> 0
  CHECK(fee_for(999, 15, -2) == -2);        // rebate of 2.997 -> 2
  CHECK(fee_for(1'000, 15, -2) == -3);      // exact rebate of 3
  CHECK(fee_for(7, 1, 10'000) == 7);        // 100% never exceeds the notional
}

TEST_CASE("A taker pays its fee, a maker receives its rebate", "[account][fees]") {
  account_params p = with_cash(100'000);
  p.positions[aaa] = holding{100, 900};
  p.fees = fee_schedule{-2, 30};
  account a{p};

  // Taker buy: notional 10'100, fee ceil(30.3) = 31.
  CHECK(a.on_fill(taker(side::buy, aaa, 101, 100)) == 31);
  CHECK(a.cash() == 100'000 - 10'100 - 31);
  // Maker sell: notional 20'000, rebate 4.
  CHECK(a.on_fill(maker(side::sell, aaa, 100, 200)) == -4);
  CHECK(a.cash() == 100'000 - 10'100 - 31 + 20'000 + 4);
  CHECK(a.fees_paid() == 27);
  CHECK(a.position(aaa) == 0);
  CHECK(a.check_invariants().empty());
}

TEST_CASE("An order's fees do not depend on how the book splits it", "[account][fees]") {
  account_params p = with_cash(1'000'000);
  p.fees = fee_schedule{0, 10};
  account split{p};
  account whole{p};
  REQUIRE(split.reserve(limit(1, side::buy, aaa, 100, 100), 0) == reject_reason::none);
  REQUIRE(whole.reserve(limit(1, side::buy, aaa, 100, 100), 0) == reject_reason::none);

  // 100 fills of one unit would each round 0.1 up to 1 on their own.
  for (int i = 0; i < 100; ++i)
    split.on_fill(taker(side::buy, aaa, 100, 1, 1));
  whole.on_fill(taker(side::buy, aaa, 100, 100, 1));
  CHECK(split.fees_paid() == 10);
  CHECK(whole.fees_paid() == 10);
  CHECK(split.cash() == whole.cash());

  // A fill of an order the account does not hold is rounded on its own.
  split.on_fill(taker(side::buy, aaa, 100, 1));
  CHECK(split.fees_paid() == 11);
  CHECK(split.check_invariants().empty());
}

// -- average-cost PnL ----------------------------------------------------------------

TEST_CASE("Average cost: a partial close realises against the average price",
          "[account][pnl]") {
  account a{with_cash(1'000'000)};
  a.on_fill(taker(side::buy, aaa, 10, 100));
  a.on_fill(taker(side::buy, aaa, 13, 100)); // average 11.5
  CHECK(a.basis(aaa) == 2'300);

  a.on_fill(taker(side::sell, aaa, 12, 50)); // (12 - 11.5) * 50
  CHECK(a.realised() == 25);
  CHECK(a.position(aaa) == 150);
  CHECK(a.basis(aaa) == 1'725); // average still 11.5

  a.on_fill(taker(side::sell, aaa, 11, 150)); // (11 - 11.5) * 150
  CHECK(a.realised() == -50);                 // = proceeds 2'250 - cost 2'300
  CHECK(a.position(aaa) == 0);
  CHECK(a.basis(aaa) == 0);
  CHECK(a.positions().empty());
  CHECK(a.check_invariants().empty());
}

TEST_CASE("Average cost: rounding stays with the open units, a round trip is exact",
          "[account][pnl]") {
  account a{with_cash(1'000)};
  a.on_fill(taker(side::buy, aaa, 10, 3));
  a.on_fill(taker(side::buy, aaa, 11, 1)); // basis 41 for 4 units
  a.on_fill(taker(side::sell, aaa, 11, 1));
  CHECK(a.basis(aaa) == 31); // 41 * 1 / 4 = 10.25 removed as 10
  CHECK(a.realised() == 1);
  a.on_fill(taker(side::sell, aaa, 11, 3));
  CHECK(a.realised() == 3); // proceeds 44 - cost 41, whatever the rounding
  CHECK(a.cash() == 1'003);
}

TEST_CASE("Average cost: a fill through zero closes, then opens at the fill price",
          "[account][pnl][short]") {
  account_params p = with_cash(100'000);
  p.allow_short = true;
  p.max_short = 100;
  account a{p};

  a.on_fill(taker(side::buy, aaa, 20, 50));
  a.on_fill(taker(side::sell, aaa, 22, 80)); // closes 50 long at +2, opens 30 short at 22
  CHECK(a.realised() == 100);
  CHECK(a.position(aaa) == -30);
  CHECK(a.basis(aaa) == -660);

  a.on_fill(taker(side::buy, aaa, 19, 40)); // covers 30 at +3, opens 10 long at 19
  CHECK(a.realised() == 190);
  CHECK(a.position(aaa) == 10);
  CHECK(a.basis(aaa) == 190);
  CHECK(a.cash() == 100'000 - 1'000 + 1'760 - 760);
  CHECK(a.check_invariants().empty());
}

TEST_CASE("Unrealised PnL and equity are marked to market", "[account][pnl]") {
  account_params p = with_cash(50'000);
  p.allow_short = true;
  p.max_short = 100;
  account a{p};
  a.on_fill(taker(side::buy, aaa, 250, 100)); // basis 25'000
  a.on_fill(taker(side::sell, bbb, 22, 30));  // basis -660

  mark_prices marks{{aaa, 260}, {bbb, 20}};
  CHECK(a.unrealised(marks) == 1'000 + 60);
  CHECK(a.equity(marks) == a.cash() + 26'000 - 600);
  CHECK(a.cash() == 50'000 - 25'000 + 660);

  // Without a mark a position is valued at cost: no unrealised PnL.
  mark_prices only_a{{aaa, 240}};
  CHECK(a.unrealised(only_a) == -1'000);
  CHECK(a.equity(only_a) == a.cash() + 24'000 - 660);
}

TEST_CASE("Equity changes by realised plus unrealised PnL minus fees", "[account][pnl]") {
  account_params p = with_shares(aaa, 40, 90);
  p.cash = 10'000;
  p.fees = fee_schedule{-1, 25};
  account a{p};
  mark_prices marks{{aaa, 97}};
  money_t start_at_cost = 10'000 + 40 * 90;

  a.on_fill(taker(side::buy, aaa, 95, 30));
  a.on_fill(maker(side::sell, aaa, 99, 50));
  a.on_fill(taker(side::sell, aaa, 96, 5));
  CHECK(a.equity(marks) ==
        start_at_cost + a.realised() + a.unrealised(marks) - a.fees_paid());
  CHECK(a.check_invariants().empty());
}

// -- pre-trade checks ------------------------------------------------------------------

TEST_CASE("A buy needs cash for its notional and worst-case fee", "[account][check]") {
  account a{with_cash(10'000)};
  CHECK(a.check(limit(1, side::buy, aaa, 100, 100), 0) == reject_reason::none);
  CHECK(a.check(limit(1, side::buy, aaa, 101, 100), 0) ==
        reject_reason::insufficient_cash);

  account_params p = with_cash(10'000);
  p.fees = fee_schedule{-5, 10};
  account with_fee{p};
  // 10'000 + 10 bps: the rebate is not counted on, the taker fee is.
  CHECK(with_fee.check(limit(1, side::buy, aaa, 100, 100), 0) ==
        reject_reason::insufficient_cash);
  CHECK(with_fee.check(limit(1, side::buy, aaa, 100, 99), 0) == reject_reason::none);
  // A post-only order can only be a maker: the rebate rate is its worst case.
  order_request post = limit(1, side::buy, aaa, 100, 100);
  post.post_only = true;
  CHECK(with_fee.check(post, 0) == reject_reason::none);
}

TEST_CASE("Open buy orders hold cash until filled or released", "[account][check]") {
  account a{with_cash(10'000)};
  REQUIRE(a.reserve(limit(1, side::buy, aaa, 100, 60), 0) == reject_reason::none);
  CHECK(a.reserved_cash() == 6'000);
  CHECK(a.open_orders() == 1);
  CHECK(a.check(limit(2, side::buy, bbb, 100, 41), 0) ==
        reject_reason::insufficient_cash);
  CHECK(a.check(limit(2, side::buy, bbb, 100, 40), 0) == reject_reason::none);

  // A partial fill below the limit spends less than it frees.
  a.on_fill(taker(side::buy, aaa, 95, 20, 1));
  CHECK(a.cash() == 8'100);
  CHECK(a.reserved_cash() == 4'000);
  CHECK(a.check(limit(2, side::buy, bbb, 100, 41), 0) == reject_reason::none);
  CHECK(a.check(limit(2, side::buy, bbb, 100, 42), 0) ==
        reject_reason::insufficient_cash);

  CHECK(a.release(1));
  CHECK_FALSE(a.release(1));
  CHECK(a.reserved_cash() == 0);
  CHECK(a.open_orders() == 0);
  CHECK(a.check(limit(2, side::buy, bbb, 100, 81), 0) == reject_reason::none);
  CHECK(a.check_invariants().empty());
}

TEST_CASE("A fully filled order holds nothing more", "[account][check]") {
  account_params p = with_cash(10'000);
  p.fees = fee_schedule{3, 10};
  account a{p};
  // Both rates charge: budget = fee at 10 bps of 5'000 (5) + 1 unit of rounding.
  REQUIRE(a.reserve(limit(1, side::buy, aaa, 100, 50), 0) == reject_reason::none);
  CHECK(a.reserved_cash() == 5'006);
  a.on_fill(taker(side::buy, aaa, 100, 30, 1));
  CHECK(a.reserved_cash() == 2'000 + 6 - 3);
  a.on_fill(maker(side::buy, aaa, 100, 20, 1));
  CHECK(a.reserved_cash() == 0);
  CHECK(a.open_orders() == 0);
  CHECK(a.cash() == 10'000 - 5'000 - 3 - 1);
  CHECK_FALSE(a.release(1));
}

TEST_CASE("A sell needs free shares unless shorting is allowed", "[account][check]") {
  account a{with_shares(aaa, 100, 10)};
  CHECK(a.check(limit(1, side::sell, aaa, 10, 100), 0) == reject_reason::none);
  CHECK(a.check(limit(1, side::sell, aaa, 10, 101), 0) ==
        reject_reason::insufficient_position);
  CHECK(a.check(limit(1, side::sell, bbb, 10, 1), 0) ==
        reject_reason::insufficient_position);

  REQUIRE(a.reserve(limit(1, side::sell, aaa, 12, 70), 0) == reject_reason::none);
  CHECK(a.reserved_to_sell(aaa) == 70);
  CHECK(a.check(limit(2, side::sell, aaa, 10, 31), 0) ==
        reject_reason::insufficient_position);
  CHECK(a.check(limit(2, side::sell, aaa, 10, 30), 0) == reject_reason::none);

  a.on_fill(maker(side::sell, aaa, 12, 50, 1));
  CHECK(a.position(aaa) == 50);
  CHECK(a.reserved_to_sell(aaa) == 20);
  CHECK(a.check(limit(2, side::sell, aaa, 10, 31), 0) ==
        reject_reason::insufficient_position);
  CHECK(a.release(1));
  CHECK(a.reserved_to_sell(aaa) == 0);
  CHECK(a.check(limit(2, side::sell, aaa, 10, 50), 0) == reject_reason::none);
  CHECK(a.check_invariants().empty());
}

TEST_CASE("Shorting is limited per symbol, open sells included",
          "[account][check][short]") {
  account_params p = with_shares(aaa, 20, 10);
  p.allow_short = true;
  p.max_short = 50;
  account a{p};
  CHECK(a.check(limit(1, side::sell, aaa, 10, 70), 0) == reject_reason::none);
  CHECK(a.check(limit(1, side::sell, aaa, 10, 71), 0) == reject_reason::short_limit);
  CHECK(a.check(limit(1, side::sell, bbb, 10, 50), 0) == reject_reason::none);
  CHECK(a.check(limit(1, side::sell, bbb, 10, 51), 0) == reject_reason::short_limit);

  REQUIRE(a.reserve(limit(1, side::sell, aaa, 10, 60), 0) == reject_reason::none);
  CHECK(a.check(limit(2, side::sell, aaa, 10, 11), 0) == reject_reason::short_limit);
  CHECK(a.check(limit(2, side::sell, aaa, 10, 10), 0) == reject_reason::none);
  a.on_fill(taker(side::sell, aaa, 10, 60, 1));
  CHECK(a.position(aaa) == -40);
  CHECK(a.check(limit(2, side::sell, aaa, 10, 11), 0) == reject_reason::short_limit);
}

TEST_CASE("Margin lets cash fall to the floor, not below", "[account][check][margin]") {
  account_params p = with_cash(10'000);
  p.allow_margin = true;
  p.max_borrow = 5'000;
  account a{p};
  CHECK(a.check(limit(1, side::buy, aaa, 100, 150), 0) == reject_reason::none);
  CHECK(a.check(limit(1, side::buy, aaa, 100, 151), 0) == reject_reason::margin_limit);

  a.on_fill(taker(side::buy, aaa, 100, 120, 0));
  CHECK(a.cash() == -2'000);
  CHECK(a.check(limit(2, side::buy, aaa, 100, 30), 0) == reject_reason::none);
  CHECK(a.check(limit(2, side::buy, aaa, 100, 31), 0) == reject_reason::margin_limit);
  CHECK(a.check_invariants().empty());
}

TEST_CASE("Market buys reserve at the reference price raised by the collar",
          "[account][check][market]") {
  account a{with_cash(11'000)}; // default collar 10%
  CHECK(a.check(market_order(1, side::buy, aaa, 100), 100) == reject_reason::none);
  CHECK(a.check(market_order(1, side::buy, aaa, 101), 100) ==
        reject_reason::insufficient_cash);
  CHECK(a.check(market_order(1, side::buy, aaa, 1), 0) ==
        reject_reason::no_reference_price);
  REQUIRE(a.reserve(market_order(1, side::buy, aaa, 98), 101) == reject_reason::none);
  CHECK(a.reserved_cash() == 98 * 112); // 111.1 rounded up

  account_params p = with_cash(10'500);
  p.market_collar_bps = 500;
  account five{p};
  CHECK(five.check(market_order(1, side::buy, aaa, 100), 100) == reject_reason::none);
  CHECK(five.check(market_order(1, side::buy, aaa, 101), 100) ==
        reject_reason::insufficient_cash);

  // A market sell holds shares; it needs no reference price.
  account s{with_shares(aaa, 5, 10)};
  CHECK(s.check(market_order(1, side::sell, aaa, 5), 0) == reject_reason::none);
}

TEST_CASE("Stop buys reserve at the stop price raised by the collar",
          "[account][check][market]") {
  account a{with_cash(11'000)};
  order_request stop = market_order(1, side::buy, aaa, 100);
  stop.type = order_type::stop;
  stop.tif = time_in_force::gtc;
  stop.stop_price = 100;
  CHECK(a.check(stop, 0) == reject_reason::none);
  stop.stop_price = 101;
  CHECK(a.check(stop, 0) == reject_reason::insufficient_cash);
  stop.stop_price = 0;
  CHECK(a.check(stop, 0) == reject_reason::bad_stop_price);
}

TEST_CASE("Malformed and duplicate orders are refused, a reject changes nothing",
          "[account][check]") {
  account a{with_cash(10'000)};
  CHECK(a.check(limit(1, side::buy, aaa, 100, 0), 0) == reject_reason::bad_quantity);
  CHECK(a.check(limit(1, side::buy, aaa, 0, 1), 0) == reject_reason::bad_price);
  CHECK(a.check(limit(0, side::buy, aaa, 100, 1), 0) ==
        reject_reason::duplicate_order_id);
  REQUIRE(a.reserve(limit(1, side::buy, aaa, 100, 10), 0) == reject_reason::none);
  CHECK(a.reserve(limit(1, side::buy, aaa, 100, 10), 0) ==
        reject_reason::duplicate_order_id);
  CHECK(a.reserve(limit(2, side::buy, aaa, 100, 91), 0) ==
        reject_reason::insufficient_cash);
  CHECK(a.reserved_cash() == 1'000);
  CHECK(a.open_orders() == 1);
  CHECK(to_string(reject_reason::insufficient_cash) == "insufficient_cash");
  CHECK(to_string(reject_reason::short_limit) == "short_limit");
}

TEST_CASE("Invalid account params are refused at construction", "[account]") {
  account_params fee = with_cash(0);
  fee.fees.taker_bps = 10'001;
  CHECK_THROWS_AS(account{fee}, std::invalid_argument);

  CHECK_THROWS_AS(account{with_cash(-1)}, std::invalid_argument);
  account_params margin = with_cash(-1);
  margin.allow_margin = true;
  margin.max_borrow = 1;
  CHECK_NOTHROW(account{margin});

  CHECK_THROWS_AS(account{with_shares(aaa, -1, 10)}, std::invalid_argument);
  account_params short_start = with_shares(aaa, -10, 10);
  short_start.allow_short = true;
  short_start.max_short = 9;
  CHECK_THROWS_AS(account{short_start}, std::invalid_argument);

  account_params collar;
  collar.market_collar_bps = -1;
  CHECK_THROWS_AS(account{collar}, std::invalid_argument);
}

// -- ledger ------------------------------------------------------------------------

TEST_CASE("The ledger settles a trade between taker and maker", "[ledger]") {
  ledger l;
  account_params buyer = with_cash(100'000);
  buyer.fees = fee_schedule{-2, 30};
  account_params seller = with_shares(aaa, 500, 90);
  seller.fees = fee_schedule{-2, 30};
  l.open(1, buyer);
  l.open(2, seller);
  REQUIRE(l.check_conservation().empty());

  // Owner 1 buys 200 at 101 from owner 2's resting ask.
  REQUIRE(l.apply(trade(aaa, 1, 11, side::buy, 2, 22, 101, 200)));
  const account& b = *l.find(1);
  const account& s = *l.find(2);
  CHECK(b.cash() == 100'000 - 20'200 - 61); // 30 bps of 20'200 = 60.6
  CHECK(b.position(aaa) == 200);
  CHECK(s.cash() == 20'200 + 4); // 2 bps rebate of 20'200 = 4.04
  CHECK(s.position(aaa) == 300);
  CHECK(s.realised() == 200 * (101 - 90));
  CHECK(l.fees_collected() == 61 - 4);
  CHECK(l.check_conservation().empty());
}

TEST_CASE("The ledger ignores non-trades and unknown owners", "[ledger]") {
  ledger l;
  l.open(1, with_cash(1'000));
  l.open(2, with_shares(aaa, 10, 5));
  book_event accepted = trade(aaa, 1, 1, side::buy, 2, 2, 10, 1);
  accepted.kind = event_kind::accepted;
  CHECK_FALSE(l.apply(accepted));
  CHECK_FALSE(l.apply(trade(aaa, 1, 1, side::buy, 3, 2, 10, 1)));
  CHECK_FALSE(l.apply(trade(aaa, 3, 1, side::buy, 2, 2, 10, 1)));
  CHECK(l.find(1)->cash() == 1'000);
  CHECK(l.find(2)->position(aaa) == 10);
  CHECK(l.find(3) == nullptr);
  CHECK_THROWS_AS(l.open(1, with_cash(5)), std::invalid_argument);
  CHECK(l.check_conservation().empty());
}

TEST_CASE("Random fills through a ledger conserve cash and shares", "[ledger][random]") {
  // Owners with different permissions trade limit orders that passed their
  // pre-trade checks, matched at the maker's price as the book would. After
  // every trade: conservation, and no account beyond its cash floor or short
  // limit (the holds are what guarantees that).
  constexpr int owners = 6;
  constexpr symbol_id symbols = 3;
  const auto seed = GENERATE(1u, 2u, 3u, 4u);
  std::mt19937_64 rng(seed);
  auto draw = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };

  ledger l;
  for (owner_id o = 1; o <= owners; ++o) {
    account_params p;
    p.cash = draw(0, 200'000);
    for (symbol_id s = 0; s < symbols; ++s)
      p.positions[s] = holding{draw(0, 300), draw(50, 150)};
    p.fees = fee_schedule{static_cast<std::int32_t>(draw(-3, 5)),
                          static_cast<std::int32_t>(draw(0, 40))};
    p.allow_short = o % 2 == 0;
    p.max_short = p.allow_short ? draw(0, 200) : 0;
    p.allow_margin = o % 3 == 0;
    p.max_borrow = p.allow_margin ? draw(0, 50'000) : 0;
    l.open(o, p);
  }

  struct resting {
    order_request req;
    qty_t open = 0;
  };
  std::vector<resting> book;
  order_id next_id = 1;
  int trades = 0;
  int rejects = 0;

  for (int step = 0; step < 3'000; ++step) {
    owner_id who = static_cast<owner_id>(draw(1, owners));
    order_request req;
    req.id = next_id++;
    req.owner = who;
    req.symbol = static_cast<symbol_id>(draw(0, symbols - 1));
    req.side = draw(0, 1) == 0 ? side::buy : side::sell;
    req.price = draw(80, 120);
    req.qty = draw(1, 120);
    account& acc = *l.find(who);
    if (acc.reserve(req, 0) != reject_reason::none) {
      ++rejects;
      continue;
    }
    qty_t open = req.qty;
    // Match against other owners' crossing orders, oldest first.
    for (auto& r : book) {
      if (open == 0)
        break;
      bool crosses =
          r.req.symbol == req.symbol && r.req.side != req.side && r.req.owner != who &&
          (req.side == side::buy ? r.req.price <= req.price : r.req.price >= req.price);
      if (!crosses || r.open == 0)
        continue;
      qty_t q = std::min(open, r.open);
      REQUIRE(l.apply(trade(req.symbol, who, req.id, req.side, r.req.owner, r.req.id,
                            r.req.price, q)));
      ++trades;
      open -= q;
      r.open -= q;
      std::string broken = l.check_conservation();
      INFO("seed " << seed << " step " << step << ": " << broken);
      REQUIRE(broken.empty());
      for (const auto& [o, a] : l.accounts()) {
        const auto& p = a.params();
        REQUIRE(a.cash() >= (p.allow_margin ? -p.max_borrow : 0));
        for (const auto& [s, pos] : a.positions())
          REQUIRE(pos.qty >= -p.max_short);
      }
    }
    book.erase(std::remove_if(book.begin(), book.end(),
                              [](const resting& r) { return r.open == 0; }),
               book.end());
    // Rest the remainder, or cancel it now and then (IOC-like).
    if (open > 0 && draw(0, 3) != 0)
      book.push_back({req, open});
    else if (open > 0)
      REQUIRE(acc.release(req.id));
    // Occasionally cancel an old order.
    if (!book.empty() && draw(0, 9) == 0) {
      auto i = book.begin() + draw(0, static_cast<std::int64_t>(book.size()) - 1);
      REQUIRE(l.find(i->req.owner)->release(i->req.id));
      book.erase(i);
    }
  }
  // Every resting order still holds exactly its open quantity's worth.
  for (const auto& r : book)
    if (r.req.side == side::sell)
      CHECK(l.find(r.req.owner)->reserved_to_sell(r.req.symbol) >= r.open);
  CHECK(trades > 500);
  CHECK(rejects > 0);
  CHECK(l.check_conservation().empty());

  // Zero-sum at any common marks: the accounts' equity plus the fees
  // collected equals the initial cash plus the initial shares at those marks.
  mark_prices marks{{0, 100}, {1, 90}, {2, 110}};
  __int128 total = l.fees_collected();
  __int128 initial = 0;
  for (const auto& [o, a] : l.accounts()) {
    total += a.equity(marks);
    initial += a.params().cash;
    for (const auto& [s, h] : a.params().positions)
      initial += __int128{h.qty} * marks.at(s);
  }
  CHECK(static_cast<std::int64_t>(total) == static_cast<std::int64_t>(initial));
}
