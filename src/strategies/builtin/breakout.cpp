/// Breakout trader: the worked example of docs/writing-a-strategy.md.
///
/// ## Model
/// A Donchian channel breakout (after Richard Donchian's channel rule, as used
/// by the "Turtle" traders): every `interval` the agent samples each symbol's
/// price (mid, else last trade) and remembers the last `window` samples. A
/// sample above the highest of the previous `window` samples is a breakout
/// upwards: buy; below the lowest, downwards: sell. Orders are IOC market
/// orders of `order_size` lots, within +-`max_position` lots, one in flight
/// per symbol at a time.
///
/// Everything a strategy needs is here in one file: its parameters, its state,
/// its callbacks, and the function that registers it by name.

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <utility>

namespace marketsim::strategies {

namespace {

class breakout final : public strategy {
public:
  explicit breakout(const param_values& p)
      : symbols_(p.text("symbols")),
        interval_(p.duration_ns("interval")),
        window_(static_cast<std::size_t>(p.integer("window"))),
        order_lots_(p.integer("order_size")),
        max_lots_(p.integer("max_position")) {}

  // -- callbacks -------------------------------------------------------------

  void on_start(context& ctx) override {
    for (auto s : builtin::resolve_symbols(ctx.symbols(), symbols_)) {
      channels_[s];
      ctx.subscribe_market(s, /*trades=*/true);
    }
    ctx.set_timer(interval_);
  }

  void on_timer(context& ctx, std::uint64_t) override {
    for (auto& [s, ch] : channels_)
      sample(ctx, s, ch);
    ctx.set_timer(interval_);
  }

  void on_order(context&, const order_update& u) override {
    auto it = channels_.find(u.symbol);
    if (it == channels_.end() || it->second.in_flight != u.id)
      return;
    using kind = order_update::kind;
    if (u.what == kind::done || u.what == kind::cancelled || u.what == kind::rejected)
      it->second.in_flight = 0;
  }

private:
  struct channel {
    std::deque<market::price_t> prices; ///< the last window_ samples, oldest first
    local_order_id in_flight = 0;
  };

  void sample(context& ctx, market::symbol_id s, channel& ch) {
    const auto price = builtin::reference_price(ctx.market(s), 0);
    if (price == 0)
      return; // nothing known of this market yet
    if (ch.prices.size() == window_) {
      const auto [lo, hi] = std::minmax_element(ch.prices.begin(), ch.prices.end());
      if (price > *hi)
        trade(ctx, s, ch, market::side::buy);
      else if (price < *lo)
        trade(ctx, s, ch, market::side::sell);
      ch.prices.pop_front();
    }
    ch.prices.push_back(price);
  }

  void trade(context& ctx, market::symbol_id s, channel& ch, market::side side) {
    if (ch.in_flight != 0)
      return;
    const auto lot = ctx.symbols().find(s)->lot_size;
    const bool buy = side == market::side::buy;
    const auto target = ctx.account().position(s) + (buy ? 1 : -1) * order_lots_ * lot;
    if (buy ? target > max_lots_ * lot : target < -max_lots_ * lot)
      return; // would grow the position beyond the limit (reducing it is fine)
    // A market order, if someone is on the other side and the account covers it.
    ch.in_flight = builtin::take_liquidity(ctx, s, side, order_lots_ * lot, {});
  }

  std::string symbols_;
  duration_ns interval_;
  std::size_t window_;
  std::int64_t order_lots_;
  std::int64_t max_lots_;
  std::map<market::symbol_id, channel> channels_;
};

} // namespace

// -- registration ------------------------------------------------------------------

void register_breakout(strategy_registry& r) {
  constexpr std::int64_t second = 1'000'000'000;
  strategy_info info;
  info.name = "breakout";
  info.summary = "Donchian channel breakout: buys new highs, sells new lows";
  info.params = {
      builtin::symbols_param(),
      duration_param("interval", "time between two price samples", second, 1e3,
                     86'400.0 * second),
      integer_param("window", "samples in the channel", 20, 2, 1e5),
      integer_param("order_size", "lots per order", 1, 1, 1e6),
      integer_param("max_position", "largest position either way, in lots", 5, 0, 1e9),
  };
  info.make = [](const param_values& p) -> std::unique_ptr<strategy> {
    return std::make_unique<breakout>(p);
  };
  r.add(std::move(info));
}

} // namespace marketsim::strategies
