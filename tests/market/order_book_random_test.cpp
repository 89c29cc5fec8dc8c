/// Randomized differential test of the order book: a deliberately simple,
/// obviously-correct reference matcher (std::map of std::deque per side, linear
/// scans, a std::vector of pending stops) follows the contract in
/// order_book.hpp to the letter; thousands of seeded random operations run
/// against both, and every event, L1, depth, statistics and liveness must agree
/// after each step, with the real book's invariants holding throughout.

#include "market/order_book.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace marketsim::market;

// -- the reference matcher ------------------------------------------------------

/// The reference: correctness by inspection, no regard for speed.
class reference_book {
public:
  reference_book(symbol_id sym, symbol_spec spec) : sym_(sym), spec_(std::move(spec)) {}

  void submit(const order_request& req, std::vector<book_event>& out) {
    const bool is_stop =
        req.type == order_type::stop || req.type == order_type::stop_limit;
    const bool has_limit =
        req.type == order_type::limit || req.type == order_type::stop_limit;
    auto reject = [&](reject_reason why) {
      out.push_back(event(event_kind::rejected, req.id, req.owner, req.side));
      out.back().reject = why;
    };
    if (req.id == 0 || find(req.id))
      return reject(reject_reason::duplicate_order_id);
    if (req.post_only && (req.type != order_type::limit ||
                          req.tif == time_in_force::ioc || req.tif == time_in_force::fok))
      return reject(reject_reason::bad_order_combination);
    if (req.qty <= 0 || req.qty > spec_.max_order_qty)
      return reject(reject_reason::bad_quantity);
    if (req.qty % spec_.lot_size != 0)
      return reject(reject_reason::off_lot_quantity);
    if (has_limit && req.price <= 0)
      return reject(reject_reason::bad_price);
    if (has_limit && req.price % spec_.tick_size != 0)
      return reject(reject_reason::off_tick_price);
    if (is_stop && (req.stop_price <= 0 || req.stop_price % spec_.tick_size != 0))
      return reject(reject_reason::bad_stop_price);

    order o;
    o.id = req.id;
    o.owner = req.owner;
    o.s = req.side;
    o.type = req.type;
    o.tif = req.tif;
    o.price = has_limit ? req.price : 0;
    o.stop_price = req.stop_price;
    o.open = req.qty;
    o.post_only = req.post_only;
    if (!is_stop) {
      if (o.post_only && crosses(o.s, o.price))
        return reject(reject_reason::post_only_would_cross);
      if (o.tif == time_in_force::fok && fillable(o) < o.open)
        return reject(reject_reason::fok_not_fillable);
      if (o.type == order_type::market && levels(opposite(o.s)).empty())
        return reject(reject_reason::no_liquidity);
    }
    auto acc = event(event_kind::accepted, o.id, o.owner, o.s);
    acc.price = o.price;
    acc.qty = o.open;
    out.push_back(acc);
    if (is_stop)
      stops_.push_back(o); // process_stops() triggers it at once if it holds
    else
      run(o, out);
    process_stops(out);
  }

  void cancel(order_id id, owner_id requester, std::vector<book_event>& out) {
    auto* o = find(id);
    if (!o || o->owner != requester) {
      out.push_back(event(event_kind::rejected, id, requester, side::buy));
      out.back().reject = o ? reject_reason::not_owner : reject_reason::unknown_order_id;
      return;
    }
    out.push_back(cancelled(*o, o->open, cancel_reason::user));
    erase(id);
  }

  void modify(const modify_request& req, owner_id requester,
              std::vector<book_event>& out) {
    auto reject = [&](reject_reason why) {
      out.push_back(event(event_kind::rejected, req.id, requester, side::buy));
      out.back().reject = why;
    };
    auto* found = find(req.id);
    if (!found)
      return reject(reject_reason::unknown_order_id);
    if (found->owner != requester)
      return reject(reject_reason::not_owner);
    if (is_pending_stop(req.id))
      return reject(reject_reason::not_modifiable);
    if (req.new_qty <= 0 || req.new_qty > spec_.max_order_qty)
      return reject(reject_reason::bad_quantity);
    if (req.new_qty % spec_.lot_size != 0)
      return reject(reject_reason::off_lot_quantity);
    if (req.new_price <= 0)
      return reject(reject_reason::bad_price);
    if (req.new_price % spec_.tick_size != 0)
      return reject(reject_reason::off_tick_price);
    if (req.new_price == found->price && req.new_qty == found->open)
      return reject(reject_reason::unchanged);
    const bool keeps_place = req.new_price == found->price && req.new_qty < found->open;
    if (!keeps_place && found->post_only && crosses(found->s, req.new_price))
      return reject(reject_reason::post_only_would_cross);

    if (keeps_place) {
      found->open = req.new_qty;
      out.push_back(modified(*found));
      return;
    }
    order o = *found;
    erase(o.id);
    o.price = req.new_price;
    o.open = req.new_qty;
    out.push_back(modified(o));
    run(o, out);
    process_stops(out);
  }

  void end_of_day(std::vector<book_event>& out) {
    std::vector<order> expiring;
    for_each_live([&](const order& o) {
      if (o.tif == time_in_force::day)
        expiring.push_back(o);
    });
    std::sort(expiring.begin(), expiring.end(),
              [](const order& a, const order& b) { return a.id < b.id; });
    for (const auto& o : expiring) {
      out.push_back(cancelled(o, o.open, cancel_reason::expired));
      erase(o.id);
    }
  }

  l1_quote l1() const {
    l1_quote q;
    if (!bids_.empty()) {
      q.bid_price = bids_.rbegin()->first;
      q.bid_qty = total(bids_.rbegin()->second);
    }
    if (!asks_.empty()) {
      q.ask_price = asks_.begin()->first;
      q.ask_qty = total(asks_.begin()->second);
    }
    return q;
  }

  std::vector<depth_level> depth(side s, std::size_t n) const {
    std::vector<depth_level> out;
    auto add = [&](const auto& level) {
      if (out.size() < n)
        out.push_back({level.first, total(level.second),
                       static_cast<std::uint32_t>(level.second.size())});
    };
    if (s == side::buy)
      std::for_each(bids_.rbegin(), bids_.rend(), add);
    else
      std::for_each(asks_.begin(), asks_.end(), add);
    return out;
  }

  const trade_stats& stats() const { return stats_; }

  std::size_t live_orders() const {
    std::size_t n = 0;
    for_each_live([&](const order&) { ++n; });
    return n;
  }

  /// Live ids with their owners, for the generator to pick from.
  std::vector<std::pair<order_id, owner_id>> live() const {
    std::vector<std::pair<order_id, owner_id>> xs;
    for_each_live([&](const order& o) { xs.emplace_back(o.id, o.owner); });
    std::sort(xs.begin(), xs.end());
    return xs;
  }

  bool is_live(order_id id) const {
    bool found = false;
    for_each_live([&](const order& o) { found = found || o.id == id; });
    return found;
  }

  /// Open quantity and price of a live order, if it rests.
  std::optional<std::pair<price_t, qty_t>> resting(order_id id) {
    if (is_pending_stop(id))
      return std::nullopt;
    if (auto* o = find(id))
      return std::make_pair(o->price, o->open);
    return std::nullopt;
  }

private:
  struct order {
    order_id id = 0;
    owner_id owner = 0;
    side s = side::buy;
    order_type type = order_type::limit;
    time_in_force tif = time_in_force::gtc;
    price_t price = 0; ///< limit price; 0 for market and stop-market
    price_t stop_price = 0;
    qty_t open = 0;
    bool post_only = false;
  };
  using level_map = std::map<price_t, std::deque<order>>;

  book_event event(event_kind k, order_id id, owner_id owner, side s) const {
    book_event e;
    e.kind = k;
    e.symbol = sym_;
    e.id = id;
    e.owner = owner;
    e.side = s;
    return e;
  }

  book_event cancelled(const order& o, qty_t qty, cancel_reason why) const {
    auto e = event(event_kind::cancelled, o.id, o.owner, o.s);
    e.price = o.price;
    e.qty = qty;
    e.cancel = why;
    return e;
  }

  book_event modified(const order& o) const {
    auto e = event(event_kind::modified, o.id, o.owner, o.s);
    e.price = o.price;
    e.qty = o.open;
    return e;
  }

  level_map& levels(side s) { return s == side::buy ? bids_ : asks_; }

  static qty_t total(const std::deque<order>& q) {
    qty_t t = 0;
    for (const auto& o : q)
      t += o.open;
    return t;
  }

  /// Would a limit at `price` on side `s` reach the best opposite price?
  bool crosses(side s, price_t price) {
    auto& opp = levels(opposite(s));
    if (opp.empty())
      return false;
    return s == side::buy ? price >= opp.begin()->first : price <= opp.rbegin()->first;
  }

  bool acceptable(const order& o, price_t level_price) const {
    if (o.type == order_type::market || o.type == order_type::stop)
      return true;
    return o.s == side::buy ? level_price <= o.price : level_price >= o.price;
  }

  /// Liquidity of other owners at prices `o` accepts.
  qty_t fillable(const order& o) {
    qty_t sum = 0;
    for (const auto& [price, q] : levels(opposite(o.s)))
      if (acceptable(o, price))
        for (const auto& m : q)
          if (m.owner != o.owner)
            sum += m.open;
    return sum;
  }

  template <typename F>
  void for_each_live(F f) const {
    for (const auto* book : {&bids_, &asks_})
      for (const auto& [price, q] : *book)
        for (const auto& o : q)
          f(o);
    for (const auto& o : stops_)
      f(o);
  }

  order* find(order_id id) {
    for (auto* book : {&bids_, &asks_})
      for (auto& [price, q] : *book)
        for (auto& o : q)
          if (o.id == id)
            return &o;
    for (auto& o : stops_)
      if (o.id == id)
        return &o;
    return nullptr;
  }

  bool is_pending_stop(order_id id) const {
    return std::any_of(stops_.begin(), stops_.end(),
                       [&](const order& o) { return o.id == id; });
  }

  void erase(order_id id) {
    for (auto* book : {&bids_, &asks_})
      for (auto it = book->begin(); it != book->end(); ++it) {
        auto& q = it->second;
        for (auto o = q.begin(); o != q.end(); ++o)
          if (o->id == id) {
            q.erase(o);
            if (q.empty())
              book->erase(it);
            return;
          }
      }
    std::erase_if(stops_, [&](const order& o) { return o.id == id; });
  }

  /// Steps 4 and 5: match an incoming order, then rest or cancel the remainder.
  void run(order o, std::vector<book_event>& out) {
    auto& opp = levels(opposite(o.s));
    while (o.open > 0 && !opp.empty()) {
      auto level = o.s == side::buy ? opp.begin() : std::prev(opp.end());
      if (!acceptable(o, level->first))
        break;
      auto& q = level->second;
      order& m = q.front();
      if (m.owner == o.owner) {
        out.push_back(cancelled(m, m.open, cancel_reason::self_trade));
      } else {
        const qty_t x = std::min(o.open, m.open);
        o.open -= x;
        m.open -= x;
        stats_.last_price = level->first;
        stats_.last_qty = x;
        stats_.volume += x;
        stats_.trades += 1;
        stats_.notional += static_cast<__int128>(level->first) * x;
        auto t = event(event_kind::trade, o.id, o.owner, o.s);
        t.maker = m.id;
        t.maker_owner = m.owner;
        t.price = level->first;
        t.qty = x;
        t.leaves = o.open;
        t.maker_leaves = m.open;
        out.push_back(t);
        if (m.open > 0)
          continue;
        out.push_back(event(event_kind::done, m.id, m.owner, m.s));
      }
      q.pop_front();
      if (q.empty())
        opp.erase(level);
    }
    if (o.open == 0) {
      out.push_back(event(event_kind::done, o.id, o.owner, o.s));
      return;
    }
    const bool is_market = o.type == order_type::market || o.type == order_type::stop;
    if (is_market || o.tif == time_in_force::ioc || o.tif == time_in_force::fok) {
      out.push_back(cancelled(o, o.open, cancel_reason::ioc_remainder));
      return;
    }
    levels(o.s)[o.price].push_back(o);
  }

  /// Step 6: trigger stops in trigger order while any holds, cascading.
  void process_stops(std::vector<book_event>& out) {
    while (stats_.trades > 0) {
      const price_t last = stats_.last_price;
      std::optional<std::size_t> pick;
      for (std::size_t i = 0; i < stops_.size(); ++i)
        if (stops_[i].s == side::buy && last >= stops_[i].stop_price &&
            (!pick || stops_[i].stop_price < stops_[*pick].stop_price))
          pick = i;
      if (!pick)
        for (std::size_t i = 0; i < stops_.size(); ++i)
          if (stops_[i].s == side::sell && last <= stops_[i].stop_price &&
              (!pick || stops_[i].stop_price > stops_[*pick].stop_price))
            pick = i;
      if (!pick)
        return;
      order o = stops_[*pick];
      stops_.erase(stops_.begin() + static_cast<std::ptrdiff_t>(*pick));
      auto t = event(event_kind::stop_triggered, o.id, o.owner, o.s);
      t.price = last;
      t.qty = o.open;
      out.push_back(t);
      if (o.tif == time_in_force::fok && fillable(o) < o.open)
        out.push_back(cancelled(o, o.open, cancel_reason::ioc_remainder));
      else
        run(o, out);
    }
  }

  symbol_id sym_;
  symbol_spec spec_;
  level_map bids_;
  level_map asks_;
  std::vector<order> stops_; ///< pending, in arrival order
  trade_stats stats_;
};

// -- the random operation generator ----------------------------------------------------

constexpr symbol_id sym = 4;
/// Tick 5, lot 10, small maximum quantity so that every reject is reachable.
symbol_spec random_spec() {
  return symbol_spec{"RND", 5, 10, 500};
}

/// The price band orders are drawn from: narrow (9 ticks) so the book crosses
/// often, or wide (41 ticks) so it grows deeper.
struct price_band {
  price_t low = 80;
  price_t high = 120;
};

struct operation {
  enum class kind { submit, cancel, modify, end_of_day } k = kind::submit;
  order_request req;
  order_id id = 0;
  owner_id requester = 0;
  modify_request mod;
};

std::string describe(const operation& op) {
  std::ostringstream os;
  switch (op.k) {
  case operation::kind::submit: {
    const auto& r = op.req;
    os << "submit id=" << r.id << " owner=" << r.owner << " " << to_string(r.side) << " "
       << to_string(r.type) << " " << to_string(r.tif) << " price=" << r.price
       << " stop=" << r.stop_price << " qty=" << r.qty
       << (r.post_only ? " post_only" : "");
    break;
  }
  case operation::kind::cancel:
    os << "cancel id=" << op.id << " by " << op.requester;
    break;
  case operation::kind::modify:
    os << "modify id=" << op.mod.id << " by " << op.requester
       << " price=" << op.mod.new_price << " qty=" << op.mod.new_qty;
    break;
  case operation::kind::end_of_day:
    os << "end_of_day";
    break;
  }
  return os.str();
}

class generator {
public:
  generator(std::uint64_t seed, price_band band) : rng_(seed), band_(band) {}

  operation next(reference_book& ref) {
    const int roll = uniform(0, 999);
    const auto live = ref.live();
    operation op;
    if (roll < 5) {
      op.k = operation::kind::end_of_day;
    } else if (roll < 200 && !live.empty()) {
      op.k = operation::kind::cancel;
      const auto [id, owner] = pick(live);
      op.id = chance(5) ? static_cast<order_id>(uniform(0, 3)) + next_id_ : id;
      op.requester = chance(5) ? static_cast<owner_id>(uniform(1, owners)) : owner;
    } else if (roll < 400 && !live.empty()) {
      op.k = operation::kind::modify;
      op.mod = make_modify(ref, live, op.requester);
    } else {
      op.k = operation::kind::submit;
      op.req = make_submit(live);
    }
    return op;
  }

private:
  static constexpr int owners = 4;

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return uniform(0, 99) < percent; }

  template <typename T>
  const T& pick(const std::vector<T>& xs) {
    return xs[static_cast<std::size_t>(uniform(0, static_cast<int>(xs.size()) - 1))];
  }

  price_t price() {
    if (chance(2))
      return std::vector<price_t>{0, -5, 97,
                                  103}[static_cast<std::size_t>(uniform(0, 3))];
    return 5 * uniform(static_cast<int>(band_.low / 5), static_cast<int>(band_.high / 5));
  }

  qty_t qty() {
    if (chance(2))
      return std::vector<qty_t>{0, -10, 15, 510}[static_cast<std::size_t>(uniform(0, 3))];
    return 10 * uniform(1, 8);
  }

  order_request make_submit(const std::vector<std::pair<order_id, owner_id>>& live) {
    order_request r;
    r.symbol = sym;
    r.id = next_id_++;
    if (chance(2))
      r.id = 0;
    else if (chance(2) && !live.empty())
      r.id = pick(live).first; // duplicate of a live id
    else if (chance(2) && r.id > 10)
      r.id = static_cast<order_id>(uniform(1, static_cast<int>(r.id) - 1)); // maybe dead
    r.owner = static_cast<owner_id>(uniform(1, owners));
    r.side = chance(50) ? side::buy : side::sell;
    const int t = uniform(0, 99);
    r.type = t < 70   ? order_type::limit
             : t < 80 ? order_type::market
             : t < 90 ? order_type::stop
                      : order_type::stop_limit;
    const int tif = uniform(0, 99);
    r.tif = tif < 45   ? time_in_force::gtc
            : tif < 75 ? time_in_force::day
            : tif < 90 ? time_in_force::ioc
                       : time_in_force::fok;
    r.price = r.type == order_type::market || r.type == order_type::stop
                  ? (chance(50) ? 0 : price())
                  : price();
    r.stop_price = r.type == order_type::stop || r.type == order_type::stop_limit
                       ? price()
                       : (chance(50) ? 0 : price());
    r.qty = qty();
    r.post_only = r.type == order_type::limit ? chance(15) : chance(3);
    return r;
  }

  modify_request make_modify(reference_book& ref,
                             const std::vector<std::pair<order_id, owner_id>>& live,
                             owner_id& requester) {
    const auto [id, owner] = pick(live);
    modify_request m;
    m.symbol = sym;
    m.id = chance(3) ? next_id_ + 5 : id;
    requester = chance(5) ? static_cast<owner_id>(uniform(1, owners)) : owner;
    const auto rest = ref.resting(id);
    const price_t old_price = rest ? rest->first : 100;
    const qty_t old_qty = rest ? rest->second : 10;
    const int how = uniform(0, 99);
    if (how < 30) { // reduce in place (sometimes to an invalid or equal qty)
      m.new_price = old_price;
      m.new_qty =
          old_qty > 10 ? 10 * uniform(1, static_cast<int>(old_qty / 10) - 1) : qty();
    } else if (how < 40) { // increase in place
      m.new_price = old_price;
      m.new_qty = old_qty + 10 * uniform(1, 3);
    } else if (how < 45) { // unchanged
      m.new_price = old_price;
      m.new_qty = old_qty;
    } else {
      m.new_price = price();
      m.new_qty = chance(50) ? old_qty : qty();
    }
    return m;
  }

  std::mt19937_64 rng_;
  price_band band_;
  order_id next_id_ = 1;
};

// -- the comparison ---------------------------------------------------------------

std::string describe(const std::vector<book_event>& xs) {
  std::ostringstream os;
  for (const auto& x : xs)
    os << "    " << to_string(x) << "\n";
  if (xs.empty())
    os << "    (none)\n";
  return os.str();
}

std::string describe(const l1_quote& q) {
  std::ostringstream os;
  os << q.bid_qty << " @ " << q.bid_price << " / " << q.ask_qty << " @ " << q.ask_price;
  return os.str();
}

std::string describe(const std::vector<depth_level>& xs) {
  std::ostringstream os;
  for (const auto& x : xs)
    os << " [" << x.price << " " << x.qty << " x" << x.orders << "]";
  return os.str();
}

/// The first difference between book and reference after a step, or empty.
std::string compare(const order_book& book, reference_book& ref,
                    const std::vector<book_event>& got,
                    const std::vector<book_event>& want, order_id probe) {
  if (got != want)
    return "events differ";
  if (auto v = book.check_invariants(); !v.empty())
    return "invariant violated: " + v;
  if (book.l1() != ref.l1())
    return "L1 differs: book " + describe(book.l1()) + ", reference " +
           describe(ref.l1());
  for (auto s : {side::buy, side::sell}) {
    std::vector<depth_level> d;
    book.depth(s, 100, d);
    if (d != ref.depth(s, 100))
      return std::string("depth differs on ") + std::string(to_string(s)) + ": book" +
             describe(d) + ", reference" + describe(ref.depth(s, 100));
  }
  std::vector<depth_level> top;
  book.depth(side::sell, 2, top);
  if (top != ref.depth(side::sell, 2))
    return "depth limited to 2 levels differs";
  const auto &a = book.stats(), &b = ref.stats();
  if (a.last_price != b.last_price || a.last_qty != b.last_qty || a.volume != b.volume ||
      a.trades != b.trades || a.notional != b.notional)
    return "trade stats differ";
  if (book.live_orders() != ref.live_orders())
    return "live_orders differs: book " + std::to_string(book.live_orders()) +
           ", reference " + std::to_string(ref.live_orders());
  for (order_id id = probe > 3 ? probe - 3 : 1; id <= probe + 1; ++id)
    if (book.is_live(id) != ref.is_live(id))
      return "is_live(" + std::to_string(id) + ") differs";
  return {};
}

struct run_summary {
  std::uint64_t events = 0;
  std::uint64_t trades = 0;
  std::uint64_t rejects = 0;
  std::uint64_t stop_triggers = 0;
  std::uint64_t self_trades = 0;
};

/// Runs `steps` random operations; fails with the seed, step, operation and
/// both event lists at the first difference.
run_summary run_seed(std::uint64_t seed, int steps, price_band band) {
  order_book book{sym, random_spec(), 64};
  reference_book ref{sym, random_spec()};
  generator gen{seed, band};
  std::vector<book_event> got, want;
  run_summary summary;
  for (int step = 0; step < steps; ++step) {
    const operation op = gen.next(ref);
    got.clear();
    want.clear();
    order_id probe = 0;
    switch (op.k) {
    case operation::kind::submit:
      book.submit(op.req, got);
      ref.submit(op.req, want);
      probe = op.req.id;
      break;
    case operation::kind::cancel:
      book.cancel(op.id, op.requester, got);
      ref.cancel(op.id, op.requester, want);
      probe = op.id;
      break;
    case operation::kind::modify:
      book.modify(op.mod, op.requester, got);
      ref.modify(op.mod, op.requester, want);
      probe = op.mod.id;
      break;
    case operation::kind::end_of_day:
      book.end_of_day(got);
      ref.end_of_day(want);
      break;
    }
    const std::string diff = compare(book, ref, got, want, probe);
    if (!diff.empty()) {
      FAIL("seed " << seed << " (band " << band.low << ".." << band.high << "), step "
                   << step << ": " << describe(op) << "\n  " << diff
                   << "\n  book events:\n"
                   << describe(got) << "  reference events:\n"
                   << describe(want));
    }
    summary.events += want.size();
    for (const auto& e : want) {
      summary.trades += e.kind == event_kind::trade;
      summary.rejects += e.kind == event_kind::rejected;
      summary.stop_triggers += e.kind == event_kind::stop_triggered;
      summary.self_trades +=
          e.kind == event_kind::cancelled && e.cancel == cancel_reason::self_trade;
    }
  }
  return summary;
}

} // namespace

TEST_CASE("The book matches the reference matcher event for event on random operations",
          "[order_book][random]") {
  run_summary total;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    const auto s = seed <= 20 ? run_seed(seed, 5'000, price_band{80, 120})
                              : run_seed(seed, 10'000, price_band{5, 205});
    total.events += s.events;
    total.trades += s.trades;
    total.rejects += s.rejects;
    total.stop_triggers += s.stop_triggers;
    total.self_trades += s.self_trades;
  }
  // The generator must actually reach the interesting paths, or the
  // comparison above proves little.
  INFO("events " << total.events << ", trades " << total.trades << ", rejects "
                 << total.rejects << ", stop triggers " << total.stop_triggers
                 << ", self-trade cancels " << total.self_trades);
  CHECK(total.trades > 10'000);
  CHECK(total.rejects > 1'000);
  CHECK(total.stop_triggers > 500);
  CHECK(total.self_trades > 500);
}

TEST_CASE("The reference matcher itself follows a hand-checked sequence",
          "[order_book][random]") {
  // Guards the reference against drifting from the contract along with the book.
  reference_book ref{sym, random_spec()};
  std::vector<book_event> out;
  order_request sell;
  sell.id = 1;
  sell.owner = 1;
  sell.symbol = sym;
  sell.side = side::sell;
  sell.price = 100;
  sell.qty = 20;
  ref.submit(sell, out);
  order_request buy = sell;
  buy.id = 2;
  buy.owner = 2;
  buy.side = side::buy;
  buy.tif = time_in_force::ioc;
  buy.qty = 30;
  ref.submit(buy, out);
  REQUIRE(out.size() == 5);
  CHECK(out[0].kind == event_kind::accepted);
  CHECK(out[1].kind == event_kind::accepted);
  CHECK(out[2].kind == event_kind::trade);
  CHECK(out[2].qty == 20);
  CHECK(out[2].leaves == 10);
  CHECK(out[2].maker == 1);
  CHECK(out[3].kind == event_kind::done);
  CHECK(out[3].id == 1);
  CHECK(out[4].kind == event_kind::cancelled);
  CHECK(out[4].cancel == cancel_reason::ioc_remainder);
  CHECK(out[4].qty == 10);
  CHECK(ref.live_orders() == 0);
}
