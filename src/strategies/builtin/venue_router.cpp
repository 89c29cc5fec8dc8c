/// Venue router: a network-aware agent that sends a stream of parent orders
/// to one of several venues of the same instrument.
///
/// ## Model
/// Every `interval` the agent has a parent order: `qty` lots to buy or sell
/// (`side`: buy, sell, or random, a fair coin from the agent's seeded stream).
/// It takes liquidity on one venue among `symbols` (symbols of one
/// instrument, one per venue) and chooses which by `mode`:
/// - `best_quote`: the best quoted price (lowest ask to buy, highest bid to
///   sell), ignoring latency.
/// - `nearest`: the venue with the lowest measured round trip
///   (context::latency, smoothed).
/// - `smart`: the best *expected* price when the order arrives. A quote is
///   already `now - quote_time` old, and the order needs about half the
///   round trip more to arrive, so the horizon is
///   `h = (now - quote_time) + rtt / 2`. Over h the venue's price is expected
///   to move by its drift `mu * h` and to spread by `sigma * sqrt(h)`, both
///   estimated per venue from its own quotes (below). A buy is expected to
///   cost `ask + mu * h + risk_aversion * sigma * sqrt(h)`; a sell to fetch
///   `bid + mu * h - risk_aversion * sigma * sqrt(h)`; the agent takes the
///   cheapest buy or the dearest sell.
/// Ties go to the venue listed first.
///
/// ## Estimates
/// Per venue, from every quote with both sides whose venue timestamp is later
/// than the previous one's: the change of the mid `d` over the time `t`
/// between them. The agent keeps exponentially weighted means (weight
/// `estimate_weight` of the newest) of d, d^2 and t; drift mu = mean(d) /
/// mean(t), variance rate sigma^2 = mean(d^2) / mean(t) (both per ns, in price
/// units). Means of ratios would blow up on two quotes a nanosecond apart;
/// ratios of means do not.
///
/// ## Probing
/// Latency is known only once a venue has answered a request. Subscribing at
/// the start asks each venue for its quote, which is the first probe. Until
/// a venue has a sample, every parent order probes it again
/// (request_quote) and `smart` and `nearest` leave it out; if no venue has a
/// sample yet, they choose as `best_quote` does. Every `probe_interval` (0:
/// never) each venue is asked for its quote again, so that the estimate of a
/// venue the agent does not trade with follows a congestion too.
///
/// ## Orders
/// Market orders, or IOC limit orders at the chosen venue's quote plus
/// `limit_offset` ticks (`order_type`), of `qty` lots; nothing is sent when
/// the account cannot cover it or no venue quotes the side needed.
///
/// ## Metrics (agent_report::metrics)
/// `parents`, `orders_sent`, `skipped` (parents with nothing sent),
/// `sent_qty`, `filled_qty`, `routed_<SYMBOL>` (orders per venue),
/// `rtt_ms_<SYMBOL>` (the smoothed measured round trip, once known),
/// `avg_slippage` (price units per unit filled, positive = worse than the
/// chosen venue's quote at the decision) and `avg_cost_vs_best_quote` (the
/// same against the best quote of any venue at the decision).

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

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

enum class routing : std::uint8_t { smart, nearest, best_quote };

struct router_config {
  std::string symbols;
  duration_ns interval = 1'000'000'000;
  std::int64_t qty = 1; ///< lots
  std::string side = "random";
  routing mode = routing::smart;
  double risk_aversion = 1;
  double estimate_weight = 0.1;
  duration_ns probe_interval = 1'000'000'000;
  builtin::taker_style style;
};

constexpr std::uint64_t parent_tag = 0;
constexpr std::uint64_t probe_tag = 1;

class venue_router final : public strategy {
public:
  explicit venue_router(router_config cfg) : cfg_(std::move(cfg)) {}

  void on_start(context& ctx) override {
    for (auto s : builtin::resolve_symbols(ctx.symbols(), cfg_.symbols)) {
      venues_.push_back(venue{s, ctx.symbols().find(s)->lot_size});
      routed_names_.push_back("routed_" + ctx.symbols().find(s)->name);
      routed_.push_back(0);
      rtt_names_.push_back("rtt_ms_" + ctx.symbols().find(s)->name);
      ctx.subscribe_market(s); // also the first probe: its quote request is timed
    }
    ctx.set_timer(cfg_.interval, parent_tag);
    if (cfg_.probe_interval > 0)
      ctx.set_timer(cfg_.probe_interval, probe_tag);
    report(ctx);
  }

  void on_timer(context& ctx, std::uint64_t tag) override {
    if (tag == probe_tag) {
      for (const auto& v : venues_)
        ctx.request_quote(v.symbol);
      ctx.set_timer(cfg_.probe_interval, probe_tag);
      return;
    }
    for (const auto& v : venues_)
      if (!ctx.latency(v.symbol))
        ctx.request_quote(v.symbol);
    parent(ctx);
    ctx.set_timer(cfg_.interval, parent_tag);
    report(ctx);
  }

  void on_quote(context& ctx, market::symbol_id s) override {
    for (auto& v : venues_)
      if (v.symbol == s)
        v.observe(ctx.market(s), cfg_.estimate_weight);
  }

  void on_order(context& ctx, const order_update& u) override {
    auto it = children_.find(u.id);
    if (it == children_.end())
      return;
    using kind = order_update::kind;
    if (u.what == kind::filled) {
      const double sign = it->second.buy ? 1.0 : -1.0;
      const auto q = static_cast<double>(u.qty);
      count_.filled_qty += u.qty;
      slippage_ += sign * static_cast<double>(u.price - it->second.quoted) * q;
      vs_best_ += sign * static_cast<double>(u.price - it->second.best) * q;
    }
    if (u.what == kind::done || u.what == kind::cancelled || u.what == kind::rejected)
      children_.erase(it);
    report(ctx);
  }

private:
  /// One venue and what the agent estimates of its price dynamics.
  struct venue {
    market::symbol_id symbol = 0;
    market::qty_t lot = 1;
    double last_mid = 0;
    time_ns last_time = -1;
    double mean_d = 0;  ///< EWMA of mid changes
    double mean_d2 = 0; ///< EWMA of squared mid changes
    double mean_t = 0;  ///< EWMA of the time between them (ns)
    bool estimated = false;

    void observe(const market_view& view, double w) {
      if (!view.has_bid() || !view.has_ask())
        return;
      const double mid =
          static_cast<double>(view.quote.bid_price + view.quote.ask_price) / 2.0;
      if (last_time >= 0 && view.quote_time <= last_time)
        return; // no time between them: measure the change from the older quote
      if (last_time >= 0) {
        const double d = mid - last_mid;
        const auto t = static_cast<double>(view.quote_time - last_time);
        const double keep = estimated ? 1 - w : 0;
        const double take = estimated ? w : 1;
        mean_d = keep * mean_d + take * d;
        mean_d2 = keep * mean_d2 + take * d * d;
        mean_t = keep * mean_t + take * t;
        estimated = true;
      }
      last_mid = mid;
      last_time = view.quote_time;
    }
    double drift() const { return estimated ? mean_d / mean_t : 0; }
    double variance_rate() const { return estimated ? mean_d2 / mean_t : 0; }
  };

  struct child {
    bool buy = true;
    market::price_t quoted = 0; ///< the chosen venue's touch at the decision
    market::price_t best = 0;   ///< the best touch of any venue at the decision
  };

  struct counts {
    std::int64_t parents = 0;
    std::int64_t orders_sent = 0;
    std::int64_t skipped = 0;
    market::qty_t sent_qty = 0;
    market::qty_t filled_qty = 0;
  };

  static market::price_t touch(const market_view& v, bool buy) {
    return buy ? v.quote.ask_price : v.quote.bid_price;
  }

  /// The expected price of taking at `v` now (smart mode).
  double expected(const context& ctx, const venue& v, bool buy) const {
    const auto& view = ctx.market(v.symbol);
    const auto lat = ctx.latency(v.symbol);
    const double age = static_cast<double>(ctx.now() - view.quote_time);
    const double h = std::max(0.0, age + (lat ? lat->one_way() : 0.0));
    const double risk = cfg_.risk_aversion * std::sqrt(v.variance_rate() * h);
    const double price = static_cast<double>(touch(view, buy)) + v.drift() * h;
    return buy ? price + risk : price - risk;
  }

  /// Where the parent goes: an index into venues_, none without a quote.
  std::optional<std::size_t> choose(const context& ctx, bool buy) const {
    bool any_measured = false;
    for (const auto& v : venues_)
      any_measured = any_measured || ctx.latency(v.symbol).has_value();
    const routing mode = any_measured ? cfg_.mode : routing::best_quote;
    std::optional<std::size_t> pick;
    double pick_score = 0;
    for (std::size_t i = 0; i < venues_.size(); ++i) {
      const auto& v = venues_[i];
      const auto& view = ctx.market(v.symbol);
      if (buy ? !view.has_ask() : !view.has_bid())
        continue;
      const auto lat = ctx.latency(v.symbol);
      if (mode != routing::best_quote && !lat)
        continue; // not measured yet: probed, not traded
      // Lower scores win: a sell's price counts negatively.
      const double sign = buy ? 1.0 : -1.0;
      double score = 0;
      switch (mode) {
      case routing::best_quote:
        score = sign * static_cast<double>(touch(view, buy));
        break;
      case routing::nearest:
        score = lat->ewma;
        break;
      case routing::smart:
        score = sign * expected(ctx, v, buy);
        break;
      }
      if (!pick || score < pick_score) {
        pick = i;
        pick_score = score;
      }
    }
    return pick;
  }

  void parent(context& ctx) {
    ++count_.parents;
    const bool buy =
        cfg_.side == "random" ? ctx.rng().bernoulli(0.5) : cfg_.side == "buy";
    const auto where = choose(ctx, buy);
    if (!where) {
      ++count_.skipped;
      return;
    }
    const auto& v = venues_[*where];
    const auto qty = cfg_.qty * v.lot;
    const auto id = builtin::take_liquidity(
        ctx, v.symbol, buy ? market::side::buy : market::side::sell, qty, cfg_.style);
    if (id == 0) {
      ++count_.skipped;
      return;
    }
    market::price_t best = 0;
    for (const auto& other : venues_) {
      const auto& view = ctx.market(other.symbol);
      if (buy ? !view.has_ask() : !view.has_bid())
        continue;
      const auto p = touch(view, buy);
      if (best == 0 || (buy ? p < best : p > best))
        best = p;
    }
    children_.emplace(id, child{buy, touch(ctx.market(v.symbol), buy), best});
    ++count_.orders_sent;
    count_.sent_qty += qty;
    ++routed_[*where];
  }

  void report(context& ctx) const {
    ctx.record_metric("parents", static_cast<double>(count_.parents));
    ctx.record_metric("orders_sent", static_cast<double>(count_.orders_sent));
    ctx.record_metric("skipped", static_cast<double>(count_.skipped));
    ctx.record_metric("sent_qty", static_cast<double>(count_.sent_qty));
    ctx.record_metric("filled_qty", static_cast<double>(count_.filled_qty));
    for (std::size_t i = 0; i < venues_.size(); ++i) {
      ctx.record_metric(routed_names_[i], static_cast<double>(routed_[i]));
      if (const auto l = ctx.latency(venues_[i].symbol))
        ctx.record_metric(rtt_names_[i], l->ewma / 1e6);
    }
    const auto filled = static_cast<double>(count_.filled_qty);
    ctx.record_metric("avg_slippage", filled > 0 ? slippage_ / filled : 0.0);
    ctx.record_metric("avg_cost_vs_best_quote", filled > 0 ? vs_best_ / filled : 0.0);
  }

  router_config cfg_;
  std::vector<venue> venues_;
  std::vector<std::string> routed_names_; ///< metric names, by venue index
  std::vector<std::string> rtt_names_;    ///< metric names, by venue index
  std::vector<std::int64_t> routed_;      ///< orders sent, by venue index
  std::map<local_order_id, child> children_;
  counts count_;
  double slippage_ = 0; ///< sum over fills of signed (price - quoted) * qty
  double vs_best_ = 0;  ///< the same against the best quote
};

constexpr double second = 1e9;

std::unique_ptr<strategy> make_venue_router(const param_values& p) {
  router_config c;
  c.symbols = p.text("symbols");
  c.interval = p.duration_ns("interval");
  c.qty = p.integer("qty");
  c.side = p.text("side");
  const auto& mode = p.text("mode");
  c.mode = mode == "smart"     ? routing::smart
           : mode == "nearest" ? routing::nearest
                               : routing::best_quote;
  c.risk_aversion = p.number("risk_aversion");
  c.estimate_weight = p.number("estimate_weight");
  c.probe_interval = p.duration_ns("probe_interval");
  c.style.market_orders = p.text("order_type") == "market";
  c.style.limit_offset_ticks = p.integer("limit_offset");
  return std::make_unique<venue_router>(std::move(c));
}

} // namespace

void register_venue_router(strategy_registry& r) {
  strategy_info info;
  info.name = "venue_router";
  info.summary = "sends a stream of parent orders to the venue with the best expected "
                 "price after latency (or the nearest, or the best quote)";
  info.params = {
      builtin::symbols_param(),
      duration_param("interval", "time between parent orders",
                     static_cast<std::int64_t>(second), 1e3, 86'400 * second),
      integer_param("qty", "size of each parent order (lots)", 1, 1, 1e9),
      text_param("side", "side of the parent orders", "random",
                 {"random", "buy", "sell"}),
      text_param("mode",
                 "smart: best expected price after latency; nearest: lowest measured "
                 "latency; best_quote: best quoted price",
                 "smart", {"smart", "nearest", "best_quote"}),
      number_param("risk_aversion",
                   "weight of the price's spread over the horizon (volatilities)", 1, 0,
                   1e3),
      number_param("estimate_weight",
                   "weight of the newest quote in the drift and volatility estimates",
                   0.1, 1e-6, 1),
      duration_param("probe_interval",
                     "time between quote requests to every venue (0: never)",
                     static_cast<std::int64_t>(second), 0, 86'400 * second),
      text_param("order_type", "market orders, or IOC limit orders at the chosen quote",
                 "market", {"market", "limit"}),
      integer_param(
          "limit_offset",
          "ticks beyond the quote a limit order may fill at (order_type: limit)", 0, 0,
          1e9),
  };
  info.make = make_venue_router;
  r.add(std::move(info));
}

} // namespace marketsim::strategies
