/// Mean-reversion trader: bets that prices return to their recent average.
///
/// ## Model
/// The classic z-score (Bollinger band) rule, as in the statistical-arbitrage
/// literature (e.g. Avellaneda & Lee, "Statistical arbitrage in the U.S.
/// equities market", Quantitative Finance 10(7), 2010, whose s-score opens a
/// position at |s| > 1.25 and closes it at |s| of 0.5 to 0.75) applied to one
/// price series: every
/// `interval` the agent samples the price p, keeps the last `window` samples
/// (p included) and computes their mean m and population standard deviation
/// sd, and z = (p - m) / max(sd, min_stddev).
/// - z > entry_z: the price is far above its mean: sell (enter or add short);
/// - z < -entry_z: far below: buy;
/// - |z| < exit_z: back near the mean: flatten the whole position;
/// - otherwise hold.
///
/// ## Details
/// - The price is the mid of the L1 (`price: mid`) or the last public trade
///   (`price: last`), each falling back to the other when it is not known.
///   Prices are in ticks, so `min_stddev` means the same on every symbol; the
///   floor keeps a one-tick wiggle of a quiet market from looking like a
///   many-sigma event.
/// - With the current sample in the window, no z can exceed sqrt(window - 1)
///   in size (one outlier against window - 1 equal values), so an entry_z at
///   or above that bound could never trade and is refused by `make`, as is an
///   exit_z not below entry_z.
/// - No signal before `window` samples.
/// - An entry sends one order of `order_size` lots unless its fill could take
///   the position beyond `max_position` lots either way; the position builds
///   up step by step while the deviation lasts. A flattening order is for the
///   whole position (whole lots, at most the symbol's largest order).
/// - Orders take liquidity: market orders or IOC limit orders at the opposite
///   best plus `limit_offset` ticks. Nothing is sent while the previous order
///   of the symbol is in flight, the opposite side of the book is empty, or the
///   account would refuse it.
///
/// Deterministic: no randomness at all; time comes from ctx.now().

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::strategies {

namespace {

struct mean_reversion_config {
  std::string symbols; ///< comma-separated names; empty = every symbol
  duration_ns interval = 1'000'000'000;
  std::int64_t window = 20;
  double entry_z = 2.0;
  double exit_z = 0.5;
  double min_stddev = 0.5; ///< ticks
  builtin::taker_config taker;
};

class mean_reversion final : public strategy {
public:
  explicit mean_reversion(mean_reversion_config cfg) : cfg_(std::move(cfg)) {}

  void on_start(context& ctx) override {
    for (auto s : builtin::resolve_symbols(ctx.symbols(), cfg_.symbols)) {
      auto& st = books_[s];
      const auto* spec = ctx.symbols().find(s);
      st.tick = spec->tick_size;
      st.lot = spec->lot_size;
      st.max_order = spec->max_order_qty / spec->lot_size * spec->lot_size;
      // Trades are needed for the last price, and as the fallback of the mid.
      ctx.subscribe_market(s, true);
    }
    ctx.set_timer(cfg_.interval);
  }

  void on_timer(context& ctx, std::uint64_t) override {
    for (auto& [s, st] : books_)
      step(ctx, s, st);
    ctx.set_timer(cfg_.interval);
  }

  void on_order(context&, const order_update& u) override {
    auto it = books_.find(u.symbol);
    if (it == books_.end() || it->second.in_flight != u.id)
      return;
    using kind = order_update::kind;
    if (u.what == kind::done || u.what == kind::cancelled || u.what == kind::rejected)
      it->second.in_flight = 0;
  }

private:
  struct book_state {
    market::price_t tick = 1;
    market::qty_t lot = 1;
    market::qty_t max_order = 1;  ///< largest order in whole lots
    std::deque<double> prices;    ///< the last `window` samples, in ticks, oldest first
    local_order_id in_flight = 0; ///< the order sent and not yet finished
  };

  void step(context& ctx, market::symbol_id s, book_state& st) {
    const auto p = builtin::price_in_ticks(ctx.market(s), st.tick, cfg_.taker.use_mid);
    if (!p)
      return;
    st.prices.push_back(*p);
    const auto n = static_cast<std::size_t>(cfg_.window);
    if (st.prices.size() > n)
      st.prices.pop_front();
    if (st.prices.size() < n)
      return;
    double mean = 0;
    for (double x : st.prices)
      mean += x;
    mean /= static_cast<double>(n);
    double var = 0;
    for (double x : st.prices)
      var += (x - mean) * (x - mean);
    var /= static_cast<double>(n);
    const double z = (*p - mean) / std::max(std::sqrt(var), cfg_.min_stddev);

    const auto position = ctx.account().position(s);
    const market::qty_t size = cfg_.taker.order_size * st.lot;
    const market::qty_t max_units = cfg_.taker.max_position * st.lot;
    if (z > cfg_.entry_z) {
      if (position - size >= -max_units)
        trade(ctx, s, st, market::side::sell, size);
    } else if (z < -cfg_.entry_z) {
      if (position + size <= max_units)
        trade(ctx, s, st, market::side::buy, size);
    } else if (std::abs(z) < cfg_.exit_z && position != 0) {
      const market::qty_t whole =
          std::min(std::abs(position) / st.lot * st.lot, st.max_order);
      if (whole > 0)
        trade(ctx, s, st, position > 0 ? market::side::sell : market::side::buy, whole);
    }
  }

  void trade(context& ctx, market::symbol_id s, book_state& st, market::side sd,
             market::qty_t qty) {
    if (st.in_flight != 0)
      return;
    st.in_flight = builtin::take_liquidity(ctx, s, sd, qty, cfg_.taker.style);
  }

  mean_reversion_config cfg_;
  std::map<market::symbol_id, book_state> books_;
};

// -- parameters ----------------------------------------------------------------

constexpr double second = 1e9;

std::unique_ptr<strategy> make_mean_reversion(const param_values& p) {
  mean_reversion_config c;
  c.symbols = p.text("symbols");
  c.interval = p.duration_ns("interval");
  c.window = p.integer("window");
  c.entry_z = p.number("entry_z");
  c.exit_z = p.number("exit_z");
  c.min_stddev = p.number("min_stddev");
  c.taker = builtin::read_taker_params(p, "mean_reversion");
  if (c.exit_z >= c.entry_z)
    throw std::invalid_argument("mean_reversion: exit_z (" + std::to_string(c.exit_z) +
                                ") must be below entry_z (" + std::to_string(c.entry_z) +
                                ")");
  const double reachable = std::sqrt(static_cast<double>(c.window - 1));
  if (c.entry_z >= reachable)
    throw std::invalid_argument(
        "mean_reversion: entry_z (" + std::to_string(c.entry_z) +
        ") can never be reached with window " + std::to_string(c.window) +
        " (|z| <= sqrt(window - 1) = " + std::to_string(reachable) + ")");
  return std::make_unique<mean_reversion>(std::move(c));
}

} // namespace

void register_mean_reversion(strategy_registry& r) {
  strategy_info info;
  info.name = "mean_reversion";
  info.summary =
      "trades against deviations: sells when the price's z-score over a moving "
      "window is high, buys when low, flattens near the mean";
  info.params = {
      builtin::symbols_param(),
      duration_param("interval", "time between price samples",
                     static_cast<std::int64_t>(second), 1e3, 86'400 * second),
      integer_param("window", "samples in the moving mean and standard deviation", 20, 3,
                    1e6),
      number_param("entry_z", "|z| above which it trades against the deviation", 2.0, 0,
                   1e3),
      number_param("exit_z", "|z| below which it flattens its position", 0.5, 0, 1e3),
      number_param("min_stddev", "floor of the standard deviation (ticks)", 0.5, 1e-9,
                   1e9),
  };
  for (auto& x : builtin::taker_params("size of each entry order (lots)"))
    info.params.push_back(std::move(x));
  info.make = make_mean_reversion;
  r.add(std::move(info));
}

} // namespace marketsim::strategies
