#include "market/order_book.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <utility>

namespace marketsim::market {

namespace {

// -- storage building blocks -------------------------------------------------

/// "No node / no level": indices are 32-bit to keep nodes to one cache line.
constexpr std::uint32_t nil = std::numeric_limits<std::uint32_t>::max();

constexpr std::size_t side_index(side s) {
  return s == side::buy ? 0 : 1;
}

/// One order, resting in a level or pending as a stop. Exactly one cache line:
/// matching walks a level's FIFO and touches one line per maker.
struct alignas(64) node {
  order_id id = 0;
  owner_id owner = 0;
  price_t price = 0; ///< limit price; 0 for market and stop-market
  qty_t qty = 0;     ///< open quantity
  /// Arrival sequence: strictly increasing along a level's FIFO, and the tie
  /// breaker between stops with the same trigger price.
  std::uint64_t seq = 0;
  price_t stop_price = 0;
  std::uint32_t prev = nil;
  std::uint32_t next = nil;  ///< also the free-list link of an unused node
  std::uint32_t level = nil; ///< level index while resting, nil while a stop
  market::side side = side::buy;
  /// stop or stop_limit while pending; limit once resting.
  order_type type = order_type::limit;
  time_in_force tif = time_in_force::gtc;
  bool post_only = false;
};
static_assert(sizeof(node) == 64);

/// One price level: an intrusive FIFO of nodes plus its aggregates, so that
/// L1/L2 never walk orders.
struct level {
  price_t price = 0;
  qty_t total = 0;
  std::uint32_t count = 0;
  std::uint32_t head = nil; ///< also the free-list link of an unused level
  std::uint32_t tail = nil;
};

/// Entry of a side's sorted level vector. `key` is the price for bids and the
/// negated price for asks, so both sides are sorted ascending by key with the
/// best level at the back: one search routine serves both, and arrivals near
/// the top of the book (the common case) insert with a short memmove.
struct level_ref {
  std::int64_t key = 0;
  std::uint32_t idx = nil;
};

constexpr std::int64_t key_of(side s, price_t p) {
  return s == side::buy ? p : -p;
}

/// Whether a taker on side `s` with limit `limit` may trade at `maker_price`.
constexpr bool crosses(side s, price_t limit, price_t maker_price) {
  return s == side::buy ? maker_price <= limit : maker_price >= limit;
}

// -- id index ----------------------------------------------------------------

/// Open-addressing hash map order id -> node index: linear probing,
/// power-of-two capacity, load factor at most 1/2, backward-shift deletion
/// (no tombstones, so probe lengths do not degrade under churn). Id 0 marks an
/// empty slot, which is why 0 is never a valid order id.
class id_index {
public:
  void init(std::size_t expected) {
    std::size_t cap = std::bit_ceil(std::max<std::size_t>(16, expected * 2));
    rebuild(cap);
  }

  std::uint32_t find(order_id id) const {
    if (id == 0)
      return nil;
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      const slot& s = slots_[i];
      if (s.key == id)
        return s.node;
      if (s.key == 0)
        return nil;
    }
  }

  /// `id` must be absent and non-zero.
  void insert(order_id id, std::uint32_t node) {
    if ((size_ + 1) * 2 > slots_.size())
      rebuild(slots_.size() * 2);
    place(id, node);
    ++size_;
  }

  /// `id` must be present.
  void erase(order_id id) {
    std::size_t i = home(id);
    while (slots_[i].key != id)
      i = (i + 1) & mask_;
    // Backward shift: pull later entries of the same cluster into the hole
    // unless that would move them before their home slot.
    for (std::size_t j = (i + 1) & mask_; slots_[j].key != 0; j = (j + 1) & mask_) {
      std::size_t h = home(slots_[j].key);
      if (((j - h) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = slot{};
    --size_;
  }

  std::size_t size() const { return size_; }

  /// Calls f(id, node) for every entry, in slot order.
  template <class F>
  void for_each(F&& f) const {
    for (const slot& s : slots_)
      if (s.key != 0)
        f(s.key, s.node);
  }

  /// Every entry is reachable from its home slot without crossing an empty
  /// slot, and the count matches. For check_invariants().
  bool well_formed() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].key == 0)
        continue;
      ++n;
      for (std::size_t k = home(slots_[i].key); k != i; k = (k + 1) & mask_)
        if (slots_[k].key == 0)
          return false;
    }
    return n == size_;
  }

private:
  struct slot {
    order_id key = 0;
    std::uint32_t node = nil;
  };

  std::size_t home(order_id id) const {
    // Fibonacci hashing: sequential ids spread over the whole table.
    return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  void place(order_id id, std::uint32_t node) {
    std::size_t i = home(id);
    while (slots_[i].key != 0)
      i = (i + 1) & mask_;
    slots_[i] = slot{id, node};
  }

  void rebuild(std::size_t cap) {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(cap, slot{});
    mask_ = cap - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(cap));
    for (const slot& s : old)
      if (s.key != 0)
        place(s.key, s.node);
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

/// The order as it enters matching (new, triggered stop, or re-queued modify).
struct taker {
  order_id id;
  owner_id owner;
  market::side side;
  bool market; ///< trades at any price; `price` is ignored
  price_t price;
};

} // namespace

// -- implementation ----------------------------------------------------------

struct order_book::impl {
  struct book_side {
    std::vector<level_ref> levels;    ///< ascending key, best at the back
    std::vector<std::uint32_t> stops; ///< pending stops, first to trigger at the back
  };

  symbol_id symbol;
  symbol_spec spec;
  std::vector<node> nodes;
  std::uint32_t free_node = nil;
  std::vector<level> levels;
  std::uint32_t free_level = nil;
  book_side sides[2];
  id_index index;
  trade_stats stats;
  std::uint64_t next_seq = 1;
  std::vector<order_id> scratch; ///< reused by cancel_where()

  impl(symbol_id sym, symbol_spec sp, std::size_t expected)
      : symbol(sym), spec(std::move(sp)) {
    expected = std::max<std::size_t>(expected, 16);
    // Worst case every resting order has its own level, so the level pool and
    // both sorted vectors are sized for `expected` too: the promise is no
    // allocation at all below that many live orders.
    grow_nodes(expected);
    grow_levels(expected);
    for (auto& s : sides) {
      s.levels.reserve(expected);
      s.stops.reserve(64);
    }
    index.init(expected);
    scratch.reserve(64);
  }

  // -- pools -------------------------------------------------------------------

  void grow_nodes(std::size_t n) {
    auto first = static_cast<std::uint32_t>(nodes.size());
    nodes.resize(nodes.size() + n);
    // Chain the new nodes so the lowest index is handed out first.
    for (std::size_t i = nodes.size(); i-- > first;) {
      nodes[i].next = free_node;
      free_node = static_cast<std::uint32_t>(i);
    }
  }

  void grow_levels(std::size_t n) {
    auto first = static_cast<std::uint32_t>(levels.size());
    levels.resize(levels.size() + n);
    for (std::size_t i = levels.size(); i-- > first;) {
      levels[i].head = free_level;
      free_level = static_cast<std::uint32_t>(i);
    }
  }

  /// A fresh node, registered under `id`. May reallocate `nodes`: callers hold
  /// no node reference across it.
  std::uint32_t alloc_node(order_id id) {
    if (free_node == nil)
      grow_nodes(nodes.size());
    std::uint32_t n = free_node;
    free_node = nodes[n].next;
    nodes[n] = node{};
    nodes[n].id = id;
    index.insert(id, n);
    return n;
  }

  /// Unregisters and recycles a node that is in no level and no stop list.
  void release_node(std::uint32_t n) {
    index.erase(nodes[n].id);
    nodes[n].next = free_node;
    free_node = n;
  }

  std::uint32_t alloc_level(price_t price) {
    if (free_level == nil)
      grow_levels(levels.size());
    std::uint32_t l = free_level;
    free_level = levels[l].head;
    levels[l] = level{price, 0, 0, nil, nil};
    return l;
  }

  void release_level(std::uint32_t l) {
    levels[l].count = 0;
    levels[l].tail = nil;
    levels[l].head = free_level;
    free_level = l;
  }

  // -- levels ------------------------------------------------------------------

  /// Position of the first entry with key >= `key`. Scans a few entries from
  /// the back first, since most activity is at or near the best price.
  static std::size_t lower_pos(const std::vector<level_ref>& v, std::int64_t key) {
    std::size_t i = v.size();
    std::size_t lim = i > 8 ? i - 8 : 0;
    while (i > lim && v[i - 1].key >= key)
      --i;
    if (i == lim && lim > 0)
      i = branchless_lower_bound(v.data(), lim, key);
    return i;
  }

  /// Lower bound over `n > 0` entries. The conditional is a select, not a
  /// branch: with prices arriving at random depths a branchy binary search
  /// mispredicts about every other step.
  static std::size_t branchless_lower_bound(const level_ref* a, std::size_t n,
                                            std::int64_t key) {
    const level_ref* base = a;
    while (n > 1) {
      const std::size_t half = n / 2;
      base = base[half].key < key ? base + half : base;
      n -= half;
    }
    return static_cast<std::size_t>(base - a) + (base->key < key ? 1 : 0);
  }

  /// The level at `price` on side `s`, created if missing.
  std::uint32_t level_at(side s, price_t price) {
    auto& v = sides[side_index(s)].levels;
    std::int64_t key = key_of(s, price);
    std::size_t pos = lower_pos(v, key);
    if (pos < v.size() && v[pos].key == key)
      return v[pos].idx;
    std::uint32_t l = alloc_level(price);
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(pos), level_ref{key, l});
    return l;
  }

  /// Drops an emptied level from its side.
  void erase_level(side s, std::uint32_t l) {
    auto& v = sides[side_index(s)].levels;
    std::size_t pos = lower_pos(v, key_of(s, levels[l].price));
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(pos));
    release_level(l);
  }

  /// Appends node `n` to the FIFO of its price as the newest arrival.
  void rest(std::uint32_t n) {
    std::uint32_t l = level_at(nodes[n].side, nodes[n].price);
    level& lv = levels[l];
    node& o = nodes[n];
    o.seq = next_seq++;
    o.level = l;
    o.type = order_type::limit;
    o.next = nil;
    o.prev = lv.tail;
    if (lv.tail != nil)
      nodes[lv.tail].next = n;
    else
      lv.head = n;
    lv.tail = n;
    lv.total += o.qty;
    ++lv.count;
  }

  /// Takes node `n` out of its level's FIFO; the level may be left empty.
  void unlink(level& lv, std::uint32_t n) {
    node& o = nodes[n];
    if (o.prev != nil)
      nodes[o.prev].next = o.next;
    else
      lv.head = o.next;
    if (o.next != nil)
      nodes[o.next].prev = o.prev;
    else
      lv.tail = o.prev;
    lv.total -= o.qty;
    --lv.count;
    o.level = nil;
    o.prev = o.next = nil;
  }

  // -- stops -------------------------------------------------------------------

  /// Whether stop `a` triggers before stop `b` of the same side: buys by
  /// ascending stop price, sells by descending, ties by arrival.
  bool triggers_before(std::uint32_t a, std::uint32_t b) const {
    const node& x = nodes[a];
    const node& y = nodes[b];
    if (x.stop_price != y.stop_price)
      return x.side == side::buy ? x.stop_price < y.stop_price
                                 : x.stop_price > y.stop_price;
    return x.seq < y.seq;
  }

  /// Position of `n` (or where it belongs) in a stop list kept with the
  /// first to trigger at the back.
  std::size_t stop_pos(const std::vector<std::uint32_t>& v, std::uint32_t n) const {
    return static_cast<std::size_t>(
        std::lower_bound(
            v.begin(), v.end(), n,
            [this](std::uint32_t e, std::uint32_t x) { return triggers_before(x, e); }) -
        v.begin());
  }

  void add_stop(std::uint32_t n) {
    auto& v = sides[side_index(nodes[n].side)].stops;
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(stop_pos(v, n)), n);
  }

  void erase_stop(std::uint32_t n) {
    auto& v = sides[side_index(nodes[n].side)].stops;
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(stop_pos(v, n)));
  }

  static bool is_pending_stop(const node& o) {
    return o.type == order_type::stop || o.type == order_type::stop_limit;
  }

  // -- events ------------------------------------------------------------------

  book_event make(event_kind k, order_id id, owner_id owner, side s) const {
    book_event e;
    e.kind = k;
    e.symbol = symbol;
    e.id = id;
    e.owner = owner;
    e.side = s;
    return e;
  }

  void emit_rejected(std::vector<book_event>& out, order_id id, owner_id owner, side s,
                     reject_reason r) const {
    book_event e = make(event_kind::rejected, id, owner, s);
    e.reject = r;
    out.push_back(e);
  }

  void emit_cancelled(std::vector<book_event>& out, const node& o,
                      cancel_reason r) const {
    book_event e = make(event_kind::cancelled, o.id, o.owner, o.side);
    e.price = o.price;
    e.qty = o.qty;
    e.cancel = r;
    out.push_back(e);
  }

  void emit_done(std::vector<book_event>& out, order_id id, owner_id owner,
                 side s) const {
    out.push_back(make(event_kind::done, id, owner, s));
  }

  // -- matching ----------------------------------------------------------------

  price_t best_price(side s) const {
    const auto& v = sides[side_index(s)].levels;
    return v.empty() ? 0 : levels[v.back().idx].price;
  }

  /// Whether `t` would trade (or meet its own orders) right now.
  bool would_cross(const taker& t) const {
    const auto& v = sides[side_index(opposite(t.side))].levels;
    return !v.empty() &&
           (t.market || crosses(t.side, t.price, levels[v.back().idx].price));
  }

  /// FOK test: liquidity of other owners at acceptable prices covers `qty`.
  bool fillable(const taker& t, qty_t qty) const {
    const auto& v = sides[side_index(opposite(t.side))].levels;
    qty_t avail = 0;
    for (auto it = v.rbegin(); it != v.rend(); ++it) {
      const level& lv = levels[it->idx];
      if (!t.market && !crosses(t.side, t.price, lv.price))
        break;
      for (std::uint32_t n = lv.head; n != nil; n = nodes[n].next) {
        if (nodes[n].owner == t.owner)
          continue;
        avail += nodes[n].qty;
        if (avail >= qty)
          return true;
      }
    }
    return false;
  }

  void record_trade(price_t price, qty_t qty) {
    stats.last_price = price;
    stats.last_qty = qty;
    stats.volume += qty;
    ++stats.trades;
    stats.notional += static_cast<__int128>(price) * qty;
  }

  /// Step 4 of the contract: matches `t` for `qty` against the opposite side
  /// and returns the open quantity left. Emits `done` for the taker when it is
  /// filled. Never allocates: makers and emptied levels go back to the pools.
  qty_t match(const taker& t, qty_t qty, std::vector<book_event>& out) {
    auto& opp = sides[side_index(opposite(t.side))].levels;
    while (!opp.empty()) {
      const std::uint32_t l = opp.back().idx;
      level& lv = levels[l];
      if (!t.market && !crosses(t.side, t.price, lv.price))
        break;
      for (std::uint32_t n = lv.head; n != nil && qty > 0;) {
        node& m = nodes[n];
        const std::uint32_t next = m.next;
        if (m.owner == t.owner) {
          // Self-trade prevention, cancel resting: the maker goes, the
          // taker keeps its full intent and walks on.
          emit_cancelled(out, m, cancel_reason::self_trade);
          unlink(lv, n);
          release_node(n);
        } else {
          const qty_t q = std::min(qty, m.qty);
          m.qty -= q;
          lv.total -= q;
          qty -= q;
          record_trade(lv.price, q);
          book_event e = make(event_kind::trade, t.id, t.owner, t.side);
          e.maker = m.id;
          e.maker_owner = m.owner;
          e.price = lv.price;
          e.qty = q;
          e.leaves = qty;
          e.maker_leaves = m.qty;
          out.push_back(e);
          if (m.qty == 0) {
            emit_done(out, m.id, m.owner, m.side);
            unlink(lv, n);
            release_node(n);
          }
        }
        n = next;
      }
      if (lv.count == 0) {
        opp.pop_back();
        release_level(l);
      }
      if (qty == 0) {
        emit_done(out, t.id, t.owner, t.side);
        return 0;
      }
    }
    return qty;
  }

  /// Step 6: triggers pending stops while any condition holds, cascading.
  void process_stops(std::vector<book_event>& out) {
    auto& buys = sides[side_index(side::buy)].stops;
    auto& sells = sides[side_index(side::sell)].stops;
    while (stats.trades != 0 && !(buys.empty() && sells.empty())) {
      const price_t last = stats.last_price;
      std::uint32_t n;
      if (!buys.empty() && last >= nodes[buys.back()].stop_price) {
        n = buys.back();
        buys.pop_back();
      } else if (!sells.empty() && last <= nodes[sells.back()].stop_price) {
        n = sells.back();
        sells.pop_back();
      } else {
        return;
      }
      run_triggered(n, last, out);
    }
  }

  void run_triggered(std::uint32_t n, price_t last, std::vector<book_event>& out) {
    node& o = nodes[n]; // stays valid: matching allocates no node
    book_event e = make(event_kind::stop_triggered, o.id, o.owner, o.side);
    e.price = last;
    e.qty = o.qty;
    out.push_back(e);
    const bool market = o.type == order_type::stop;
    o.type = market ? order_type::market : order_type::limit;
    const taker t{o.id, o.owner, o.side, market, o.price};
    if (o.tif == time_in_force::fok && !fillable(t, o.qty)) {
      emit_cancelled(out, o, cancel_reason::ioc_remainder);
      release_node(n);
      return;
    }
    o.qty = match(t, o.qty, out);
    if (o.qty == 0) {
      release_node(n);
    } else if (market || o.tif == time_in_force::ioc || o.tif == time_in_force::fok) {
      emit_cancelled(out, o, cancel_reason::ioc_remainder);
      release_node(n);
    } else {
      rest(n);
    }
  }

  /// Removes a live order from wherever it is (level or stop list) and frees
  /// it. Emits nothing.
  void remove_live(std::uint32_t n) {
    node& o = nodes[n];
    if (is_pending_stop(o)) {
      erase_stop(n);
    } else {
      const std::uint32_t l = o.level;
      unlink(levels[l], n);
      if (levels[l].count == 0)
        erase_level(o.side, l);
    }
    release_node(n);
  }

  // -- commands ----------------------------------------------------------------

  reject_reason validate(const order_request& r) const {
    if (r.id == 0 || index.find(r.id) != nil)
      return reject_reason::duplicate_order_id;
    if (r.post_only && (r.type != order_type::limit || r.tif == time_in_force::ioc ||
                        r.tif == time_in_force::fok))
      return reject_reason::bad_order_combination;
    if (r.qty <= 0 || r.qty > spec.max_order_qty)
      return reject_reason::bad_quantity;
    if (r.qty % spec.lot_size != 0)
      return reject_reason::off_lot_quantity;
    if (r.type == order_type::limit || r.type == order_type::stop_limit) {
      if (r.price <= 0)
        return reject_reason::bad_price;
      if (r.price % spec.tick_size != 0)
        return reject_reason::off_tick_price;
    }
    if (r.type == order_type::stop || r.type == order_type::stop_limit) {
      if (r.stop_price <= 0 || r.stop_price % spec.tick_size != 0)
        return reject_reason::bad_stop_price;
    }
    return reject_reason::none;
  }

  /// Step 2, for orders that match now.
  reject_reason pre_trade_check(const order_request& r, const taker& t) const {
    if (r.post_only && would_cross(t))
      return reject_reason::post_only_would_cross;
    if (r.tif == time_in_force::fok) {
      if (!fillable(t, r.qty))
        return reject_reason::fok_not_fillable;
    } else if (t.market && sides[side_index(opposite(t.side))].levels.empty()) {
      return reject_reason::no_liquidity;
    }
    return reject_reason::none;
  }

  void submit(const order_request& r, std::vector<book_event>& out) {
    const bool is_stop = r.type == order_type::stop || r.type == order_type::stop_limit;
    const bool has_limit =
        r.type == order_type::limit || r.type == order_type::stop_limit;
    const price_t limit = has_limit ? r.price : 0;
    const taker t{r.id, r.owner, r.side, r.type == order_type::market, limit};

    reject_reason why = validate(r);
    if (why == reject_reason::none && !is_stop)
      why = pre_trade_check(r, t);
    if (why != reject_reason::none) {
      emit_rejected(out, r.id, r.owner, r.side, why);
      return;
    }

    book_event acc = make(event_kind::accepted, r.id, r.owner, r.side);
    acc.price = limit;
    acc.qty = r.qty;
    out.push_back(acc);

    if (is_stop) {
      std::uint32_t n = alloc_node(r.id);
      node& o = nodes[n];
      o.owner = r.owner;
      o.price = limit;
      o.qty = r.qty;
      o.seq = next_seq++;
      o.stop_price = r.stop_price;
      o.side = r.side;
      o.type = r.type;
      o.tif = r.tif;
      add_stop(n);
      process_stops(out); // triggers at once if the last trade already qualifies
      return;
    }

    const qty_t left = match(t, r.qty, out);
    if (left > 0) {
      if (t.market || r.tif == time_in_force::ioc || r.tif == time_in_force::fok) {
        book_event c = make(event_kind::cancelled, r.id, r.owner, r.side);
        c.price = limit;
        c.qty = left;
        c.cancel = cancel_reason::ioc_remainder;
        out.push_back(c);
      } else {
        std::uint32_t n = alloc_node(r.id);
        node& o = nodes[n];
        o.owner = r.owner;
        o.price = limit;
        o.qty = left;
        o.side = r.side;
        o.tif = r.tif;
        o.post_only = r.post_only;
        rest(n);
      }
    }
    process_stops(out);
  }

  void cancel(order_id id, owner_id requester, std::vector<book_event>& out) {
    const std::uint32_t n = index.find(id);
    if (n == nil)
      return emit_rejected(out, id, requester, side::buy,
                           reject_reason::unknown_order_id);
    if (nodes[n].owner != requester)
      return emit_rejected(out, id, requester, side::buy, reject_reason::not_owner);
    emit_cancelled(out, nodes[n], cancel_reason::user);
    remove_live(n);
  }

  reject_reason check_modify(const modify_request& r, owner_id requester,
                             std::uint32_t n) const {
    if (n == nil)
      return reject_reason::unknown_order_id;
    const node& o = nodes[n];
    if (o.owner != requester)
      return reject_reason::not_owner;
    if (is_pending_stop(o))
      return reject_reason::not_modifiable;
    if (r.new_qty <= 0 || r.new_qty > spec.max_order_qty)
      return reject_reason::bad_quantity;
    if (r.new_qty % spec.lot_size != 0)
      return reject_reason::off_lot_quantity;
    if (r.new_price <= 0)
      return reject_reason::bad_price;
    if (r.new_price % spec.tick_size != 0)
      return reject_reason::off_tick_price;
    if (r.new_price == o.price && r.new_qty == o.qty)
      return reject_reason::unchanged;
    const bool requeue = r.new_price != o.price || r.new_qty > o.qty;
    if (requeue && o.post_only &&
        would_cross(taker{o.id, o.owner, o.side, false, r.new_price}))
      return reject_reason::post_only_would_cross;
    return reject_reason::none;
  }

  void modify(const modify_request& r, owner_id requester, std::vector<book_event>& out) {
    const std::uint32_t n = index.find(r.id);
    if (reject_reason why = check_modify(r, requester, n); why != reject_reason::none)
      return emit_rejected(out, r.id, requester, side::buy, why);

    node& o = nodes[n]; // stays valid: nothing below allocates a node
    book_event e = make(event_kind::modified, o.id, o.owner, o.side);
    e.price = r.new_price;
    e.qty = r.new_qty;

    if (r.new_price == o.price && r.new_qty < o.qty) {
      // A pure reduction keeps time priority.
      levels[o.level].total -= o.qty - r.new_qty;
      o.qty = r.new_qty;
      out.push_back(e);
      return;
    }

    // Cancel/replace semantics: leave the queue, then enter as a new arrival.
    const std::uint32_t l = o.level;
    unlink(levels[l], n);
    if (levels[l].count == 0)
      erase_level(o.side, l);
    out.push_back(e);
    o.price = r.new_price;
    o.qty = match(taker{o.id, o.owner, o.side, false, r.new_price}, r.new_qty, out);
    if (o.qty == 0)
      release_node(n);
    else
      rest(n);
    process_stops(out);
  }

  /// Cancels, in ascending order id, every live order `pred` selects.
  template <class Pred>
  void cancel_where(Pred pred, cancel_reason why, std::vector<book_event>& out) {
    scratch.clear();
    index.for_each([&](order_id id, std::uint32_t n) {
      if (pred(nodes[n]))
        scratch.push_back(id);
    });
    std::sort(scratch.begin(), scratch.end());
    for (order_id id : scratch) {
      const std::uint32_t n = index.find(id);
      emit_cancelled(out, nodes[n], why);
      remove_live(n);
    }
  }

  void end_of_day(std::vector<book_event>& out) {
    cancel_where([](const node& o) { return o.tif == time_in_force::day; },
                 cancel_reason::expired, out);
  }

  void cancel_outside(price_t low, price_t high, std::vector<book_event>& out) {
    // A stop-market order has no limit (price 0): it stays.
    cancel_where(
        [=](const node& o) { return o.price != 0 && (o.price < low || o.price > high); },
        cancel_reason::outside_price_band, out);
  }

  // -- invariants --------------------------------------------------------------

  std::string check_side(side s, std::vector<char>& seen, std::size_t& found) const {
    const auto& v = sides[side_index(s)].levels;
    const std::string name{to_string(s)};
    for (std::size_t i = 0; i < v.size(); ++i) {
      const level_ref& r = v[i];
      const std::string at = name + " level " + std::to_string(i);
      if (r.idx >= levels.size())
        return at + ": level index out of range";
      const level& lv = levels[r.idx];
      if (r.key != key_of(s, lv.price))
        return at + ": sort key does not match price " + std::to_string(lv.price);
      if (i > 0 && !(v[i - 1].key < r.key))
        return at + ": levels not strictly sorted";
      if (lv.price <= 0 || lv.price % spec.tick_size != 0)
        return at + ": bad price " + std::to_string(lv.price);
      if (lv.count == 0 || lv.head == nil)
        return at + ": empty level stored";
      qty_t total = 0;
      std::uint32_t count = 0;
      std::uint32_t prev = nil;
      std::uint64_t last_seq = 0;
      for (std::uint32_t n = lv.head; n != nil; n = nodes[n].next) {
        if (n >= nodes.size())
          return at + ": node index out of range";
        const node& o = nodes[n];
        const std::string who = at + " order " + std::to_string(o.id);
        if (seen[n])
          return who + ": node reached twice";
        seen[n] = 1;
        ++found;
        if (o.prev != prev)
          return who + ": broken prev link";
        if (o.level != r.idx)
          return who + ": node's level index is wrong";
        if (o.price != lv.price)
          return who + ": price differs from its level";
        if (o.side != s)
          return who + ": on the wrong side";
        if (o.type != order_type::limit)
          return who + ": resting order is not a limit order";
        if (o.tif != time_in_force::gtc && o.tif != time_in_force::day)
          return who + ": resting order is neither GTC nor day";
        if (o.qty <= 0)
          return who + ": non-positive open quantity";
        if (o.seq <= last_seq)
          return who + ": FIFO order broken (arrival sequence not increasing)";
        if (index.find(o.id) != n)
          return who + ": index does not point at this node";
        last_seq = o.seq;
        total += o.qty;
        ++count;
        prev = n;
      }
      if (lv.tail != prev)
        return at + ": tail is not the last order";
      if (total != lv.total)
        return at + ": total " + std::to_string(lv.total) + " != sum of orders " +
               std::to_string(total);
      if (count != lv.count)
        return at + ": count " + std::to_string(lv.count) + " != number of orders " +
               std::to_string(count);
    }
    return {};
  }

  std::string check_stops(side s, std::vector<char>& seen, std::size_t& found) const {
    const auto& v = sides[side_index(s)].stops;
    const std::string name = std::string{to_string(s)} + " stop ";
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::uint32_t n = v[i];
      if (n >= nodes.size())
        return name + std::to_string(i) + ": node index out of range";
      const node& o = nodes[n];
      const std::string who = name + std::to_string(o.id);
      if (seen[n])
        return who + ": node reached twice";
      seen[n] = 1;
      ++found;
      if (!is_pending_stop(o) || o.level != nil)
        return who + ": not a pending stop";
      if (o.side != s)
        return who + ": on the wrong side";
      if (o.qty <= 0 || o.stop_price <= 0)
        return who + ": bad quantity or stop price";
      if (i > 0 && !triggers_before(v[i], v[i - 1]))
        return who + ": stop list out of trigger order";
      if (index.find(o.id) != n)
        return who + ": index does not point at this node";
      if (stats.trades != 0 && (s == side::buy ? stats.last_price >= o.stop_price
                                               : stats.last_price <= o.stop_price))
        return who + ": pending although the last trade price triggers it";
    }
    return {};
  }

  std::string check_invariants() const {
    std::vector<char> seen(nodes.size(), 0);
    std::size_t found = 0;
    for (side s : {side::buy, side::sell}) {
      if (auto err = check_side(s, seen, found); !err.empty())
        return err;
      if (auto err = check_stops(s, seen, found); !err.empty())
        return err;
    }
    const price_t bid = best_price(side::buy);
    const price_t ask = best_price(side::sell);
    if (bid != 0 && ask != 0 && bid >= ask)
      return "book crossed at rest: bid " + std::to_string(bid) + " >= ask " +
             std::to_string(ask);
    if (!index.well_formed())
      return "id index malformed (probe chain broken or size wrong)";
    if (found != index.size())
      return "index holds " + std::to_string(index.size()) + " ids but " +
             std::to_string(found) + " orders are in levels and stop lists";
    std::string err;
    index.for_each([&](order_id id, std::uint32_t n) {
      if (err.empty() && (n >= nodes.size() || !seen[n] || nodes[n].id != id))
        err = "index entry " + std::to_string(id) + " points at a node not holding it";
    });
    if (!err.empty())
      return err;
    // Pools: every node and level is either in use or on its free list.
    std::size_t free_nodes = 0;
    for (std::uint32_t n = free_node; n != nil; n = nodes[n].next) {
      if (n >= nodes.size() || seen[n] || ++free_nodes > nodes.size())
        return "node free list corrupt";
    }
    if (free_nodes + found != nodes.size())
      return "node pool leaks: " + std::to_string(nodes.size() - free_nodes - found) +
             " nodes neither live nor free";
    std::size_t free_levels = 0;
    for (std::uint32_t l = free_level; l != nil; l = levels[l].head)
      if (l >= levels.size() || ++free_levels > levels.size())
        return "level free list corrupt";
    const std::size_t used_levels = sides[0].levels.size() + sides[1].levels.size();
    if (free_levels + used_levels != levels.size())
      return "level pool leaks: " +
             std::to_string(levels.size() - free_levels - used_levels) +
             " levels neither stored nor free";
    return {};
  }
};

// -- order_book --------------------------------------------------------------

order_book::order_book(symbol_id symbol, symbol_spec spec, std::size_t expected_orders)
    : impl_(new impl(symbol, std::move(spec), expected_orders)) {}

order_book::order_book(order_book&& other) noexcept
    : impl_(std::exchange(other.impl_, nullptr)) {}

order_book& order_book::operator=(order_book&& other) noexcept {
  std::swap(impl_, other.impl_);
  return *this;
}

order_book::~order_book() {
  delete impl_;
}

void order_book::submit(const order_request& req, std::vector<book_event>& out) {
  impl_->submit(req, out);
}

void order_book::cancel(order_id id, owner_id requester, std::vector<book_event>& out) {
  impl_->cancel(id, requester, out);
}

void order_book::modify(const modify_request& req, owner_id requester,
                        std::vector<book_event>& out) {
  impl_->modify(req, requester, out);
}

void order_book::end_of_day(std::vector<book_event>& out) {
  impl_->end_of_day(out);
}

void order_book::cancel_outside(price_t low, price_t high, std::vector<book_event>& out) {
  impl_->cancel_outside(low, high, out);
}

l1_quote order_book::l1() const {
  l1_quote q;
  for (side s : {side::buy, side::sell}) {
    const auto& v = impl_->sides[side_index(s)].levels;
    if (v.empty())
      continue;
    const level& lv = impl_->levels[v.back().idx];
    (s == side::buy ? q.bid_price : q.ask_price) = lv.price;
    (s == side::buy ? q.bid_qty : q.ask_qty) = lv.total;
  }
  return q;
}

void order_book::depth(side s, std::size_t levels, std::vector<depth_level>& out) const {
  const auto& v = impl_->sides[side_index(s)].levels;
  const std::size_t n = std::min(levels, v.size());
  for (std::size_t i = 0; i < n; ++i) {
    const level& lv = impl_->levels[v[v.size() - 1 - i].idx];
    out.push_back(depth_level{lv.price, lv.total, lv.count});
  }
}

const trade_stats& order_book::stats() const {
  return impl_->stats;
}

symbol_id order_book::symbol() const {
  return impl_->symbol;
}

const symbol_spec& order_book::spec() const {
  return impl_->spec;
}

std::size_t order_book::live_orders() const {
  return impl_->index.size();
}

bool order_book::is_live(order_id id) const {
  return impl_->index.find(id) != nil;
}

void order_book::list_live_orders(std::vector<live_order>& out) const {
  const impl& b = *impl_;
  // Levels and stop lists hold each order once; the arrival sequence orders
  // them across levels too (one counter for the whole book).
  std::vector<std::pair<std::uint64_t, std::uint32_t>> by_age;
  by_age.reserve(b.index.size());
  b.index.for_each(
      [&](order_id, std::uint32_t n) { by_age.emplace_back(b.nodes[n].seq, n); });
  std::sort(by_age.begin(), by_age.end());
  out.reserve(out.size() + by_age.size());
  for (const auto& [seq, n] : by_age) {
    const node& o = b.nodes[n];
    live_order l;
    l.pending_stop = impl::is_pending_stop(o);
    l.request.id = o.id;
    l.request.owner = o.owner;
    l.request.symbol = b.symbol;
    l.request.side = o.side;
    l.request.type = o.type;
    l.request.tif = o.tif;
    l.request.price = o.price;
    l.request.stop_price = l.pending_stop ? o.stop_price : 0;
    l.request.qty = o.qty;
    l.request.post_only = o.post_only;
    out.push_back(l);
  }
}

std::string order_book::check_invariants() const {
  return impl_->check_invariants();
}

} // namespace marketsim::market
