/// Shock: one large market order at a set time, the price shock of an
/// information-propagation experiment (sentinel agents elsewhere time how long
/// it takes them to see it).
///
/// ## Model
/// The agent subscribes to `symbol` (a market buy needs a reference price) and
/// at time `at` sends one IOC market order of `qty` lots on `side`, which
/// sweeps the book as deep as it goes; the exchange cancels what it cannot
/// fill. Nothing else: it never trades again. A market buy is refused
/// (no_reference_price) if no quote or trade of the symbol has arrived by
/// then; a sell needs the shares, or shorting, in the account.
///
/// ## Metrics (agent_report::metrics)
/// `shock_time_ns` (when it was sent, run time), `shock_qty` (units sent),
/// `shock_filled_qty`, `shock_last_price` (of its last fill, 0: none) and
/// `shock_rejected` (1 when the account or the exchange refused it).

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace marketsim::strategies {

namespace {

class shock final : public strategy {
public:
  explicit shock(const param_values& p)
      : symbol_(p.text("symbol")), at_(p.duration_ns("at")),
        buy_(p.text("side") == "buy"), lots_(p.integer("qty")) {}

  void on_start(context& ctx) override {
    const auto id = ctx.symbols().lookup(symbol_);
    if (!id)
      throw std::invalid_argument("shock: unknown symbol '" + symbol_ + "'");
    symbol_id_ = *id;
    ctx.subscribe_market(symbol_id_);
    ctx.set_timer(std::max<duration_ns>(at_ - ctx.now(), 1));
  }

  void on_timer(context& ctx, std::uint64_t) override {
    if (order_ != 0)
      return;
    const auto qty = lots_ * ctx.symbols().find(symbol_id_)->lot_size;
    order_ = buy_ ? ctx.buy_market(symbol_id_, qty) : ctx.sell_market(symbol_id_, qty);
    ctx.record_metric("shock_time_ns", static_cast<double>(ctx.now()));
    ctx.record_metric("shock_qty", static_cast<double>(qty));
    ctx.record_metric("shock_filled_qty", 0);
    ctx.record_metric("shock_last_price", 0);
    ctx.record_metric("shock_rejected", 0);
  }

  void on_order(context& ctx, const order_update& u) override {
    if (u.id != order_)
      return;
    if (u.what == order_update::kind::filled) {
      filled_ += u.qty;
      ctx.record_metric("shock_filled_qty", static_cast<double>(filled_));
      ctx.record_metric("shock_last_price", static_cast<double>(u.price));
    } else if (u.what == order_update::kind::rejected) {
      ctx.record_metric("shock_rejected", 1);
    }
  }

private:
  std::string symbol_;
  duration_ns at_;
  bool buy_;
  std::int64_t lots_;
  market::symbol_id symbol_id_ = 0;
  local_order_id order_ = 0;
  market::qty_t filled_ = 0;
};

} // namespace

void register_shock(strategy_registry& r) {
  constexpr double second = 1e9;
  strategy_info info;
  info.name = "shock";
  info.summary = "one large market order at a set time: a price shock for propagation "
                 "experiments";
  info.params = {
      {"symbol",
       param_type::text,
       "the symbol to shock",
       std::nullopt,
       std::nullopt,
       std::nullopt,
       {}},
      duration_param("at", "when the order is sent (run time)",
                     static_cast<std::int64_t>(second), 1e3, 86'400 * second),
      text_param("side", "side of the shock order", "sell", {"buy", "sell"}),
      integer_param("qty", "size of the shock order (lots)", 100, 1, 1e12),
  };
  info.make = [](const param_values& p) -> std::unique_ptr<strategy> {
    return std::make_unique<shock>(p);
  };
  r.add(std::move(info));
}

} // namespace marketsim::strategies
