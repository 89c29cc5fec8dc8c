#include "bench/book_load.hpp"

#include "bench/baseline_book.hpp"
#include "market/order_book.hpp"

#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iomanip>
#include <random>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace marketsim::bench {

namespace {

using namespace marketsim::market;

// -- the operation stream ---------------------------------------------------------

constexpr symbol_id load_symbol = 0;
/// Where the book starts; it then drifts with the mid of best bid and ask.
constexpr price_t start_mid = 1'000'000;
/// New and moved orders rest up to this many ticks from the mid, which spreads
/// ~1,000 orders over ~750 price levels as in exchange-core's benchmark.
constexpr int price_offsets = 800;
/// Owners (exchange-core uses 1,000 active accounts).
constexpr int owner_count = 1000;

enum class op_kind : std::uint8_t { limit, ioc, cancel, modify };

/// One pre-generated operation, 32 bytes.
struct operation {
  op_kind kind = op_kind::limit;
  side s = side::buy;
  std::uint32_t owner = 0;
  order_id id = 0;
  price_t price = 0;
  qty_t qty = 0;
};

/// Shares of each kind of operation, in per mille.
struct op_mix {
  int modify = 0;
  int limit = 0;
  int cancel = 0;
  int ioc = 0;
};

op_mix mix_named(const std::string& name) {
  if (name == "exchange-core")
    return {820, 90, 60, 30};
  if (name == "add-cancel")
    return {0, 500, 450, 50};
  throw std::invalid_argument("unknown book load mix '" + name +
                              "' (expected exchange-core or add-cancel)");
}

/// Applies `op` to `book`: our order_book or the baseline_book, which share
/// the calls the mixes use.
template <class Book>
inline void apply(Book& book, const operation& op, std::vector<book_event>& out) {
  switch (op.kind) {
  case op_kind::limit:
  case op_kind::ioc: {
    order_request r;
    r.id = op.id;
    r.owner = op.owner;
    r.symbol = load_symbol;
    r.side = op.s;
    r.tif = op.kind == op_kind::ioc ? time_in_force::ioc : time_in_force::gtc;
    r.price = op.price;
    r.qty = op.qty;
    book.submit(r, out);
    break;
  }
  case op_kind::cancel:
    book.cancel(op.id, op.owner, out);
    break;
  case op_kind::modify:
    book.modify(modify_request{op.id, load_symbol, op.price, op.qty}, op.owner, out);
    break;
  }
}

symbol_spec load_spec() {
  return symbol_spec{"LOAD", 1, 1, 1'000'000};
}

/// Generates operations that are valid against the book as it will be: it
/// applies each one to a shadow book and follows the events, so it always
/// knows which orders rest, where, and with what quantity. Two generators with
/// the same seed produce the same stream, which is how every pass replays the
/// same operations without keeping them all in memory.
class op_generator {
public:
  op_generator(op_mix mix, std::size_t resting, std::uint64_t seed)
      : mix_(mix), target_(resting), rng_(seed),
        shadow_(load_symbol, load_spec(), 4 * resting) {
    live_.reserve(4 * resting);
    index_.reserve(8 * resting);
  }

  /// Orders that fill the book to the target before measuring.
  void prefill(std::vector<operation>& ops) {
    ops.clear();
    while (live_.size() < target_)
      ops.push_back(step(new_limit()));
  }

  void next(std::vector<operation>& ops, std::size_t n) {
    ops.clear();
    for (std::size_t i = 0; i < n; ++i)
      ops.push_back(step(draw()));
  }

private:
  struct resting_order {
    order_id id;
    std::uint32_t owner;
    side s;
    price_t price;
    qty_t qty;
  };

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  operation draw() {
    const int r = uniform(0, 999);
    if (live_.empty())
      return new_limit();
    if (r < mix_.modify)
      return move();
    // Hold the book near its target: beyond 5% off, new orders and cancels
    // swap roles.
    const bool too_many = live_.size() > target_ + target_ / 20;
    const bool too_few = live_.size() < target_ - target_ / 20;
    if (r < mix_.modify + mix_.limit)
      return too_many ? cancel() : new_limit();
    if (r < mix_.modify + mix_.limit + mix_.cancel)
      return too_few ? new_limit() : cancel();
    return ioc();
  }

  price_t mid() const {
    const auto q = shadow_.l1();
    if (q.bid_qty > 0 && q.ask_qty > 0)
      return (q.bid_price + q.ask_price) / 2;
    if (q.bid_qty > 0)
      return q.bid_price + 1;
    if (q.ask_qty > 0)
      return q.ask_price - 1;
    return start_mid;
  }

  /// A passive price on side `s`: behind the mid and never crossing.
  price_t passive_price(side s) {
    const auto q = shadow_.l1();
    const price_t offset = 1 + uniform(0, price_offsets - 1);
    if (s == side::buy) {
      const price_t p = mid() - offset;
      return q.ask_qty > 0 ? std::min(p, q.ask_price - 1) : p;
    }
    const price_t p = mid() + offset;
    return q.bid_qty > 0 ? std::max(p, q.bid_price + 1) : p;
  }

  operation new_limit() {
    operation op;
    op.kind = op_kind::limit;
    op.s = uniform(0, 1) ? side::buy : side::sell;
    op.owner = static_cast<std::uint32_t>(uniform(1, owner_count));
    op.id = next_id_++;
    op.price = passive_price(op.s);
    op.qty = uniform(1, 100);
    return op;
  }

  /// Takes one to a few price levels: the best opposite price plus up to 3 ticks.
  operation ioc() {
    operation op;
    op.kind = op_kind::ioc;
    op.s = uniform(0, 1) ? side::buy : side::sell;
    op.owner = static_cast<std::uint32_t>(uniform(1, owner_count));
    op.id = next_id_++;
    const auto q = shadow_.l1();
    const price_t reach = uniform(0, 3);
    if (op.s == side::buy)
      op.price = (q.ask_qty > 0 ? q.ask_price : mid()) + reach;
    else
      op.price = (q.bid_qty > 0 ? q.bid_price : mid()) - reach;
    op.qty = uniform(1, 150);
    return op;
  }

  const resting_order& pick() {
    return live_[static_cast<std::size_t>(
        uniform(0, static_cast<int>(live_.size()) - 1))];
  }

  operation cancel() {
    const auto& o = pick();
    operation op;
    op.kind = op_kind::cancel;
    op.owner = o.owner;
    op.id = o.id;
    return op;
  }

  /// Moves a resting order to a new price, keeping its quantity. About one
  /// move in 25 goes to the best opposite price and trades, so that with the
  /// IOCs about 6% of operations trade, as in exchange-core's mix.
  operation move() {
    const auto& o = pick();
    operation op;
    op.kind = op_kind::modify;
    op.s = o.s;
    op.owner = o.owner;
    op.id = o.id;
    op.qty = o.qty;
    const auto q = shadow_.l1();
    const bool opposite_exists = o.s == side::buy ? q.ask_qty > 0 : q.bid_qty > 0;
    if (opposite_exists && uniform(0, 24) == 0)
      op.price = o.s == side::buy ? q.ask_price : q.bid_price;
    else
      op.price = passive_price(o.s);
    if (op.price == o.price)
      op.price += o.s == side::buy ? -1 : 1;
    return op;
  }

  /// Applies `op` to the shadow book and follows what happened.
  operation step(const operation& op) {
    events_.clear();
    apply(shadow_, op, events_);
    for (const auto& e : events_) {
      switch (e.kind) {
      case event_kind::accepted:
        if (op.kind == op_kind::limit)
          add({e.id, op.owner, e.side, e.price, e.qty});
        break;
      case event_kind::trade:
        set_qty(e.maker, e.maker_leaves);
        set_qty(e.id, e.leaves);
        break;
      case event_kind::modified:
        if (auto it = index_.find(e.id); it != index_.end()) {
          live_[it->second].price = e.price;
          live_[it->second].qty = e.qty;
        }
        break;
      case event_kind::cancelled:
      case event_kind::done:
        remove(e.id);
        break;
      default:
        break;
      }
    }
    return op;
  }

  void add(const resting_order& o) {
    index_[o.id] = live_.size();
    live_.push_back(o);
  }

  void set_qty(order_id id, qty_t qty) {
    if (qty == 0)
      return remove(id);
    if (auto it = index_.find(id); it != index_.end())
      live_[it->second].qty = qty;
  }

  void remove(order_id id) {
    auto it = index_.find(id);
    if (it == index_.end())
      return;
    const std::size_t at = it->second;
    index_.erase(it);
    if (at + 1 != live_.size()) {
      live_[at] = live_.back();
      index_[live_[at].id] = at;
    }
    live_.pop_back();
  }

  op_mix mix_;
  std::size_t target_;
  std::mt19937_64 rng_;
  order_book shadow_;
  std::vector<book_event> events_;
  std::vector<resting_order> live_;
  std::unordered_map<order_id, std::size_t> index_;
  order_id next_id_ = 1;
};

// -- timing -------------------------------------------------------------------------

/// Operations generated at a time between timed stretches; large enough that
/// the generator's cache footprint between stretches does not matter.
constexpr std::size_t chunk_ops = 1 << 16;

/// Reads the time-stamp counter, fenced so that the measured work cannot
/// drift across it. Needs an invariant TSC (constant_tsc, nonstop_tsc), which
/// every x86-64 server of the last decade has.
inline std::uint64_t read_tsc() {
  _mm_lfence();
  const std::uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}

/// TSC ticks per nanosecond, measured against steady_clock over ~50 ms.
double tsc_per_ns() {
  using clock = std::chrono::steady_clock;
  const auto c0 = clock::now();
  const auto t0 = read_tsc();
  while (clock::now() - c0 < std::chrono::milliseconds(50)) {
  }
  const auto c1 = clock::now();
  const auto t1 = read_tsc();
  const double ns = std::chrono::duration<double, std::nano>(c1 - c0).count();
  return static_cast<double>(t1 - t0) / ns;
}

/// Cost in TSC ticks of an empty timed region (the median of many).
std::uint64_t tsc_overhead() {
  std::vector<std::uint64_t> xs(10'000);
  for (auto& x : xs) {
    const auto t0 = read_tsc();
    const auto t1 = read_tsc();
    x = t1 - t0;
  }
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(xs.size() / 2),
                   xs.end());
  return xs[xs.size() / 2];
}

struct pass_result {
  double seconds = 0;
  std::uint64_t trades = 0;
  std::uint64_t events = 0;
};

std::uint64_t trades_of(const order_book& book) {
  return book.stats().trades;
}
std::uint64_t trades_of(const baseline_book& book) {
  return book.trades();
}

/// Builds the book to its resting size (untimed), then replays the measured
/// operations chunk by chunk, generating each chunk outside the timed region.
/// With `samples`, every operation is timed in TSC ticks. Every pass, of
/// either book, replays the same stream: the generator is seeded alike and
/// follows its own shadow order_book, not the book under test.
template <class Book>
pass_result run_pass(const book_load_params& p, Book& book,
                     std::vector<std::uint32_t>* samples) {
  op_generator gen{mix_named(p.mix), p.resting_orders, p.seed};
  std::vector<book_event> out;
  out.reserve(256);
  std::vector<operation> ops;
  ops.reserve(std::max(chunk_ops, 2 * p.resting_orders));

  gen.prefill(ops);
  for (const auto& op : ops) {
    out.clear();
    apply(book, op, out);
  }
  const std::uint64_t trades_before = trades_of(book);

  pass_result r;
  std::chrono::steady_clock::duration busy{};
  for (std::uint64_t done = 0; done < p.operations;) {
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk_ops, p.operations - done));
    gen.next(ops, n);
    const auto start = std::chrono::steady_clock::now();
    if (samples) {
      for (const auto& op : ops) {
        out.clear();
        const auto t0 = read_tsc();
        apply(book, op, out);
        const auto t1 = read_tsc();
        samples->push_back(
            static_cast<std::uint32_t>(std::min<std::uint64_t>(t1 - t0, UINT32_MAX)));
        r.events += out.size();
      }
    } else {
      for (const auto& op : ops) {
        out.clear();
        apply(book, op, out);
        r.events += out.size();
      }
    }
    busy += std::chrono::steady_clock::now() - start;
    done += n;
  }
  r.seconds = std::chrono::duration<double>(busy).count();
  r.trades = trades_of(book) - trades_before;
  return r;
}

pass_result run_ours(const book_load_params& p, std::vector<std::uint32_t>* samples) {
  order_book book{load_symbol, load_spec(), 4 * p.resting_orders};
  return run_pass(p, book, samples);
}

pass_result run_baseline(const book_load_params& p) {
  baseline_book book{load_symbol};
  return run_pass(p, book, nullptr);
}

double ops_per_sec(std::uint64_t operations, double seconds) {
  return seconds > 0 ? static_cast<double>(operations) / seconds : 0;
}

double percentile_ns(std::vector<std::uint32_t>& ticks, double q, std::uint64_t overhead,
                     double ticks_per_ns) {
  if (ticks.empty())
    return 0;
  const auto at = static_cast<std::size_t>(q * static_cast<double>(ticks.size() - 1));
  std::nth_element(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(at),
                   ticks.end());
  const std::uint64_t t = ticks[at];
  return static_cast<double>(t > overhead ? t - overhead : 0) / ticks_per_ns;
}

} // namespace

book_load_result run_book_load(const book_load_params& p) {
  mix_named(p.mix); // validates the name before any work
  if (p.resting_orders == 0)
    throw std::invalid_argument("book load needs at least one resting order");

  book_load_result result;
  result.mix = p.mix;
  result.operations = p.operations;

  const auto throughput = run_ours(p, nullptr);
  result.seconds = throughput.seconds;
  result.ops_per_sec = ops_per_sec(p.operations, throughput.seconds);
  result.trades = throughput.trades;
  result.events = throughput.events;

  // Right after our pass, so that both see the machine in the same state.
  if (p.baseline) {
    const auto base = run_baseline(p);
    result.baseline_run = true;
    result.baseline_seconds = base.seconds;
    result.baseline_ops_per_sec = ops_per_sec(p.operations, base.seconds);
    result.baseline_trades = base.trades;
    result.baseline_events = base.events;
    result.ratio = result.baseline_ops_per_sec > 0
                       ? result.ops_per_sec / result.baseline_ops_per_sec
                       : 0;
  }

  if (p.measure_latency && p.operations > 0) {
    const double ticks_per_ns = tsc_per_ns();
    const std::uint64_t overhead = tsc_overhead();
    std::vector<std::uint32_t> samples;
    samples.reserve(p.operations);
    run_ours(p, &samples);
    result.p50_ns = percentile_ns(samples, 0.50, overhead, ticks_per_ns);
    result.p99_ns = percentile_ns(samples, 0.99, overhead, ticks_per_ns);
    result.p999_ns = percentile_ns(samples, 0.999, overhead, ticks_per_ns);
  }
  return result;
}

std::string to_string(const book_load_result& r) {
  std::ostringstream os;
  os << std::fixed;
  os << "book load, mix " << r.mix << ": " << r.operations << " operations\n";
  os << std::setprecision(3) << "  throughput  " << r.ops_per_sec / 1e6 << " M ops/s ("
     << r.seconds << " s, generation excluded)\n";
  if (r.p50_ns > 0)
    os << std::setprecision(0) << "  latency     p50 " << r.p50_ns << " ns, p99 "
       << r.p99_ns << " ns, p99.9 " << r.p999_ns
       << " ns (rdtsc, timer overhead subtracted)\n";
  else
    os << "  latency     not measured\n";
  os << "  produced    " << r.trades << " trades, " << r.events << " events\n";
  if (r.baseline_run) {
    os << std::setprecision(3) << "  baseline    " << r.baseline_ops_per_sec / 1e6
       << " M ops/s (" << r.baseline_seconds
       << " s; std::map + std::list book, same stream)\n";
    os << std::setprecision(2) << "  ratio       " << r.ratio
       << " (ours / baseline throughput)\n";
    os << "  baseline    produced " << r.baseline_trades << " trades, "
       << r.baseline_events << " events"
       << (r.same_work() ? " (same as ours)"
                         : " -- MISMATCH with ours: not the same work, ratio invalid")
       << '\n';
  }
  return os.str();
}

} // namespace marketsim::bench
