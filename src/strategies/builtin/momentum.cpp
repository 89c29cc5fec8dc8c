/// Momentum trader: follows the recent trend of prices.
///
/// ## Model
/// After ABIDES' MomentumAgent (Byrd, Hybinette & Balch, "ABIDES: Towards
/// High-Fidelity Market Simulation for AI Research", 2019;
/// abides/agent/examples/MomentumAgent.py): on every wake-up the agent samples
/// the price, keeps the last `slow_window` samples, and compares the average of
/// the last `fast_window` of them (ABIDES: 20) with the average of all of them
/// (ABIDES: 50). A fast average above the slow one is a rising trend: buy; below,
/// a falling one: sell. Here the difference must exceed `threshold` ticks, so
/// that small wiggles of a flat market do not trade (0 = any difference).
///
/// ## Details
/// - The price is sampled every `interval` from the agent's market view: the
///   mid of the L1 (`price: mid`) or the last public trade (`price: last`),
///   each falling back to the other when it is not known; a symbol with no
///   price yet is not sampled. Prices are in ticks, so `threshold` means the
///   same on every symbol.
/// - No signal before `slow_window` samples.
/// - Each sample with a signal sends one order of `order_size` lots, unless
///   its fill could take the position beyond `max_position` lots either way,
///   the opposite side of the book is empty, the account would refuse it, or
///   the previous order of the symbol is still in flight. So the position
///   builds up step by step while a trend lasts, and reverses through zero
///   when the trend turns.
/// - Orders take liquidity: market orders (`order_type: market`) or IOC limit
///   orders at the opposite best plus `limit_offset` ticks
///   (`order_type: limit`, a cap on slippage). A remainder is cancelled by the
///   exchange, so nothing rests.
///
/// Deterministic: no randomness at all; time comes from ctx.now().

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::strategies {

namespace {

struct momentum_config {
  std::string symbols; ///< comma-separated names; empty = every symbol
  duration_ns interval = 1'000'000'000;
  std::int64_t fast_window = 20;
  std::int64_t slow_window = 50;
  double threshold = 0; ///< ticks
  builtin::taker_config taker;
};

class momentum final : public strategy {
public:
  explicit momentum(momentum_config cfg) : cfg_(std::move(cfg)) {}

  void on_start(context& ctx) override {
    for (auto s : builtin::resolve_symbols(ctx.symbols(), cfg_.symbols)) {
      auto& st = books_[s];
      st.tick = ctx.symbols().find(s)->tick_size;
      st.lot = ctx.symbols().find(s)->lot_size;
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
    std::deque<double> prices; ///< the last slow_window samples, in ticks, oldest first
    local_order_id in_flight = 0; ///< the order sent and not yet finished
  };

  void step(context& ctx, market::symbol_id s, book_state& st) {
    const auto& v = ctx.market(s);
    const auto p = builtin::price_in_ticks(v, st.tick, cfg_.taker.use_mid);
    if (!p)
      return;
    st.prices.push_back(*p);
    const auto slow_n = static_cast<std::size_t>(cfg_.slow_window);
    if (st.prices.size() > slow_n)
      st.prices.pop_front();
    if (st.prices.size() < slow_n)
      return;
    const auto fast_n = static_cast<std::size_t>(cfg_.fast_window);
    const double slow = std::accumulate(st.prices.begin(), st.prices.end(), 0.0) /
                        static_cast<double>(slow_n);
    const double fast =
        std::accumulate(st.prices.end() - static_cast<std::ptrdiff_t>(fast_n),
                        st.prices.end(), 0.0) /
        static_cast<double>(fast_n);
    if (fast - slow > cfg_.threshold)
      trade(ctx, s, st, market::side::buy);
    else if (slow - fast > cfg_.threshold)
      trade(ctx, s, st, market::side::sell);
  }

  void trade(context& ctx, market::symbol_id s, book_state& st, market::side sd) {
    if (st.in_flight != 0)
      return;
    const bool buy = sd == market::side::buy;
    const auto position = ctx.account().position(s);
    const market::qty_t size = cfg_.taker.order_size * st.lot;
    const market::qty_t max_units = cfg_.taker.max_position * st.lot;
    if (buy ? position + size > max_units : position - size < -max_units)
      return;
    st.in_flight = builtin::take_liquidity(ctx, s, sd, size, cfg_.taker.style);
  }

  momentum_config cfg_;
  std::map<market::symbol_id, book_state> books_;
};

// -- parameters ----------------------------------------------------------------

constexpr double second = 1e9;

std::unique_ptr<strategy> make_momentum(const param_values& p) {
  momentum_config c;
  c.symbols = p.text("symbols");
  c.interval = p.duration_ns("interval");
  c.fast_window = p.integer("fast_window");
  c.slow_window = p.integer("slow_window");
  c.threshold = p.number("threshold");
  c.taker = builtin::read_taker_params(p, "momentum");
  if (c.fast_window >= c.slow_window)
    throw std::invalid_argument(
        "momentum: fast_window (" + std::to_string(c.fast_window) +
        ") must be shorter than slow_window (" + std::to_string(c.slow_window) + ")");
  return std::make_unique<momentum>(std::move(c));
}

} // namespace

void register_momentum(strategy_registry& r) {
  strategy_info info;
  info.name = "momentum";
  info.summary =
      "follows the trend: buys when a fast moving average of prices is above a "
      "slow one, sells when below (ABIDES MomentumAgent)";
  info.params = {
      builtin::symbols_param(),
      duration_param("interval", "time between price samples",
                     static_cast<std::int64_t>(second), 1e3, 86'400 * second),
      integer_param("fast_window", "samples in the fast average", 20, 1, 1e6),
      integer_param("slow_window", "samples in the slow average", 50, 2, 1e6),
      number_param("threshold",
                   "how far (ticks) the fast average must be above or below the slow one",
                   0, 0, 1e9),
  };
  for (auto& x : builtin::taker_params("size of each order (lots)"))
    info.params.push_back(std::move(x));
  info.make = make_momentum;
  r.add(std::move(info));
}

} // namespace marketsim::strategies
