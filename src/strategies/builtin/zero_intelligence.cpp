/// Zero intelligence, budget constrained (ZI-C): Gode & Sunder, "Allocative
/// efficiency of markets with zero-intelligence traders: market as a partial
/// substitute for individual rationality", JPE 101(1), 1993.
///
/// ## Model
/// In Gode & Sunder each trader has an induced value per unit: a buyer bids
/// uniformly below its redemption value, a seller asks uniformly above its
/// cost, and neither may trade at a loss; that budget constraint alone makes
/// the market allocate almost efficiently. Here each agent has one private
/// valuation per symbol, v = anchor + offset:
/// - `offset` is drawn once per symbol at the start, uniform in whole ticks
///   in [-valuation_spread, +valuation_spread]: the agents' private values;
/// - `anchor` is, with `valuation: fixed`, the symbol's reference price the
///   first time the agent knows one (mid, else last trade, else the
///   `reference_price` parameter) and then never changes, as Gode & Sunder's
///   values are fixed for a period; with `valuation: fundamental`, the last
///   value published on the "fundamental" topic (the current reference until
///   one arrives), as ABIDES' ZeroIntelligenceAgent adds private values to its
///   view of the fundamental.
///
/// On each wake (every `interval` +- uniform `jitter`, the first after a
/// random phase so that a population does not act in lockstep) the agent
/// cancels its stale orders (older than `order_lifetime`, then the oldest
/// while it has `max_resting` live), picks one of its symbols and a side with
/// equal chances, and draws a GTC limit price uniformly on the tick grid in
/// [v - price_band, v] for a buy (never below one tick) or [v, v + price_band]
/// for a sell, so it never bids above nor asks below its valuation. The size
/// is uniform in [min_quantity, max_quantity] lots, cut down to what its
/// account can cover (cash for a buy, shares for a sell: the "budget" of
/// ZI-C); when not even one lot is covered it sends nothing, so the host's
/// pre-trade check has nothing to reject, and cancels its oldest order holding
/// that budget, so that a later action can trade again.
///
/// ## Market data (`market_data`)
/// - `subscribe` (the default): the agent subscribes to every symbol it
///   trades (L1 and trades) at the start and prices each wake's order on the
///   view it has then. Every quote change then costs the exchange one message
///   per agent.
/// - `poll`: no market subscription, the pattern of ABIDES' NoiseAgent (its
///   wakeup asks getCurrentSpread and waits in state AWAITING_SPREAD; the
///   answer, a QUERY_SPREAD message, places the order). On each wake the
///   agent cancels its stale orders, picks the symbol, asks for its quote
///   (`request_quote`), remembers that it awaits it and sets its next wake.
///   The answer (`on_quote` for that symbol) updates the valuation's anchor
///   from the fresh view and places the order as above. A quote it is not
///   waiting for does nothing: an answer that comes after a later wake picked
///   another symbol, or a second answer. The next wake does not wait for the
///   answer, so the wakes keep their configured rhythm and an unanswered
///   request never stalls the agent. The agent sees no trades in this mode,
///   so with an empty book and no anchor yet it falls back to the
///   `reference_price` parameter, else sends nothing until a later wake.
///   With `valuation: fundamental` it still follows the "fundamental" topic.
///
/// ## Random draws
/// At the start, the valuation offset of each symbol (in symbol order), then
/// the first wake's phase. Each wake draws the symbol, then (subscribe) side,
/// price and size and the wait to the next wake, or (poll) the wait to the
/// next wake, and side, price and size when the awaited quote arrives. Side,
/// price and size are not drawn while the agent knows no valuation. The same
/// seed and the same quotes give the same intents.

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"

#include "market/fundamental.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace marketsim::strategies {

namespace {

using builtin::pick;

struct zi_config {
  std::string symbols;
  duration_ns interval = 0;
  duration_ns jitter = 0;
  bool follow_fundamental = false;
  std::int64_t valuation_spread = 0; ///< ticks
  std::int64_t price_band = 0;       ///< ticks
  std::int64_t min_lots = 1;
  std::int64_t max_lots = 1;
  std::size_t max_resting = 1;
  duration_ns order_lifetime = 0;
  market::price_t reference_price = 0;
  bool poll = false; ///< market_data: poll (else subscribe)
};

class zero_intelligence final : public strategy {
public:
  explicit zero_intelligence(zi_config c) : config_(std::move(c)) {}

  void on_start(context& ctx) override {
    symbols_ = builtin::resolve_symbols(ctx.symbols(), config_.symbols);
    if (symbols_.empty()) {
      ctx.stop();
      return;
    }
    for (auto s : symbols_) {
      const auto tick = ctx.symbols().find(s)->tick_size;
      valuations_[s].offset =
          ctx.rng().uniform_int(-config_.valuation_spread, config_.valuation_spread) *
          tick;
      if (!config_.poll)
        ctx.subscribe_market(s, true);
    }
    if (config_.follow_fundamental)
      ctx.subscribe_signal("fundamental");
    ctx.set_timer(ctx.rng().uniform_int(1, config_.interval));
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
    const auto next =
        config_.interval + ctx.rng().uniform_int(-config_.jitter, config_.jitter);
    ctx.set_timer(std::max<duration_ns>(next, 1));
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

  void on_signal(context&, const signal& x) override {
    if (x.topic != "fundamental")
      return;
    if (auto i = valuations_.find(x.symbol); i != valuations_.end())
      i->second.fundamental = x.value;
  }

private:
  struct valuation_state {
    market::price_t offset = 0;       ///< private value relative to the anchor
    market::price_t fixed_anchor = 0; ///< 0 until a reference was known
    double fundamental = 0;           ///< last published value; 0: none yet
  };

  /// The current valuation of `s`, on its tick and at least one tick; 0 while
  /// the agent knows no price at all for the symbol.
  market::price_t valuation(const context& ctx, market::symbol_id s,
                            market::price_t tick) {
    auto& v = valuations_.at(s);
    market::price_t anchor = 0;
    if (config_.follow_fundamental && v.fundamental > 0) {
      anchor = market::to_tick_price(v.fundamental, tick);
    } else {
      const auto reference =
          builtin::reference_price(ctx.market(s), config_.reference_price);
      if (reference > 0) {
        // A mid can fall between ticks: the anchor is on the grid.
        const auto on_tick = builtin::floor_to_tick(static_cast<double>(reference), tick);
        if (v.fixed_anchor == 0)
          v.fixed_anchor = on_tick;
        anchor = config_.follow_fundamental ? on_tick : v.fixed_anchor;
      } else {
        anchor = v.fixed_anchor;
      }
    }
    if (anchor <= 0)
      return 0;
    return std::max(anchor + v.offset, tick);
  }

  /// Draws and sends one order on `s` within its valuation.
  void act(context& ctx, market::symbol_id s) {
    const auto& spec = *ctx.symbols().find(s);
    const auto tick = spec.tick_size;
    const auto value = valuation(ctx, s, tick);
    if (value <= 0)
      return;
    order_spec order;
    order.symbol = s;
    order.side = ctx.rng().bernoulli(0.5) ? market::side::buy : market::side::sell;
    // Prices in ticks: value is a multiple of tick.
    const auto v = value / tick;
    const auto band = config_.price_band;
    const auto ticks = order.side == market::side::buy
                           ? ctx.rng().uniform_int(std::max<std::int64_t>(v - band, 1), v)
                           : ctx.rng().uniform_int(v, v + band);
    order.price = ticks * tick;
    order.qty = builtin::draw_qty(ctx.rng(), config_.min_lots, config_.max_lots, spec);
    order.qty = builtin::affordable_qty(ctx, order, 0, spec.lot_size);
    if (order.qty == 0) {
      // Its budget is held by resting orders: free some for a later action.
      resting_.cancel_oldest_holding(ctx, order.side, s);
      return;
    }
    resting_.submitted(ctx.submit(order), s, order.side, ctx.now());
  }

  zi_config config_;
  std::vector<market::symbol_id> symbols_;
  std::map<market::symbol_id, valuation_state> valuations_;
  builtin::resting_orders resting_;
  /// Poll mode: the symbol whose quote the last wake asked for, until it comes.
  std::optional<market::symbol_id> awaited_;
};

std::vector<param_spec> zi_params() {
  auto ps = std::vector<param_spec>{
      builtin::symbols_param(),
      {"interval",
       param_type::duration,
       "mean time between two actions",
       param_value{std::int64_t{100'000'000}},
       1e3,
       8.64e13,
       {}},
      {"jitter",
       param_type::duration,
       "each wait is interval plus a uniform draw in [-jitter, +jitter]; <= interval",
       param_value{std::int64_t{50'000'000}},
       0.0,
       8.64e13,
       {}},
      {"valuation",
       param_type::text,
       "anchor of the private valuations: 'fixed' (the first reference price seen, "
       "Gode-Sunder) or 'fundamental' (the last value on the 'fundamental' topic)",
       param_value{std::string{"fixed"}},
       std::nullopt,
       std::nullopt,
       {"fixed", "fundamental"}},
      {"valuation_spread",
       param_type::integer,
       "private values are uniform in +- this many ticks around the anchor",
       param_value{std::int64_t{20}},
       0.0,
       1e9,
       {}},
      {"price_band",
       param_type::integer,
       "bids are uniform in [valuation - band, valuation], asks in "
       "[valuation, valuation + band], in ticks",
       param_value{std::int64_t{20}},
       0.0,
       1e9,
       {}},
  };
  for (auto& q : builtin::quantity_params(10))
    ps.push_back(std::move(q));
  ps.push_back({"max_resting",
                param_type::integer,
                "live orders at most: the oldest are cancelled to make room",
                param_value{std::int64_t{5}},
                1.0,
                1e6,
                {}});
  ps.push_back({"order_lifetime",
                param_type::duration,
                "orders older than this are cancelled on the next action; 0: no limit",
                param_value{std::int64_t{0}},
                0.0,
                8.64e13,
                {}});
  ps.push_back({"reference_price",
                param_type::integer,
                "price to anchor on while the market shows neither quote nor trade; "
                "0: none (the agent waits)",
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

std::unique_ptr<strategy> make_zi(const param_values& v) {
  builtin::check_quantity_params(v);
  zi_config c;
  c.symbols = v.text("symbols");
  c.interval = v.duration_ns("interval");
  c.jitter = v.duration_ns("jitter");
  if (c.jitter > c.interval)
    throw std::invalid_argument("parameter 'jitter' (" + std::to_string(c.jitter) +
                                " ns) is above 'interval' (" +
                                std::to_string(c.interval) + " ns)");
  c.follow_fundamental = v.text("valuation") == "fundamental";
  c.valuation_spread = v.integer("valuation_spread");
  c.price_band = v.integer("price_band");
  c.min_lots = v.integer("min_quantity");
  c.max_lots = v.integer("max_quantity");
  c.max_resting = static_cast<std::size_t>(v.integer("max_resting"));
  c.order_lifetime = v.duration_ns("order_lifetime");
  c.reference_price = v.integer("reference_price");
  c.poll = v.text("market_data") == "poll";
  return std::make_unique<zero_intelligence>(std::move(c));
}

} // namespace

void register_zero_intelligence(strategy_registry& r) {
  r.add({"zero_intelligence",
         "Gode-Sunder ZI-C: random limit orders that never cross the agent's private "
         "valuation, within what its account can cover",
         zi_params(), make_zi});
}

} // namespace marketsim::strategies
