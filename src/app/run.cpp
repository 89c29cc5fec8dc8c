#include "app/run.hpp"

#include "actors/interfaces.hpp"
#include "actors/random.hpp"
#include "actors/runtime.hpp"
#include "actors/runtime_ask.hpp"
#include "market/account.hpp"
#include "market/exchange_shard.hpp"
#include "market/fundamental.hpp"
#include "market/fundamental_oracle.hpp"
#include "market/shard_router.hpp"
#include "strategies/registry.hpp"
#include "strategies/signal_hub.hpp"
#include "strategies/trader.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <thread>

namespace marketsim::app {

double run_result::events_per_second() const {
  auto secs = std::chrono::duration<double>(elapsed).count();
  return secs > 0 ? static_cast<double>(events) / secs : 0.0;
}

double run_result::trades_per_second() const {
  auto secs = std::chrono::duration<double>(elapsed).count();
  return secs > 0 ? static_cast<double>(tape.size()) / secs : 0.0;
}

std::uint64_t run_result::orders_sent() const {
  std::uint64_t n = 0;
  for (const auto& a : agents)
    n += a.orders;
  return n;
}

double run_result::orders_per_second() const {
  auto secs = std::chrono::duration<double>(elapsed).count();
  return secs > 0 ? static_cast<double>(orders_sent()) / secs : 0.0;
}

namespace {

using namespace std::chrono_literals;

// -- the market-data recorder ----------------------------------------------------

/// The recorder's own timer: take an L1 sample of every symbol.
using sample_atom = caf::atom_constant<caf::atom("l1sample")>;

/// The best bid/ask history of one symbol, reduced to what a summary needs.
struct spread_record {
  market::symbol_id symbol = 0;
  std::uint64_t l1_updates = 0;
  /// Time during which both sides were quoted, and the integral of the
  /// spread over that time (price units x ns): their ratio is the
  /// time-weighted average spread.
  std::int64_t two_sided_ns = 0;
  double spread_ns_sum = 0;
  market::l1_quote last; ///< the last quote received
};

/// What the recorder collects. It lives outside the actor and is read by the
/// run once the recorder has terminated (virtual time: on the same thread).
struct recording {
  std::vector<actors::trade_print> trades;    ///< in order of arrival
  std::vector<spread_record> spreads; ///< by symbol id
  std::vector<l1_sample> samples;
};

/// Subscribed to every shard: keeps the trade prints (the tape), samples the
/// best bid and offer every `period` of clock time, and reduces the L1
/// updates to spread statistics. Answers get_atom with ok_atom once it has
/// handled everything that arrived before.
using recorder_actor =
    actors::md_listener_actor::extend<caf::reacts_to<sample_atom>,
                                      caf::replies_to<caf::get_atom>::with<caf::ok_atom>>;

struct recorder_state {
  std::shared_ptr<recording> data;
  std::vector<actors::timestamp_ns> last_update; ///< by symbol id
  std::int64_t start_ns = 0;                     ///< the run's start on the actor clock
  std::int64_t period_ns = 0;
  std::int64_t next_sample = 0; ///< since the start

  static inline const char* name = "md_recorder";
};

bool two_sided(const market::l1_quote& q) {
  return q.bid_qty > 0 && q.ask_qty > 0;
}

std::int64_t clock_ns(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
      .count();
}

/// Adds the time since the symbol's last update, at its last quote, to the
/// spread statistics.
void close_interval(recorder_state& st, market::symbol_id s, actors::timestamp_ns now) {
  auto& rec = st.data->spreads[s];
  if (rec.l1_updates == 0 || !two_sided(rec.last) || now <= st.last_update[s])
    return;
  auto dt = now - st.last_update[s];
  rec.two_sided_ns += dt;
  rec.spread_ns_sum += static_cast<double>(rec.last.ask_price - rec.last.bid_price) *
                       static_cast<double>(dt);
}

/// Sets the timer of the next sample, aimed at an exact multiple of the
/// period since the start so that real-time samples do not drift. It samples
/// until it is stopped; the run drops samples after its end.
void schedule_sample(recorder_actor::stateful_pointer<recorder_state> self) {
  auto& st = self->state;
  st.next_sample += st.period_ns;
  auto now = clock_ns(self->clock().now()) - st.start_ns;
  auto delay = std::max<std::int64_t>(st.next_sample - now, 0);
  self->delayed_send(self, std::chrono::nanoseconds{delay}, sample_atom::value);
}

struct recorder_config {
  std::size_t symbol_count = 0;
  std::int64_t start_ns = 0;
  std::int64_t period_ns = 0;
};

recorder_actor::behavior_type
md_recorder(recorder_actor::stateful_pointer<recorder_state> self, recorder_config cfg,
            std::shared_ptr<recording> data) {
  auto& st = self->state;
  st.data = std::move(data);
  st.data->spreads.resize(cfg.symbol_count);
  for (std::size_t i = 0; i < cfg.symbol_count; ++i)
    st.data->spreads[i].symbol = static_cast<market::symbol_id>(i);
  st.last_update.resize(cfg.symbol_count);
  st.start_ns = cfg.start_ns;
  st.period_ns = cfg.period_ns;
  schedule_sample(self);
  return {
      [self](const actors::trade_print& x) { self->state.data->trades.push_back(x); },
      [self](const actors::l1_update& x) {
        auto& st = self->state;
        if (x.symbol >= st.data->spreads.size())
          return;
        close_interval(st, x.symbol, x.time);
        auto& rec = st.data->spreads[x.symbol];
        rec.last = x.quote;
        ++rec.l1_updates;
        st.last_update[x.symbol] = x.time;
      },
      [](const actors::l2_snapshot&) {
        // Not subscribed to snapshots.
      },
      [self](sample_atom) {
        auto& st = self->state;
        for (const auto& rec : st.data->spreads) {
          const auto& q = rec.last;
          st.data->samples.push_back({st.next_sample, rec.symbol, q.bid_price, q.bid_qty,
                                      q.ask_price, q.ask_qty});
        }
        schedule_sample(self);
      },
      [self](caf::get_atom) {
        // The end of the run: close the spread intervals at the current time.
        auto& st = self->state;
        auto now = clock_ns(self->clock().now());
        for (std::size_t s = 0; s < st.data->spreads.size(); ++s) {
          close_interval(st, static_cast<market::symbol_id>(s), now);
          st.last_update[s] = std::max(st.last_update[s], now);
        }
        return caf::ok_atom::value;
      },
  };
}

// -- collecting agent reports ------------------------------------------------------

/// The reports of every agent, gathered by one collector actor.
struct report_collection {
  std::vector<actors::agent_report> reports; ///< by agent index
  std::vector<bool> arrived;
  std::atomic<std::size_t> pending{0};
};

/// Sends every trader an agent_report_request with a plain send, not a
/// request: CAF 0.17 keeps an actor's pending requests in a flat map that it
/// searches linearly, so one actor awaiting a million answers is quadratic.
/// A handler's result for a plain message comes back to the sender as an
/// ordinary message, which the collector files by the agent's index.
void report_collector(caf::event_based_actor* self,
                      std::vector<strategies::trader_actor> traders,
                      std::shared_ptr<report_collection> out) {
  for (const auto& t : traders)
    self->send(t, actors::agent_report_request{});
  self->become([out](actors::agent_report& r) {
    if (r.index >= out->reports.size() || out->arrived[r.index])
      return; // not one of ours, or a second answer: a bug, but no reason to crash
    out->arrived[r.index] = true;
    out->reports[r.index] = std::move(r);
    out->pending.fetch_sub(1, std::memory_order_release);
  });
}

/// Every trader's agent_report, in agent order. Throws std::runtime_error if
/// some do not answer (in real time within `timeout`).
std::vector<actors::agent_report>
collect_reports(actors::runtime& rt, const std::vector<strategies::trader_actor>& traders,
                std::chrono::nanoseconds timeout = std::chrono::seconds{60}) {
  auto out = std::make_shared<report_collection>();
  out->reports.resize(traders.size());
  out->arrived.resize(traders.size());
  out->pending.store(traders.size());
  auto collector = rt.system().spawn(report_collector, traders, out);
  auto done = [&out] { return out->pending.load(std::memory_order_acquire) == 0; };
  auto complete = rt.wait_until(done, timeout);
  // Once the collector is gone, no late answer can touch the collection.
  rt.shutdown({collector});
  if (!complete)
    throw std::runtime_error("no agent_report from " +
                             std::to_string(out->pending.load()) + " of " +
                             std::to_string(traders.size()) + " agents");
  return std::move(out->reports);
}

// -- building the market ---------------------------------------------------------

actors::runtime_params runtime_params_of(const scenario& sc) {
  actors::runtime_params p;
  p.mode = sc.clock == clock_mode::virtual_time ? actors::clock_mode::virtual_time
                                                : actors::clock_mode::real_time;
  p.threads = sc.scheduler.threads;
  p.policy = sc.scheduler.policy == scheduler_policy::stealing
                 ? actors::scheduler_policy::stealing
                 : actors::scheduler_policy::sharing;
  return p;
}

market::symbol_table make_symbol_table(const scenario& sc) {
  market::symbol_table table;
  for (const auto& s : sc.symbols)
    table.add({s.name, s.tick_size, s.lot_size, s.max_order_qty});
  return table;
}

/// Quits every actor of the run when it ends, also by an exception: actors
/// that hold each other's handles would otherwise keep the actor system
/// from shutting down.
struct quit_on_scope_end {
  actors::runtime& rt;
  std::vector<caf::actor> actors;
  ~quit_on_scope_end() {
    try {
      rt.shutdown(actors, std::chrono::seconds{30});
    } catch (...) {
      // Nothing more can be done; the runtime's destructor reports stragglers.
    }
  }
};

/// The answers of ask_all, or an exception naming the question.
template <class Reply>
std::vector<Reply> all_answers(std::vector<caf::expected<Reply>> answers,
                               actors::runtime& rt, const char* what) {
  std::vector<Reply> result;
  result.reserve(answers.size());
  for (auto& a : answers) {
    if (!a)
      throw std::runtime_error(std::string{"no answer to "} + what + ": " +
                               rt.system().render(a.error()));
    result.push_back(std::move(*a));
  }
  return result;
}

// -- results ---------------------------------------------------------------------

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
                  const std::vector<actors::shard_stats>& stats, const recording& rec) {
  result.symbols.resize(sc.symbols.size());
  for (std::size_t i = 0; i < sc.symbols.size(); ++i) {
    result.symbols[i].name = sc.symbols[i].name;
    result.symbols[i].mark = sc.symbols[i].reference_price;
  }
  for (const auto& shard : stats) {
    result.shard_requests += shard.requests;
    result.unroutable_reports += shard.unroutable_reports;
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
      // The mark: the last trade, else the mid, else the reference price.
      if (s.trades > 0)
        r.mark = s.last_price;
      else if (two_sided(s.quote))
        r.mark = (s.quote.bid_price + s.quote.ask_price) / 2;
    }
  }
  for (const auto& spread : rec.spreads) {
    auto& r = result.symbols.at(spread.symbol);
    r.l1_updates = spread.l1_updates;
    if (spread.two_sided_ns > 0)
      r.average_spread = spread.spread_ns_sum / static_cast<double>(spread.two_sided_ns);
  }
}

agent_record make_agent_record(const actors::agent_report& r,
                               const std::vector<symbol_result>& symbols) {
  agent_record a;
  a.index = r.index;
  a.owner = r.owner;
  a.strategy = r.strategy;
  a.cash = r.cash;
  a.realised = r.realised;
  a.fees = r.fees;
  __int128 value = 0;
  __int128 unrealised = 0;
  for (const auto& p : r.positions) {
    a.positions.emplace_back(p.symbol, p.qty);
    auto at_mark = static_cast<__int128>(p.qty) * symbols.at(p.symbol).mark;
    value += at_mark;
    unrealised += at_mark - p.basis;
  }
  a.unrealised = static_cast<std::int64_t>(unrealised);
  a.equity = static_cast<std::int64_t>(r.cash + value);
  a.pnl = a.realised + a.unrealised - a.fees;
  a.orders = r.orders_sent;
  a.fills = r.fills;
  a.rejects = r.pretrade_rejects + r.exchange_rejects;
  a.failed = r.failed;
  a.error = r.error;
  return a;
}

/// The progress line: simulated time, events and their rate, on one
/// rewritten line.
actors::progress_callback progress_printer(std::ostream& out, const scenario& sc) {
  auto total = std::chrono::duration<double>(sc.duration).count();
  return [&out, total](std::int64_t sim_ns, std::uint64_t events,
                       std::chrono::nanoseconds wall) {
    auto secs = std::chrono::duration<double>(wall).count();
    auto sim = static_cast<double>(sim_ns) / 1e9;
    if (events > 0)
      out << fmt::format("\r  sim {:.2f} s / {:.2f} s ({:.0f}%), {} events, {:.0f} "
                         "events/s   ",
                         sim, total, 100.0 * sim / total, events,
                         secs > 0 ? static_cast<double>(events) / secs : 0.0);
    else
      out << fmt::format("\r  {:.2f} s / {:.2f} s ({:.0f}%)   ", sim, total,
                         100.0 * sim / total);
    out.flush();
  };
}

} // namespace

run_result run_scenario(const scenario& sc, const strategies::strategy_registry& registry,
                        const run_options& options) {
  run_result result;
  result.name = sc.name;
  result.file = sc.file;
  result.clock = sc.clock;
  result.seed = sc.seed;
  result.shards = sc.shards.size();
  result.fundamentals = sc.has_fundamentals;
  result.l1_sample_period = sc.l1_sample;
  for (const auto& g : sc.agents)
    result.groups.emplace_back(g.strategy, g.count);

  // Declared before the runtime: the traders refer to it until they are gone.
  const auto table = make_symbol_table(sc);
  actors::runtime rt{runtime_params_of(sc)};
  auto& sys = rt.system();
  result.threads = sc.clock == clock_mode::virtual_time
                       ? 1
                       : (sc.scheduler.threads > 0
                              ? sc.scheduler.threads
                              : std::max(1u, std::thread::hardware_concurrency()));
  result.policy = sc.scheduler.policy;
  quit_on_scope_end quit{rt, {}};
  const auto start_ns = clock_ns(rt.start_time());

  // Shards, and the router that every trader shares.
  auto router = std::make_shared<market::shard_router>();
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
    router->add(shards.back(), traded);
  }
  std::shared_ptr<const market::shard_router> shared_router = router;

  // The recorder subscribes before any agent exists, so it sees every trade.
  auto data = std::make_shared<recording>();
  recorder_config rcfg{sc.symbols.size(), start_ns, sc.l1_sample.count()};
  auto recorder = sys.spawn(md_recorder, rcfg, data);
  quit.actors.push_back(caf::actor_cast<caf::actor>(recorder));
  for (const auto& shard : shards)
    caf::anon_send(shard, actors::md_subscribe{recorder, {}, true, true, 0, 0});

  auto hub = strategies::spawn_signal_hub(sys);
  quit.actors.push_back(caf::actor_cast<caf::actor>(hub));

  // The hidden values, on the "fundamental" topic. Its own random stream:
  // stream ids of agents are their indices, so the oracle takes one far
  // above any population.
  if (sc.has_fundamentals) {
    constexpr std::uint64_t oracle_stream = 0xF00D'0000'0000'0000ull;
    market::fundamental_oracle_params op;
    op.process = make_fundamental_params(sc, actors::derive_seed(sc.seed, oracle_stream));
    for (const auto& s : op.process.symbols)
      op.symbol_ids.push_back(static_cast<market::symbol_id>(sc.symbol_index(s.name)));
    op.period = sc.fundamentals.period;
    op.hub = hub;
    auto oracle = market::spawn_fundamental_oracle(sys, std::move(op));
    quit.actors.push_back(caf::actor_cast<caf::actor>(oracle));
  }

  // The agents: owner = index + 1 (unique, never 0); each derives its random
  // stream from (seed, index).
  std::vector<strategies::trader_actor> traders;
  traders.reserve(sc.agent_count());
  quit.actors.reserve(quit.actors.size() + sc.agent_count());
  std::uint64_t index = 0;
  for (const auto& g : sc.agents) {
    const auto* info = registry.find(g.strategy);
    if (!info)
      throw std::invalid_argument(sc.file + ":" + std::to_string(g.line) +
                                  ": unknown strategy '" + g.strategy + "'");
    std::vector<market::symbol_id> symbols;
    for (const auto& name : g.symbols)
      symbols.push_back(static_cast<market::symbol_id>(sc.symbol_index(name)));
    // One copy per group: the agents of a group share name, account params
    // and symbols.
    const auto group = std::make_shared<const strategies::trader_group>(
        strategies::trader_group{g.strategy, make_account_params(sc, g.account),
                                 std::move(symbols), start_ns});
    for (std::uint32_t i = 0; i < g.count; ++i, ++index) {
      strategies::trader_params tp;
      tp.index = index;
      tp.owner = index + 1;
      tp.seed = sc.seed;
      tp.group = group;
      traders.push_back(strategies::spawn_trader(sys, std::move(tp), info->make(g.params),
                                                 table, shared_router, hub));
      quit.actors.push_back(caf::actor_cast<caf::actor>(traders.back()));
    }
  }

  // Start: every agent at once, or after its group's start delay.
  {
    std::size_t i = 0;
    for (const auto& g : sc.agents)
      for (std::uint32_t k = 0; k < g.count; ++k, ++i) {
        if (g.start.count() > 0)
          caf::delayed_anon_send(traders[i], g.start, actors::agent_start{});
        else
          caf::anon_send(traders[i], actors::agent_start{});
      }
  }

  if (options.progress && options.progress_out)
    rt.on_progress(progress_printer(*options.progress_out, sc), 500ms);
  auto events_before = rt.events_processed();
  auto wall_start = std::chrono::steady_clock::now();
  // Virtual time: spawning took no time, the run covers [0, duration].
  // Real time: the agents get the full duration after their spawning.
  const auto end_ns = rt.now() + sc.duration.count();
  rt.run_until(end_ns);
  result.elapsed = std::chrono::steady_clock::now() - wall_start;
  result.events = rt.events_processed() - events_before;
  result.sim_time = std::chrono::nanoseconds{rt.now()};
  if (options.progress && options.progress_out)
    *options.progress_out << "\r" << std::string(78, ' ') << "\r";

  // Settling, by message order alone: once an agent has answered after
  // agent_stop, its last orders are in the shards' mailboxes; once a shard
  // has answered a stats_request after that, it has handled them and sent
  // the replies, reports and market data, which are then in the mailboxes of
  // the agents and of the recorder, ahead of the questions that follow.
  for (const auto& t : traders)
    caf::anon_send(t, actors::agent_stop{});
  collect_reports(rt, traders);
  auto stats =
      all_answers(ask_all<actors::shard_stats>(rt, shards, actors::stats_request{}), rt,
                  "stats_request");
  auto reports = collect_reports(rt, traders);
  all_answers(ask_all<caf::ok_atom>(rt, std::vector<recorder_actor>{recorder},
                                    caf::get_atom::value),
              rt, "the recorder");
  // The recorder's data may be read once it is gone.
  if (!rt.shutdown({caf::actor_cast<caf::actor>(recorder)}))
    throw std::runtime_error("the market-data recorder did not stop");

  fill_symbols(result, sc, stats, *data);
  result.agents.reserve(reports.size());
  for (const auto& r : reports)
    result.agents.push_back(make_agent_record(r, result.symbols));
  result.tape = make_tape(sc, std::move(data->trades), start_ns);
  result.l1 = std::move(data->samples);
  std::erase_if(result.l1, [&](const l1_sample& x) { return x.time_ns > end_ns; });
  return result;
}

} // namespace marketsim::app
