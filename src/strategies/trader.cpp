#include "strategies/trader.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

namespace marketsim::strategies {

namespace {

// -- request ids ---------------------------------------------------------------------
// The client_order_id of a request carries the local order id and, in its two
// top bits, what the request was: a reply then needs no lookup table.

enum class request_kind : std::uint64_t { new_order = 0, cancel = 1, modify = 2 };

constexpr unsigned kind_shift = 62;
constexpr std::uint64_t local_mask = (std::uint64_t{1} << kind_shift) - 1;

std::uint64_t client_id(request_kind k, local_order_id id) {
  return (static_cast<std::uint64_t>(k) << kind_shift) | id;
}

request_kind kind_of(std::uint64_t client_order_id) {
  return static_cast<request_kind>(client_order_id >> kind_shift);
}

/// A strategy that answers every refusal with another refused order would
/// spin inside one message forever; past this many local updates in a row the
/// agent is stopped as failed.
constexpr std::size_t max_local_updates = 10'000;

// -- state ---------------------------------------------------------------------------

/// What the host keeps per sent order beside the context's own_order.
struct host_order {
  local_order_id id = 0;
  market::order_id exchange_id = 0; ///< 0 until the exchange acknowledged it
  market::price_t modify_price = 0;
  market::qty_t modify_qty = 0;
  bool cancel_requested = false; ///< a cancel was sent, or waits for the ack
  bool modify_waiting = false;   ///< a modify waits for the ack
};

/// A request whose reply is awaited, for the round-trip measurement: the
/// client_order_id of an order request (never 0), or 0 for a quote request
/// (an l2_request carries no id: its snapshots come back in order per symbol).
struct pending_request {
  std::uint64_t client_order_id = 0;
  market::symbol_id symbol = 0;
  std::int64_t sent_ns = 0;
};

/// A reply lost on the network would keep its request pending forever: past
/// this many, the oldest is given up.
constexpr std::size_t max_pending_requests = 64;

struct md_subscription {
  market::symbol_id symbol = 0;
  bool trades = false;
};

struct counters {
  std::uint64_t orders_sent = 0;
  std::uint64_t cancels_sent = 0;
  std::uint64_t modifies_sent = 0;
  std::uint64_t fills = 0;
  market::qty_t filled_qty = 0;
  std::uint64_t pretrade_rejects = 0;
  std::uint64_t exchange_rejects = 0;
};

/// Everything spawn_trader hands to the behaviour (CAF copies spawn
/// arguments, and the strategy is move-only).
struct trader_setup {
  market::owner_id owner = 0;
  std::shared_ptr<const trader_group> group;
  /// The symbols whose shards get the register_owner at start-up.
  std::vector<market::symbol_id> symbols;
  std::optional<context> ctx;
  std::unique_ptr<strategy> strat;
  std::shared_ptr<const market::shard_router> router;
  actors::signal_hub_actor hub;
};

/// A million of these live at once: what every trader of a group shares is
/// in `group`, and the per-order bookkeeping is in small sorted vectors (an
/// agent has a few live orders) rather than in maps.
struct trader_state {
  static inline const char* name = "marketsim.trader";

  market::owner_id owner = 0;
  /// Strategy name, account params and start time, shared with the group.
  std::shared_ptr<const trader_group> group;
  /// Engaged in the behaviour function (CAF default-constructs the state).
  std::optional<context> ctx;
  std::unique_ptr<strategy> strat;
  std::shared_ptr<const market::shard_router> router;
  actors::signal_hub_actor hub;

  /// Sent orders still live, sorted by local id; the exchange's id is found
  /// by a scan (an agent has few live orders).
  std::vector<host_order> sent;
  /// Indices (into router->shards()) of shards that know our listener.
  std::vector<std::uint32_t> registered;
  std::vector<md_subscription> md_subs;
  /// Requests sent and not yet answered, oldest first (latency measurement).
  std::vector<pending_request> pending;
  /// Updates the host made itself (refusals) while carrying out intents,
  /// delivered after the intents of the callback that caused them.
  std::vector<order_update> local_updates;

  bool started = false;
  bool stopped = false; ///< agent_stop received
  bool failed = false;
  /// Why the strategy failed; null while it has not (few agents ever fail).
  std::unique_ptr<const std::string> error;
  counters count;

  bool active() const { return started && !stopped && !failed && !ctx->stopped(); }
  std::uint64_t index() const { return ctx->agent_index(); }
  std::int64_t start_ns() const { return group->start_ns; }
};

using self_ptr = trader_actor::stateful_pointer<trader_state>;

// -- helpers -------------------------------------------------------------------------

std::int64_t clock_ns(self_ptr self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             self->clock().now().time_since_epoch())
      .count();
}

market::order_request request_of(const order_spec& spec, local_order_id id,
                                 market::owner_id owner) {
  market::order_request req;
  req.id = id;
  req.owner = owner;
  req.symbol = spec.symbol;
  req.side = spec.side;
  req.type = spec.type;
  req.tif = spec.tif;
  req.price = spec.price;
  req.stop_price = spec.stop_price;
  req.qty = spec.qty;
  req.post_only = spec.post_only;
  return req;
}

/// What a market buy reserves at: the best ask, else the last trade.
market::price_t reference_price(const market_view& v) {
  return v.has_ask() ? v.quote.ask_price : v.last_price;
}

order_update update_for(order_update::kind what, local_order_id id, const own_order* o) {
  order_update u;
  u.what = what;
  u.id = id;
  if (o != nullptr) {
    u.symbol = o->spec.symbol;
    u.side = o->spec.side;
    u.price = o->price;
    u.qty = o->open;
  }
  return u;
}

/// Replaces the hold of order `id` by one for `req` if the account allows it;
/// the account is unchanged otherwise. Returns the account's verdict.
market::reject_reason rehold(context& ctx, local_order_id id,
                             const market::order_request& req) {
  market::account trial = ctx.account();
  trial.release(id);
  auto why = trial.reserve(req, reference_price(ctx.market(req.symbol)));
  if (why == market::reject_reason::none)
    ctx.mutable_account() = std::move(trial);
  return why;
}

/// Where the sent order `id` is, or would be inserted.
std::vector<host_order>::iterator sent_slot(trader_state& st, local_order_id id) {
  auto before = [](const host_order& h, local_order_id x) { return h.id < x; };
  return std::lower_bound(st.sent.begin(), st.sent.end(), id, before);
}

/// The sent order with local id `id`, or nullptr.
host_order* find_sent(trader_state& st, local_order_id id) {
  auto i = sent_slot(st, id);
  return i != st.sent.end() && i->id == id ? &*i : nullptr;
}

void add_sent(trader_state& st, local_order_id id) {
  host_order h;
  h.id = id;
  st.sent.insert(sent_slot(st, id), h);
}

/// The local id of the acknowledged order `exchange_id`, or 0.
local_order_id local_of(const trader_state& st, market::order_id exchange_id) {
  if (exchange_id == 0) // not acknowledged: no exchange id yet
    return 0;
  auto i = std::find_if(st.sent.begin(), st.sent.end(), [&](const host_order& h) {
    return h.exchange_id == exchange_id;
  });
  return i == st.sent.end() ? 0 : i->id;
}

const actors::exchange_shard_actor* shard_of(self_ptr self, market::symbol_id s) {
  return self->state.router->route(s);
}

// -- round trips ---------------------------------------------------------------------
// Measuring only reads the clock: it sends nothing and changes no decision of
// the host, so a strategy that does not ask for latency() behaves the same.

void note_sent(self_ptr self, std::uint64_t client_order_id, market::symbol_id s) {
  auto& pending = self->state.pending;
  if (pending.size() >= max_pending_requests)
    pending.erase(pending.begin());
  pending.push_back(pending_request{client_order_id, s, clock_ns(self)});
}

/// The reply to the oldest pending request with `client_order_id` (0: a quote
/// request of symbol `s`) has arrived: its round trip goes to the context.
void note_answered(self_ptr self, std::uint64_t client_order_id, market::symbol_id s) {
  auto& st = self->state;
  auto i = std::find_if(st.pending.begin(), st.pending.end(), [&](const auto& p) {
    return p.client_order_id == client_order_id &&
           (client_order_id != 0 || p.symbol == s);
  });
  if (i == st.pending.end())
    return;
  st.ctx->record_round_trip(i->symbol, clock_ns(self) - i->sent_ns);
  st.pending.erase(i);
}

/// The trader's own handle as the actor behind `peer` should see it
/// (trader_group::present): its network port at the peer's site, or itself.
template <class Handle, class Peer>
Handle own_handle(self_ptr self, const Peer& peer) {
  auto me = caf::actor_cast<caf::actor>(self);
  const auto& present = self->state.group->present;
  return caf::actor_cast<Handle>(present ? present(me, caf::actor_cast<caf::actor>(peer))
                                         : me);
}

void ensure_registered(self_ptr self, const actors::exchange_shard_actor* shard) {
  auto& st = self->state;
  auto idx = static_cast<std::uint32_t>(shard - st.router->shards().data());
  if (std::find(st.registered.begin(), st.registered.end(), idx) != st.registered.end())
    return;
  st.registered.push_back(idx);
  self->send(*shard, actors::register_owner{
                         st.owner, own_handle<actors::order_listener_actor>(self, *shard)});
}

// -- calling the strategy ------------------------------------------------------------

void carry_out_all(self_ptr self);

void cancel_sent_orders(self_ptr self);

void fail(self_ptr self, std::string what) {
  auto& st = self->state;
  st.failed = true;
  st.error = std::make_unique<const std::string>(std::move(what));
  st.ctx->clear_intents();
  st.local_updates.clear();
  spdlog::error("agent {} ({}, owner {}): strategy failed and is stopped: {}", st.index(),
                st.group->strategy_name, st.owner, *st.error);
  cancel_sent_orders(self);
}

/// Calls the strategy if the agent is active; a throw fails the agent.
template <class F>
void invoke(self_ptr self, F&& f) {
  auto& st = self->state;
  if (!st.active())
    return;
  st.ctx->set_now(clock_ns(self) - st.start_ns());
  try {
    f(*st.strat, *st.ctx);
  } catch (const std::exception& e) {
    fail(self, e.what());
  } catch (...) {
    fail(self, "unknown exception");
  }
}

/// A callback and everything it leads to.
template <class F>
void callback(self_ptr self, F&& f) {
  invoke(self, std::forward<F>(f));
  carry_out_all(self);
}

void deliver(self_ptr self, const order_update& u) {
  callback(self, [&](strategy& s, context& c) { s.on_order(c, u); });
}

void refuse(self_ptr self, order_update u, market::reject_reason why) {
  u.what = order_update::kind::rejected;
  u.reject = why;
  ++self->state.count.pretrade_rejects;
  self->state.local_updates.push_back(u);
}

// -- intents -> messages -------------------------------------------------------------

void send_cancel(self_ptr self, local_order_id id, const host_order& h) {
  auto& st = self->state;
  auto symbol = st.ctx->order(id)->spec.symbol;
  self->send(*shard_of(self, symbol),
             actors::cancel_order{client_id(request_kind::cancel, id), st.owner,
                                  market::cancel_request{h.exchange_id, symbol}});
  note_sent(self, client_id(request_kind::cancel, id), symbol);
  ++st.count.cancels_sent;
}

void send_modify(self_ptr self, local_order_id id, const host_order& h,
                 market::price_t price, market::qty_t qty) {
  auto& st = self->state;
  auto symbol = st.ctx->order(id)->spec.symbol;
  self->send(
      *shard_of(self, symbol),
      actors::modify_order{client_id(request_kind::modify, id), st.owner,
                           market::modify_request{h.exchange_id, symbol, price, qty}});
  note_sent(self, client_id(request_kind::modify, id), symbol);
  ++st.count.modifies_sent;
}

/// Cancels a sent order now, or once it is acknowledged. False if `id` is not
/// a live sent order.
bool request_cancel(self_ptr self, local_order_id id) {
  auto* found = find_sent(self->state, id);
  if (found == nullptr)
    return false;
  auto& h = *found;
  if (h.cancel_requested)
    return true;
  h.cancel_requested = true;
  h.modify_waiting = false; // the cancel supersedes it
  if (h.exchange_id != 0)
    send_cancel(self, id, h);
  return true;
}

void cancel_sent_orders(self_ptr self) {
  auto& st = self->state;
  // Orders recorded by the failing callback were never sent: forget them.
  std::erase_if(st.ctx->mutable_orders(),
                [&](const auto& kv) { return find_sent(st, kv.first) == nullptr; });
  // request_cancel sends, and adds no order: the vector stays as it is.
  for (const auto& h : st.sent)
    request_cancel(self, h.id);
}

void carry_out(self_ptr self, submit_intent& x) {
  auto& st = self->state;
  auto& orders = st.ctx->mutable_orders();
  auto o = orders.find(x.id);
  if (o == orders.end())
    return; // context::submit always enters it; nothing to send otherwise
  auto req = request_of(x.spec, x.id, st.owner);
  const auto* shard = shard_of(self, x.spec.symbol);
  auto why = shard == nullptr ? market::reject_reason::unknown_symbol
                              : st.ctx->mutable_account().reserve(
                                    req, reference_price(st.ctx->market(x.spec.symbol)));
  if (why != market::reject_reason::none) {
    auto u = update_for(order_update::kind::rejected, x.id, &o->second);
    orders.erase(o);
    refuse(self, u, why);
    return;
  }
  ensure_registered(self, shard);
  add_sent(st, x.id);
  req.id = 0; // the shard assigns it
  self->send(*shard, actors::new_order{client_id(request_kind::new_order, x.id), req});
  note_sent(self, client_id(request_kind::new_order, x.id), x.spec.symbol);
  ++st.count.orders_sent;
}

void carry_out(self_ptr self, cancel_intent& x) {
  if (!request_cancel(self, x.id))
    refuse(self,
           update_for(order_update::kind::rejected, x.id, self->state.ctx->order(x.id)),
           market::reject_reason::unknown_order_id);
}

void carry_out(self_ptr self, modify_intent& x) {
  auto& st = self->state;
  const own_order* o = st.ctx->order(x.id);
  host_order* h = find_sent(st, x.id);
  auto refused = update_for(order_update::kind::rejected, x.id, o);
  if (o == nullptr || h == nullptr || h->cancel_requested) {
    refuse(self, refused, market::reject_reason::unknown_order_id);
    return;
  }
  auto req = request_of(o->spec, x.id, st.owner);
  req.price = x.price;
  req.qty = x.qty;
  if (auto why = rehold(*st.ctx, x.id, req); why != market::reject_reason::none) {
    refuse(self, refused, why);
    return;
  }
  if (h->exchange_id == 0) {
    h->modify_waiting = true;
    h->modify_price = x.price;
    h->modify_qty = x.qty;
    return;
  }
  send_modify(self, x.id, *h, x.price, x.qty);
}

void carry_out(self_ptr self, publish_intent& x) {
  auto& st = self->state;
  if (!st.hub)
    return;
  auto& sig = x.what;
  self->send(st.hub, actors::signal_message{std::move(sig.topic), sig.symbol, sig.value,
                                            sig.from, clock_ns(self)});
}

void carry_out(self_ptr self, timer_intent& x) {
  if (x.after <= 0)
    self->send(self, actors::strategy_timer{x.tag});
  else
    self->delayed_send(self, std::chrono::nanoseconds{x.after},
                       actors::strategy_timer{x.tag});
}

void carry_out(self_ptr self, subscribe_market_intent& x) {
  auto& st = self->state;
  const auto* shard = shard_of(self, x.symbol);
  if (shard == nullptr) {
    spdlog::warn("agent {}: subscription to symbol {} ignored: no shard trades it",
                 st.index(), x.symbol);
    return;
  }
  auto same = [&](const md_subscription& m) { return m.symbol == x.symbol; };
  if (auto i = std::find_if(st.md_subs.begin(), st.md_subs.end(), same);
      i != st.md_subs.end())
    i->trades = i->trades || x.trades;
  else
    st.md_subs.push_back(md_subscription{x.symbol, x.trades});
  // A shard keeps one subscription per listener: send all of this shard's.
  actors::md_subscribe msg;
  msg.listener = own_handle<actors::md_listener_actor>(self, *shard);
  msg.trades = false;
  for (const auto& m : st.md_subs) {
    if (shard_of(self, m.symbol) != shard)
      continue;
    msg.symbols.push_back(m.symbol);
    msg.trades = msg.trades || m.trades;
  }
  self->send(*shard, std::move(msg));
  self->send(*shard, actors::l2_request{x.symbol, 1});
  note_sent(self, 0, x.symbol);
}

void carry_out(self_ptr self, request_quote_intent& x) {
  const auto* shard = shard_of(self, x.symbol);
  if (shard == nullptr) {
    spdlog::warn("agent {}: quote request for symbol {} ignored: no shard trades it",
                 self->state.index(), x.symbol);
    return;
  }
  self->send(*shard, actors::l2_request{x.symbol, 1});
  note_sent(self, 0, x.symbol);
}

void carry_out(self_ptr self, subscribe_signal_intent& x) {
  auto& st = self->state;
  if (st.hub)
    self->send(st.hub, actors::signal_subscribe{
                           std::move(x.topic), st.index() + 1, // as published (signal::from)
                           own_handle<actors::signal_listener_actor>(self, st.hub)});
}

void carry_out(self_ptr, stop_intent&) {
  // context::stop() already made the agent inactive.
}

/// Carries out the intents of the last callback, then delivers the refusals
/// they caused, each followed by its own intents, until nothing is left.
void carry_out_all(self_ptr self) {
  auto& st = self->state;
  std::size_t delivered = 0;
  for (;;) {
    auto batch = st.ctx->take_intents();
    for (auto& i : batch)
      std::visit([&](auto& x) { carry_out(self, x); }, i);
    if (st.local_updates.empty())
      return;
    if (++delivered > max_local_updates) {
      fail(self, "more than " + std::to_string(max_local_updates) +
                     " refused requests in a row within one event");
      return;
    }
    auto u = st.local_updates.front();
    st.local_updates.erase(st.local_updates.begin());
    invoke(self, [&](strategy& s, context& c) { s.on_order(c, u); });
  }
}

// -- book events -> account, orders and updates --------------------------------------

/// Removes a gone order everywhere and frees what it still holds.
void forget(trader_state& st, local_order_id id) {
  st.ctx->mutable_account().release(id);
  st.ctx->mutable_orders().erase(id);
  if (auto i = sent_slot(st, id); i != st.sent.end() && i->id == id)
    st.sent.erase(i);
}

void on_fill(self_ptr self, market::order_id exchange_id, const market::book_event& ev,
             market::side side, market::qty_t leaves, bool maker) {
  auto& st = self->state;
  auto id = local_of(st, exchange_id);
  // A fill is a fact: it settles even for an order the host cannot place
  // (then it consumes no hold).
  st.ctx->mutable_account().on_fill(
      market::fill{id, ev.symbol, side, ev.price, ev.qty, maker});
  ++st.count.fills;
  st.count.filled_qty += ev.qty;
  auto& orders = st.ctx->mutable_orders();
  auto o = orders.find(id);
  if (id == 0 || o == orders.end())
    return;
  o->second.open = leaves;
  auto u = update_for(order_update::kind::filled, id, &o->second);
  u.side = side;
  u.price = ev.price;
  u.qty = ev.qty;
  u.leaves = leaves;
  u.maker = maker;
  deliver(self, u);
}

void apply_event(self_ptr self, const market::book_event& ev) {
  auto& st = self->state;
  auto me = st.owner;
  using k = market::event_kind;
  if (ev.kind == k::trade) {
    if (ev.owner == me)
      on_fill(self, ev.id, ev, ev.side, ev.leaves, false);
    if (ev.maker_owner == me)
      on_fill(self, ev.maker, ev, market::opposite(ev.side), ev.maker_leaves, true);
    return;
  }
  if (ev.owner != me || ev.kind == k::rejected)
    return; // rejects are handled with the request they answer
  auto id = local_of(st, ev.id);
  auto& orders = st.ctx->mutable_orders();
  auto o = orders.find(id);
  if (id == 0 || o == orders.end())
    return;
  auto& own = o->second;
  switch (ev.kind) {
  case k::accepted: {
    own.acknowledged = true;
    auto u = update_for(order_update::kind::accepted, id, &own);
    u.qty = ev.qty;
    deliver(self, u);
    break;
  }
  case k::cancelled: {
    auto u = update_for(order_update::kind::cancelled, id, &own);
    u.qty = ev.qty;
    u.cancel = ev.cancel;
    forget(st, id);
    deliver(self, u);
    break;
  }
  case k::done: {
    auto u = update_for(order_update::kind::done, id, &own);
    u.qty = 0;
    forget(st, id);
    deliver(self, u);
    break;
  }
  case k::modified: {
    own.price = ev.price;
    own.open = ev.qty;
    // Hold exactly for the order as it now is (fills of the old one may
    // have used part of the hold taken when the modify was sent).
    auto req = request_of(own.spec, id, me);
    req.price = ev.price;
    req.qty = ev.qty;
    rehold(*st.ctx, id, req);
    deliver(self, update_for(order_update::kind::modified, id, &own));
    break;
  }
  case k::stop_triggered: {
    auto u = update_for(order_update::kind::stop_triggered, id, &own);
    u.price = ev.price;
    u.qty = ev.qty;
    deliver(self, u);
    break;
  }
  case k::trade:
  case k::rejected:
    break;
  }
}

/// A rejected event in the reply to one of our requests.
void on_rejected(self_ptr self, request_kind kind, local_order_id id,
                 const market::book_event& ev) {
  auto& st = self->state;
  ++st.count.exchange_rejects;
  const own_order* o = st.ctx->order(id);
  auto u = update_for(order_update::kind::rejected, id, o);
  u.reject = ev.reject;
  if (kind == request_kind::new_order) {
    forget(st, id);
  } else if (o != nullptr) {
    // The order stays as it was: hold for it again, allow another cancel.
    auto* h = find_sent(st, id);
    if (h != nullptr && kind == request_kind::cancel)
      h->cancel_requested = false;
    if (kind == request_kind::modify) {
      auto req = request_of(o->spec, id, st.owner);
      req.price = o->price;
      req.qty = o->open;
      rehold(*st.ctx, id, req);
    }
  }
  deliver(self, u);
}

void on_reply(self_ptr self, const actors::order_reply& r) {
  auto& st = self->state;
  auto kind = kind_of(r.client_order_id);
  local_order_id id = r.client_order_id & local_mask;
  note_answered(self, r.client_order_id, 0);
  bool rejected = std::any_of(r.events.begin(), r.events.end(), [](const auto& ev) {
    return ev.kind == market::event_kind::rejected;
  });
  if (kind == request_kind::new_order && !rejected) {
    if (auto* h = find_sent(st, id))
      h->exchange_id = r.id;
  }
  for (const auto& ev : r.events) {
    if (ev.kind == market::event_kind::rejected)
      on_rejected(self, kind, id, ev);
    else
      apply_event(self, ev);
  }
  if (kind != request_kind::new_order)
    return;
  // Requests made before the acknowledgement, if the order is still there.
  auto* h = find_sent(st, id);
  if (h == nullptr || h->exchange_id == 0)
    return;
  if (h->cancel_requested) {
    send_cancel(self, id, *h);
  } else if (h->modify_waiting) {
    h->modify_waiting = false;
    send_modify(self, id, *h, h->modify_price, h->modify_qty);
  }
}

// -- market data and signals ---------------------------------------------------------

void on_quote(self_ptr self, market::symbol_id s, const market::l1_quote& q,
              actors::timestamp_ns time) {
  auto& st = self->state;
  auto& view = st.ctx->mutable_market(s);
  view.quote = q;
  view.quote_time = time - st.start_ns();
  view.quote_arrival_time = clock_ns(self) - st.start_ns();
  callback(self, [s](strategy& strat, context& c) { strat.on_quote(c, s); });
}

void on_trade_print(self_ptr self, const actors::trade_print& x) {
  auto& st = self->state;
  auto& view = st.ctx->mutable_market(x.symbol);
  view.last_price = x.price;
  view.last_qty = x.qty;
  view.last_trade_time = x.time - st.start_ns();
  auto wanted = std::any_of(st.md_subs.begin(), st.md_subs.end(), [&](const auto& m) {
    return m.symbol == x.symbol && m.trades;
  });
  if (!wanted)
    return;
  public_trade t{x.symbol, x.price, x.qty, x.aggressor, view.last_trade_time};
  callback(self, [&t](strategy& strat, context& c) { strat.on_trade(c, t); });
}

// -- reports -------------------------------------------------------------------------

actors::agent_report make_report(const trader_state& st) {
  actors::agent_report r;
  r.index = st.index();
  r.owner = st.owner;
  r.strategy = st.group->strategy_name;
  r.failed = st.failed;
  if (st.error)
    r.error = *st.error;
  const auto& acc = st.ctx->account();
  r.cash = acc.cash();
  for (const auto& [s, p] : acc.positions())
    r.positions.push_back(actors::agent_position{s, p.qty, p.basis});
  r.realised = acc.realised();
  r.fees = acc.fees_paid();
  r.orders_sent = st.count.orders_sent;
  r.cancels_sent = st.count.cancels_sent;
  r.modifies_sent = st.count.modifies_sent;
  r.fills = st.count.fills;
  r.filled_qty = st.count.filled_qty;
  r.pretrade_rejects = st.count.pretrade_rejects;
  r.exchange_rejects = st.count.exchange_rejects;
  r.live_orders = st.ctx->orders().size();
  for (const auto& [name, value] : st.ctx->metrics())
    r.metrics.push_back(actors::agent_metric{name, value});
  return r;
}

// -- behaviour -----------------------------------------------------------------------

trader_actor::behavior_type trader(self_ptr self, std::shared_ptr<trader_setup> setup) {
  auto& st = self->state;
  st.owner = setup->owner;
  st.group = std::move(setup->group);
  st.ctx.emplace(std::move(*setup->ctx));
  st.strat = std::move(setup->strat);
  st.router = std::move(setup->router);
  st.hub = std::move(setup->hub);
  // Latency is per shard: symbols of one shard share it.
  st.ctx->set_venue_map([router = st.router.get()](
                            market::symbol_id s) -> std::optional<venue_id> {
    const auto* shard = router->route(s);
    if (shard == nullptr)
      return std::nullopt;
    return static_cast<venue_id>(shard - router->shards().data());
  });
  // Registered before any order: a shard sees the registration before the
  // order whose maker fills it reports.
  for (auto s : setup->symbols)
    ensure_registered(self, shard_of(self, s));
  self->set_error_handler([self](caf::error& err) {
    // An error answer to one of our sends (e.g. a quote request a shard
    // refused) must not take the agent down.
    spdlog::warn("agent {}: {}", self->state.index(), self->system().render(err));
  });
  return {
      [self](const actors::order_reply& r) { on_reply(self, r); },
      [self](const actors::execution_report& r) {
        for (const auto& ev : r.events)
          apply_event(self, ev);
      },
      [self](const actors::l1_update& x) { on_quote(self, x.symbol, x.quote, x.time); },
      [self](const actors::l2_snapshot& x) {
        note_answered(self, 0, x.symbol);
        market::l1_quote q;
        if (!x.bids.empty()) {
          q.bid_price = x.bids.front().price;
          q.bid_qty = x.bids.front().qty;
        }
        if (!x.asks.empty()) {
          q.ask_price = x.asks.front().price;
          q.ask_qty = x.asks.front().qty;
        }
        on_quote(self, x.symbol, q, x.time);
      },
      [self](const actors::trade_print& x) { on_trade_print(self, x); },
      [self](const actors::signal_message& x) {
        signal sig{x.topic, x.symbol, x.value, x.from, x.time - self->state.start_ns()};
        callback(self, [&sig](strategy& s, context& c) { s.on_signal(c, sig); });
      },
      [self](const actors::strategy_timer& x) {
        callback(self, [&x](strategy& s, context& c) { s.on_timer(c, x.tag); });
      },
      [self](const actors::agent_start&) {
        if (self->state.started)
          return;
        self->state.started = true;
        callback(self, [](strategy& s, context& c) { s.on_start(c); });
      },
      [self](const actors::agent_stop&) { self->state.stopped = true; },
      [self](const actors::agent_report_request&) { return make_report(self->state); },
  };
}

} // namespace

trader_actor spawn_trader(caf::actor_system& sys, trader_params params,
                          std::unique_ptr<strategy> strat,
                          const market::symbol_table& symbols,
                          std::shared_ptr<const market::shard_router> router,
                          actors::signal_hub_actor hub) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("trader " + std::to_string(params.index) + ": " + what);
  };
  if (params.owner == 0)
    fail("owner must not be zero");
  if (strat == nullptr)
    fail("no strategy");
  if (router == nullptr)
    fail("no shard router");
  if (params.group == nullptr)
    fail("no trader group");
  auto group = std::move(params.group);
  std::vector<market::symbol_id> trades = group->symbols;
  for (auto s : trades)
    if (router->route(s) == nullptr)
      fail("symbol " + std::to_string(s) + " is not traded by any shard");
  auto setup = std::make_shared<trader_setup>();
  // Constructing the context validates the account params (throws). The
  // account shares them with the group (an aliasing pointer).
  setup->ctx.emplace(
      params.index, actors::derive_seed(params.seed, params.index), symbols,
      std::shared_ptr<const market::account_params>{group, &group->account});
  setup->owner = params.owner;
  setup->group = std::move(group);
  setup->symbols = std::move(trades);
  setup->strat = std::move(strat);
  setup->router = std::move(router);
  setup->hub = std::move(hub);
  // With a network the caller places the trader at its site after the
  // spawn; the trader hands out its ports (register_owner) when it first
  // runs, which must not happen before that: it waits for its first message
  // (agent_start). Without a network it starts at once, as always.
  if (setup->group->present)
    return sys.spawn<caf::lazy_init>(trader, std::move(setup));
  return sys.spawn(trader, std::move(setup));
}

actors::agent_report peek_agent_report(const trader_actor& trader) {
  auto* ptr = caf::actor_cast<caf::abstract_actor*>(trader);
  auto* impl = dynamic_cast<trader_actor::stateful_base<trader_state>*>(ptr);
  // The state lives from the spawn until the actor exits; the context is
  // engaged when the actor first runs.
  if (impl == nullptr || impl->getf(caf::abstract_actor::is_terminated_flag) ||
      impl->getf(caf::abstract_actor::is_cleaned_up_flag) || !impl->state.ctx)
    return {};
  return make_report(impl->state);
}

} // namespace marketsim::strategies
