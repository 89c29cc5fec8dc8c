/// Market maker after Avellaneda & Stoikov, "High-frequency trading in a limit
/// order book", Quantitative Finance 8(3), 2008.
///
/// ## Model
/// The mid price s follows an arithmetic Brownian motion with volatility
/// sigma; market orders hit a quote at distance d from the mid with intensity
/// A exp(-k d). A dealer with exponential utility (risk aversion gamma) and
/// inventory q then quotes around the *reservation price*
///
///     r = s - q * gamma * sigma^2 * tau
///
/// with the *total spread* (ask - bid)
///
///     delta = gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / k),
///
/// i.e. bid = r - delta / 2 and ask = r + delta / 2 (the paper's eqs. 29-30).
/// tau = T - t is the time left to the dealer's horizon.
///
/// ## Choices made here
/// - **Rolling horizon**: tau is the constant `horizon` (the paper's
///   finite-horizon formulas with T always `horizon` ahead), so the quotes do
///   not collapse towards a session end the agent does not know about. The
///   paper's infinite-horizon variant needs an extra discount parameter and
///   gives nearly the same quotes for small gamma.
/// - **Units**: prices are measured in ticks of the symbol and inventory in
///   lots, so one parameter set fits symbols with different tick and lot
///   sizes: sigma in ticks per sqrt(second), k per tick, gamma per tick-lot.
/// - **sigma** is estimated online from changes of the fair price s:
///   sigma^2 = sum w_i dm_i^2 / sum w_i dt_i, each observation weighted by
///   exp(-age / vol_window). The configured `sigma_initial` enters as a prior
///   worth `vol_window` seconds of observations (it fades as data arrives);
///   the estimate never falls below `sigma_floor`.
/// - **Fair price s**: the mid of the L1, in ticks, unrounded. A best level
///   made of nothing but the agent's own quote says nothing about the rest of
///   the market, and using it would let the quotes chase themselves; while a
///   side is the agent's own, s keeps its last value.
/// - **Quotes** are rounded outward to the tick (bid down, ask up), so they are
///   never narrower than the model's, and at least one tick wide. Unless
///   `allow_cross`, a bid stays below the best ask of others and an ask above
///   their best bid. Quotes are post-only by default (never taking).
/// - **Inventory limit**: a side is quoted at `quote_size` lots, or at the
///   whole lots left before `max_inventory` when fewer; a side at the limit is
///   not quoted (its live quote is cancelled). So no fill of its quotes takes
///   the position beyond the limit.
/// - **Requotes** on a timer (`requote_interval`), after each fill, and at
///   once when s moves `requote_threshold` ticks or more from where it was at
///   the last requote. A quote whose price is unchanged and whose size only
///   shrinks (or was partly filled) keeps its queue priority; other changes
///   use a modify (`replace: modify`) or a cancel and a new order
///   (`replace: cancel_submit`).
///
/// Deterministic: no randomness at all; time comes from ctx.now().

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::strategies {

namespace {

constexpr double ns_per_second = 1e9;

struct mm_config {
  std::string symbols; ///< comma-separated names; empty = every symbol
  double gamma = 0.1;
  double k = 1.5;
  duration_ns horizon = 1'000'000'000;
  double sigma_initial = 1.0;
  double sigma_floor = 0.1;
  duration_ns vol_window = 10'000'000'000;
  std::int64_t quote_size = 1;
  std::int64_t max_inventory = 10;
  duration_ns requote_interval = 100'000'000;
  double requote_threshold = 1.0;
  bool replace_by_modify = true;
  bool post_only = true;
  bool allow_cross = false;
};

class market_maker final : public strategy {
public:
  explicit market_maker(mm_config cfg) : cfg_(std::move(cfg)) {}

  void on_start(context& ctx) override {
    for (auto s : builtin::resolve_symbols(ctx.symbols(), cfg_.symbols)) {
      auto& st = books_[s];
      st.tick = ctx.symbols().find(s)->tick_size;
      st.lot = ctx.symbols().find(s)->lot_size;
      // The prior: sigma_initial as if observed for one vol_window.
      const double window = static_cast<double>(cfg_.vol_window) / ns_per_second;
      st.var_num = cfg_.sigma_initial * cfg_.sigma_initial * window;
      st.var_den = window;
      ctx.subscribe_market(s);
    }
    ctx.set_timer(cfg_.requote_interval);
  }

  void on_timer(context& ctx, std::uint64_t) override {
    for (auto& [s, st] : books_) {
      observe(ctx, s, st);
      requote(ctx, s, st);
    }
    ctx.set_timer(cfg_.requote_interval);
  }

  void on_quote(context& ctx, market::symbol_id s) override {
    auto it = books_.find(s);
    if (it == books_.end())
      return;
    auto& st = it->second;
    observe(ctx, s, st);
    if (!st.fair)
      return;
    const bool never_quoted = !st.quoted_fair;
    const bool moved = cfg_.requote_threshold > 0 && st.quoted_fair &&
                       std::abs(*st.fair - *st.quoted_fair) >= cfg_.requote_threshold;
    if (never_quoted || moved)
      requote(ctx, s, st);
  }

  void on_order(context& ctx, const order_update& u) override {
    auto it = books_.find(u.symbol);
    if (it == books_.end())
      return;
    auto& st = it->second;
    auto* slot = st.bid.id == u.id ? &st.bid : st.ask.id == u.id ? &st.ask : nullptr;
    using kind = order_update::kind;
    if (slot) {
      switch (u.what) {
      case kind::filled:
        // Nothing left: the quote is gone (its `done` follows).
        if (u.leaves > 0)
          slot->qty = u.leaves;
        else
          *slot = {};
        break;
      case kind::modified:
        slot->price = u.price;
        slot->qty = u.qty;
        break;
      case kind::done:
      case kind::cancelled:
        *slot = {};
        break;
      case kind::rejected:
        // A refused modify leaves the order as it was; a refused new order
        // is gone. ctx.orders() tells which.
        if (const auto* o = ctx.order(u.id); o && o->acknowledged) {
          slot->price = o->price;
          slot->qty = o->open;
        } else {
          *slot = {};
        }
        break;
      case kind::accepted:
      case kind::stop_triggered:
        break;
      }
    }
    // A fill changes the inventory and with it the reservation price.
    if (u.what == kind::filled || u.what == kind::done)
      requote(ctx, u.symbol, st);
  }

private:
  /// The agent's quote on one side as it last asked for it.
  struct quote_slot {
    local_order_id id = 0; ///< 0: no quote on this side
    market::price_t price = 0;
    market::qty_t qty = 0;
  };

  struct book_state {
    market::price_t tick = 1;
    market::qty_t lot = 1;
    std::optional<double> fair; ///< s, in ticks
    time_ns fair_time = 0;
    std::optional<double> quoted_fair; ///< s at the last requote
    double var_num = 0;                ///< decayed sum of squared changes, ticks^2
    double var_den = 0;                ///< decayed sum of elapsed time, seconds
    quote_slot bid;
    quote_slot ask;
  };

  /// Whether the best level of a side is nothing but the agent's own quote.
  static bool only_own(const quote_slot& q, market::price_t best,
                       market::qty_t best_qty) {
    return q.id != 0 && q.price == best && best_qty <= q.qty;
  }

  /// Takes the current L1 as an observation of s (see the header comment).
  void observe(const context& ctx, market::symbol_id s, book_state& st) {
    const auto& v = ctx.market(s);
    if (!v.has_bid() || !v.has_ask())
      return;
    if (only_own(st.bid, v.quote.bid_price, v.quote.bid_qty) ||
        only_own(st.ask, v.quote.ask_price, v.quote.ask_qty))
      return;
    const double mid = static_cast<double>(v.quote.bid_price + v.quote.ask_price) /
                       (2.0 * static_cast<double>(st.tick));
    if (st.fair) {
      const double dt = static_cast<double>(ctx.now() - st.fair_time) / ns_per_second;
      const double dm = mid - *st.fair;
      const double window = static_cast<double>(cfg_.vol_window) / ns_per_second;
      const double decay = std::exp(-std::max(dt, 0.0) / window);
      st.var_num = st.var_num * decay + dm * dm;
      st.var_den = st.var_den * decay + std::max(dt, 0.0);
    }
    st.fair = mid;
    st.fair_time = ctx.now();
  }

  double sigma(const book_state& st) const {
    const double est =
        st.var_den > 0 ? std::sqrt(st.var_num / st.var_den) : cfg_.sigma_initial;
    return std::max(est, cfg_.sigma_floor);
  }

  void requote(context& ctx, market::symbol_id s, book_state& st) {
    if (!st.fair)
      return;
    st.quoted_fair = st.fair;
    const double sig = sigma(st);
    const double tau = static_cast<double>(cfg_.horizon) / ns_per_second;
    const auto position = ctx.account().position(s);
    const double q = static_cast<double>(position) / static_cast<double>(st.lot);
    const double r = *st.fair - q * cfg_.gamma * sig * sig * tau;
    const double delta = cfg_.gamma * sig * sig * tau +
                         (2.0 / cfg_.gamma) * std::log1p(cfg_.gamma / cfg_.k);
    // Far outside any book: the numbers would not fit a price.
    constexpr double limit = 1e15;
    if (!std::isfinite(r) || !std::isfinite(delta) || std::abs(r) + delta > limit)
      return;
    auto bid = static_cast<std::int64_t>(std::floor(r - delta / 2));
    auto ask = static_cast<std::int64_t>(std::ceil(r + delta / 2));
    ask = std::max(ask, bid + 1);

    const auto& v = ctx.market(s);
    if (!cfg_.allow_cross) {
      if (v.has_ask() && !only_own(st.ask, v.quote.ask_price, v.quote.ask_qty))
        bid = std::min(bid, v.quote.ask_price / st.tick - 1);
      if (v.has_bid() && !only_own(st.bid, v.quote.bid_price, v.quote.bid_qty))
        ask = std::max(ask, v.quote.bid_price / st.tick + 1);
    }

    // Each side quotes quote_size lots, or fewer when a full fill would take
    // the position past max_inventory; none when not even one lot fits.
    const market::qty_t size = cfg_.quote_size * st.lot;
    const market::qty_t max_units = cfg_.max_inventory * st.lot;
    const market::qty_t bid_qty =
        std::min(size, (max_units - position) / st.lot * st.lot);
    const market::qty_t ask_qty =
        std::min(size, (max_units + position) / st.lot * st.lot);
    std::optional<wanted> want_bid, want_ask;
    if (bid >= 1 && bid_qty > 0)
      want_bid = wanted{bid * st.tick, bid_qty};
    if (ask_qty > 0)
      want_ask = wanted{ask * st.tick, ask_qty};

    // The host carries intents out in order, so the new quote of one side
    // must not meet the old quote of the other (post-only would be refused,
    // and without it self-trade prevention would cancel the old one): when
    // the new bid reaches the old ask, the ask moves first; otherwise the bid
    // does, and the new ask then faces only the new bid, which is below it.
    const bool ask_first = want_bid && st.ask.id != 0 && want_bid->price >= st.ask.price;
    if (ask_first) {
      update_side(ctx, s, market::side::sell, st.ask, want_ask);
      update_side(ctx, s, market::side::buy, st.bid, want_bid);
    } else {
      update_side(ctx, s, market::side::buy, st.bid, want_bid);
      update_side(ctx, s, market::side::sell, st.ask, want_ask);
    }
  }

  struct wanted {
    market::price_t price = 0;
    market::qty_t qty = 0;
  };

  void update_side(context& ctx, market::symbol_id s, market::side sd, quote_slot& slot,
                   const std::optional<wanted>& want) {
    if (!want) {
      if (slot.id != 0)
        ctx.cancel(slot.id);
      slot = {};
      return;
    }
    if (slot.id == 0) {
      submit(ctx, s, sd, slot, *want);
      return;
    }
    if (slot.price == want->price) {
      // Same price: a partly filled quote keeps its place in the queue and
      // is topped up only when the price moves; a smaller size shrinks in
      // place, which also keeps priority.
      if (want->qty < slot.qty) {
        ctx.modify(slot.id, want->price, want->qty);
        slot.qty = want->qty;
      }
      return;
    }
    if (cfg_.replace_by_modify) {
      ctx.modify(slot.id, want->price, want->qty);
      slot.price = want->price;
      slot.qty = want->qty;
      return;
    }
    ctx.cancel(slot.id);
    slot = {};
    submit(ctx, s, sd, slot, *want);
  }

  void submit(context& ctx, market::symbol_id s, market::side sd, quote_slot& slot,
              const wanted& want) {
    order_spec spec;
    spec.symbol = s;
    spec.side = sd;
    spec.type = market::order_type::limit;
    spec.tif = market::time_in_force::gtc;
    spec.price = want.price;
    spec.qty = want.qty;
    spec.post_only = cfg_.post_only;
    // Ask the account first: a quote it would refuse (no cash, no shares to
    // sell) is not sent, rather than being rejected on every requote. The
    // whole size is the step: all or nothing.
    if (builtin::affordable_qty(ctx, spec, want.price, spec.qty) < spec.qty)
      return;
    slot.id = ctx.submit(spec);
    slot.price = want.price;
    slot.qty = want.qty;
  }

  mm_config cfg_;
  std::map<market::symbol_id, book_state> books_;
};

// -- parameters ----------------------------------------------------------------

constexpr double ms = 1e6;
constexpr double second = 1e9;

std::unique_ptr<strategy> make_market_maker(const param_values& p) {
  mm_config c;
  c.symbols = p.text("symbols");
  c.gamma = p.number("gamma");
  c.k = p.number("k");
  c.horizon = p.duration_ns("horizon");
  c.sigma_initial = p.number("sigma_initial");
  c.sigma_floor = p.number("sigma_floor");
  c.vol_window = p.duration_ns("vol_window");
  c.quote_size = p.integer("quote_size");
  c.max_inventory = p.integer("max_inventory");
  c.requote_interval = p.duration_ns("requote_interval");
  c.requote_threshold = p.number("requote_threshold");
  c.replace_by_modify = p.text("replace") == "modify";
  c.post_only = p.boolean("post_only");
  c.allow_cross = p.boolean("allow_cross");
  if (c.quote_size > c.max_inventory)
    throw std::invalid_argument(
        "market_maker: quote_size (" + std::to_string(c.quote_size) +
        " lots) exceeds max_inventory (" + std::to_string(c.max_inventory) +
        " lots): it could never quote");
  if (c.allow_cross && c.post_only)
    throw std::invalid_argument("market_maker: allow_cross needs post_only: false (a "
                                "post-only quote that crosses is "
                                "refused by the exchange)");
  return std::make_unique<market_maker>(std::move(c));
}

} // namespace

void register_market_maker(strategy_registry& r) {
  strategy_info info;
  info.name = "market_maker";
  info.summary = "Avellaneda-Stoikov market maker: inventory-skewed quotes around a "
                 "reservation price, spread scaled by online volatility";
  info.params = {
      builtin::symbols_param(),
      number_param("gamma", "risk aversion (per tick and lot)", 0.1, 1e-6, 1e3),
      number_param("k", "decay of fill intensity with distance from the mid (per tick)",
                   1.5, 1e-6, 1e6),
      duration_param("horizon",
                     "T - t of the model, rolling: constant time to the horizon",
                     static_cast<std::int64_t>(second), 1 * ms, 86'400 * second),
      number_param("sigma_initial",
                   "volatility before any observation (ticks per sqrt(s))", 1.0, 0, 1e6),
      number_param("sigma_floor", "lowest volatility estimate used (ticks per sqrt(s))",
                   0.1, 0, 1e6),
      duration_param("vol_window", "time constant of the volatility EWMA",
                     static_cast<std::int64_t>(10 * second), 1 * ms, 86'400 * second),
      integer_param("quote_size", "size of each quote (lots)", 1, 1, 1e9),
      integer_param("max_inventory", "largest position either way (lots)", 10, 1, 1e12),
      duration_param("requote_interval", "time between timer requotes",
                     static_cast<std::int64_t>(100 * ms), 1e3, 3'600 * second),
      number_param(
          "requote_threshold",
          "move of the fair price since the last requote (ticks) that requotes at "
          "once; 0: timer and fills only",
          1.0, 0, 1e9),
      text_param("replace", "how a quote's price is changed", "modify",
                 {"modify", "cancel_submit"}),
      boolean_param("post_only", "quotes never take liquidity", true),
      boolean_param("allow_cross",
                    "quotes may cross the opposite best (needs post_only: false)", false),
  };
  info.make = make_market_maker;
  r.add(std::move(info));
}

} // namespace marketsim::strategies
