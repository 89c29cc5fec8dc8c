#include "shard_load.hpp"

#include "actors/interfaces.hpp"
#include "actors/vocabulary.hpp"
#include "market/exchange_shard.hpp"
#include "market/matching_engine.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::bench {

namespace {

using namespace marketsim::market;
using clock_type = std::chrono::steady_clock;
using done_atom = caf::atom_constant<caf::atom("loaddone")>;

// -- the order mix -------------------------------------------------------------------

constexpr symbol_id load_symbol = 0;
constexpr price_t mid = 10'000;
/// Percent of actions: the rest (60%) are GTC limit orders. A cancel takes a
/// random order of the sender that rests as far as it knows (a fill may be on
/// its way: then the cancel is rejected, as a real one racing a fill is).
constexpr unsigned cancel_pct = 25;
/// A sender cancels only while it has more resting orders than this, like a
/// market maker keeping an inventory of quotes; it keeps the book at a few
/// hundred orders per sender, and trading going.
constexpr std::size_t target_resting = 100;
constexpr unsigned market_pct = 5;
constexpr unsigned ioc_pct = 10;

/// splitmix64: a fast, seedable stream, one per sender.
struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }
};

/// One request as a sender sent it, kept for the direct replay: a new order
/// (its id, which the shard assigns, is filled in from the reply) or a cancel
/// (`order.id` the order to cancel, `order.owner` the requester).
struct sent_request {
  bool is_cancel = false;
  order_request order;
};

/// What one sender measured; written by the sender, read after it finished.
struct sender_result {
  std::uint64_t answered = 0;
  std::vector<std::int64_t> rtt_ns;
  /// Every request in the order sent, indexed by client order id - 1 (ids
  /// are dense from 1 per sender); only when recording.
  std::vector<sent_request> sent;
};

struct sender_config {
  actors::exchange_shard_actor shard;
  caf::actor coordinator;
  owner_id owner = 0;
  std::uint64_t orders = 0;
  std::uint32_t in_flight = 0;
  std::uint32_t batch = 1;
  std::uint64_t seed = 0;
  bool record = false; ///< keep every request in result->sent
  sender_result* result = nullptr;
};

struct sender_state {
  static inline const char* name = "marketsim.shard_load_sender";
  sender_config cfg;
  rng random{0};
  std::uint64_t sent = 0;
  std::uint64_t outstanding = 0;
  std::uint64_t next_client_id = 1;
  bool reported_done = false;
  /// Own orders resting in the book, as far as replies and reports tell:
  /// candidates in any order (some may have left since), and a live bit by
  /// order sequence number (the shard's ids are dense per shard).
  std::vector<order_id> resting;
  std::vector<bool> live;
  std::size_t live_count = 0;

  static std::size_t sequence(order_id id) {
    return static_cast<std::size_t>(id & ((order_id{1} << order_id_sequence_bits) - 1));
  }
  void rests(order_id id) {
    auto seq = sequence(id);
    if (seq >= live.size())
      live.resize(std::max<std::size_t>(2 * live.size(), seq + 1));
    live[seq] = true;
    ++live_count;
    resting.push_back(id);
  }
  void gone(order_id id) {
    if (auto seq = sequence(id); seq < live.size() && live[seq]) {
      live[seq] = false;
      --live_count;
    }
  }
  /// A random live resting order, now forgotten; 0 if none or if no more
  /// than target_resting rest.
  order_id take_any() {
    if (live_count <= target_resting)
      return 0;
    while (!resting.empty()) {
      auto i = random.next() % resting.size();
      auto id = resting[i];
      resting[i] = resting.back();
      resting.pop_back();
      if (live[sequence(id)]) {
        gone(id);
        return id;
      }
    }
    return 0;
  }
  /// Send time by client order id (of a batch: its first order's), modulo
  /// the size; at most `in_flight` ids are outstanding and replies of one
  /// shard come back in order, so a slot is never reused too early.
  std::vector<clock_type::time_point> sent_at;
  std::uint64_t sent_at_mask = 0;

  void stamp(std::uint64_t client_id) {
    sent_at[client_id & sent_at_mask] = clock_type::now();
  }
  clock_type::time_point stamped(std::uint64_t client_id) const {
    return sent_at[client_id & sent_at_mask];
  }
};

using sender_ptr = caf::stateful_actor<sender_state>*;

/// A limit order within 8 ticks of the mid (the ones priced through the mid
/// cross), an IOC limit or a market order.
actors::new_order make_order(sender_state& st, unsigned action) {
  actors::new_order x;
  x.client_order_id = st.next_client_id++;
  auto& o = x.order;
  o.owner = st.cfg.owner;
  o.symbol = load_symbol;
  o.side = st.random.below(2) == 0 ? side::buy : side::sell;
  o.qty = 1 + st.random.below(10);
  if (action >= cancel_pct && action < cancel_pct + market_pct) {
    o.type = order_type::market;
    o.tif = time_in_force::ioc;
    return x;
  }
  o.type = order_type::limit;
  // A cancel that found nothing to cancel becomes a GTC limit order.
  o.tif = action >= cancel_pct + market_pct && action < cancel_pct + market_pct + ioc_pct
              ? time_in_force::ioc
              : time_in_force::gtc;
  auto offset = static_cast<price_t>(st.random.below(11)); // 0..10
  o.price = o.side == side::buy ? mid - 8 + offset : mid + 8 - offset;
  return x;
}

/// Learns from a reply which own orders rest now and which left the book
/// (self-trade prevention cancels the requester's own resting orders).
void track(sender_state& st, const actors::order_reply& r) {
  bool rests = false;
  for (const auto& ev : r.events) {
    if (ev.owner != st.cfg.owner)
      continue;
    if (ev.id != r.id) {
      if (ev.kind == event_kind::cancelled || ev.kind == event_kind::done)
        st.gone(ev.id);
      continue;
    }
    if (ev.kind == event_kind::accepted)
      rests = true;
    else if (ev.kind == event_kind::done || ev.kind == event_kind::cancelled ||
             ev.kind == event_kind::rejected)
      rests = false;
  }
  if (rests)
    st.rests(r.id);
}

/// Learns from a report which own orders left the book (filled as maker).
void track(sender_state& st, const actors::execution_report& x) {
  for (const auto& ev : x.events)
    if (ev.kind == event_kind::done || ev.kind == event_kind::cancelled)
      if (ev.owner == st.cfg.owner)
        st.gone(ev.id);
}

void send_more(sender_ptr self);

/// Keeps a request for the replay; call in the order client ids are taken.
void record(sender_state& st, bool is_cancel, const order_request& order) {
  if (st.cfg.record)
    st.cfg.result->sent.push_back(sent_request{is_cancel, order});
}

/// Notes the id the shard gave a new order (a cancel's reply repeats the id
/// it was sent with).
void record_reply(sender_state& st, const actors::order_reply& r) {
  if (st.cfg.record)
    st.cfg.result->sent[r.client_order_id - 1].order.id = r.id;
}

void answered(sender_ptr self, std::uint64_t orders, clock_type::time_point sent_at) {
  auto& st = self->state;
  st.cfg.result->rtt_ns.push_back(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - sent_at)
          .count());
  st.cfg.result->answered += orders;
  st.outstanding -= orders;
  send_more(self);
}

void send_cancel(sender_ptr self, order_id id) {
  auto& st = self->state;
  ++st.sent;
  ++st.outstanding;
  auto client_id = st.next_client_id++;
  st.stamp(client_id);
  order_request cancelled;
  cancelled.id = id;
  cancelled.owner = st.cfg.owner;
  cancelled.symbol = load_symbol;
  record(st, true, cancelled);
  self->send(st.cfg.shard,
             actors::cancel_order{client_id, st.cfg.owner, {id, load_symbol}});
}

void send_single(sender_ptr self) {
  auto& st = self->state;
  auto action = st.random.below(100);
  if (action < cancel_pct) {
    if (auto id = st.take_any(); id != 0) {
      send_cancel(self, id);
      return;
    }
  }
  ++st.sent;
  ++st.outstanding;
  auto x = make_order(st, action);
  record(st, false, x.order);
  st.stamp(x.client_order_id);
  self->send(st.cfg.shard, std::move(x));
}

/// A batch of new orders; cancels drawn meanwhile go out on their own (the
/// batch message carries new orders only).
void send_batch(sender_ptr self) {
  auto& st = self->state;
  actors::new_order_batch b;
  b.orders.reserve(st.cfg.batch);
  while (b.orders.size() < st.cfg.batch && st.sent < st.cfg.orders) {
    auto action = st.random.below(100);
    if (action < cancel_pct) {
      if (auto id = st.take_any(); id != 0) {
        send_cancel(self, id);
        continue;
      }
    }
    b.orders.push_back(make_order(st, action));
    record(st, false, b.orders.back().order);
    ++st.sent;
  }
  if (b.orders.empty())
    return;
  st.outstanding += b.orders.size();
  st.stamp(b.orders.front().client_order_id);
  self->send(st.cfg.shard, std::move(b));
}

void send_more(sender_ptr self) {
  auto& st = self->state;
  const auto window = st.cfg.in_flight;
  const auto batch = st.cfg.batch;
  while (st.sent < st.cfg.orders) {
    if (batch == 1) {
      if (st.outstanding >= window)
        return;
      send_single(self);
    } else {
      if (st.outstanding > 0 && st.outstanding + batch > window)
        return;
      send_batch(self);
    }
  }
  // Done, but stay alive (and registered) until every sender is: reports
  // for this owner's resting orders keep coming while others trade.
  if (st.outstanding == 0 && !st.reported_done) {
    st.reported_done = true;
    self->send(st.cfg.coordinator, done_atom::value);
  }
}

caf::behavior load_sender(sender_ptr self, sender_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.random = rng{st.cfg.seed};
  st.cfg.result->rtt_ns.reserve(st.cfg.orders);
  if (st.cfg.record)
    st.cfg.result->sent.reserve(st.cfg.orders);
  std::size_t slots = 1;
  while (slots < 2 * std::size_t{st.cfg.in_flight})
    slots *= 2;
  st.sent_at.resize(slots);
  st.sent_at_mask = slots - 1;
  // Maker fills come back as reports, as they would to a trader.
  self->send(st.cfg.shard,
             actors::register_owner{st.cfg.owner,
                                    caf::actor_cast<actors::order_listener_actor>(self)});
  send_more(self);
  // Replies arrive as ordinary messages (the shard's handler result goes back
  // to the sender of a plain send) and are matched by client order id, as a
  // trader would. request().then() would cost a search of CAF's list of
  // pending responses per reply, which grows with the window.
  return {
      [self](const actors::order_reply& r) {
        record_reply(self->state, r);
        track(self->state, r);
        answered(self, 1, self->state.stamped(r.client_order_id));
      },
      [self](const actors::order_reply_batch& r) {
        for (const auto& reply : r.replies) {
          record_reply(self->state, reply);
          track(self->state, reply);
        }
        if (!r.replies.empty())
          answered(self, r.replies.size(),
                   self->state.stamped(r.replies.front().client_order_id));
      },
      [self](const actors::execution_report& x) { track(self->state, x); },
  };
}

void validate(const shard_load_params& p) {
  auto fail = [](const char* what) { throw std::invalid_argument(what); };
  if (p.senders == 0)
    fail("shard load: senders must be at least 1");
  if (p.orders_per_sender == 0)
    fail("shard load: orders_per_sender must be at least 1");
  if (p.threads == 0)
    fail("shard load: threads must be at least 1");
  if (p.policy != "stealing" && p.policy != "sharing")
    fail("shard load: policy must be \"stealing\" or \"sharing\"");
  if (p.in_flight == 0)
    fail("shard load: in_flight must be at least 1");
  if (p.batch == 0)
    fail("shard load: batch must be at least 1");
  if (p.batch > p.in_flight)
    fail("shard load: batch must not exceed in_flight");
}

double percentile_us(std::vector<std::int64_t>& xs, double q) {
  if (xs.empty())
    return 0;
  auto k = static_cast<std::size_t>(q * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(k), xs.end());
  return static_cast<double>(xs[k]) / 1000.0;
}

// -- the direct replay -----------------------------------------------------------

symbol_table load_symbols() {
  symbol_table symbols;
  symbols.add({"LOAD", 1, 1, 1'000'000});
  return symbols;
}

constexpr std::size_t expected_orders = 4096;

/// Every sender's requests in the order the shard handled them, as far as the
/// replies tell: new orders by their shard-assigned ids (the shard numbers
/// them as it handles them). A sender's messages are handled in the order
/// sent, so each cancel was handled between its sender's previous and next
/// new order; it goes just before the next (after the last, at the end).
std::vector<sent_request> shard_order(const std::vector<sender_result>& results) {
  struct new_at {
    order_id id;
    std::uint32_t sender;
    std::size_t index;
  };
  std::vector<new_at> news;
  std::size_t total = 0;
  for (std::uint32_t s = 0; s < results.size(); ++s) {
    total += results[s].sent.size();
    for (std::size_t i = 0; i < results[s].sent.size(); ++i)
      if (!results[s].sent[i].is_cancel)
        news.push_back({results[s].sent[i].order.id, s, i});
  }
  std::sort(news.begin(), news.end(),
            [](const new_at& a, const new_at& b) { return a.id < b.id; });
  std::vector<sent_request> out;
  out.reserve(total);
  std::vector<std::size_t> next(results.size(), 0);
  auto flush = [&](std::uint32_t s, std::size_t upto) {
    for (; next[s] < upto; ++next[s])
      out.push_back(results[s].sent[next[s]]);
  };
  for (const auto& n : news)
    flush(n.sender, n.index + 1);
  for (std::uint32_t s = 0; s < results.size(); ++s)
    flush(s, results[s].sent.size());
  return out;
}

/// Applies `stream` to a fresh matching_engine in this thread and returns the
/// seconds it took (only that is timed) and the trades.
std::pair<double, std::uint64_t> replay(const std::vector<sent_request>& stream) {
  const auto symbols = load_symbols();
  matching_engine engine{symbols, {load_symbol}, expected_orders};
  std::vector<book_event> events;
  events.reserve(256);
  const auto start = clock_type::now();
  for (const auto& r : stream) {
    events.clear();
    if (r.is_cancel)
      engine.cancel(cancel_request{r.order.id, load_symbol}, r.order.owner, events);
    else
      engine.submit(r.order, events);
  }
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  return {seconds, engine.book(load_symbol)->stats().trades};
}

/// Self-trade prevention cancels in one more, untimed replay of `stream`: the
/// work of a run depends on how the senders' messages interleaved, and this
/// shows how (see docs/BENCHMARKS.md).
std::uint64_t self_trade_cancels(const std::vector<sent_request>& stream) {
  const auto symbols = load_symbols();
  matching_engine engine{symbols, {load_symbol}, expected_orders};
  std::vector<book_event> events;
  events.reserve(256);
  std::uint64_t n = 0;
  for (const auto& r : stream) {
    events.clear();
    if (r.is_cancel)
      engine.cancel(cancel_request{r.order.id, load_symbol}, r.order.owner, events);
    else
      engine.submit(r.order, events);
    for (const auto& ev : events)
      n += ev.kind == event_kind::cancelled && ev.cancel == cancel_reason::self_trade;
  }
  return n;
}

/// Replays took a few tens of milliseconds, short enough for one preemption
/// on a shared machine to matter: the median of this many is reported.
constexpr int direct_replays = 3;

void run_direct(const std::vector<sent_request>& stream, shard_load_result& out) {
  std::vector<double> seconds;
  for (int i = 0; i < direct_replays; ++i) {
    const auto [s, trades] = replay(stream);
    seconds.push_back(s);
    out.direct_trades = trades; // the same every time: the replay is deterministic
  }
  out.direct_self_trade_cancels = self_trade_cancels(stream);
  std::sort(seconds.begin(), seconds.end());
  out.direct_seconds = seconds[seconds.size() / 2];
  out.direct_run = true;
  out.direct_orders = stream.size();
  out.direct_orders_per_sec =
      out.direct_seconds > 0 ? static_cast<double>(stream.size()) / out.direct_seconds
                             : 0;
  out.ratio =
      out.direct_orders_per_sec > 0 ? out.orders_per_sec / out.direct_orders_per_sec : 0;
}

} // namespace

shard_load_result run_shard_load(const shard_load_params& p) {
  validate(p);
  caf::actor_system_config cfg;
  actors::add_message_types(cfg);
  cfg.set("scheduler.max-threads", p.threads);
  if (p.policy == "stealing")
    cfg.set("scheduler.policy", caf::atom("stealing"));
  else
    cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};

  auto shard =
      spawn_exchange_shard(sys, {0, load_symbols(), {load_symbol}, expected_orders});

  std::vector<sender_result> results(p.senders);
  std::optional<std::string> failure;
  shard_load_result out;
  out.senders = p.senders;
  out.batch = p.batch;
  {
    caf::scoped_actor self{sys};
    std::vector<caf::actor> senders;
    auto start = clock_type::now();
    for (std::uint32_t i = 0; i < p.senders; ++i)
      senders.push_back(sys.spawn(
          load_sender,
          sender_config{shard, self, owner_id{i} + 1, p.orders_per_sender, p.in_flight,
                        p.batch, p.seed * 1'000'003 + i, p.direct, &results[i]}));
    for (std::uint32_t i = 0; i < p.senders; ++i)
      self->receive([](done_atom) {});
    out.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    self->request(shard, caf::infinite, actors::stats_request{})
        .receive(
            [&](const actors::shard_stats& s) {
              for (const auto& sym : s.symbols)
                out.trades += sym.trades;
            },
            [&](const caf::error& e) { failure = sys.render(e); });
    self->send_exit(shard, caf::exit_reason::user_shutdown);
    for (const auto& sender : senders)
      self->send_exit(sender, caf::exit_reason::user_shutdown);
  }
  // Thrown only now that every actor was told to quit: the actor system's
  // destructor waits for them.
  if (failure)
    throw std::runtime_error("shard load: stats request failed: " + *failure);

  std::vector<std::int64_t> rtt;
  for (auto& r : results) {
    out.orders += r.answered;
    rtt.insert(rtt.end(), r.rtt_ns.begin(), r.rtt_ns.end());
  }
  out.orders_per_sec =
      out.seconds > 0 ? static_cast<double>(out.orders) / out.seconds : 0;
  out.rtt_p50_us = percentile_us(rtt, 0.50);
  out.rtt_p99_us = percentile_us(rtt, 0.99);
  if (p.direct)
    run_direct(shard_order(results), out);
  return out;
}

std::string to_string(const shard_load_result& r) {
  char buf[512];
  const int n = std::snprintf(
      buf, sizeof buf,
      "shard load: %llu orders from %u senders (batch %u) in %.3f s = %.0f orders/s; "
      "round trip p50 %.1f us, p99 %.1f us; %llu trades",
      static_cast<unsigned long long>(r.orders), r.senders, r.batch, r.seconds,
      r.orders_per_sec, r.rtt_p50_us, r.rtt_p99_us,
      static_cast<unsigned long long>(r.trades));
  if (r.direct_run && n > 0 && static_cast<std::size_t>(n) < sizeof buf)
    std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n),
                  "\n  direct: the same %llu requests into a matching_engine, one "
                  "thread, no actors: %.3f s (median of %d) = %.0f orders/s; %llu "
                  "trades%s, %llu self-trade cancels\n"
                  "  ratio actor / direct: %.2f",
                  static_cast<unsigned long long>(r.direct_orders), r.direct_seconds,
                  direct_replays, r.direct_orders_per_sec,
                  static_cast<unsigned long long>(r.direct_trades),
                  r.direct_trades == r.trades ? " (same as the shard)"
                                              : " (differs from the shard's)",
                  static_cast<unsigned long long>(r.direct_self_trade_cancels), r.ratio);
  return buf;
}

} // namespace marketsim::bench
