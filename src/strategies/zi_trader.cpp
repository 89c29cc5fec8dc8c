#include "strategies/zi_trader.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <stdexcept>

namespace marketsim::strategies {

namespace {

constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15ULL;

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// splitmix64: small, fast, and the same numbers on every platform (unlike
/// the standard distributions), which keeps tapes reproducible.
class rng {
public:
  explicit rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    state_ += golden_gamma;
    return mix64(state_);
  }

  /// Uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias is below
  /// n / 2^64, far below anything a simulation can see).
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  /// Uniform in [lo, hi], lo <= hi.
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(below(span));
  }

  /// Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  bool coin() { return (next() >> 63) != 0; }

private:
  std::uint64_t state_;
};

struct zi_state {
  zi_params params;
  market::shard_router router;
  rng random{0};
  bool stopped = false;
  std::uint64_t next_client_id = 1;
  /// New orders sent and not yet answered; they count against max_resting.
  std::uint64_t pending_new = 0;
  /// Own live orders by id (ordered: picking one at random is reproducible).
  std::map<market::order_id, market::symbol_id> live;
  /// Last trade price seen in own fills, by symbol.
  std::map<market::symbol_id, market::price_t> last_trade;
  actors::trader_stats stats;

  static inline const char* name = "zi_trader";
};

using self_ptr = zi_trader_actor::stateful_pointer<zi_state>;

/// Applies events of the trader's own orders (a reply or a report).
void apply_events(self_ptr self, const std::vector<market::book_event>& events) {
  auto& st = self->state;
  auto me = st.params.owner;
  for (const auto& ev : events) {
    switch (ev.kind) {
    case market::event_kind::accepted:
      if (ev.owner == me) {
        ++st.stats.accepted;
        st.live.emplace(ev.id, ev.symbol);
      }
      break;
    case market::event_kind::rejected:
      if (ev.owner == me)
        ++st.stats.rejects;
      break;
    case market::event_kind::trade:
      if (ev.owner == me || ev.maker_owner == me) {
        ++st.stats.fills;
        st.stats.filled_qty += ev.qty;
        st.last_trade[ev.symbol] = ev.price;
      }
      break;
    case market::event_kind::cancelled:
    case market::event_kind::done:
      if (ev.owner == me)
        st.live.erase(ev.id);
      break;
    case market::event_kind::stop_triggered:
    case market::event_kind::modified:
      break;
    }
  }
}

const actors::exchange_shard_actor& shard_for(self_ptr self, market::symbol_id s) {
  // spawn_zi_trader checked that every symbol is routed.
  return *self->state.router.route(s);
}

void send_cancel(self_ptr self) {
  auto& st = self->state;
  auto it = std::next(st.live.begin(),
                      static_cast<std::ptrdiff_t>(st.random.below(st.live.size())));
  actors::cancel_order msg{st.next_client_id++, st.params.owner, {it->first, it->second}};
  // Forget it now: it is not cancelled twice; a fill racing the cancel makes
  // the shard reject it with unknown_order_id, which is counted.
  st.live.erase(it);
  ++st.stats.cancels;
  self->request(shard_for(self, msg.request.symbol), caf::infinite, msg)
      .then([self](const actors::order_reply& r) { apply_events(self, r.events); },
            [](const caf::error&) {
              // Only at shutdown, when the shard is gone: nothing to track.
            });
}

void send_new(self_ptr self, const zi_symbol& sym, bool market_order) {
  auto& st = self->state;
  auto& p = st.params;
  market::order_request req;
  req.owner = p.owner;
  req.symbol = sym.id;
  req.side = st.random.coin() ? market::side::buy : market::side::sell;
  req.qty = st.random.between(1, p.max_quantity_lots) * sym.lot_size;
  if (market_order) {
    req.type = market::order_type::market;
    req.tif = market::time_in_force::ioc;
  } else {
    auto last = st.last_trade.find(sym.id);
    auto ref = last != st.last_trade.end() ? last->second : sym.reference_price;
    auto ref_ticks = ref / sym.tick_size;
    auto ticks = ref_ticks + st.random.between(-p.price_band_ticks, p.price_band_ticks);
    req.type = market::order_type::limit;
    req.tif = market::time_in_force::gtc;
    req.price = std::max<market::price_t>(ticks, 1) * sym.tick_size;
  }
  ++st.stats.orders;
  ++st.pending_new;
  self->request(shard_for(self, sym.id), caf::infinite,
                actors::new_order{st.next_client_id++, req})
      .then(
          [self](const actors::order_reply& r) {
            --self->state.pending_new;
            apply_events(self, r.events);
          },
          [self](const caf::error&) { --self->state.pending_new; });
}

void act(self_ptr self) {
  auto& st = self->state;
  auto& p = st.params;
  const auto& sym = p.symbols[st.random.below(p.symbols.size())];
  auto u = st.random.unit();
  bool at_cap = st.live.size() + st.pending_new >= p.max_resting;
  if (!st.live.empty() && (u < p.cancel_share || at_cap))
    send_cancel(self);
  else if (at_cap)
    return; // everything is in flight: wait for the replies
  else if (u >= p.cancel_share && u < p.cancel_share + p.market_order_share)
    send_new(self, sym, true);
  else
    send_new(self, sym, false);
}

void schedule_tick(self_ptr self, std::chrono::nanoseconds delay) {
  self->delayed_send(self, std::max(delay, std::chrono::nanoseconds{1000}),
                     actors::trader_tick{});
}

std::chrono::nanoseconds next_delay(self_ptr self) {
  auto& p = self->state.params;
  auto jitter = self->state.random.between(-p.jitter.count(), p.jitter.count());
  return p.interval + std::chrono::nanoseconds{jitter};
}

zi_trader_actor::behavior_type zi_trader(self_ptr self, zi_params params,
                                         market::shard_router router) {
  auto& st = self->state;
  st.random = rng{stream_seed(params.seed, params.index)};
  st.stats.owner = params.owner;
  st.params = std::move(params);
  st.router = std::move(router);
  // Register with every shard of its symbols, once each, before any order:
  // a shard sees the registration before the order whose fill it reports.
  std::vector<const actors::exchange_shard_actor*> registered;
  auto listener = caf::actor_cast<actors::order_listener_actor>(self);
  for (const auto& sym : st.params.symbols) {
    const auto* shard = st.router.route(sym.id);
    if (std::find(registered.begin(), registered.end(), shard) != registered.end())
      continue;
    registered.push_back(shard);
    self->send(*shard, actors::register_owner{st.params.owner, listener});
  }
  auto phase = static_cast<std::int64_t>(
      st.random.below(static_cast<std::uint64_t>(st.params.interval.count())));
  schedule_tick(self, std::chrono::nanoseconds{phase});
  return {
      [self](const actors::execution_report& r) { apply_events(self, r.events); },
      [self](actors::trader_tick) {
        if (self->state.stopped)
          return;
        act(self);
        schedule_tick(self, next_delay(self));
      },
      [self](actors::trader_stop) { self->state.stopped = true; },
      [self](actors::trader_stats_request) {
        auto result = self->state.stats;
        result.resting = self->state.live.size();
        return result;
      },
  };
}

void validate(const zi_params& p, const market::shard_router& router) {
  auto fail = [](const char* what) { throw std::invalid_argument(what); };
  if (p.owner == 0)
    fail("zi_trader: owner must not be zero");
  if (p.symbols.empty())
    fail("zi_trader: no symbols");
  for (const auto& s : p.symbols) {
    if (s.tick_size <= 0 || s.lot_size <= 0 || s.reference_price <= 0)
      fail("zi_trader: tick size, lot size and reference price must be positive");
    if (router.route(s.id) == nullptr)
      fail("zi_trader: a symbol is not routed to any shard");
  }
  if (p.interval.count() <= 0 || p.jitter.count() < 0 || p.jitter > p.interval)
    fail("zi_trader: need interval > 0 and 0 <= jitter <= interval");
  if (p.price_band_ticks < 0 || p.max_quantity_lots <= 0 || p.max_resting == 0)
    fail("zi_trader: need price_band >= 0, max_quantity > 0 and max_resting > 0");
  auto share = [](double x) { return x >= 0.0 && x <= 1.0; };
  if (!share(p.market_order_share) || !share(p.cancel_share) ||
      p.market_order_share + p.cancel_share > 1.0)
    fail("zi_trader: shares must be in [0, 1] and add up to at most 1");
}

} // namespace

std::uint64_t stream_seed(std::uint64_t scenario_seed, std::uint64_t index) {
  // The (index + 1)-th output of a splitmix64 stream seeded with the scenario
  // seed.
  return mix64(scenario_seed + golden_gamma * (index + 1));
}

zi_trader_actor spawn_zi_trader(caf::actor_system& sys, zi_params params,
                                market::shard_router router) {
  validate(params, router);
  return sys.spawn(zi_trader, std::move(params), std::move(router));
}

} // namespace marketsim::strategies
