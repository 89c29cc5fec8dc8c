/// Noise trader, after ABIDES' NoiseAgent (Byrd, Hybinette & Balch, "ABIDES:
/// Towards high-fidelity multi-agent market simulation", SIGSIM-PADS 2020):
/// an agent with no view that now and then sends one order at or near the
/// touch. It gives a market background flow and liquidity that carries no
/// information.
///
/// ## Model
/// Wakes are a Poisson process: exponential waits with mean `mean_interval`
/// (ABIDES' NoiseAgent wakes once at a random time; repeating the draw gives a
/// population the same flow with fewer agents). On each wake the agent cancels
/// its stale orders (older than `order_lifetime`, then the oldest while it has
/// `max_resting` live), picks one of its symbols, a side with equal chances
/// and a size uniform in [min_quantity, max_quantity] lots, and sends
/// - with probability `market_order_probability`, an IOC market order: it
///   takes the touch on the other side, as ABIDES' agent does with a limit at
///   the opposite best price (when that side is empty, it sends a limit
///   instead);
/// - otherwise a GTC limit order joining its own side of the book: a buy at
///   the best bid minus a uniform 0..max_offset ticks, a sell at the best ask
///   plus as many. With its own side empty it quotes one tick inside the
///   other side (then the offset further); with the book empty, around the
///   last trade, else the `reference_price` parameter, else it asks for a
///   quote and waits.
/// The size is cut down to what its account can cover; an order not even one
/// lot of which is covered is not sent, and the oldest resting order holding
/// that budget is cancelled instead, so that a later wake can trade again.
///
/// ## Market data (`market_data`)
/// - `subscribe` (the default): the agent subscribes to every symbol it
///   trades (L1 and trades) at the start and prices each wake's order on the
///   view it has then. Every quote change then costs the exchange one message
///   per agent.
/// - `poll`: no subscription, as ABIDES' NoiseAgent does it (its wakeup asks
///   getCurrentSpread and waits in state AWAITING_SPREAD; the answer, a
///   QUERY_SPREAD message, places the order). On each wake the agent cancels
///   its stale orders, picks the symbol, asks for its quote
///   (`request_quote`), remembers that it awaits it and sets its next wake.
///   The answer (`on_quote` for that symbol) draws and places the order on
///   the fresh view, as above. A quote it is not waiting for does nothing: an
///   answer that comes after a later wake picked another symbol, or a second
///   answer. The next wake does not wait for the answer, so the wakes keep
///   their configured rate and an unanswered request never stalls the agent.
///   The agent sees no trades in this mode, so with an empty book it falls
///   back to the `reference_price` parameter, else sends nothing (and does
///   not ask again before its next wake).
///
/// ## Random draws
/// Each wake draws, in this order: the symbol, then (subscribe) side, size,
/// market-or-limit, offset and the wait to the next wake, or (poll) the wait
/// to the next wake, and side, size, market-or-limit and offset when the
/// awaited quote arrives. All four order draws are made even when no order
/// is sent, so one wake's outcome does not shift the stream of the next; the
/// same seed and the same quotes give the same intents.

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace marketsim::strategies {

namespace {

using builtin::pick;

struct noise_config {
  std::string symbols;
  duration_ns mean_interval = 0;
  double market_probability = 0;
  std::int64_t max_offset = 0; ///< ticks
  std::int64_t min_lots = 1;
  std::int64_t max_lots = 1;
  std::size_t max_resting = 1;
  duration_ns order_lifetime = 0;
  market::price_t reference_price = 0;
  bool poll = false; ///< market_data: poll (else subscribe)
};

class noise final : public strategy {
public:
  explicit noise(noise_config c) : config_(std::move(c)) {}

  void on_start(context& ctx) override {
    symbols_ = builtin::resolve_symbols(ctx.symbols(), config_.symbols);
    if (symbols_.empty()) {
      ctx.stop();
      return;
    }
    if (!config_.poll)
      for (auto s : symbols_)
        ctx.subscribe_market(s, true);
    schedule(ctx);
  }

  void on_timer(context& ctx, std::uint64_t) override {
    resting_.cancel_stale(ctx, config_.max_resting, config_.order_lifetime);
    const auto s = symbols_[pick(ctx.rng(), symbols_.size())];
    if (config_.poll) {
      ctx.request_quote(s);
      awaited_ = s;
    } else {
      act(ctx, s);
    }
    schedule(ctx);
  }

  /// In poll mode, the answer to the wake's request: the order goes now. In
  /// subscribe mode nothing is awaited, so quotes only update the view.
  void on_quote(context& ctx, market::symbol_id s) override {
    if (!awaited_ || *awaited_ != s)
      return;
    awaited_.reset();
    act(ctx, s);
  }

  void on_order(context& ctx, const order_update& u) override {
    resting_.on_update(ctx, u);
  }

private:
  void schedule(context& ctx) {
    const auto wait = ctx.rng().exponential(static_cast<double>(config_.mean_interval));
    // At least 1 ns: two wakes never share a time.
    ctx.set_timer(std::max<duration_ns>(static_cast<duration_ns>(wait), 1));
  }

  /// The limit price of a passive order on `side`, or 0 with no price known.
  market::price_t passive_price(const market_view& view, market::side side,
                                market::price_t tick, std::int64_t offset) const {
    const bool buy = side == market::side::buy;
    // Own touch, else one tick inside the opposite touch, else the reference.
    market::price_t base = 0;
    std::int64_t away = offset;
    if (buy && view.has_bid()) {
      base = view.quote.bid_price;
    } else if (!buy && view.has_ask()) {
      base = view.quote.ask_price;
    } else if (buy && view.has_ask()) {
      base = view.quote.ask_price;
      away += 1;
    } else if (!buy && view.has_bid()) {
      base = view.quote.bid_price;
      away += 1;
    } else {
      const auto reference =
          view.last_price > 0 ? view.last_price : config_.reference_price;
      if (reference <= 0)
        return 0;
      base = builtin::floor_to_tick(static_cast<double>(reference), tick);
    }
    const auto price = buy ? base - away * tick : base + away * tick;
    return std::max(price, tick);
  }

  /// Draws and sends one order on `s` from the current view.
  void act(context& ctx, market::symbol_id s) {
    const auto& spec = *ctx.symbols().find(s);
    const auto& view = ctx.market(s);
    // Every draw is made on every order attempt, so one wake's choices do
    // not shift the stream of the next.
    const auto side = ctx.rng().bernoulli(0.5) ? market::side::buy : market::side::sell;
    const auto qty =
        builtin::draw_qty(ctx.rng(), config_.min_lots, config_.max_lots, spec);
    const bool wants_market = ctx.rng().bernoulli(config_.market_probability);
    const auto offset = ctx.rng().uniform_int(0, config_.max_offset);

    order_spec order;
    order.symbol = s;
    order.side = side;
    order.qty = qty;
    const bool buy = side == market::side::buy;
    const bool other_side = buy ? view.has_ask() : view.has_bid();
    if (wants_market && other_side) {
      order.type = market::order_type::market;
      order.tif = market::time_in_force::ioc;
      // A market buy reserves cash at the ask it expects to pay.
      order.qty =
          builtin::affordable_qty(ctx, order, view.quote.ask_price, spec.lot_size);
      if (order.qty > 0)
        ctx.submit(order);
      else
        resting_.cancel_oldest_holding(ctx, side, s);
      return;
    }
    order.price = passive_price(view, side, spec.tick_size, offset);
    if (order.price == 0) {
      // Subscribed, the view may simply not have its first quote yet. Polling,
      // the answer just came and was empty: asking again would only loop.
      if (!config_.poll)
        ctx.request_quote(s);
      return;
    }
    order.qty = builtin::affordable_qty(ctx, order, 0, spec.lot_size);
    if (order.qty > 0)
      resting_.submitted(ctx.submit(order), s, side, ctx.now());
    else
      resting_.cancel_oldest_holding(ctx, side, s);
  }

  noise_config config_;
  std::vector<market::symbol_id> symbols_;
  builtin::resting_orders resting_;
  /// Poll mode: the symbol whose quote the last wake asked for, until it comes.
  std::optional<market::symbol_id> awaited_;
};

std::vector<param_spec> noise_params() {
  auto ps = std::vector<param_spec>{
      builtin::symbols_param(),
      {"mean_interval",
       param_type::duration,
       "mean of the exponential wait between two wakes",
       param_value{std::int64_t{1'000'000'000}},
       1e3,
       8.64e13,
       {}},
      {"market_order_probability",
       param_type::number,
       "chance that a wake sends a market order instead of a limit at the touch",
       param_value{0.1},
       0.0,
       1.0,
       {}},
      {"max_offset",
       param_type::integer,
       "limit orders rest up to this many ticks behind the touch (uniform; 0: at it)",
       param_value{std::int64_t{0}},
       0.0,
       1e6,
       {}},
  };
  for (auto& q : builtin::quantity_params(10))
    ps.push_back(std::move(q));
  ps.push_back({"max_resting",
                param_type::integer,
                "live orders at most: the oldest are cancelled to make room",
                param_value{std::int64_t{10}},
                1.0,
                1e6,
                {}});
  ps.push_back({"order_lifetime",
                param_type::duration,
                "orders older than this are cancelled on the next wake; 0: no limit",
                param_value{std::int64_t{0}},
                0.0,
                8.64e13,
                {}});
  ps.push_back({"reference_price",
                param_type::integer,
                "price to quote around while the market shows neither quote nor "
                "trade; 0: none (the agent waits)",
                param_value{std::int64_t{0}},
                0.0,
                1e15,
                {}});
  ps.push_back(text_param("market_data",
                          "'subscribe': L1 and trades pushed on every change; 'poll': "
                          "one quote asked for on each wake, the order placed on "
                          "the answer (no per-agent fan-out, for large populations)",
                          "subscribe", {"subscribe", "poll"}));
  return ps;
}

std::unique_ptr<strategy> make_noise(const param_values& v) {
  builtin::check_quantity_params(v);
  noise_config c;
  c.symbols = v.text("symbols");
  c.mean_interval = v.duration_ns("mean_interval");
  c.market_probability = v.number("market_order_probability");
  c.max_offset = v.integer("max_offset");
  c.min_lots = v.integer("min_quantity");
  c.max_lots = v.integer("max_quantity");
  c.max_resting = static_cast<std::size_t>(v.integer("max_resting"));
  c.order_lifetime = v.duration_ns("order_lifetime");
  c.reference_price = v.integer("reference_price");
  c.poll = v.text("market_data") == "poll";
  return std::make_unique<noise>(std::move(c));
}

} // namespace

void register_noise(strategy_registry& r) {
  r.add({"noise",
         "ABIDES-style noise trader: at exponential times, one random order at or near "
         "the touch (sometimes a market order)",
         noise_params(), make_noise});
}

} // namespace marketsim::strategies
