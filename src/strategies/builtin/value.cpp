/// Value (fundamental) trader, after ABIDES' ValueAgent (Byrd, Hybinette &
/// Balch, "ABIDES: Towards high-fidelity multi-agent market simulation",
/// SIGSIM-PADS 2020; the estimator of Wah, Wright & Wellman, "Welfare effects
/// of market making in continuous double auctions", JAIR 2017): it keeps a
/// private, noisy view of a mean-reverting fundamental value and trades when
/// the market price is far enough from it.
///
/// ## Model: what the agent believes
/// The fundamental of each symbol is taken to follow an Ornstein-Uhlenbeck
/// process, dX = kappa (mu - X) dt + sigma dW with time in seconds (the model
/// of market/fundamental.hpp; kappa = 0 is a random walk). The truth arrives
/// on the "fundamental" topic; the agent never sees it as is: each value
/// published is one observation y = X + e, e ~ N(0, observation_sigma^2)
/// drawn from its own stream, so agents of one population disagree.
///
/// Its belief about X is normal, N(m, P), kept by a Kalman filter, as ABIDES'
/// ValueAgent does:
/// - the first observation starts it: m = y, P = observation_sigma^2;
/// - between two instants the belief moves with the exact OU transition:
///   a = e^{-kappa dt}, m <- mu + (m - mu) a,
///   P <- a^2 P + sigma^2 (1 - a^2) / (2 kappa)   (P + sigma^2 dt when kappa = 0);
/// - an observation y then gives K = P / (P + observation_sigma^2),
///   m <- m + K (y - m), P <- (1 - K) P.
/// mu is `fundamental_mean`, or, when that is 0, the symbol's first
/// observation (a fundamental process starts at its mean). The estimate used at
/// a wake is m carried forward to that instant. (ABIDES carries it further, to
/// the end of the trading day; a run here has no fixed close.)
///
/// ## Model: what the agent does
/// Wakes are a Poisson process (exponential waits with mean `mean_interval`).
/// On a wake it picks one of its symbols. With no estimate for it yet it only
/// asks for a quote. Otherwise, like ABIDES' agent, it first cancels its
/// orders still resting on that symbol, then compares the estimate E with the
/// touch: when E is above the best ask by more than `threshold` ticks it buys,
/// when below the best bid by more than that it sells, else it does nothing.
/// The limit price lies between the touch and E, a fraction `aggression` of
/// the gap away from the touch: ask + aggression (E - ask) rounded down to the tick
/// for a buy, bid - aggression (bid - E) rounded up for a sell, so it never
/// pays more, nor sells for less, than it believes the symbol is worth. With
/// one side of the book empty, the other side stands in for the touch; with
/// both empty, the last trade; with no price at all it asks for a quote. The
/// size is uniform in [min_quantity, max_quantity] lots, cut down to what its
/// account covers (nothing is sent when not even one lot is).

#include "strategies/builtin.hpp"
#include "strategies/builtin/agent_support.hpp"
#include "strategies/registry.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace marketsim::strategies {

namespace {

using builtin::pick;

constexpr double ns_per_second = 1e9;

struct value_config {
  std::string symbols;
  duration_ns mean_interval = 0;
  double observation_sigma = 0;
  double fundamental_mean = 0; ///< 0: each symbol's first observation
  double kappa = 0;            ///< per second
  double sigma = 0;            ///< price units per sqrt(second)
  std::int64_t threshold = 0;  ///< ticks
  double aggression = 0;
  std::int64_t min_lots = 1;
  std::int64_t max_lots = 1;
};

/// The agent's belief about one symbol's fundamental: N(mean, variance) at
/// time `at`.
struct belief {
  double mean = 0;
  double variance = 0;
  double long_run_mean = 0;
  time_ns at = 0;
};

class value final : public strategy {
public:
  explicit value(value_config c) : config_(std::move(c)) {}

  void on_start(context& ctx) override {
    symbols_ = builtin::resolve_symbols(ctx.symbols(), config_.symbols);
    if (symbols_.empty()) {
      ctx.stop();
      return;
    }
    ctx.subscribe_signal("fundamental");
    for (auto s : symbols_)
      ctx.subscribe_market(s, false);
    schedule(ctx);
  }

  void on_timer(context& ctx, std::uint64_t) override {
    act(ctx);
    schedule(ctx);
  }

  void on_order(context& ctx, const order_update& u) override {
    resting_.on_update(ctx, u);
  }

  void on_signal(context& ctx, const signal& x) override {
    if (x.topic != "fundamental" || !std::isfinite(x.value) ||
        std::find(symbols_.begin(), symbols_.end(), x.symbol) == symbols_.end())
      return;
    // Skipping the draw when there is no noise keeps sigma = 0 exact.
    const double noise = config_.observation_sigma > 0
                             ? config_.observation_sigma * ctx.rng().normal()
                             : 0;
    observe(x.symbol, x.value + noise, ctx.now());
  }

private:
  void schedule(context& ctx) {
    const auto wait = ctx.rng().exponential(static_cast<double>(config_.mean_interval));
    ctx.set_timer(std::max<duration_ns>(static_cast<duration_ns>(wait), 1));
  }

  /// The OU prediction step from b.at to t.
  void predict(belief& b, time_ns t) const {
    const double dt = static_cast<double>(t - b.at) / ns_per_second;
    if (dt <= 0)
      return;
    const double s2 = config_.sigma * config_.sigma;
    if (config_.kappa > 0) {
      const double a = std::exp(-config_.kappa * dt);
      b.mean = b.long_run_mean + (b.mean - b.long_run_mean) * a;
      b.variance = a * a * b.variance + s2 * (1 - a * a) / (2 * config_.kappa);
    } else {
      b.variance += s2 * dt;
    }
    b.at = t;
  }

  void observe(market::symbol_id s, double y, time_ns t) {
    const double r = config_.observation_sigma * config_.observation_sigma;
    auto i = beliefs_.find(s);
    if (i == beliefs_.end()) {
      const double mu = config_.fundamental_mean > 0 ? config_.fundamental_mean : y;
      beliefs_.emplace(s, belief{y, r, mu, t});
      return;
    }
    auto& b = i->second;
    predict(b, t);
    // With no noise and no uncertainty left, the observation is the truth.
    const double gain = b.variance + r > 0 ? b.variance / (b.variance + r) : 1.0;
    b.mean += gain * (y - b.mean);
    b.variance *= 1 - gain;
  }

  void act(context& ctx) {
    const auto s = symbols_[pick(ctx.rng(), symbols_.size())];
    const auto i = beliefs_.find(s);
    if (i == beliefs_.end()) {
      ctx.request_quote(s);
      return;
    }
    resting_.cancel_symbol(ctx, s);
    belief now = i->second;
    predict(now, ctx.now());
    const double estimate = now.mean;

    const auto& spec = *ctx.symbols().find(s);
    const auto& view = ctx.market(s);
    const auto tick = spec.tick_size;
    const market::price_t ask =
        view.has_ask() ? view.quote.ask_price
                       : (view.has_bid() ? view.quote.bid_price : view.last_price);
    const market::price_t bid =
        view.has_bid() ? view.quote.bid_price
                       : (view.has_ask() ? view.quote.ask_price : view.last_price);
    if (ask <= 0 || bid <= 0) {
      ctx.request_quote(s);
      return;
    }
    const double margin = static_cast<double>(config_.threshold * tick);
    order_spec order;
    order.symbol = s;
    if (estimate - static_cast<double>(ask) > margin) {
      order.side = market::side::buy;
      const double gap = estimate - static_cast<double>(ask);
      order.price = builtin::floor_to_tick(
          static_cast<double>(ask) + config_.aggression * gap, tick);
    } else if (static_cast<double>(bid) - estimate > margin) {
      order.side = market::side::sell;
      const double gap = static_cast<double>(bid) - estimate;
      order.price = builtin::ceil_to_tick(
          static_cast<double>(bid) - config_.aggression * gap, tick);
    } else {
      return;
    }
    order.qty = builtin::draw_qty(ctx.rng(), config_.min_lots, config_.max_lots, spec);
    order.qty = builtin::affordable_qty(ctx, order, 0, spec.lot_size);
    if (order.qty > 0)
      resting_.submitted(ctx.submit(order), s, order.side, ctx.now());
  }

  value_config config_;
  std::vector<market::symbol_id> symbols_;
  std::map<market::symbol_id, belief> beliefs_;
  builtin::resting_orders resting_;
};

std::vector<param_spec> value_params() {
  auto ps = std::vector<param_spec>{
      builtin::symbols_param(),
      {"mean_interval",
       param_type::duration,
       "mean of the exponential wait between two wakes",
       param_value{std::int64_t{1'000'000'000}},
       1e3,
       8.64e13,
       {}},
      {"observation_sigma",
       param_type::number,
       "standard deviation of the agent's private noise on each fundamental value "
       "it receives, in price units",
       param_value{10.0},
       0.0,
       1e12,
       {}},
      {"fundamental_mean",
       param_type::number,
       "long-run mean the agent assumes, in price units; 0: each symbol's first "
       "observation",
       param_value{0.0},
       0.0,
       1e15,
       {}},
      {"fundamental_kappa",
       param_type::number,
       "mean-reversion rate the agent assumes, per second (0: a random walk)",
       param_value{0.05},
       0.0,
       1e6,
       {}},
      {"fundamental_sigma",
       param_type::number,
       "volatility the agent assumes, in price units per sqrt(second)",
       param_value{30.0},
       0.0,
       1e12,
       {}},
      {"threshold",
       param_type::integer,
       "trades only when the estimate is beyond the touch by more than this many ticks",
       param_value{std::int64_t{0}},
       0.0,
       1e9,
       {}},
      {"aggression",
       param_type::number,
       "limit price = touch + this share of the gap to the estimate (0: at the touch)",
       param_value{0.5},
       0.0,
       1.0,
       {}},
  };
  for (auto& q : builtin::quantity_params(10))
    ps.push_back(std::move(q));
  return ps;
}

std::unique_ptr<strategy> make_value(const param_values& v) {
  builtin::check_quantity_params(v);
  value_config c;
  c.symbols = v.text("symbols");
  c.mean_interval = v.duration_ns("mean_interval");
  c.observation_sigma = v.number("observation_sigma");
  c.fundamental_mean = v.number("fundamental_mean");
  c.kappa = v.number("fundamental_kappa");
  c.sigma = v.number("fundamental_sigma");
  c.threshold = v.integer("threshold");
  c.aggression = v.number("aggression");
  c.min_lots = v.integer("min_quantity");
  c.max_lots = v.integer("max_quantity");
  if (c.fundamental_mean > 0 && c.kappa == 0)
    throw std::invalid_argument(
        "parameter 'fundamental_mean' is set but 'fundamental_kappa' is 0: a random "
        "walk has no mean to revert to");
  return std::make_unique<value>(std::move(c));
}

} // namespace

void register_value(strategy_registry& r) {
  r.add(
      {"value",
       "ABIDES-style value trader: Kalman estimate of a mean-reverting fundamental from "
       "noisy observations; buys below it, sells above it",
       value_params(), make_value});
}

} // namespace marketsim::strategies
