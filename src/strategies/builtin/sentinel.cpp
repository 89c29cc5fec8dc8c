/// Sentinel: watches one symbol and reacts, once, to the first price move
/// beyond a threshold, recording when it saw it. Sentinels at several sites
/// measure how long a price shock (see shock.cpp) takes to reach each site's
/// agents, to set against the topology's shortest-path latency.
///
/// ## Model
/// The agent subscribes to the L1 and the trades of `symbol`. Its baseline is
/// the symbol's price (the mid, else the last trade) when watching begins: at
/// time `start`, or at the first quote or trade after it when none is known
/// then. From then on, the first quote whose price (mid, else last trade) or
/// the first trade whose price is `threshold` ticks or more away from the
/// baseline is the reaction: the agent records it and, unless
/// `reaction_qty` is 0, sends an IOC market order of `reaction_qty` lots in
/// the direction of the move (buys a rise, sells a fall) as its visible
/// reaction. It never reacts again.
///
/// ## Metrics (agent_report::metrics)
/// `reacted` (0 or 1), and after a reaction: `reaction_time_ns` (run time it
/// saw the move), `reaction_event_time_ns` (the venue's timestamp of the quote
/// or trade that showed it: the difference is the one-way delay from the
/// venue), `reaction_move_ticks` (signed move from the baseline),
/// `baseline_price` and `reaction_order_sent` (0 or 1).

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace marketsim::strategies {

namespace {

class sentinel final : public strategy {
public:
  explicit sentinel(const param_values& p)
      : symbol_(p.text("symbol")), threshold_(p.integer("threshold")),
        start_(p.duration_ns("start")), lots_(p.integer("reaction_qty")) {}

  void on_start(context& ctx) override {
    const auto id = ctx.symbols().lookup(symbol_);
    if (!id)
      throw std::invalid_argument("sentinel: unknown symbol '" + symbol_ + "'");
    s_ = *id;
    tick_ = ctx.symbols().find(s_)->tick_size;
    ctx.subscribe_market(s_, /*trades=*/true);
    ctx.record_metric("reacted", 0);
    if (start_ > ctx.now())
      ctx.set_timer(start_ - ctx.now());
    else
      watch(ctx);
  }

  void on_timer(context& ctx, std::uint64_t) override { watch(ctx); }

  void on_quote(context& ctx, market::symbol_id s) override {
    if (s != s_ || !watching_ || reacted_)
      return;
    const auto& view = ctx.market(s);
    if (const auto price = builtin::reference_price(view, 0); price > 0)
      check(ctx, price, view.quote_time);
  }

  void on_trade(context& ctx, const public_trade& t) override {
    if (t.symbol != s_ || !watching_ || reacted_)
      return;
    check(ctx, t.price, t.time);
  }

private:
  void watch(context& ctx) {
    watching_ = true;
    if (const auto price = builtin::reference_price(ctx.market(s_), 0); price > 0)
      baseline_ = price;
  }

  void check(context& ctx, market::price_t price, time_ns event_time) {
    if (!baseline_) {
      baseline_ = price;
      return;
    }
    const auto move = price - *baseline_;
    if (move < threshold_ * tick_ && -move < threshold_ * tick_)
      return;
    reacted_ = true;
    ctx.record_metric("reacted", 1);
    ctx.record_metric("reaction_time_ns", static_cast<double>(ctx.now()));
    ctx.record_metric("reaction_event_time_ns", static_cast<double>(event_time));
    ctx.record_metric("reaction_move_ticks",
                      static_cast<double>(move) / static_cast<double>(tick_));
    ctx.record_metric("baseline_price", static_cast<double>(*baseline_));
    local_order_id sent = 0;
    if (lots_ > 0)
      sent = builtin::take_liquidity(ctx, s_,
                                     move > 0 ? market::side::buy : market::side::sell,
                                     lots_ * ctx.symbols().find(s_)->lot_size, {});
    ctx.record_metric("reaction_order_sent", sent != 0 ? 1 : 0);
  }

  std::string symbol_;
  std::int64_t threshold_; ///< ticks
  duration_ns start_;
  std::int64_t lots_;
  market::symbol_id s_ = 0;
  market::price_t tick_ = 1;
  bool watching_ = false;
  bool reacted_ = false;
  std::optional<market::price_t> baseline_;
};

} // namespace

void register_sentinel(strategy_registry& r) {
  constexpr double second = 1e9;
  strategy_info info;
  info.name = "sentinel";
  info.summary = "records when it first sees a price move beyond a threshold and reacts "
                 "with a small IOC order: reaction times for propagation experiments";
  info.params = {
      {"symbol",
       param_type::text,
       "the symbol to watch",
       std::nullopt,
       std::nullopt,
       std::nullopt,
       {}},
      integer_param("threshold", "ticks away from the baseline that count as a move", 5,
                    1, 1e9),
      duration_param("start", "when watching begins and the baseline is taken (run time)",
                     0, 0, 86'400 * second),
      integer_param("reaction_qty", "size of the reaction order (lots; 0: none)", 1, 0,
                    1e9),
  };
  info.make = [](const param_values& p) -> std::unique_ptr<strategy> {
    return std::make_unique<sentinel>(p);
  };
  r.add(std::move(info));
}

} // namespace marketsim::strategies
