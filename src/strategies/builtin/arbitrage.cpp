/// Latency arbitrageur: trades one instrument across the venues that list it.
///
/// ## Model
/// The same instrument trades on several venues under several symbols (e.g.
/// `ACME_NY`, `ACME_LN`). When the best bid on one venue, X, is at least
/// `min_edge` ticks above the best ask on another, Y, buying on Y and selling
/// on X locks in the difference. The agent subscribes to the L1 of every
/// symbol in `symbols` and, on every quote, looks for the pair (X, Y) with the
/// largest such edge; on finding one it sends two IOC limit orders at once:
/// a buy on Y at Y's ask and a sell on X at X's bid. The limits are the quoted
/// prices, so a leg never trades worse than what the agent saw; when the quote
/// is gone by the time the order arrives (someone nearer was faster) the leg
/// is cancelled unfilled. That is what makes latency show: a nearer
/// arbitrageur sees the crossed quotes sooner and reaches the books first.
///
/// ## Details
/// - The size is `order_size` lots, cut down to the quantity quoted on both
///   sides, to what keeps each venue's position within +-`max_position` lots
///   of where it started (an arbitrageur may start with shares to sell), and
///   to what the account can cover (all in whole lots); nothing is sent below
///   one lot.
/// - Inventory is unwound the same way: a pair that sells on a venue the
///   agent is long (relative to its start) and buys on one it is short needs
///   an edge of only `unwind_edge` ticks (0 by default: at no loss; negative:
///   paying up to that many ticks), and is no larger than that inventory. So
///   positions built on one crossing come back when the venues' prices meet
///   again, instead of sitting at the limit.
/// - One pair at a time: no new pair while a leg is in flight.
/// - One leg may fill and the other not. With nothing in flight and no edge,
///   the agent brings its total position over all venues back to where it
///   started (`rebalance`, on by default): it sells the excess at the highest
///   bid or buys the shortfall at the lowest ask, with an IOC limit order at
///   that price of at most `order_size` lots.
/// - The symbols must be two or more with one tick and lot size (one
///   instrument); otherwise on_start throws and the agent is stopped as failed.
///
/// ## Metrics (agent_report::metrics)
/// `opportunities` (times an edge appeared: a quote showing one after a quote
/// showing none), `pairs_sent`, `legs_sent`, `legs_filled` (legs with any
/// fill), `filled_qty` (units over all legs), `unwinds` (pairs sent to reduce
/// inventory below min_edge), `rebalances` (orders sent to flatten) and
/// `edge_captured`: over pairs, the quantity both legs filled times the
/// difference of their average fill prices (money; what the arbitrage locked
/// in, whatever the venues' marks at the end; one-legged fills and
/// rebalances count in the PnL, not here).
///
/// Deterministic: no randomness; time comes from ctx.now().

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <algorithm>
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

struct arbitrage_config {
  std::string symbols;
  std::int64_t min_edge = 1;      ///< ticks
  std::int64_t unwind_edge = 0;   ///< ticks, for pairs that reduce inventory
  std::int64_t order_size = 1;    ///< lots
  std::int64_t max_position = 10; ///< lots per venue, either way
  bool rebalance = true;
};

/// A crossed pair: sell on `sell_at` (its bid), buy on `buy_at` (its ask).
struct crossing {
  market::symbol_id sell_at = 0;
  market::symbol_id buy_at = 0;
  market::price_t edge = 0; ///< bid of sell_at minus ask of buy_at
  bool unwind = false;      ///< below min_edge: only to reduce inventory
};

class arbitrage final : public strategy {
public:
  explicit arbitrage(arbitrage_config cfg) : cfg_(std::move(cfg)) {}

  void on_start(context& ctx) override {
    venues_ = builtin::resolve_symbols(ctx.symbols(), cfg_.symbols);
    if (venues_.size() < 2)
      throw std::invalid_argument("arbitrage: 'symbols' must name two or more symbols");
    const auto& first = *ctx.symbols().find(venues_.front());
    for (auto s : venues_) {
      const auto& spec = *ctx.symbols().find(s);
      if (spec.tick_size != first.tick_size || spec.lot_size != first.lot_size)
        throw std::invalid_argument("arbitrage: symbols of one instrument must share "
                                    "tick and lot size");
      start_[s] = ctx.account().position(s);
      start_total_ += start_[s];
      ctx.subscribe_market(s);
    }
    tick_ = first.tick_size;
    lot_ = first.lot_size;
    report(ctx);
  }

  void on_quote(context& ctx, market::symbol_id) override {
    const auto cross = best_crossing(ctx);
    const bool edge = cross && !cross->unwind;
    if (edge && !edge_seen_)
      ++count_.opportunities;
    edge_seen_ = edge;
    if (legs_.empty()) {
      if (cross)
        send_pair(ctx, *cross);
      else if (cfg_.rebalance)
        flatten(ctx);
    }
    report(ctx);
  }

  void on_order(context& ctx, const order_update& u) override {
    auto leg = legs_.find(u.id);
    if (leg == legs_.end())
      return;
    using kind = order_update::kind;
    if (u.what == kind::filled) {
      count_.filled_qty += u.qty;
      if (!leg->second) {
        leg->second = true;
        ++count_.legs_filled;
      }
      auto& side = u.side == market::side::buy ? pair_.bought : pair_.sold;
      side.qty += u.qty;
      side.value += static_cast<double>(u.price) * static_cast<double>(u.qty);
    }
    if (u.what == kind::done || u.what == kind::cancelled || u.what == kind::rejected) {
      legs_.erase(leg);
      if (legs_.empty())
        settle_pair();
    }
    report(ctx);
  }

private:
  /// The fills of the legs in flight, one side each.
  struct leg_fills {
    market::qty_t qty = 0;
    double value = 0; ///< sum of price * qty
    double average() const { return value / static_cast<double>(qty); }
  };
  struct pair_fills {
    bool is_pair = false; ///< two legs of a pair (not a rebalance)
    leg_fills bought;
    leg_fills sold;
  };

  /// The legs in flight are all done: what both filled counts as captured.
  void settle_pair() {
    const auto matched = std::min(pair_.bought.qty, pair_.sold.qty);
    if (pair_.is_pair && matched > 0)
      captured_ +=
          static_cast<double>(matched) * (pair_.sold.average() - pair_.bought.average());
    pair_ = pair_fills{};
  }

  struct counts {
    std::int64_t opportunities = 0;
    std::int64_t pairs_sent = 0;
    std::int64_t legs_sent = 0;
    std::int64_t legs_filled = 0;
    std::int64_t filled_qty = 0;
    std::int64_t unwinds = 0;
    std::int64_t rebalances = 0;
  };

  std::optional<crossing> best_crossing(const context& ctx) const {
    std::optional<crossing> best;
    for (auto x : venues_) {
      const auto& vx = ctx.market(x);
      if (!vx.has_bid())
        continue;
      for (auto y : venues_) {
        const auto& vy = ctx.market(y);
        if (x == y || !vy.has_ask())
          continue;
        const auto edge = vx.quote.bid_price - vy.quote.ask_price;
        const bool full = edge >= cfg_.min_edge * tick_;
        const bool unwind =
            !full && edge >= cfg_.unwind_edge * tick_ && inventory(ctx, x, y) >= lot_;
        if ((full || unwind) && (!best || edge > best->edge))
          best = crossing{x, y, edge, unwind};
      }
    }
    return best;
  }

  /// How far the position of `s` is from where it started.
  market::qty_t moved(const context& ctx, market::symbol_id s) const {
    return ctx.account().position(s) - start_.at(s);
  }

  /// What selling on `x` and buying on `y` can take off the inventory: the
  /// smaller of the long on x and the short on y (0 if either is not so).
  market::qty_t inventory(const context& ctx, market::symbol_id x,
                          market::symbol_id y) const {
    return std::max<market::qty_t>(0, std::min(moved(ctx, x), -moved(ctx, y)));
  }

  /// How much a buy (or a sell) on `s` may trade within the position limit.
  market::qty_t room(const context& ctx, market::symbol_id s, bool buy) const {
    const market::qty_t limit = cfg_.max_position * lot_;
    return buy ? limit - moved(ctx, s) : limit + moved(ctx, s);
  }

  /// `qty` rounded down to whole lots.
  market::qty_t lots(market::qty_t qty) const { return qty / lot_ * lot_; }

  void send_pair(context& ctx, const crossing& c) {
    const auto& sell_view = ctx.market(c.sell_at);
    const auto& buy_view = ctx.market(c.buy_at);
    market::qty_t qty =
        std::min({cfg_.order_size * lot_, sell_view.quote.bid_qty, buy_view.quote.ask_qty,
                  room(ctx, c.buy_at, true), room(ctx, c.sell_at, false)});
    if (c.unwind)
      qty = std::min(qty, inventory(ctx, c.sell_at, c.buy_at));
    qty = lots(qty);
    if (qty < lot_)
      return;
    auto buy = ioc(c.buy_at, market::side::buy, buy_view.quote.ask_price, qty);
    auto sell = ioc(c.sell_at, market::side::sell, sell_view.quote.bid_price, qty);
    qty = std::min(builtin::affordable_qty(ctx, buy, buy.price, lot_),
                   builtin::affordable_qty(ctx, sell, sell.price, lot_));
    if (qty < lot_)
      return;
    buy.qty = qty;
    sell.qty = qty;
    pair_ = pair_fills{};
    pair_.is_pair = true;
    legs_.emplace(ctx.submit(buy), false);
    legs_.emplace(ctx.submit(sell), false);
    ++count_.pairs_sent;
    count_.legs_sent += 2;
    if (c.unwind)
      ++count_.unwinds;
  }

  /// Sends one IOC order towards the starting total position, if it is off
  /// by a lot or more.
  void flatten(context& ctx) {
    market::qty_t total = 0;
    for (auto s : venues_)
      total += ctx.account().position(s);
    const market::qty_t excess = total - start_total_;
    if (excess >= lot_)
      flatten_side(ctx, market::side::sell, excess);
    else if (-excess >= lot_)
      flatten_side(ctx, market::side::buy, -excess);
  }

  void flatten_side(context& ctx, market::side sd, market::qty_t wanted) {
    const bool buy = sd == market::side::buy;
    std::optional<market::symbol_id> where;
    for (auto s : venues_) {
      const auto& v = ctx.market(s);
      if (buy ? !v.has_ask() : !v.has_bid())
        continue;
      if (room(ctx, s, buy) < lot_)
        continue;
      if (!where)
        where = s;
      else if (buy ? v.quote.ask_price < ctx.market(*where).quote.ask_price
                   : v.quote.bid_price > ctx.market(*where).quote.bid_price)
        where = s;
    }
    if (!where)
      return;
    const auto& v = ctx.market(*where);
    market::qty_t qty = std::min({wanted, cfg_.order_size * lot_, room(ctx, *where, buy),
                                  buy ? v.quote.ask_qty : v.quote.bid_qty});
    auto spec = ioc(*where, sd, buy ? v.quote.ask_price : v.quote.bid_price, lots(qty));
    spec.qty = builtin::affordable_qty(ctx, spec, spec.price, lot_);
    if (spec.qty < lot_)
      return;
    pair_ = pair_fills{};
    legs_.emplace(ctx.submit(spec), false);
    ++count_.legs_sent;
    ++count_.rebalances;
  }

  static order_spec ioc(market::symbol_id s, market::side sd, market::price_t price,
                        market::qty_t qty) {
    order_spec spec;
    spec.symbol = s;
    spec.side = sd;
    spec.type = market::order_type::limit;
    spec.tif = market::time_in_force::ioc;
    spec.price = price;
    spec.qty = qty;
    return spec;
  }

  void report(context& ctx) const {
    ctx.record_metric("opportunities", static_cast<double>(count_.opportunities));
    ctx.record_metric("pairs_sent", static_cast<double>(count_.pairs_sent));
    ctx.record_metric("legs_sent", static_cast<double>(count_.legs_sent));
    ctx.record_metric("legs_filled", static_cast<double>(count_.legs_filled));
    ctx.record_metric("filled_qty", static_cast<double>(count_.filled_qty));
    ctx.record_metric("unwinds", static_cast<double>(count_.unwinds));
    ctx.record_metric("edge_captured", captured_);
    ctx.record_metric("rebalances", static_cast<double>(count_.rebalances));
  }

  arbitrage_config cfg_;
  std::vector<market::symbol_id> venues_;
  market::price_t tick_ = 1;
  market::qty_t lot_ = 1;
  std::map<market::symbol_id, market::qty_t> start_; ///< positions at start
  market::qty_t start_total_ = 0; ///< total position over the venues at start
  bool edge_seen_ = false;        ///< the last quote showed an edge
  /// Legs in flight: local id -> filled at least in part.
  std::map<local_order_id, bool> legs_;
  pair_fills pair_; ///< fills of the legs in flight
  double captured_ = 0;
  counts count_;
};

std::unique_ptr<strategy> make_arbitrage(const param_values& p) {
  arbitrage_config c;
  c.symbols = p.text("symbols");
  c.min_edge = p.integer("min_edge");
  c.unwind_edge = p.integer("unwind_edge");
  c.order_size = p.integer("order_size");
  c.max_position = p.integer("max_position");
  c.rebalance = p.boolean("rebalance");
  if (c.unwind_edge > c.min_edge)
    throw std::invalid_argument("arbitrage: unwind_edge (" +
                                std::to_string(c.unwind_edge) + ") is above min_edge (" +
                                std::to_string(c.min_edge) + ")");
  if (c.order_size > c.max_position)
    throw std::invalid_argument("arbitrage: order_size (" + std::to_string(c.order_size) +
                                " lots) exceeds max_position (" +
                                std::to_string(c.max_position) +
                                " lots): it could never trade");
  return std::make_unique<arbitrage>(std::move(c));
}

} // namespace

void register_arbitrage(strategy_registry& r) {
  strategy_info info;
  info.name = "arbitrage";
  info.summary = "latency arbitrage across venues of one instrument: buys the lowest ask "
                 "and sells the highest bid when they cross by min_edge ticks (IOC)";
  info.params = {
      builtin::symbols_param(),
      integer_param("min_edge",
                    "ticks the bid on one venue must exceed the ask on another", 1, 1,
                    1e9),
      integer_param("unwind_edge",
                    "ticks of edge enough for a pair that reduces inventory (negative: "
                    "a cost accepted to unwind)",
                    0, -1e9, 1e9),
      integer_param("order_size", "lots per leg", 1, 1, 1e9),
      integer_param("max_position",
                    "largest change of a venue's position either way (lots)", 10, 1,
                    1e12),
      boolean_param("rebalance",
                    "bring the total position back to where it started when idle", true),
  };
  info.make = make_arbitrage;
  r.add(std::move(info));
}

} // namespace marketsim::strategies
