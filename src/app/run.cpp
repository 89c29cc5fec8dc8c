#include "app/run.hpp"

#include "actors/interfaces.hpp"
#include "actors/vocabulary.hpp"
#include "market/exchange_shard.hpp"
#include "market/shard_router.hpp"
#include "strategies/zi_trader.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace marketsim::app {

double run_result::orders_per_second() const {
  auto secs = std::chrono::duration<double>(elapsed).count();
  return secs > 0 ? static_cast<double>(traders.orders) / secs : 0.0;
}

namespace {

// -- the market-data recorder ----------------------------------------------------

/// Subscribed to every shard: keeps the trade prints (the tape) and reduces
/// the L1 updates to spread statistics.
using md_recorder_actor = actors::md_listener_actor::extend<
    caf::replies_to<actors::recording_request>::with<actors::md_recording>>;

struct recorder_state {
  actors::md_recording data;                     ///< spreads indexed by symbol id
  std::vector<actors::timestamp_ns> last_update; ///< by symbol id

  static inline const char* name = "md_recorder";
};

bool two_sided(const market::l1_quote& q) {
  return q.bid_qty > 0 && q.ask_qty > 0;
}

/// Adds the time since the symbol's last update, at its last quote, to the
/// spread statistics.
void close_interval(recorder_state& st, market::symbol_id s, actors::timestamp_ns now) {
  auto& rec = st.data.spreads[s];
  if (rec.l1_updates == 0 || !two_sided(rec.last) || now <= st.last_update[s])
    return;
  auto dt = now - st.last_update[s];
  rec.two_sided_ns += dt;
  rec.spread_ns_sum += static_cast<double>(rec.last.ask_price - rec.last.bid_price) *
                       static_cast<double>(dt);
}

md_recorder_actor::behavior_type
md_recorder(md_recorder_actor::stateful_pointer<recorder_state> self,
            std::size_t symbol_count) {
  auto& st = self->state;
  st.data.spreads.resize(symbol_count);
  for (std::size_t i = 0; i < symbol_count; ++i)
    st.data.spreads[i].symbol = static_cast<market::symbol_id>(i);
  st.last_update.resize(symbol_count);
  return {
      [self](const actors::trade_print& x) { self->state.data.trades.push_back(x); },
      [self](const actors::l1_update& x) {
        auto& st = self->state;
        if (x.symbol >= st.data.spreads.size())
          return;
        close_interval(st, x.symbol, x.time);
        auto& rec = st.data.spreads[x.symbol];
        rec.last = x.quote;
        ++rec.l1_updates;
        st.last_update[x.symbol] = x.time;
      },
      [](const actors::l2_snapshot&) {
        // Not subscribed to snapshots.
      },
      [self](actors::recording_request) {
        auto& st = self->state;
        auto now = self->clock().now().time_since_epoch();
        auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
        for (std::size_t s = 0; s < st.data.spreads.size(); ++s) {
          close_interval(st, static_cast<market::symbol_id>(s), now_ns);
          st.last_update[s] = std::max(st.last_update[s], now_ns);
        }
        return st.data;
      },
  };
}

// -- the run -------------------------------------------------------------------------

/// How long the end-of-run questions may take before the run is declared
/// broken (they are answered in microseconds when all is well).
constexpr auto answer_timeout = std::chrono::seconds{30};

/// Sends every actor an exit message when the run ends, also by an exception:
/// the actor_system destructor waits for all of them.
struct exit_on_scope_end {
  std::vector<caf::actor> actors;
  ~exit_on_scope_end() {
    for (const auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

/// One blocking question; the end of a run is no hot path.
template <class Result, class Handle, class Message>
Result ask(caf::scoped_actor& self, const Handle& dest, Message msg, const char* what) {
  Result result;
  caf::error failure;
  self->request(dest, answer_timeout, std::move(msg))
      .receive([&](Result& x) { result = std::move(x); },
               [&](caf::error& e) { failure = std::move(e); });
  if (failure)
    throw std::runtime_error(std::string{"no answer to "} + what + ": " +
                             self->system().render(failure));
  return result;
}

std::uint32_t thread_count(const scenario& sc) {
  if (sc.scheduler.threads > 0)
    return sc.scheduler.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

market::symbol_table make_symbol_table(const scenario& sc) {
  market::symbol_table table;
  for (const auto& s : sc.symbols)
    table.add({s.name, s.tick_size, s.lot_size, s.max_order_qty});
  return table;
}

strategies::zi_params make_zi_params(const scenario& sc, const trader_group_config& g,
                                     std::uint64_t index) {
  strategies::zi_params p;
  p.seed = sc.seed;
  p.index = index;
  p.owner = index + 1;
  for (const auto& name : g.symbols) {
    auto id = sc.symbol_index(name);
    const auto& s = sc.symbols[id];
    p.symbols.push_back(
        {static_cast<market::symbol_id>(id), s.tick_size, s.lot_size, s.reference_price});
  }
  p.interval = g.interval;
  p.jitter = g.jitter;
  p.price_band_ticks = g.price_band_ticks;
  p.market_order_share = g.market_order_share;
  p.cancel_share = g.cancel_share;
  p.max_quantity_lots = g.max_quantity_lots;
  p.max_resting = g.max_resting;
  return p;
}

void add(trader_totals& total, const actors::trader_stats& s) {
  ++total.traders;
  total.orders += s.orders;
  total.cancels += s.cancels;
  total.accepted += s.accepted;
  total.rejects += s.rejects;
  total.fills += s.fills;
  total.filled_qty += s.filled_qty;
  total.resting += s.resting;
}

std::vector<trade_record> make_tape(const scenario& sc,
                                    std::vector<actors::trade_print> prints,
                                    std::int64_t start_ns) {
  // Shards publish independently: order by time; within a symbol the shard
  // sequence keeps the matching order.
  std::sort(prints.begin(), prints.end(), [](const auto& a, const auto& b) {
    return std::tie(a.time, a.symbol, a.seq) < std::tie(b.time, b.symbol, b.seq);
  });
  std::vector<trade_record> tape;
  tape.reserve(prints.size());
  std::uint64_t seq = 0;
  for (const auto& p : prints)
    tape.push_back({++seq, p.time - start_ns, sc.symbols.at(p.symbol).name, p.price,
                    p.qty, p.aggressor, p.maker, p.taker, p.maker_owner, p.taker_owner});
  return tape;
}

void fill_symbols(run_result& result, const scenario& sc,
                  const std::vector<actors::shard_stats>& stats,
                  const actors::md_recording& recording) {
  result.symbols.resize(sc.symbols.size());
  for (std::size_t i = 0; i < sc.symbols.size(); ++i)
    result.symbols[i].name = sc.symbols[i].name;
  for (const auto& shard : stats) {
    result.shard_requests += shard.requests;
    for (const auto& s : shard.symbols) {
      auto& r = result.symbols.at(s.symbol);
      r.orders = s.orders;
      r.rejects = s.rejects;
      r.trades = s.trades;
      r.volume = s.volume;
      r.vwap = s.vwap;
      r.last_price = s.last_price;
      if (two_sided(s.quote))
        r.final_spread = s.quote.ask_price - s.quote.bid_price;
    }
  }
  for (const auto& rec : recording.spreads) {
    auto& r = result.symbols.at(rec.symbol);
    r.l1_updates = rec.l1_updates;
    if (rec.two_sided_ns > 0)
      r.average_spread = rec.spread_ns_sum / static_cast<double>(rec.two_sided_ns);
  }
}

} // namespace

run_result run_scenario(const scenario& sc) {
  run_result result;
  result.name = sc.name;
  result.seed = sc.seed;
  result.threads = thread_count(sc);
  result.policy = sc.scheduler.policy;
  result.shards = sc.shards.size();

  caf::actor_system_config cfg;
  actors::add_message_types(cfg);
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(result.threads));
  cfg.set("scheduler.policy", sc.scheduler.policy == scheduler_policy::sharing
                                  ? caf::atom("sharing")
                                  : caf::atom("stealing"));
  caf::actor_system sys{cfg};
  exit_on_scope_end quit; // declared after sys: runs before its destructor
  {
    caf::scoped_actor self{sys};
    auto table = make_symbol_table(sc);

    // Shards, and the router that the traders share (a copy each).
    market::shard_router router;
    std::vector<actors::exchange_shard_actor> shards;
    for (std::size_t i = 0; i < sc.shards.size(); ++i) {
      market::shard_params sp;
      sp.index = static_cast<std::uint32_t>(i);
      sp.symbols = table;
      for (const auto& name : sc.shards[i].symbols)
        sp.traded.push_back(static_cast<market::symbol_id>(sc.symbol_index(name)));
      auto traded = sp.traded;
      shards.push_back(market::spawn_exchange_shard(sys, std::move(sp)));
      quit.actors.push_back(caf::actor_cast<caf::actor>(shards.back()));
      router.add(shards.back(), traded);
    }

    // The recorder subscribes before any trader exists, so it sees every trade.
    auto recorder = sys.spawn(md_recorder, sc.symbols.size());
    quit.actors.push_back(caf::actor_cast<caf::actor>(recorder));
    for (const auto& shard : shards)
      self->send(shard, actors::md_subscribe{recorder, {}, true, true, 0, 0});

    auto start = std::chrono::steady_clock::now();
    auto start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        sys.clock().now().time_since_epoch())
                        .count();
    std::vector<strategies::zi_trader_actor> traders;
    std::uint64_t index = 0;
    for (const auto& group : sc.traders)
      for (std::uint32_t i = 0; i < group.count; ++i) {
        traders.push_back(
            strategies::spawn_zi_trader(sys, make_zi_params(sc, group, index++), router));
        quit.actors.push_back(caf::actor_cast<caf::actor>(traders.back()));
      }

    std::this_thread::sleep_for(sc.duration);

    // Settling, by message order alone: once a trader has answered after
    // trader_stop, its orders are in the shards' mailboxes; once a shard has
    // answered a stats_request after that, it has handled them and sent the
    // replies, reports and market data, which are then in the mailboxes of
    // the traders and of the recorder, ahead of the questions that follow.
    result.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - start);
    for (const auto& t : traders)
      self->send(t, actors::trader_stop{});
    for (const auto& t : traders)
      ask<actors::trader_stats>(self, t, actors::trader_stats_request{}, "trader_stop");
    std::vector<actors::shard_stats> stats;
    for (const auto& shard : shards)
      stats.push_back(ask<actors::shard_stats>(self, shard, actors::stats_request{},
                                               "stats_request"));
    for (const auto& t : traders)
      add(result.traders,
          ask<actors::trader_stats>(self, t, actors::trader_stats_request{},
                                    "trader_stats_request"));
    auto recording = ask<actors::md_recording>(
        self, recorder, actors::recording_request{}, "recording_request");
    fill_symbols(result, sc, stats, recording);
    result.tape = make_tape(sc, std::move(recording.trades), start_ns);
  } // the scoped actor goes first: it holds a reference to its last sender
  return result;
}

} // namespace marketsim::app
