/// Micro benchmarks of the pure order book's hot paths, each against a book of
/// ~1,000 resting orders spread over 500 price levels a side. Where an
/// operation changes the book's size (submit, cancel, IOC), the book is
/// restored every `batch` operations with the timer paused, so the pause cost
/// is amortized and the book stays near its size.

#include "market/order_book.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace {

using namespace marketsim::market;

constexpr price_t mid = 100'000;
constexpr int resting = 1000;
/// Operations between two restorations of the book.
constexpr int batch = 500;

order_request limit(order_id id, owner_id owner, side s, price_t price, qty_t qty,
                    time_in_force tif = time_in_force::gtc) {
  order_request r;
  r.id = id;
  r.owner = owner;
  r.side = s;
  r.tif = tif;
  r.price = price;
  r.qty = qty;
  return r;
}

/// A book with `resting` orders of 100, two per level, bids below and asks
/// above `mid`; ids 1..resting. Owners differ so no self-trade happens.
struct resting_book {
  order_book book{0, symbol_spec{"MICRO", 1, 1, 1'000'000}, 4 * resting};
  std::vector<book_event> out;
  order_id next_id = 1;

  resting_book() {
    out.reserve(64);
    for (int i = 0; i < resting; ++i) {
      const side s = i % 2 == 0 ? side::buy : side::sell;
      const price_t offset = 1 + i / 4;
      add(s, s == side::buy ? mid - offset : mid + offset, 100);
    }
  }

  order_id add(side s, price_t price, qty_t qty) {
    const order_id id = next_id++;
    out.clear();
    book.submit(limit(id, 1 + id % 7, s, price, qty), out);
    return id;
  }
};

/// A new GTC limit that rests behind the best price, without trading.
void bm_submit_non_crossing_limit(benchmark::State& state) {
  resting_book b;
  std::vector<order_id> added;
  added.reserve(batch);
  int i = 0;
  for (auto _ : state) {
    const side s = i % 2 == 0 ? side::buy : side::sell;
    const price_t offset = 1 + (i * 7) % 250;
    const order_id id = b.next_id++;
    b.out.clear();
    b.book.submit(limit(id, 9, s, s == side::buy ? mid - offset : mid + offset, 50),
                  b.out);
    benchmark::DoNotOptimize(b.out.data());
    added.push_back(id);
    if (++i % batch == 0) {
      state.PauseTiming();
      for (order_id x : added) {
        b.out.clear();
        b.book.cancel(x, 9, b.out);
      }
      added.clear();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

/// Cancel of a resting order picked across the book.
void bm_cancel(benchmark::State& state) {
  resting_book b;
  struct removed {
    side s;
    price_t price;
  };
  std::vector<removed> refill;
  std::vector<order_id> ids;
  for (order_id id = 1; id <= resting; ++id)
    ids.push_back(id);
  std::size_t at = 0;
  for (auto _ : state) {
    const order_id id = ids[at];
    ids[at] = 0;
    at = (at + 397) % ids.size(); // a stride coprime with the size visits every slot
    b.out.clear();
    b.book.cancel(id, 1 + id % 7, b.out);
    benchmark::DoNotOptimize(b.out.data());
    refill.push_back({b.out.back().side, b.out.back().price});
    if (refill.size() == batch) {
      state.PauseTiming();
      // Put equivalent orders back into the emptied slots.
      std::size_t slot = 0;
      for (const auto& r : refill) {
        while (ids[slot] != 0)
          ++slot;
        ids[slot] = b.add(r.s, r.price, 100);
      }
      refill.clear();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

/// Modify that moves a resting order to another passive price (loses its
/// place, does not trade). The book's size does not change.
void bm_modify_move(benchmark::State& state) {
  resting_book b;
  std::vector<price_t> prices(resting + 1);
  // Recover each order's side and price from its position (see resting_book).
  for (int i = 0; i < resting; ++i) {
    const price_t offset = 1 + i / 4;
    prices[static_cast<std::size_t>(i + 1)] = i % 2 == 0 ? mid - offset : mid + offset;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const auto id = static_cast<order_id>(1 + (i * 397) % resting);
    const bool is_buy = prices[id] < mid;
    const price_t offset = 1 + static_cast<price_t>((i * 13) % 250);
    price_t to = is_buy ? mid - offset : mid + offset;
    if (to == prices[id])
      to += is_buy ? -1 : 1;
    b.out.clear();
    b.book.modify(modify_request{id, 0, to, 100}, 1 + id % 7, b.out);
    benchmark::DoNotOptimize(b.out.data());
    prices[id] = to;
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

/// An IOC that takes the best resting order completely (one trade, two dones).
/// Its limit is far through the book; its quantity equals one resting order.
void bm_aggressive_ioc(benchmark::State& state) {
  resting_book b;
  std::vector<std::pair<side, price_t>> taken;
  taken.reserve(batch);
  int i = 0;
  for (auto _ : state) {
    const side s = i % 2 == 0 ? side::buy : side::sell;
    const price_t through = s == side::buy ? 2 * mid : 1;
    b.out.clear();
    b.book.submit(limit(b.next_id++, 8, s, through, 100, time_in_force::ioc), b.out);
    benchmark::DoNotOptimize(b.out.data());
    if (b.out.size() < 2 || b.out[1].kind != event_kind::trade) {
      state.SkipWithError("the IOC did not trade: the book ran dry");
      break;
    }
    taken.emplace_back(opposite(s), b.out[1].price);
    if (++i % batch == 0) {
      state.PauseTiming();
      for (const auto& [side_taken, price] : taken)
        b.add(side_taken, price, 100);
      taken.clear();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

} // namespace

BENCHMARK(bm_submit_non_crossing_limit);
BENCHMARK(bm_cancel);
BENCHMARK(bm_modify_move);
BENCHMARK(bm_aggressive_ioc);

BENCHMARK_MAIN();
