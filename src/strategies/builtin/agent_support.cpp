#include "strategies/builtin/agent_support.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace marketsim::strategies::builtin {

param_spec symbols_param() {
  return {"symbols",
          param_type::text,
          "comma-separated names of the symbols the agent trades; empty for all",
          param_value{std::string{}},
          std::nullopt,
          std::nullopt,
          {}};
}

std::vector<market::symbol_id> resolve_symbols(const market::symbol_table& table,
                                               std::string_view list) {
  std::vector<market::symbol_id> result;
  const auto add = [&](market::symbol_id id) {
    if (std::find(result.begin(), result.end(), id) == result.end())
      result.push_back(id);
  };
  const auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ')
      s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
      s.remove_suffix(1);
    return s;
  };
  if (trim(list).empty()) {
    for (std::size_t i = 0; i < table.size(); ++i)
      add(static_cast<market::symbol_id>(i));
    return result;
  }
  while (true) {
    const auto comma = list.find(',');
    const auto name = trim(list.substr(0, comma));
    const auto id = table.lookup(name);
    if (!id)
      throw std::invalid_argument("parameter 'symbols': unknown symbol '" +
                                  std::string{name} + "'");
    add(*id);
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return result;
}

std::vector<param_spec> quantity_params(std::int64_t default_max) {
  return {
      {"min_quantity",
       param_type::integer,
       "smallest order size, in lots",
       param_value{std::int64_t{1}},
       1.0,
       1e9,
       {}},
      {"max_quantity",
       param_type::integer,
       "largest order size, in lots (sizes are uniform in [min, max])",
       param_value{default_max},
       1.0,
       1e9,
       {}},
  };
}

void check_quantity_params(const param_values& v) {
  if (v.integer("min_quantity") > v.integer("max_quantity"))
    throw std::invalid_argument(
        "parameter 'min_quantity' (" + std::to_string(v.integer("min_quantity")) +
        ") is above 'max_quantity' (" + std::to_string(v.integer("max_quantity")) + ")");
}

market::qty_t affordable_qty(const context& ctx, order_spec spec,
                             market::price_t reference, market::qty_t lot) {
  market::order_request req;
  // check() refuses an id that already holds a reservation; the largest id
  // is one neither the host's local ids nor an exchange's ids reach.
  req.id = std::numeric_limits<market::order_id>::max();
  req.symbol = spec.symbol;
  req.side = spec.side;
  req.type = spec.type;
  req.tif = spec.tif;
  req.price = spec.price;
  req.stop_price = spec.stop_price;
  req.post_only = spec.post_only;
  const auto fits = [&](market::qty_t lots) {
    req.qty = lots * lot;
    return ctx.account().check(req, reference) == market::reject_reason::none;
  };
  market::qty_t lo = 0; // fits (trivially, as "nothing")
  market::qty_t hi = spec.qty / lot;
  if (hi <= 0 || !fits(1))
    return 0;
  lo = 1;
  if (fits(hi))
    return hi * lot;
  // Invariant: fits(lo), !fits(hi).
  while (hi - lo > 1) {
    const auto mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo * lot;
}

namespace {

/// Keeps a computed price where the conversion to an integer is defined (the
/// bound market::to_tick_price uses); NaN counts as "as low as possible".
double bounded(double price) {
  constexpr double highest = 1e15;
  if (!(price > 0))
    return 0;
  return std::min(price, highest);
}

} // namespace

market::qty_t draw_qty(actors::random_stream& rng, std::int64_t min_lots,
                       std::int64_t max_lots, const market::symbol_spec& symbol) {
  const auto lots = rng.uniform_int(min_lots, max_lots);
  const auto allowed = symbol.max_order_qty / symbol.lot_size;
  return std::min(lots, allowed) * symbol.lot_size;
}

market::price_t floor_to_tick(double price, market::price_t tick) {
  const double ticks = std::floor(bounded(price) / static_cast<double>(tick));
  return std::max<market::price_t>(static_cast<market::price_t>(ticks), 1) * tick;
}

market::price_t ceil_to_tick(double price, market::price_t tick) {
  const double ticks = std::ceil(bounded(price) / static_cast<double>(tick));
  return std::max<market::price_t>(static_cast<market::price_t>(ticks), 1) * tick;
}

market::price_t reference_price(const market_view& view, market::price_t fallback) {
  if (const auto mid = view.mid(); mid > 0)
    return mid;
  if (view.last_price > 0)
    return view.last_price;
  return fallback;
}

std::size_t pick(actors::random_stream& rng, std::size_t n) {
  return static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(n) - 1));
}

// -- resting_orders --------------------------------------------------------------

void resting_orders::submitted(local_order_id id, market::symbol_id s, market::side side,
                               time_ns at) {
  orders_[id] = entry{s, side, at, false};
}

void resting_orders::on_update(const context& ctx, const order_update& u) {
  auto i = orders_.find(u.id);
  if (i == orders_.end())
    return;
  if (ctx.order(u.id) == nullptr)
    orders_.erase(i);
  else if (u.what == order_update::kind::rejected)
    i->second.cancelling = false;
}

void resting_orders::cancel(context& ctx, local_order_id id, entry& e) {
  ctx.cancel(id);
  e.cancelling = true;
}

std::size_t resting_orders::cancel_stale(context& ctx, std::size_t max_live,
                                         duration_ns max_age) {
  std::size_t asked = 0;
  std::size_t live_left = live();
  for (auto i = orders_.begin(); i != orders_.end();) {
    auto& [id, e] = *i;
    // The host has forgotten it (gone without an update reaching us, e.g.
    // after a restart): nothing to cancel.
    if (ctx.order(id) == nullptr) {
      if (!e.cancelling)
        --live_left;
      i = orders_.erase(i);
      continue;
    }
    if (!e.cancelling) {
      const bool too_old = max_age > 0 && ctx.now() - e.at >= max_age;
      const bool too_many = live_left >= max_live;
      if (too_old || too_many) {
        cancel(ctx, id, e);
        --live_left;
        ++asked;
      }
    }
    ++i;
  }
  return asked;
}

std::size_t resting_orders::cancel_symbol(context& ctx, market::symbol_id s) {
  std::size_t asked = 0;
  for (auto& [id, e] : orders_) {
    if (e.symbol == s && !e.cancelling && ctx.order(id) != nullptr) {
      cancel(ctx, id, e);
      ++asked;
    }
  }
  return asked;
}

bool resting_orders::cancel_oldest_holding(context& ctx, market::side side,
                                           market::symbol_id s) {
  for (auto& [id, e] : orders_) {
    const bool holds = e.side == side && (side == market::side::buy || e.symbol == s);
    if (holds && !e.cancelling && ctx.order(id) != nullptr) {
      cancel(ctx, id, e);
      return true;
    }
  }
  return false;
}

std::size_t resting_orders::live() const {
  return static_cast<std::size_t>(
      std::count_if(orders_.begin(), orders_.end(),
                    [](const auto& x) { return !x.second.cancelling; }));
}

std::optional<double> price_in_ticks(const market_view& view, market::price_t tick,
                                     bool prefer_mid) {
  const auto t = static_cast<double>(tick);
  std::optional<double> mid;
  if (view.has_bid() && view.has_ask())
    mid = static_cast<double>(view.quote.bid_price + view.quote.ask_price) / 2.0 / t;
  std::optional<double> last;
  if (view.last_price > 0)
    last = static_cast<double>(view.last_price) / t;
  return prefer_mid ? (mid ? mid : last) : (last ? last : mid);
}

local_order_id take_liquidity(context& ctx, market::symbol_id s, market::side side,
                              market::qty_t qty, const taker_style& style) {
  const bool buy = side == market::side::buy;
  const auto& view = ctx.market(s);
  if (buy ? !view.has_ask() : !view.has_bid())
    return 0;
  const market::price_t best = buy ? view.quote.ask_price : view.quote.bid_price;
  const market::price_t tick = ctx.symbols().find(s)->tick_size;
  order_spec spec;
  spec.symbol = s;
  spec.side = side;
  spec.qty = qty;
  spec.tif = market::time_in_force::ioc;
  if (style.market_orders) {
    spec.type = market::order_type::market;
  } else {
    spec.type = market::order_type::limit;
    const market::price_t offset = style.limit_offset_ticks * tick;
    spec.price = buy ? best + offset : std::max(best - offset, tick);
  }
  if (affordable_qty(ctx, spec, best, spec.qty) < spec.qty)
    return 0;
  return ctx.submit(spec);
}

std::vector<param_spec> taker_params(std::string order_size_description) {
  return {
      text_param("price", "price sampled: L1 mid or last trade", "mid", {"mid", "last"}),
      integer_param("order_size", std::move(order_size_description), 1, 1, 1e9),
      integer_param("max_position", "largest position either way (lots)", 10, 1, 1e12),
      text_param("order_type", "market orders, or IOC limit orders at the opposite best",
                 "market", {"market", "limit"}),
      integer_param(
          "limit_offset",
          "ticks beyond the opposite best a limit order may fill at (order_type: limit)",
          0, 0, 1e9),
  };
}

taker_config read_taker_params(const param_values& v, std::string_view strategy) {
  taker_config c;
  c.use_mid = v.text("price") == "mid";
  c.order_size = v.integer("order_size");
  c.max_position = v.integer("max_position");
  c.style.market_orders = v.text("order_type") == "market";
  c.style.limit_offset_ticks = v.integer("limit_offset");
  if (c.order_size > c.max_position)
    throw std::invalid_argument(
        std::string{strategy} + ": order_size (" + std::to_string(c.order_size) +
        " lots) exceeds max_position (" + std::to_string(c.max_position) +
        " lots): it could never trade");
  return c;
}

} // namespace marketsim::strategies::builtin
