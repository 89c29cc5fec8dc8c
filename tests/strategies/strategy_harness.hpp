#pragma once

/// A hand-made host for driving one strategy in tests: it plays the trader
/// actor's part without actors or an exchange. Submits are checked and
/// reserved against the account (as the host's pre-trade check does, keyed by
/// local id), cancels release and confirm at once, timers fire in time order
/// when the test steps. Orders never trade by themselves: a test that wants a
/// quote sets it on the context (set_quote), and one that wants a fill or an
/// IOC remainder cancelled says so (fill, expire).

#include "strategies/params.hpp"
#include "strategies/registry.hpp"
#include "strategies/strategy.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::strategies::testing {

/// One line per intent, for determinism checks and failure messages.
inline std::string describe(const intent& x) {
  std::ostringstream out;
  std::visit(
      [&](const auto& i) {
        using T = std::decay_t<decltype(i)>;
        if constexpr (std::is_same_v<T, submit_intent>)
          out << "submit " << i.id << " s" << i.spec.symbol << ' '
              << market::to_string(i.spec.side) << ' ' << market::to_string(i.spec.type)
              << ' ' << i.spec.price << " x " << i.spec.qty;
        else if constexpr (std::is_same_v<T, cancel_intent>)
          out << "cancel " << i.id;
        else if constexpr (std::is_same_v<T, modify_intent>)
          out << "modify " << i.id << ' ' << i.price << " x " << i.qty;
        else if constexpr (std::is_same_v<T, publish_intent>)
          out << "publish " << i.what.topic << ' ' << i.what.value;
        else if constexpr (std::is_same_v<T, timer_intent>)
          out << "timer " << i.after << " tag " << i.tag;
        else if constexpr (std::is_same_v<T, subscribe_market_intent>)
          out << "subscribe_market s" << i.symbol << (i.trades ? " trades" : "");
        else if constexpr (std::is_same_v<T, request_quote_intent>)
          out << "request_quote s" << i.symbol;
        else if constexpr (std::is_same_v<T, subscribe_signal_intent>)
          out << "subscribe_signal " << i.topic;
        else
          out << "stop";
      },
      x);
  return out.str();
}

/// Checks `given` against the registered strategy `name` and builds it.
inline std::unique_ptr<strategy> make_strategy(void (*register_fn)(strategy_registry&),
                                               const std::string& name,
                                               const param_values& given) {
  strategy_registry r;
  register_fn(r);
  const auto* info = r.find(name);
  REQUIRE(info != nullptr);
  return info->make(check_params(info->params, given));
}

/// Parameters from a list of name/value pairs.
inline param_values
params(std::initializer_list<std::pair<std::string, param_value>> xs) {
  param_values v;
  for (const auto& [name, value] : xs)
    v.set(name, value);
  return v;
}

struct timed_intent {
  time_ns at = 0;
  intent what;
};

class harness {
public:
  harness(std::unique_ptr<strategy> s, const market::symbol_table& symbols,
          market::account_params account, std::uint64_t seed = 1)
      : strategy_(std::move(s)), ctx_(0, seed, symbols, std::move(account)) {}

  context& ctx() { return ctx_; }
  strategy& strat() { return *strategy_; }

  void start() {
    strategy_->on_start(ctx_);
    carry_out();
  }

  /// Fires the earliest pending timer; false when none is pending.
  bool step() {
    if (timers_.empty())
      return false;
    auto first = timers_.begin();
    const auto [at, tag] = *first;
    timers_.erase(first);
    ctx_.set_now(at);
    strategy_->on_timer(ctx_, tag);
    carry_out();
    return true;
  }

  /// Steps `n` wakes (or until no timer is pending).
  void run(std::size_t n) {
    for (std::size_t i = 0; i < n && step(); ++i) {
    }
  }

  void deliver(const signal& x) {
    strategy_->on_signal(ctx_, x);
    carry_out();
  }

  /// Tells the strategy that a quote of `s` arrived, as the host does for a
  /// subscribed change or the answer to request_quote: the test sets the view
  /// first (set_quote).
  void deliver_quote(market::symbol_id s) {
    strategy_->on_quote(ctx_, s);
    carry_out();
  }

  /// The exchange filled `qty` of live order `id` at `price` (as taker):
  /// settles the account, updates the order and tells the strategy, as the
  /// host does: `filled`, then `done` (order gone) when nothing is left.
  void fill(local_order_id id, market::price_t price, market::qty_t qty) {
    auto& orders = ctx_.mutable_orders();
    auto i = orders.find(id);
    REQUIRE(i != orders.end());
    REQUIRE(qty <= i->second.open);
    const auto spec = i->second.spec;
    ctx_.mutable_account().on_fill(
        market::fill{id, spec.symbol, spec.side, price, qty, false});
    i->second.open -= qty;
    order_update u;
    u.what = order_update::kind::filled;
    u.id = id;
    u.symbol = spec.symbol;
    u.side = spec.side;
    u.price = price;
    u.qty = qty;
    u.leaves = i->second.open;
    strategy_->on_order(ctx_, u);
    carry_out();
    if (u.leaves > 0)
      return;
    ctx_.mutable_account().release(id);
    ctx_.mutable_orders().erase(id);
    u.what = order_update::kind::done;
    u.qty = 0;
    strategy_->on_order(ctx_, u);
    carry_out();
  }

  /// The exchange cancelled what is left of live order `id`: an IOC
  /// remainder.
  void expire(local_order_id id) {
    auto& orders = ctx_.mutable_orders();
    auto i = orders.find(id);
    REQUIRE(i != orders.end());
    order_update u;
    u.what = order_update::kind::cancelled;
    u.id = id;
    u.symbol = i->second.spec.symbol;
    u.side = i->second.spec.side;
    u.qty = i->second.open;
    u.cancel = market::cancel_reason::ioc_remainder;
    ctx_.mutable_account().release(id);
    orders.erase(i);
    strategy_->on_order(ctx_, u);
    carry_out();
  }

  /// A public trade on a symbol subscribed with trades: updates the view's
  /// last trade, as the host does, and tells the strategy.
  void deliver_trade(const public_trade& t) {
    auto& v = ctx_.mutable_market(t.symbol);
    v.last_price = t.price;
    v.last_qty = t.qty;
    v.last_trade_time = t.time;
    strategy_->on_trade(ctx_, t);
    carry_out();
  }

  /// The value of the metric `name` the strategy recorded, if any.
  std::optional<double> metric(const std::string& name) const {
    for (const auto& [n, v] : ctx_.metrics())
      if (n == name)
        return v;
    return std::nullopt;
  }

  /// Every intent carried out so far, with the time it was made.
  const std::vector<timed_intent>& log() const { return log_; }
  std::vector<submit_intent> submits() const {
    std::vector<submit_intent> out;
    for (const auto& x : log_)
      if (const auto* s = std::get_if<submit_intent>(&x.what))
        out.push_back(*s);
    return out;
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& x : log_)
      out.push_back(std::to_string(x.at) + " " + describe(x.what));
    return out;
  }
  /// Submits the account's pre-trade check refused.
  std::size_t rejects() const { return rejects_; }
  /// The largest number of live orders seen after any callback.
  std::size_t max_live() const { return max_live_; }
  /// The time each timer was set to fire at, in order.
  const std::vector<time_ns>& timer_times() const { return timer_times_; }

  /// Carries out what the strategy asked for, as the host would; updates
  /// that result (rejects, cancels) go back to the strategy at once.
  void carry_out() {
    while (!ctx_.intents().empty()) {
      auto batch = ctx_.take_intents();
      for (auto& x : batch) {
        log_.push_back({ctx_.now(), x});
        apply(x);
      }
    }
    max_live_ = std::max(max_live_, ctx_.orders().size());
  }

private:
  void apply(const intent& x) {
    if (const auto* s = std::get_if<submit_intent>(&x)) {
      market::order_request req;
      req.id = s->id;
      req.symbol = s->spec.symbol;
      req.side = s->spec.side;
      req.type = s->spec.type;
      req.tif = s->spec.tif;
      req.price = s->spec.price;
      req.stop_price = s->spec.stop_price;
      req.qty = s->spec.qty;
      const auto& view = ctx_.market(s->spec.symbol);
      const auto reference = view.has_ask() ? view.quote.ask_price : view.last_price;
      const auto why = ctx_.mutable_account().reserve(req, reference);
      if (why != market::reject_reason::none) {
        ++rejects_;
        ctx_.mutable_orders().erase(s->id);
        order_update u;
        u.what = order_update::kind::rejected;
        u.id = s->id;
        u.symbol = s->spec.symbol;
        u.reject = why;
        strategy_->on_order(ctx_, u);
      } else if (s->spec.type == market::order_type::market) {
        // Nothing to trade with here: the remainder of an IOC goes at once.
        ctx_.mutable_account().release(s->id);
        ctx_.mutable_orders().erase(s->id);
        order_update u;
        u.what = order_update::kind::cancelled;
        u.id = s->id;
        u.symbol = s->spec.symbol;
        u.cancel = market::cancel_reason::ioc_remainder;
        strategy_->on_order(ctx_, u);
      }
    } else if (const auto* c = std::get_if<cancel_intent>(&x)) {
      auto i = ctx_.mutable_orders().find(c->id);
      REQUIRE(i != ctx_.mutable_orders().end()); // strategies cancel only live orders
      order_update u;
      u.what = order_update::kind::cancelled;
      u.id = c->id;
      u.symbol = i->second.spec.symbol;
      u.qty = i->second.open;
      u.cancel = market::cancel_reason::user;
      ctx_.mutable_account().release(c->id);
      ctx_.mutable_orders().erase(i);
      strategy_->on_order(ctx_, u);
    } else if (const auto* t = std::get_if<timer_intent>(&x)) {
      REQUIRE(t->after > 0);
      timers_.emplace(ctx_.now() + t->after, t->tag);
      timer_times_.push_back(ctx_.now() + t->after);
    }
  }

  std::unique_ptr<strategy> strategy_;
  context ctx_;
  std::multimap<time_ns, std::uint64_t> timers_;
  std::vector<timed_intent> log_;
  std::vector<time_ns> timer_times_;
  std::size_t rejects_ = 0;
  std::size_t max_live_ = 0;
};

/// An account that can cover anything the tests ask for.
inline market::account_params rich_account(market::symbol_id s, market::qty_t shares) {
  market::account_params a;
  a.cash = 1'000'000'000'000;
  a.positions[s] = market::holding{shares, 10'000};
  return a;
}

/// Sets a two-sided L1 for `s`.
inline void set_quote(context& ctx, market::symbol_id s, market::price_t bid,
                      market::price_t ask, market::qty_t qty = 100) {
  auto& v = ctx.mutable_market(s);
  v.quote.bid_price = bid;
  v.quote.bid_qty = bid > 0 ? qty : 0;
  v.quote.ask_price = ask;
  v.quote.ask_qty = ask > 0 ? qty : 0;
  v.quote_time = ctx.now();
}

} // namespace marketsim::strategies::testing
