#include "app/run.hpp"

#include "actors/interfaces.hpp"
#include "actors/random.hpp"
#include "actors/runtime.hpp"
#include "actors/runtime_ask.hpp"
#include "actors/vocabulary.hpp"
#include "app/network_plan.hpp"
#include "distributed/node.hpp"
#include "distributed/protocol.hpp"
#include "distributed/session.hpp"
#include "distributed/shard_relay.hpp"
#include "distributed/transport.hpp"
#include "market/account.hpp"
#include "market/exchange_shard.hpp"
#include "market/fundamental.hpp"
#include "market/fundamental_oracle.hpp"
#include "market/shard_router.hpp"
#include "network/endpoints.hpp"
#include "network/network_actor.hpp"
#include "network/port.hpp"
#include "strategies/registry.hpp"
#include "strategies/signal_hub.hpp"
#include "strategies/trader.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <filesystem>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <thread>
#include <variant>

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

/// One counter summed over every route.
std::uint64_t route_total(const network_result& n,
                          std::uint64_t network_route_result::*counter) {
  std::uint64_t total = 0;
  for (const auto& r : n.routes)
    total += r.*counter;
  return total;
}

} // namespace

std::uint64_t network_result::sent() const {
  return route_total(*this, &network_route_result::sent);
}

std::uint64_t network_result::delivered() const {
  return route_total(*this, &network_route_result::delivered);
}

std::uint64_t network_result::dropped() const {
  return route_total(*this, &network_route_result::dropped);
}

std::uint64_t network_result::unroutable() const {
  return route_total(*this, &network_route_result::unroutable);
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
  /// The network ports (proxies) of the run, made on demand during it; they
  /// hold their targets, so they go too.
  const std::shared_ptr<network::endpoints>* ports = nullptr;
  ~quit_on_scope_end() {
    try {
      if (ports != nullptr && *ports) {
        auto proxies = (*ports)->proxies();
        actors.insert(actors.end(), proxies.begin(), proxies.end());
      }
      rt.shutdown(actors, std::chrono::seconds{30});
      if (ports != nullptr && *ports)
        (*ports)->clear();
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
  for (const auto& m : r.metrics)
    a.metrics.emplace_back(m.name, m.value);
  return a;
}

// -- the network -----------------------------------------------------------------

/// The event scheduler's own timer message: apply event number `i`.
using net_event_atom = caf::atom_constant<caf::atom("netevent")>;

/// Sends each of `events` to the network at its time since `start` (the
/// run's start on the actor clock), logging what it is. Events due at the
/// same time go in list order (delayed messages due at the same time fire in
/// the order they were set).
caf::behavior network_events(caf::event_based_actor* self, actors::network_actor net,
                             std::shared_ptr<const std::vector<network_event>> events,
                             caf::actor_clock::time_point start,
                             std::shared_ptr<std::atomic<std::size_t>> applied) {
  const auto now = self->clock().now();
  for (std::size_t i = 0; i < events->size(); ++i) {
    auto due = start + (*events)[i].at;
    auto delay = due > now ? due - now : caf::actor_clock::duration_type{0};
    self->delayed_send(self, delay, net_event_atom::value, static_cast<std::uint64_t>(i));
  }
  return {
      [self, net, events, applied](net_event_atom, std::uint64_t i) {
        const auto& ev = events->at(i);
        spdlog::info("network event at {}: {}", format_duration(ev.at), ev.what);
        std::visit([&](const auto& change) { self->send(net, change); }, ev.change);
        applied->fetch_add(1, std::memory_order_relaxed);
      },
  };
}

/// Rounds of settle_network before it gives up.
constexpr int max_settle_rounds = 1000;

/// Runs the actors until no message is in flight in the network: every
/// net_send it received was delivered, dropped or found unroutable, and each
/// delivered one has arrived. Delivery times are known only as per-link
/// latencies: a round checks the network's counts, then lets the largest
/// latency any link has shown pass. Two rounds in a row with the same number
/// of sends, the first with every send accounted for, mean that everything
/// delivered before the first has arrived and nothing was sent since.
/// Periodic senders (the oracle) must be stopped first. Returns false if
/// traffic did not stop within max_settle_rounds.
bool settle_network(actors::runtime& rt, const actors::network_actor& net) {
  std::optional<std::uint64_t> quiet_sent;
  for (int round = 0; round < max_settle_rounds; ++round) {
    auto stats =
        all_answers(ask_all<actors::net_stats>(rt, std::vector<actors::network_actor>{net},
                                               actors::net_stats_request{}),
                    rt, "net_stats_request")
            .front();
    std::uint64_t sent = 0;
    std::uint64_t accounted = stats.unserializable;
    for (const auto& r : stats.routes) {
      sent += r.sent;
      accounted += r.delivered + r.dropped + r.unroutable;
    }
    if (quiet_sent && *quiet_sent == sent)
      return true;
    quiet_sent = sent == accounted ? std::optional<std::uint64_t>{sent} : std::nullopt;
    std::int64_t horizon = 1'000'000; // at least 1 ms
    for (const auto& l : stats.links)
      horizon = std::max(horizon, l.latency_max_ns + 1);
    rt.run_for(horizon);
  }
  return false;
}

/// The network's counts with site names, and the ports' own.
network_result make_network_result(const network::topology& topo,
                                   const actors::net_stats& stats,
                                   const network::endpoint_stats& ports) {
  auto name = [&](std::uint32_t s) {
    return s < topo.site_count() ? topo.site_at(s).name : std::to_string(s);
  };
  network_result out;
  out.sites = topo.site_count();
  for (const auto& l : stats.links)
    out.links.push_back({name(l.from), name(l.to), l.messages, l.bytes, l.drops,
                         l.total_queueing_ns, l.max_queueing_ns, l.latency_min_ns,
                         l.latency_p50_ns, l.latency_p90_ns, l.latency_p99_ns,
                         l.latency_max_ns});
  for (const auto& r : stats.routes)
    out.routes.push_back(
        {name(r.from), name(r.to), r.sent, r.delivered, r.dropped, r.unroutable});
  out.unserializable = stats.unserializable;
  out.proxies = ports.proxies;
  out.forwarded = ports.forwarded;
  out.unplaced_senders = ports.unplaced_senders;
  out.anonymous = ports.anonymous;
  out.refused_requests = ports.refused_requests;
  return out;
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
  auto plan = make_network_plan(sc);
  return run_scenario(sc, registry, plan ? &*plan : nullptr, options);
}

run_result run_scenario(const scenario& sc, const strategies::strategy_registry& registry,
                        const network_plan* plan, const run_options& options) {
  if (plan != nullptr && (plan->shard_sites.size() != sc.shards.size() ||
                          plan->group_sites.size() != sc.agents.size()))
    throw std::invalid_argument("network plan: " + std::to_string(plan->shard_sites.size()) +
                                " shard sites for " + std::to_string(sc.shards.size()) +
                                " shards, " + std::to_string(plan->group_sites.size()) +
                                " group sites for " + std::to_string(sc.agents.size()) +
                                " agent groups");
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
  // Declared before the guard: it quits the ports (made during the run) too.
  std::shared_ptr<network::endpoints> ports;
  quit_on_scope_end quit{rt, {}, &ports};
  const auto start_ns = clock_ns(rt.start_time());

  // The network, with a plan: it carries every message between the market's
  // actors (shards, hub, oracle, agents), which reach each other through
  // their ports. The recorder and the run's own control messages stay
  // outside it: they observe and steer, they are not part of the market.
  std::optional<actors::network_actor> net;
  if (plan != nullptr) {
    auto spawned =
        network::spawn_network_with_port(sys, plan->topology, {plan->seed, plan->make_link});
    net = spawned.controller;
    quit.actors.push_back(caf::actor_cast<caf::actor>(*net));
    ports = std::make_shared<network::endpoints>(sys, *net, std::move(spawned.port));
  }
  auto place = [&](const auto& handle, network::site_id site) {
    if (ports)
      ports->place(caf::actor_cast<caf::actor>(handle), site);
  };

  // Shards, and the router that every trader shares.
  auto router = std::make_shared<market::shard_router>();
  std::vector<actors::exchange_shard_actor> shards;
  std::vector<std::vector<market::symbol_id>> shard_symbols;
  for (std::size_t i = 0; i < sc.shards.size(); ++i) {
    market::shard_params sp;
    sp.index = static_cast<std::uint32_t>(i);
    sp.symbols = table;
    for (const auto& name : sc.shards[i].symbols)
      sp.traded.push_back(static_cast<market::symbol_id>(sc.symbol_index(name)));
    sp.price_band_bps = sc.shards[i].price_band_bps;
    auto traded = sp.traded;
    shards.push_back(market::spawn_exchange_shard(sys, std::move(sp)));
    quit.actors.push_back(caf::actor_cast<caf::actor>(shards.back()));
    if (plan != nullptr)
      place(shards.back(), plan->shard_sites[i]);
    router->add(shards.back(), traded);
    shard_symbols.push_back(std::move(traded));
  }
  std::shared_ptr<const market::shard_router> shared_router = router;

  // Settlement: the validators, their client and the feeder subscribe to
  // the shards' trades before any agent exists, like the recorder.
  std::unique_ptr<settlement> settling;
  if (sc.settlement) {
    std::vector<caf::actor> shard_handles;
    for (const auto& s : shards)
      shard_handles.push_back(caf::actor_cast<caf::actor>(s));
    std::vector<std::string> names;
    for (const auto& s : sc.symbols)
      names.push_back(s.name);
    settling = std::make_unique<settlement>(rt, *sc.settlement, sc.seed, shard_handles,
                                            (std::filesystem::path{sc.output} / "raft").string(),
                                            std::move(names));
    for (auto& a : settling->actors())
      quit.actors.push_back(a);
  }

  // Consensus prices: Streamlet price validators feeding one shard's band.
  std::unique_ptr<price_consensus> pricing;
  if (sc.price_consensus) {
    const auto& pc = *sc.price_consensus;
    std::size_t shard = 0;
    for (std::size_t i = 0; i < sc.shards.size(); ++i)
      for (const auto& name : sc.shards[i].symbols)
        if (name == pc.symbol)
          shard = i;
    pricing = std::make_unique<price_consensus>(rt, pc, sc,
                                                caf::actor_cast<caf::actor>(shards[shard]));
    for (auto& a : pricing->actors())
      quit.actors.push_back(a);
  }

  // A trading halt decided by Byzantine broadcast.
  std::unique_ptr<trading_halt_broadcast> halting;
  if (sc.halt) {
    std::vector<caf::actor> shard_handles;
    for (const auto& s : shards)
      shard_handles.push_back(caf::actor_cast<caf::actor>(s));
    halt_network hn;
    if (plan != nullptr)
      hn = {ports, {plan->shard_sites.begin(), plan->shard_sites.end()}};
    halting = std::make_unique<trading_halt_broadcast>(rt, *sc.halt, sc.seed,
                                                       std::move(shard_handles), std::move(hn));
    for (auto& a : halting->actors())
      quit.actors.push_back(a);
  }

  // The recorder subscribes before any agent exists, so it sees every trade.
  auto data = std::make_shared<recording>();
  recorder_config rcfg{sc.symbols.size(), start_ns, sc.l1_sample.count()};
  auto recorder = sys.spawn(md_recorder, rcfg, data);
  quit.actors.push_back(caf::actor_cast<caf::actor>(recorder));
  for (const auto& shard : shards)
    caf::anon_send(shard, actors::md_subscribe{recorder, {}, true, true, 0, 0});

  auto hub = strategies::spawn_signal_hub(sys);
  quit.actors.push_back(caf::actor_cast<caf::actor>(hub));
  if (plan != nullptr)
    place(hub, plan->hub_site);

  // The hidden values, on the "fundamental" topic. Its own random stream:
  // stream ids of agents are their indices, so the oracle takes one far
  // above any population.
  caf::actor oracle;
  if (sc.has_fundamentals) {
    constexpr std::uint64_t oracle_stream = 0xF00D'0000'0000'0000ull;
    market::fundamental_oracle_params op;
    op.process = make_fundamental_params(sc, actors::derive_seed(sc.seed, oracle_stream));
    for (const auto& s : op.process.symbols)
      op.symbol_ids.push_back(static_cast<market::symbol_id>(sc.symbol_index(s.name)));
    op.period = sc.fundamentals.period;
    op.hub = ports ? caf::actor_cast<actors::signal_hub_actor>(ports->reach(
                         caf::actor_cast<caf::actor>(hub), plan->oracle_site))
                   : hub;
    oracle = caf::actor_cast<caf::actor>(market::spawn_fundamental_oracle(sys, std::move(op)));
    // In real time the oracle's first publication may leave before it is
    // placed: it then counts as from an unplaced sender (the hub never
    // answers it, so nothing else changes).
    if (plan != nullptr)
      place(oracle, plan->oracle_site);
    quit.actors.push_back(oracle);
  }

  // The agents: owner = index + 1 (unique, never 0); each derives its random
  // stream from (seed, index).
  std::vector<strategies::trader_actor> traders;
  traders.reserve(sc.agent_count());
  quit.actors.reserve(quit.actors.size() + sc.agent_count());
  std::uint64_t index = 0;
  for (std::size_t gi = 0; gi < sc.agents.size(); ++gi) {
    const auto& g = sc.agents[gi];
    const auto* info = registry.find(g.strategy);
    if (!info)
      throw std::invalid_argument(sc.file + ":" + std::to_string(g.line) +
                                  ": unknown strategy '" + g.strategy + "'");
    std::vector<market::symbol_id> symbols;
    for (const auto& name : g.symbols)
      symbols.push_back(static_cast<market::symbol_id>(sc.symbol_index(name)));
    // One copy per group: the agents of a group share name, account params
    // and symbols.
    auto group_router = shared_router;
    auto group_hub = hub;
    std::function<caf::actor(const caf::actor&, const caf::actor&)> present;
    if (ports) {
      // The group's own view of the market: its ports to every shard and to
      // the hub, at the group's site.
      const auto site = plan->group_sites[gi];
      auto r = std::make_shared<market::shard_router>();
      for (std::size_t i = 0; i < shards.size(); ++i)
        r->add(caf::actor_cast<actors::exchange_shard_actor>(
                   ports->reach(caf::actor_cast<caf::actor>(shards[i]), site)),
               shard_symbols[i]);
      group_router = std::move(r);
      group_hub = caf::actor_cast<actors::signal_hub_actor>(
          ports->reach(caf::actor_cast<caf::actor>(hub), site));
      present = [ports](const caf::actor& self, const caf::actor& peer) {
        return ports->present(self, peer);
      };
    }
    const auto group = std::make_shared<const strategies::trader_group>(
        strategies::trader_group{g.strategy, make_account_params(sc, g.account),
                                 std::move(symbols), start_ns, std::move(present)});
    for (std::uint32_t i = 0; i < g.count; ++i, ++index) {
      strategies::trader_params tp;
      tp.index = index;
      tp.owner = index + 1;
      tp.seed = sc.seed;
      tp.group = group;
      traders.push_back(strategies::spawn_trader(sys, std::move(tp), info->make(g.params),
                                                 table, group_router, group_hub));
      quit.actors.push_back(caf::actor_cast<caf::actor>(traders.back()));
      if (plan != nullptr)
        place(traders.back(), plan->group_sites[gi]);
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

  auto events_applied = std::make_shared<std::atomic<std::size_t>>(0);
  if (plan != nullptr && !plan->events.empty()) {
    auto events = std::make_shared<const std::vector<network_event>>(plan->events);
    quit.actors.push_back(
        sys.spawn(network_events, *net, std::move(events), rt.start_time(), events_applied));
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

  // With a network, messages are in flight: stop the agents and the oracle
  // (the only periodic sender), then let them arrive.
  std::optional<network_result> net_result;
  if (net) {
    for (const auto& t : traders)
      caf::anon_send(t, actors::agent_stop{});
    if (oracle && !rt.shutdown({oracle}))
      throw std::runtime_error("the fundamental oracle did not stop");
    const auto settle_start = rt.now();
    net_result.emplace();
    net_result->settled = settle_network(rt, *net);
    net_result->settle_time = std::chrono::nanoseconds{rt.now() - settle_start};
    if (!net_result->settled)
      spdlog::warn("network: traffic still in flight {} after the end; results may "
                   "miss it",
                   format_duration(net_result->settle_time));
  }

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
  if (pricing)
    result.price_consensus = pricing->result();
  if (halting)
    result.halt = halting->result();
  if (settling) {
    // The shards have printed their last trade (answered stats_request
    // above); the feeder's submissions are in flight to the validators.
    result.settlement = settling->settle(result.tape, 30s);
    for (auto& a : settling->actors())
      quit.actors.push_back(a);
  }
  if (net) {
    auto stats = all_answers(ask_all<actors::net_stats>(
                                 rt, std::vector<actors::network_actor>{*net},
                                 actors::net_stats_request{}),
                             rt, "net_stats_request")
                     .front();
    auto settled = *net_result;
    result.network = make_network_result(plan->topology, stats, ports->stats());
    result.network->settled = settled.settled;
    result.network->settle_time = settled.settle_time;
    result.network->events = events_applied->load(std::memory_order_relaxed);
  }
  return result;
}

// -- across hosts ------------------------------------------------------------------

namespace {

/// The parameters of shard `i` of `sc` (the same in a local run and on a
/// node).
market::shard_params shard_params_of(const scenario& sc,
                                     const market::symbol_table& table, std::size_t i) {
  market::shard_params sp;
  sp.index = static_cast<std::uint32_t>(i);
  sp.symbols = table;
  for (const auto& name : sc.shards[i].symbols)
    sp.traded.push_back(static_cast<market::symbol_id>(sc.symbol_index(name)));
  sp.price_band_bps = sc.shards[i].price_band_bps;
  return sp;
}

/// The router over `shards` (scenario order) with each shard's symbols.
std::shared_ptr<const market::shard_router>
router_of(const scenario& sc, const std::vector<actors::exchange_shard_actor>& shards) {
  auto router = std::make_shared<market::shard_router>();
  for (std::size_t i = 0; i < shards.size(); ++i) {
    std::vector<market::symbol_id> traded;
    for (const auto& name : sc.shards[i].symbols)
      traded.push_back(static_cast<market::symbol_id>(sc.symbol_index(name)));
    router->add(shards[i], traded);
  }
  return router;
}

/// Spawns the traders of group `gi` (agent indices from `first_index`) with
/// the given market; `table` must outlive them.
std::vector<strategies::trader_actor>
spawn_group_traders(caf::actor_system& sys, const scenario& sc,
                    const strategies::strategy_registry& registry, std::size_t gi,
                    std::uint64_t first_index, const market::symbol_table& table,
                    std::shared_ptr<const market::shard_router> router,
                    actors::signal_hub_actor hub, std::int64_t start_ns) {
  const auto& g = sc.agents.at(gi);
  const auto* info = registry.find(g.strategy);
  if (!info)
    throw std::invalid_argument(sc.file + ":" + std::to_string(g.line) +
                                ": unknown strategy '" + g.strategy + "'");
  std::vector<market::symbol_id> symbols;
  for (const auto& name : g.symbols)
    symbols.push_back(static_cast<market::symbol_id>(sc.symbol_index(name)));
  const auto group = std::make_shared<const strategies::trader_group>(
      strategies::trader_group{g.strategy,
                               make_account_params(sc, g.account),
                               std::move(symbols),
                               start_ns,
                               {}});
  std::vector<strategies::trader_actor> out;
  out.reserve(g.count);
  for (std::uint32_t i = 0; i < g.count; ++i) {
    strategies::trader_params tp;
    tp.index = first_index + i;
    tp.owner = first_index + i + 1;
    tp.seed = sc.seed;
    tp.group = group;
    out.push_back(strategies::spawn_trader(sys, std::move(tp), info->make(g.params),
                                           table, router, hub));
  }
  return out;
}

std::uint64_t first_agent_of(const scenario& sc, std::size_t gi) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < gi; ++i)
    n += sc.agents[i].count;
  return n;
}

/// The coordinator's actor system: the vocabulary, the middleman (and TLS),
/// the scenario's scheduler.
struct coordinator_config : caf::actor_system_config {
  caf::error security_error;
  coordinator_config(const scenario& sc,
                     const distributed::transport_security& security) {
    actors::add_message_types(*this);
    distributed::add_node_message_types(*this);
    set("scheduler.policy", sc.scheduler.policy == scheduler_policy::stealing
                                ? caf::atom("stealing")
                                : caf::atom("sharing"));
    auto threads = sc.scheduler.threads > 0
                       ? sc.scheduler.threads
                       : std::max(1u, std::thread::hardware_concurrency());
    set("scheduler.max-threads", static_cast<std::size_t>(threads));
    security_error = distributed::configure(*this, security);
  }
};

/// Quits `actors` and waits (at most `timeout`) until they have terminated.
bool quit_and_wait(const std::vector<caf::actor>& actors,
                   std::chrono::nanoseconds timeout) {
  auto remaining = std::make_shared<std::atomic<std::size_t>>(0);
  for (const auto& a : actors) {
    if (!a)
      continue;
    remaining->fetch_add(1);
    caf::actor_cast<caf::abstract_actor*>(a)->attach_functor(
        [remaining] { remaining->fetch_sub(1, std::memory_order_release); });
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  auto give_up = std::chrono::steady_clock::now() + timeout;
  while (remaining->load(std::memory_order_acquire) > 0) {
    if (std::chrono::steady_clock::now() >= give_up)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// The agent_reports of `traders` (by agent index, `total` in all); missing
/// ones (lost or silent within `timeout`) stay with owner 0.
std::vector<actors::agent_report>
collect_reports_across(caf::actor_system& sys,
                       const std::vector<strategies::trader_actor>& traders,
                       std::size_t total, std::chrono::nanoseconds timeout) {
  auto out = std::make_shared<report_collection>();
  out->reports.resize(total);
  out->arrived.resize(total);
  out->pending.store(traders.size());
  auto collector = sys.spawn(report_collector, traders, out);
  auto give_up = std::chrono::steady_clock::now() + timeout;
  while (out->pending.load(std::memory_order_acquire) > 0 &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(1ms);
  // Once the collector is gone no late answer can touch the collection.
  if (!quit_and_wait({collector}, 10s))
    throw std::runtime_error("the report collector did not stop");
  return std::move(out->reports);
}

/// Everything a run across hosts made, released when it ends (also by an
/// exception): the hosts' sessions first, then the local actors, the
/// session owner last.
struct hosts_guard {
  caf::actor_system& sys;
  std::vector<distributed::remote_node> nodes;
  caf::actor owner;
  std::vector<caf::actor> local;
  std::shared_ptr<distributed::loss_log> log;
  std::chrono::milliseconds timeout;
  ~hosts_guard() {
    try {
      for (std::size_t i = 0; i < nodes.size(); ++i)
        if (!log->lost(static_cast<std::uint32_t>(i)))
          distributed::release(sys, nodes[i], owner, timeout);
      local.push_back(owner);
      quit_and_wait(local, 30s);
    } catch (...) {
      // Nothing more can be done; the actor system's destructor waits.
    }
  }
};

std::chrono::milliseconds to_ms(std::chrono::nanoseconds d) {
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(d), 1ms);
}

/// Ends the run early: the session saw a host go with on_host_failure: stop.
bool must_stop(const deployment_plan& plan, const distributed::loss_log& log) {
  return plan.on_host_failure == host_failure_policy::stop && log.size() > 0;
}

} // namespace

deployment_plan make_deployment_plan(const scenario& sc,
                                     const std::vector<host_endpoint>& cli_hosts) {
  if (sc.clock == clock_mode::virtual_time)
    throw std::invalid_argument(
        "a run across hosts needs real time (virtual time runs in "
        "one process): set 'clock: real' or use --clock real");
  if (sc.network)
    throw std::invalid_argument("a run across hosts does not combine with 'network:' (a "
                                "network model runs in one process)");
  deployment_plan plan;
  std::vector<host_endpoint> known;
  if (sc.deployment)
    known = sc.deployment->hosts;
  for (const auto& h : cli_hosts) {
    auto same = std::find_if(known.begin(), known.end(),
                             [&](const host_endpoint& k) { return k.name == h.name; });
    if (same != known.end())
      *same = h;
    else
      known.push_back(h);
  }
  if (known.empty())
    throw std::invalid_argument("no hosts: give --hosts name=host:port,... or "
                                "'deployment.hosts' in the scenario");
  auto host_index = [&](const std::string& name, const std::string& what) {
    auto i = std::find_if(known.begin(), known.end(),
                          [&](const host_endpoint& k) { return k.name == name; });
    if (i == known.end())
      throw std::invalid_argument(
          sc.file + ":" + std::to_string(sc.deployment ? sc.deployment->line : 0) + ": " +
          what + " is placed on host '" + name +
          "', which has no address (give --hosts " + name + "=host:port)");
    return static_cast<std::size_t>(i - known.begin());
  };
  std::vector<std::optional<std::size_t>> shard_at(sc.shards.size());
  std::vector<std::optional<std::size_t>> group_at(sc.agents.size());
  if (sc.deployment) {
    for (const auto& [i, name] : sc.deployment->shards)
      shard_at.at(i) = host_index(name, "shard " + std::to_string(i));
    for (const auto& [i, name] : sc.deployment->agents)
      group_at.at(i) = host_index(name, "agent group " + std::to_string(i));
    plan.on_host_failure = sc.deployment->on_host_failure;
    plan.connect_timeout = sc.deployment->connect_timeout;
  } else {
    for (auto& s : shard_at)
      s = 0;
    for (std::size_t i = 0; i < group_at.size(); ++i)
      group_at[i] = known.size() == 1 ? 0 : 1 + i % (known.size() - 1);
  }
  // Only the hosts something runs on, in the order given.
  std::vector<std::optional<std::size_t>> renumber(known.size());
  for (std::size_t k = 0; k < known.size(); ++k) {
    bool used =
        std::any_of(shard_at.begin(), shard_at.end(), [&](auto& x) { return x == k; }) ||
        std::any_of(group_at.begin(), group_at.end(), [&](auto& x) { return x == k; });
    if (used) {
      renumber[k] = plan.hosts.size();
      plan.hosts.push_back(known[k]);
    }
  }
  for (auto& s : shard_at)
    if (s)
      s = renumber[*s];
  for (auto& g : group_at)
    if (g)
      g = renumber[*g];
  plan.shard_host = std::move(shard_at);
  plan.group_host = std::move(group_at);
  return plan;
}

run_result run_scenario_on_hosts(const scenario& sc, std::string scenario_text,
                                 const strategies::strategy_registry& registry,
                                 const deployment_plan& plan,
                                 const distributed::transport_security& security) {
  if (plan.shard_host.size() != sc.shards.size() ||
      plan.group_host.size() != sc.agents.size())
    throw std::invalid_argument("deployment plan: not made for this scenario");
  run_result result;
  result.name = sc.name;
  result.file = sc.file;
  result.clock = sc.clock;
  result.seed = sc.seed;
  result.shards = sc.shards.size();
  result.fundamentals = sc.has_fundamentals;
  result.l1_sample_period = sc.l1_sample;
  result.policy = sc.scheduler.policy;
  result.threads = sc.scheduler.threads > 0
                       ? sc.scheduler.threads
                       : std::max(1u, std::thread::hardware_concurrency());
  for (const auto& g : sc.agents)
    result.groups.emplace_back(g.strategy, g.count);
  for (const auto& h : plan.hosts) {
    host_result hr;
    hr.name = h.name;
    hr.address = h.host.find(':') != std::string::npos
                     ? fmt::format("[{}]:{}", h.host, h.port)
                     : fmt::format("{}:{}", h.host, h.port);
    result.hosts.push_back(std::move(hr));
  }
  for (std::size_t i = 0; i < sc.shards.size(); ++i)
    if (plan.shard_host[i])
      result.hosts[*plan.shard_host[i]].shards.push_back(i);
  for (std::size_t i = 0; i < sc.agents.size(); ++i)
    if (plan.group_host[i]) {
      result.hosts[*plan.group_host[i]].groups.push_back(i);
      result.hosts[*plan.group_host[i]].agents += sc.agents[i].count;
    }

  // Declared before the actor system: local traders refer to it.
  const auto table = make_symbol_table(sc);
  coordinator_config cfg{sc, security};
  if (cfg.security_error)
    throw deployment_error(caf::to_string(cfg.security_error));
  caf::actor_system sys{cfg};
  const auto fingerprint = distributed::vocabulary_fingerprint(cfg);
  const auto timeout = to_ms(plan.connect_timeout);
  auto log = std::make_shared<distributed::loss_log>();
  hosts_guard guard{sys, {},  distributed::spawn_session_owner(sys, log),
                    {},  log, timeout};

  auto remote_step = [&](auto&& step) {
    try {
      return step();
    } catch (const distributed::node_error& e) {
      throw deployment_error(e.what());
    }
  };
  for (std::size_t h = 0; h < plan.hosts.size(); ++h) {
    const auto& ep = plan.hosts[h];
    guard.nodes.push_back(remote_step([&] {
      return distributed::join_node(sys, ep.name, ep.host, ep.port, security, timeout,
                                    fingerprint, guard.owner);
    }));
    result.hosts[h].node_name = guard.nodes.back().node_name;
    distributed::watch(guard.owner, guard.nodes.back().handle,
                       static_cast<std::uint32_t>(h), true);
  }
  const auto start_ns = clock_ns(sys.clock().now());
  auto offset_of_host = [&](std::optional<std::size_t> h) {
    return h ? guard.nodes[*h].clock_offset_ns : 0;
  };

  // Shards: local ones here, each host's in one request.
  std::vector<actors::exchange_shard_actor> shards(sc.shards.size());
  for (std::size_t i = 0; i < sc.shards.size(); ++i)
    if (!plan.shard_host[i]) {
      shards[i] = market::spawn_exchange_shard(sys, shard_params_of(sc, table, i));
      guard.local.push_back(caf::actor_cast<caf::actor>(shards[i]));
    }
  for (std::size_t h = 0; h < plan.hosts.size(); ++h) {
    distributed::spawn_shards req{scenario_text, sc.file, sc.seed, {}, guard.owner};
    for (std::size_t i = 0; i < sc.shards.size(); ++i)
      if (plan.shard_host[i] == h)
        req.shards.push_back(static_cast<std::uint32_t>(i));
    if (req.shards.empty())
      continue;
    auto handles = remote_step(
        [&] { return distributed::spawn_on(sys, guard.nodes[h], req, timeout); });
    if (handles.size() != req.shards.size())
      throw deployment_error("host " + plan.hosts[h].name + ": spawned " +
                             std::to_string(handles.size()) + " shards of " +
                             std::to_string(req.shards.size()));
    for (std::size_t k = 0; k < handles.size(); ++k) {
      shards[req.shards[k]] = caf::actor_cast<actors::exchange_shard_actor>(handles[k]);
      distributed::watch(guard.owner, handles[k], static_cast<std::uint32_t>(h));
    }
  }
  // The symbol -> shard map, for the clock of each trade's shard.
  std::vector<std::size_t> shard_of_symbol(sc.symbols.size());
  for (std::size_t i = 0; i < sc.shards.size(); ++i)
    for (const auto& name : sc.shards[i].symbols)
      shard_of_symbol[sc.symbol_index(name)] = i;

  auto data = std::make_shared<recording>();
  recorder_config rcfg{sc.symbols.size(), start_ns, sc.l1_sample.count()};
  auto recorder = sys.spawn(md_recorder, rcfg, data);
  guard.local.push_back(caf::actor_cast<caf::actor>(recorder));
  for (const auto& shard : shards)
    caf::anon_send(shard, actors::md_subscribe{recorder, {}, true, true, 0, 0});

  auto hub = strategies::spawn_signal_hub(sys);
  guard.local.push_back(caf::actor_cast<caf::actor>(hub));
  caf::actor oracle;
  if (sc.has_fundamentals) {
    constexpr std::uint64_t oracle_stream = 0xF00D'0000'0000'0000ull;
    market::fundamental_oracle_params op;
    op.process = make_fundamental_params(sc, actors::derive_seed(sc.seed, oracle_stream));
    for (const auto& s : op.process.symbols)
      op.symbol_ids.push_back(static_cast<market::symbol_id>(sc.symbol_index(s.name)));
    op.period = sc.fundamentals.period;
    op.hub = hub;
    oracle =
        caf::actor_cast<caf::actor>(market::spawn_fundamental_oracle(sys, std::move(op)));
    guard.local.push_back(oracle);
  }

  // The agents, group by group; traders[i] is agent i.
  std::vector<strategies::trader_actor> traders;
  std::vector<std::optional<std::size_t>> trader_host; // by agent index
  traders.reserve(sc.agent_count());
  // Local traders reach remote shards through relays (orders in flight to a
  // lost host are answered: distributed/shard_relay.hpp).
  const auto router =
      router_of(sc, distributed::relay_remote_shards(sys, shards, guard.local));
  std::vector<caf::actor> shard_handles;
  for (const auto& s : shards)
    shard_handles.push_back(caf::actor_cast<caf::actor>(s));
  for (std::size_t gi = 0; gi < sc.agents.size(); ++gi) {
    const auto first = first_agent_of(sc, gi);
    const auto at = plan.group_host[gi];
    if (!at) {
      auto local =
          spawn_group_traders(sys, sc, registry, gi, first, table, router, hub, start_ns);
      for (auto& t : local) {
        guard.local.push_back(caf::actor_cast<caf::actor>(t));
        traders.push_back(std::move(t));
        trader_host.push_back(std::nullopt);
      }
      continue;
    }
    distributed::spawn_group req{scenario_text,
                                 sc.file,
                                 sc.seed,
                                 static_cast<std::uint32_t>(gi),
                                 first,
                                 shard_handles,
                                 caf::actor_cast<caf::actor>(hub),
                                 start_ns + offset_of_host(at),
                                 guard.owner};
    auto handles = remote_step(
        [&] { return distributed::spawn_on(sys, guard.nodes[*at], req, timeout); });
    if (handles.size() != sc.agents[gi].count)
      throw deployment_error("host " + plan.hosts[*at].name + ": spawned " +
                             std::to_string(handles.size()) + " agents of " +
                             std::to_string(sc.agents[gi].count));
    for (auto& t : handles) {
      traders.push_back(caf::actor_cast<strategies::trader_actor>(t));
      trader_host.push_back(at);
    }
  }

  // Start, as in a local run.
  for (std::size_t gi = 0, i = 0; gi < sc.agents.size(); ++gi)
    for (std::uint32_t k = 0; k < sc.agents[gi].count; ++k, ++i) {
      if (sc.agents[gi].start.count() > 0)
        caf::delayed_anon_send(traders[i], sc.agents[gi].start, actors::agent_start{});
      else
        caf::anon_send(traders[i], actors::agent_start{});
    }

  // Real time: the agents get the duration, unless a lost host stops the run.
  const auto wall_start = std::chrono::steady_clock::now();
  const auto end = wall_start + sc.duration;
  while (std::chrono::steady_clock::now() < end && !must_stop(plan, *log))
    std::this_thread::sleep_for(
        std::min<std::chrono::nanoseconds>(20ms, end - std::chrono::steady_clock::now()));
  result.elapsed = std::chrono::steady_clock::now() - wall_start;
  result.sim_time = std::chrono::duration_cast<std::chrono::nanoseconds>(result.elapsed);
  const auto end_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(result.elapsed).count();
  result.stopped_by_host_failure = must_stop(plan, *log);

  // What is left: traders and shards not on a lost host.
  auto alive = [&](std::optional<std::size_t> h) {
    return !h || !log->lost(static_cast<std::uint32_t>(*h));
  };
  std::vector<strategies::trader_actor> live_traders;
  for (std::size_t i = 0; i < traders.size(); ++i)
    if (alive(trader_host[i]))
      live_traders.push_back(traders[i]);
  for (const auto& t : live_traders)
    caf::anon_send(t, actors::agent_stop{});
  if (oracle)
    quit_and_wait({oracle}, 10s);

  // Settling, as in a local run (see run_scenario): reports, shard stats,
  // reports again, then the recorder. Each question is bounded in time; a
  // host lost meanwhile leaves its answers out.
  collect_reports_across(sys, live_traders, traders.size(), 30s);
  std::vector<actors::shard_stats> stats;
  {
    caf::scoped_actor self{sys};
    for (std::size_t i = 0; i < shards.size(); ++i) {
      if (!alive(plan.shard_host[i]))
        continue;
      self->request(shards[i], 30s, actors::stats_request{})
          .receive([&](actors::shard_stats& s) { stats.push_back(std::move(s)); },
                   [&](const caf::error& e) {
                     spdlog::warn("shard {}: no statistics: {}", i, sys.render(e));
                   });
    }
  }
  auto reports = collect_reports_across(sys, live_traders, traders.size(), 30s);
  {
    caf::scoped_actor self{sys};
    self->request(recorder, 30s, caf::get_atom::value)
        .receive([](caf::ok_atom) {},
                 [&](const caf::error& e) {
                   throw std::runtime_error("the market-data recorder: " + sys.render(e));
                 });
  }
  if (!quit_and_wait({caf::actor_cast<caf::actor>(recorder)}, 10s))
    throw std::runtime_error("the market-data recorder did not stop");

  // Trades stamped on another host's clock, on ours.
  for (auto& p : data->trades)
    if (p.symbol < shard_of_symbol.size())
      p.time -= offset_of_host(plan.shard_host[shard_of_symbol[p.symbol]]);
  fill_symbols(result, sc, stats, *data);
  result.agents.reserve(reports.size());
  for (std::size_t gi = 0, i = 0; gi < sc.agents.size(); ++gi)
    for (std::uint32_t k = 0; k < sc.agents[gi].count; ++k, ++i) {
      if (reports[i].owner != 0) {
        result.agents.push_back(make_agent_record(reports[i], result.symbols));
        continue;
      }
      agent_record a;
      a.index = i;
      a.owner = i + 1;
      a.strategy = sc.agents[gi].strategy;
      a.failed = true;
      a.error = trader_host[i] ? "host " + plan.hosts[*trader_host[i]].name + " lost"
                               : "no report";
      result.agents.push_back(std::move(a));
    }
  result.tape = make_tape(sc, std::move(data->trades), start_ns);
  result.l1 = std::move(data->samples);
  std::erase_if(result.l1, [&](const l1_sample& x) { return x.time_ns > end_ns; });
  for (const auto& loss : log->losses()) {
    auto& h = result.hosts.at(loss.host);
    h.lost = true;
    h.reason = loss.reason;
    h.lost_at = std::max<std::chrono::nanoseconds>(loss.at - wall_start, 0ns);
  }
  return result;
}

distributed::node_hooks make_node_hooks(const strategies::strategy_registry& registry) {
  distributed::node_hooks hooks;
  hooks.shards = [&registry](caf::actor_system& sys,
                             const distributed::spawn_shards& req) {
    auto sc = parse_scenario(req.scenario, req.file, registry);
    sc.seed = req.seed;
    const auto table = make_symbol_table(sc);
    std::vector<caf::actor> out;
    for (auto i : req.shards) {
      if (i >= sc.shards.size())
        throw std::invalid_argument("no shard " + std::to_string(i) + " in " + req.file);
      out.push_back(caf::actor_cast<caf::actor>(
          market::spawn_exchange_shard(sys, shard_params_of(sc, table, i))));
    }
    return out;
  };
  hooks.group = [&registry](caf::actor_system& sys, const distributed::spawn_group& req) {
    auto sc = parse_scenario(req.scenario, req.file, registry);
    sc.seed = req.seed;
    if (req.group >= sc.agents.size())
      throw std::invalid_argument("no agent group " + std::to_string(req.group) + " in " +
                                  req.file);
    if (req.shards.size() != sc.shards.size())
      throw std::invalid_argument(std::to_string(req.shards.size()) +
                                  " shard handles for " +
                                  std::to_string(sc.shards.size()) + " shards");
    std::vector<actors::exchange_shard_actor> shards;
    for (const auto& s : req.shards)
      shards.push_back(caf::actor_cast<actors::exchange_shard_actor>(s));
    // The traders refer to the table until they are gone: each holds it.
    auto table = std::make_shared<const market::symbol_table>(make_symbol_table(sc));
    // Shards of other processes through relays (distributed/shard_relay.hpp),
    // which quit with the group's last trader.
    auto relays = std::make_shared<std::vector<caf::actor>>();
    auto routed = distributed::relay_remote_shards(sys, shards, *relays);
    auto traders = spawn_group_traders(
        sys, sc, registry, req.group, req.first_index, *table, router_of(sc, routed),
        caf::actor_cast<actors::signal_hub_actor>(req.hub), req.start_ns);
    auto left = std::make_shared<std::atomic<std::size_t>>(traders.size() + 1);
    auto one_gone = [relays, left] {
      if (left->fetch_sub(1) == 1)
        for (const auto& r : *relays)
          caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    };
    std::vector<caf::actor> out;
    for (const auto& t : traders) {
      auto handle = caf::actor_cast<caf::actor>(t);
      caf::actor_cast<caf::abstract_actor*>(handle)->attach_functor([table, one_gone] {
        one_gone();
      });
      out.push_back(std::move(handle));
    }
    one_gone();
    return out;
  };
  return hooks;
}

} // namespace marketsim::app
