#include "market/exchange_shard.hpp"

#include "market/matching_engine.hpp"
#include "market/price_band_guard.hpp"

#include <caf/all.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace marketsim::market {

namespace {

// -- state ---------------------------------------------------------------------

/// What the shard keeps per symbol beyond the book's own statistics. Indexed by
/// symbol id; only entries of traded symbols are used.
struct symbol_counters {
  std::uint64_t orders = 0;  ///< new orders accepted
  std::uint64_t rejects = 0; ///< requests rejected
  l1_quote last_l1;          ///< the quote subscribers last heard of
};

struct md_subscriber {
  actors::md_listener_actor listener;
  bool all_symbols = true;
  std::vector<bool> wants; ///< by symbol id, when not all_symbols
  bool trades = true;
  bool l1 = true;
  std::uint32_t l2_levels = 0;
  caf::timespan l2_period{0};
  caf::actor_clock::time_point next_l2{};

  bool wants_symbol(symbol_id s) const {
    return all_symbols || (s < wants.size() && wants[s]);
  }
  bool wants_l2() const { return l2_levels > 0 && l2_period.count() > 0; }
};

/// Events of one owner gathered while a request (or batch) runs.
struct pending_report {
  owner_id owner = 0;
  std::vector<book_event> events;
};

struct shard_state {
  static inline const char* name = "marketsim.exchange_shard";

  std::uint32_t index = 0;
  symbol_table symbols;
  std::vector<symbol_id> traded;
  /// Engaged in the behaviour function (the state must be default
  /// constructible for CAF).
  std::optional<matching_engine> engine;
  /// Reused by every request: the book appends, the shard reads and clears.
  std::vector<book_event> events;
  std::vector<pending_report> reports;
  std::vector<symbol_id> touched;
  std::vector<symbol_counters> counters;
  /// The price band of each symbol, indexed by symbol id; empty when the
  /// band is off (shard_params::price_band_bps == 0).
  std::vector<price_band_guard> bands;
  /// Set by a trading_halt: new orders and modifies are rejected.
  bool halted = false;

  std::uint64_t next_sequence = 1;
  std::uint64_t requests = 0;
  std::uint64_t trade_seq = 0;

  std::unordered_map<owner_id, actors::order_listener_actor> listeners;
  /// The owners each listener was registered for (the reverse of
  /// `listeners`), so a dead listener is dropped without a scan.
  std::unordered_map<caf::actor_addr, std::vector<owner_id>> owners_of;
  std::uint64_t unroutable_reports = 0;
  std::vector<md_subscriber> subscribers;
  /// Position of each subscriber in `subscribers`: populations subscribe by
  /// the hundred thousand, so neither a subscription nor a drop may scan.
  std::unordered_map<caf::actor_addr, std::size_t> subscriber_at;
  std::unordered_set<caf::actor_addr> monitored;

  /// Time of the earliest l2_publish_tick in flight, if any.
  std::optional<caf::actor_clock::time_point> tick_at;

  order_id next_order_id() {
    return (static_cast<order_id>(index) << order_id_sequence_bits) | next_sequence++;
  }

  bool is_traded(symbol_id s) const { return engine->book(s) != nullptr; }

  /// The band of a traded symbol, or nullptr when the band is off.
  const price_band_guard* band_of(symbol_id s) const {
    return bands.empty() || !is_traded(s) ? nullptr : &bands[s];
  }

  /// True when `price` (a limit price, if positive) is outside the symbol's
  /// band. Non-positive prices are left to the book's own checks.
  bool outside_band(symbol_id s, price_t price) const {
    const auto* band = band_of(s);
    return band != nullptr && price > 0 && !band->admits(price);
  }

  void touch(symbol_id s) {
    if (std::find(touched.begin(), touched.end(), s) == touched.end())
      touched.push_back(s);
  }

  std::vector<book_event>& report_for(owner_id owner) {
    for (auto& r : reports)
      if (r.owner == owner)
        return r.events;
    reports.push_back(pending_report{owner, {}});
    // One allocation instead of one per doubling for the usual report (a
    // maker's trade and done; the vector leaves with the report). Capped: at
    // end of day the events being routed are every owner's expiries.
    reports.back().events.reserve(std::min<std::size_t>(events.size(), 4));
    return reports.back().events;
  }
};

using shard_ptr = actors::exchange_shard_actor::stateful_pointer<shard_state>;

// -- helpers -------------------------------------------------------------------

actors::timestamp_ns now_ns(shard_ptr self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             self->clock().now().time_since_epoch())
      .count();
}

template <class Enum>
constexpr bool in_range(Enum x, Enum last) {
  return static_cast<std::underlying_type_t<Enum>>(x) <=
         static_cast<std::underlying_type_t<Enum>>(last);
}

/// Enum fields arrive from the wire as raw bytes; the book assumes valid ones.
bool well_formed(const order_request& r) {
  return in_range(r.side, side::sell) && in_range(r.type, order_type::stop_limit) &&
         in_range(r.tif, time_in_force::fok);
}

void publish_trade(shard_ptr self, const book_event& ev, actors::timestamp_ns now) {
  auto& st = self->state;
  ++st.trade_seq;
  for (auto& sub : st.subscribers) {
    if (!sub.trades || !sub.wants_symbol(ev.symbol))
      continue;
    self->send(sub.listener,
               actors::trade_print{ev.symbol, st.trade_seq, now, ev.price, ev.qty,
                                   ev.side, ev.maker, ev.id, ev.maker_owner, ev.owner});
  }
}

/// Sorts the events of st.events: the requester's own into `mine`, other
/// owners' into st.reports; publishes a trade_print per trade. A reject always
/// belongs to the requester. Clears st.events.
void route_events(shard_ptr self, std::optional<owner_id> requester,
                  std::vector<book_event>* mine) {
  auto& st = self->state;
  // One allocation for the reply's events instead of one per doubling (the
  // vector leaves with the reply): the requester's share of the events being
  // routed is at most all of them, since self-trade prevention keeps it from
  // being both sides of a trade.
  if (mine != nullptr)
    mine->reserve(mine->size() + st.events.size());
  std::optional<actors::timestamp_ns> now;
  auto deliver = [&](owner_id owner, const book_event& ev) {
    if (requester && owner == *requester)
      mine->push_back(ev);
    else
      st.report_for(owner).push_back(ev);
  };
  for (const auto& ev : st.events) {
    switch (ev.kind) {
    case event_kind::rejected:
      if (mine != nullptr)
        mine->push_back(ev);
      else
        st.report_for(ev.owner).push_back(ev);
      break;
    case event_kind::trade:
      if (!now)
        now = now_ns(self);
      publish_trade(self, ev, *now);
      deliver(ev.owner, ev);
      deliver(ev.maker_owner, ev);
      break;
    default:
      deliver(ev.owner, ev);
    }
    if (st.is_traded(ev.symbol))
      st.touch(ev.symbol);
  }
  st.events.clear();
}

/// Sends the gathered execution reports, one per owner.
void flush_reports(shard_ptr self) {
  auto& st = self->state;
  for (auto& r : st.reports) {
    auto i = st.listeners.find(r.owner);
    if (i != st.listeners.end()) {
      self->send(i->second, actors::execution_report{r.owner, std::move(r.events)});
      continue;
    }
    if (st.unroutable_reports++ == 0)
      spdlog::warn("exchange shard {}: no listener registered for owner {}; execution "
                   "reports for owners without a listener are dropped and counted",
                   st.index, r.owner);
  }
  st.reports.clear();
}

/// Publishes an l1_update for every touched symbol whose quote changed.
void publish_l1(shard_ptr self) {
  auto& st = self->state;
  std::optional<actors::timestamp_ns> now;
  for (auto s : st.touched) {
    auto quote = st.engine->book(s)->l1();
    auto& last = st.counters[s].last_l1;
    if (quote == last)
      continue;
    last = quote;
    for (auto& sub : st.subscribers) {
      if (!sub.l1 || !sub.wants_symbol(s))
        continue;
      if (!now)
        now = now_ns(self);
      self->send(sub.listener, actors::l1_update{s, *now, quote});
    }
  }
  st.touched.clear();
}

/// Counts the request's outcome for the stats (the reply's events are the
/// requester's: exactly one of them is `rejected` when the request failed).
void count_outcome(shard_state& st, symbol_id symbol, order_id id,
                   const std::vector<book_event>& mine, bool is_new) {
  if (!st.is_traded(symbol))
    return;
  for (const auto& ev : mine) {
    if (ev.kind == event_kind::rejected)
      ++st.counters[symbol].rejects;
    else if (is_new && ev.kind == event_kind::accepted && ev.id == id)
      ++st.counters[symbol].orders;
  }
}

/// A `rejected` event the shard makes itself, before the book sees the request.
book_event rejection(reject_reason why, symbol_id symbol, order_id id, owner_id owner,
                     side s = side::buy) {
  book_event ev;
  ev.kind = event_kind::rejected;
  ev.reject = why;
  ev.side = s;
  ev.symbol = symbol;
  ev.id = id;
  ev.owner = owner;
  return ev;
}

/// Runs one new order through the book; other owners' events stay pending in
/// st.reports until flush_reports().
actors::order_reply run_new_order(shard_ptr self, const actors::new_order& x) {
  auto& st = self->state;
  ++st.requests;
  actors::order_reply reply{x.client_order_id, st.next_order_id(), {}};
  auto req = x.order;
  req.id = reply.id;
  const bool has_limit =
      req.type == order_type::limit || req.type == order_type::stop_limit;
  if (!well_formed(req)) {
    reply.events.push_back(
        rejection(reject_reason::malformed_request, req.symbol, req.id, req.owner));
  } else if (st.halted) {
    reply.events.push_back(rejection(reject_reason::trading_halted, req.symbol, req.id,
                                     req.owner, req.side));
  } else if (has_limit && st.outside_band(req.symbol, req.price)) {
    reply.events.push_back(rejection(reject_reason::outside_price_band, req.symbol,
                                     req.id, req.owner, req.side));
  } else {
    st.engine->submit(req, st.events);
    route_events(self, req.owner, &reply.events);
  }
  count_outcome(st, req.symbol, req.id, reply.events, true);
  return reply;
}

void schedule_tick(shard_ptr self, caf::actor_clock::time_point t) {
  auto& st = self->state;
  if (st.tick_at && *st.tick_at <= t)
    return;
  st.tick_at = t;
  self->scheduled_send(caf::actor_cast<actors::exchange_shard_actor>(self), t,
                       actors::l2_publish_tick{});
}

/// Schedules the next tick for the earliest due snapshot, if any subscriber
/// wants snapshots.
void schedule_next_tick(shard_ptr self) {
  std::optional<caf::actor_clock::time_point> next;
  for (const auto& sub : self->state.subscribers)
    if (sub.wants_l2() && (!next || sub.next_l2 < *next))
      next = sub.next_l2;
  if (next)
    schedule_tick(self, *next);
}

actors::l2_snapshot make_snapshot(const order_book& book, std::uint32_t levels,
                                  actors::timestamp_ns now) {
  actors::l2_snapshot snap;
  snap.symbol = book.symbol();
  snap.time = now;
  book.depth(side::buy, levels, snap.bids);
  book.depth(side::sell, levels, snap.asks);
  return snap;
}

void publish_l2(shard_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto now_stamp = now_ns(self);
  if (st.tick_at && *st.tick_at <= now)
    st.tick_at.reset();
  for (auto& sub : st.subscribers) {
    if (!sub.wants_l2() || sub.next_l2 > now)
      continue;
    for (auto s : st.traded)
      if (sub.wants_symbol(s))
        self->send(sub.listener,
                   make_snapshot(*st.engine->book(s), sub.l2_levels, now_stamp));
    sub.next_l2 += sub.l2_period;
    if (sub.next_l2 <= now) // fell behind: skip, never burst
      sub.next_l2 = now + sub.l2_period;
  }
  schedule_next_tick(self);
}

void watch(shard_ptr self, const caf::actor_addr& who) {
  if (self->state.monitored.insert(who).second)
    self->monitor(who);
}

/// Removes a subscriber in O(1): the last one takes its place.
void remove_subscriber(shard_state& st, const caf::actor_addr& who) {
  auto i = st.subscriber_at.find(who);
  if (i == st.subscriber_at.end())
    return;
  const auto pos = i->second;
  st.subscriber_at.erase(i);
  if (pos + 1 != st.subscribers.size()) {
    st.subscribers[pos] = std::move(st.subscribers.back());
    st.subscriber_at[st.subscribers[pos].listener.address()] = pos;
  }
  st.subscribers.pop_back();
}

/// Forgets that `owner` reports to the listener at `addr`.
void forget_owner(shard_state& st, const caf::actor_addr& addr, owner_id owner) {
  auto i = st.owners_of.find(addr);
  if (i == st.owners_of.end())
    return;
  std::erase(i->second, owner);
  if (i->second.empty())
    st.owners_of.erase(i);
}

void register_listener(shard_ptr self, actors::register_owner& x) {
  auto& st = self->state;
  auto old = st.listeners.find(x.owner);
  if (old != st.listeners.end()) {
    forget_owner(st, old->second.address(), x.owner);
    st.listeners.erase(old);
  }
  if (!x.listener)
    return;
  auto addr = x.listener.address();
  watch(self, addr);
  st.owners_of[addr].push_back(x.owner);
  st.listeners.emplace(x.owner, std::move(x.listener));
}

void subscribe(shard_ptr self, actors::md_subscribe& x) {
  auto& st = self->state;
  if (!x.listener) {
    spdlog::warn("exchange shard {}: md_subscribe without a listener ignored", st.index);
    return;
  }
  md_subscriber sub;
  sub.listener = x.listener;
  sub.all_symbols = x.symbols.empty();
  if (!sub.all_symbols) {
    sub.wants.assign(st.symbols.size(), false);
    for (auto s : x.symbols) {
      if (st.is_traded(s))
        sub.wants[s] = true;
      else
        spdlog::warn(
            "exchange shard {}: subscription to symbol {} not traded here ignored",
            st.index, s);
    }
  }
  sub.trades = x.trades;
  sub.l1 = x.l1;
  if (x.l2_period_ms < 0)
    spdlog::warn("exchange shard {}: negative l2_period_ms {} means no snapshots",
                 st.index, x.l2_period_ms);
  if (x.l2_levels > 0 && x.l2_period_ms > 0) {
    sub.l2_levels = x.l2_levels;
    sub.l2_period = std::chrono::milliseconds{x.l2_period_ms};
    sub.next_l2 = self->clock().now() + sub.l2_period;
  }
  auto addr = x.listener.address();
  const bool wants_l2 = sub.wants_l2();
  const auto next_l2 = sub.next_l2;
  if (auto i = st.subscriber_at.find(addr); i != st.subscriber_at.end()) {
    st.subscribers[i->second] = std::move(sub);
  } else {
    st.subscriber_at.emplace(addr, st.subscribers.size());
    st.subscribers.push_back(std::move(sub));
  }
  watch(self, addr);
  // Only a snapshot subscriber needs a tick; the others must not cost a scan.
  if (wants_l2)
    schedule_tick(self, next_l2);
}

void drop_actor(shard_ptr self, const caf::actor_addr& who) {
  auto& st = self->state;
  remove_subscriber(st, who);
  if (auto i = st.owners_of.find(who); i != st.owners_of.end()) {
    for (auto owner : i->second)
      st.listeners.erase(owner);
    st.owners_of.erase(i);
  }
  st.monitored.erase(who);
}

actors::shard_stats make_stats(const shard_state& st) {
  actors::shard_stats out;
  out.shard = st.index;
  out.requests = st.requests;
  out.unroutable_reports = st.unroutable_reports;
  for (auto s : st.traded) {
    const auto& book = *st.engine->book(s);
    const auto& ts = book.stats();
    out.symbols.push_back(actors::symbol_summary{
        s, st.counters[s].orders, st.counters[s].rejects, ts.trades, ts.volume, ts.vwap(),
        book.l1(), ts.last_price});
  }
  return out;
}

/// Records a finalized price; when it moves the band, cancels what the book
/// holds outside the new band (see "Price band" in exchange_shard.hpp).
void move_band(shard_ptr self, const actors::finalized_price& x) {
  auto& st = self->state;
  if (st.band_of(x.symbol) == nullptr)
    return;
  auto& band = st.bands[x.symbol];
  if (!band.on_finalized(x.epoch, x.price))
    return;
  const auto [low, high] = *band.limits();
  st.engine->book(x.symbol)->cancel_outside(low, high, st.events);
  route_events(self, std::nullopt, nullptr);
  flush_reports(self);
  publish_l1(self);
}

// -- behaviour -----------------------------------------------------------------

actors::exchange_shard_actor::behavior_type exchange_shard(shard_ptr self,
                                                           shard_params params) {
  auto& st = self->state;
  st.index = params.index;
  st.engine.emplace(params.symbols, params.traded, params.expected_orders_per_book);
  st.symbols = std::move(params.symbols);
  st.traded = std::move(params.traded);
  st.counters.resize(st.symbols.size());
  if (params.price_band_bps > 0)
    st.bands.assign(st.symbols.size(), price_band_guard{params.price_band_bps});
  for (auto s : st.traded)
    st.counters[s].last_l1 = st.engine->book(s)->l1();
  self->set_down_handler([self](caf::down_msg& dm) { drop_actor(self, dm.source); });
  return {
      [self](const actors::new_order& x) -> actors::order_reply {
        auto reply = run_new_order(self, x);
        flush_reports(self);
        publish_l1(self);
        return reply;
      },
      [self](const actors::new_order_batch& x) -> actors::order_reply_batch {
        actors::order_reply_batch out;
        out.replies.reserve(x.orders.size());
        for (const auto& order : x.orders)
          out.replies.push_back(run_new_order(self, order));
        flush_reports(self);
        publish_l1(self);
        return out;
      },
      [self](const actors::cancel_order& x) -> actors::order_reply {
        auto& st = self->state;
        ++st.requests;
        actors::order_reply reply{x.client_order_id, x.request.id, {}};
        st.engine->cancel(x.request, x.owner, st.events);
        route_events(self, x.owner, &reply.events);
        count_outcome(st, x.request.symbol, x.request.id, reply.events, false);
        flush_reports(self);
        publish_l1(self);
        return reply;
      },
      [self](const actors::modify_order& x) -> actors::order_reply {
        auto& st = self->state;
        ++st.requests;
        actors::order_reply reply{x.client_order_id, x.request.id, {}};
        if (st.halted)
          st.events.push_back(rejection(reject_reason::trading_halted, x.request.symbol,
                                        x.request.id, x.owner));
        else if (st.outside_band(x.request.symbol, x.request.new_price))
          st.events.push_back(rejection(reject_reason::outside_price_band,
                                        x.request.symbol, x.request.id, x.owner));
        else
          st.engine->modify(x.request, x.owner, st.events);
        route_events(self, x.owner, &reply.events);
        count_outcome(st, x.request.symbol, x.request.id, reply.events, false);
        flush_reports(self);
        publish_l1(self);
        return reply;
      },
      [self](actors::register_owner& x) { register_listener(self, x); },
      [self](actors::md_subscribe& x) { subscribe(self, x); },
      [self](const actors::md_unsubscribe& x) {
        remove_subscriber(self->state, x.listener.address());
      },
      [self](const actors::l2_request& x) -> caf::result<actors::l2_snapshot> {
        const auto* book = self->state.engine->book(x.symbol);
        if (book == nullptr)
          return caf::make_error(caf::sec::invalid_argument,
                                 "l2_request: symbol " + std::to_string(x.symbol) +
                                     " is not traded by this shard");
        return make_snapshot(*book, x.levels, now_ns(self));
      },
      [self](const actors::stats_request&) -> actors::shard_stats {
        return make_stats(self->state);
      },
      [self](const actors::end_of_day&) {
        auto& st = self->state;
        st.engine->end_of_day(st.events);
        route_events(self, std::nullopt, nullptr);
        flush_reports(self);
        publish_l1(self);
      },
      [self](const actors::finalized_price& x) { move_band(self, x); },
      [self](const actors::trading_halt& x) {
        auto& st = self->state;
        if (!st.halted)
          spdlog::warn("exchange shard {}: trading halted ({})", st.index, x.reason);
        st.halted = true;
      },
      [self](const actors::l2_publish_tick&) { publish_l2(self); },
  };
}

} // namespace

actors::exchange_shard_actor spawn_exchange_shard(caf::actor_system& sys,
                                                  shard_params params) {
  if (params.index >= (1u << (64 - order_id_sequence_bits)))
    throw std::invalid_argument("exchange shard index " + std::to_string(params.index) +
                                " does not fit in an order id");
  if (params.price_band_bps < 0)
    throw std::invalid_argument("exchange shard " + std::to_string(params.index) +
                                ": negative price_band_bps " +
                                std::to_string(params.price_band_bps));
  for (auto s : params.traded)
    if (params.symbols.find(s) == nullptr)
      throw std::invalid_argument("exchange shard " + std::to_string(params.index) +
                                  ": traded symbol " + std::to_string(s) +
                                  " is not in the symbol table");
  return sys.spawn(exchange_shard, std::move(params));
}

} // namespace marketsim::market
