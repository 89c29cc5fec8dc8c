#include "app/experiment.hpp"

#include "app/network_plan.hpp"
#include "app/run.hpp"
#include "app/scenario.hpp"
#include "strategies/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::app {

namespace {

// -- tables ----------------------------------------------------------------------

/// Prints a table as Markdown, columns aligned for reading in a terminal too.
void print_table(std::ostream& out, const experiment_table& t) {
  out << "### " << t.title << "\n\n" << t.note << "\n\n";
  std::vector<std::size_t> width(t.header.size(), 3);
  auto fit = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  fit(t.header);
  for (const auto& r : t.rows)
    fit(r);
  auto line = [&](const std::vector<std::string>& row) {
    out << '|';
    for (std::size_t i = 0; i < width.size(); ++i)
      out << ' ' << fmt::format("{:<{}}", i < row.size() ? row[i] : "", width[i]) << " |";
    out << '\n';
  };
  line(t.header);
  out << '|';
  for (auto w : width)
    out << std::string(w + 2, '-') << '|';
  out << '\n';
  for (const auto& r : t.rows)
    line(r);
  out << '\n';
}

std::string ms(double ns) { return fmt::format("{:.2f}", ns / 1e6); }
std::string pct(double part, double whole) {
  return whole > 0 ? fmt::format("{:.1f}%", 100.0 * part / whole) : "-";
}
std::string num(double x, int decimals = 0) { return fmt::format("{:.{}f}", x, decimals); }

// -- running -----------------------------------------------------------------------

struct context {
  const experiment_options& options;
  const strategies::strategy_registry& registry;
  std::ostream& out;
  std::ostringstream doc; ///< what goes to <name>.md
  std::vector<experiment_table> tables;
};

/// Prints to the terminal and keeps for the result file.
template <class F>
void emit(context& cx, F&& write) {
  std::ostringstream text;
  write(text);
  cx.out << text.str();
  cx.doc << text.str();
}

/// Prints a result table, keeps it for the file and the caller.
void emit(context& cx, experiment_table t) {
  emit(cx, [&](std::ostream& o) { print_table(o, t); });
  cx.tables.push_back(std::move(t));
}

/// The agents of one scenario group: [first, first + count) by index.
struct group_range {
  std::size_t first = 0;
  std::size_t count = 0;
};

std::vector<group_range> group_ranges(const scenario& sc) {
  std::vector<group_range> out;
  std::size_t next = 0;
  for (const auto& g : sc.agents) {
    out.push_back({next, g.count});
    next += g.count;
  }
  return out;
}

double metric(const agent_record& a, std::string_view name) {
  for (const auto& [k, v] : a.metrics)
    if (k == name)
      return v;
  return 0;
}

bool has_metric(const agent_record& a, std::string_view name) {
  return std::any_of(a.metrics.begin(), a.metrics.end(),
                     [&](const auto& m) { return m.first == name; });
}

/// Runs `sc` once per seed (base seed + k) and hands each result to `take`
/// with the agents of each group (a variant may change the groups' counts).
void run_seeds(context& cx, scenario sc, const std::string& label,
               const std::function<void(const run_result&, const std::vector<group_range>&)>&
                   take) {
  const auto ranges = group_ranges(sc);
  auto plan = make_network_plan(sc);
  if (!plan)
    throw std::invalid_argument(sc.file + ": the experiment needs a network: section");
  const auto base = sc.seed;
  for (std::uint32_t k = 0; k < cx.options.seeds; ++k) {
    sc.seed = base + k;
    auto seeded = make_network_plan(sc); // the network's seed follows the run's
    if (cx.options.progress)
      *cx.options.progress << fmt::format("  {} (seed {}) ...\n", label, sc.seed)
                           << std::flush;
    auto result = run_scenario(sc, cx.registry, &*seeded);
    for (const auto& a : result.agents)
      if (a.failed)
        throw std::runtime_error(fmt::format("{}: agent {} ({}) failed: {}", label, a.index,
                                             a.strategy, a.error));
    take(result, ranges);
  }
}

/// The groups running `strategy`, in scenario order; at least `min` of them.
std::vector<std::size_t> groups_of(const scenario& sc, std::string_view strategy,
                                   std::size_t min) {
  std::vector<std::size_t> out;
  for (std::size_t g = 0; g < sc.agents.size(); ++g)
    if (sc.agents[g].strategy == strategy && sc.agents[g].count > 0)
      out.push_back(g);
  if (out.size() < min)
    throw std::invalid_argument(fmt::format("{}: the experiment needs at least {} agent "
                                            "group(s) running '{}', found {}",
                                            sc.file, min, strategy, out.size()));
  return out;
}

/// One-way latency of the current shortest route (effective mean latencies).
std::int64_t path_ns(const network_plan& plan, network::site_id a, network::site_id b) {
  auto r = plan.topology.route(a, b);
  if (!r)
    throw std::invalid_argument(fmt::format("no route from site '{}' to site '{}'",
                                            plan.topology.site_at(a).name,
                                            plan.topology.site_at(b).name));
  return r->latency_ns;
}

void require_before_end(const scenario& sc, std::chrono::nanoseconds t,
                        std::string_view what) {
  if (t >= sc.duration)
    throw std::invalid_argument(fmt::format("{}: {} at {} is not before the end of the run "
                                            "({}); give a longer --duration",
                                            sc.file, what, format_duration(t),
                                            format_duration(sc.duration)));
}

// -- latency arbitrage ---------------------------------------------------------------

/// Every `arbitrage` group is one arbitrageur at its own site. Runs the
/// scenario as is (they compete) and then each alone (the other
/// arbitrageurs' counts set to 0), over the seeds. Per arbitrageur: its
/// one-way latency to each venue (shortest path), opportunities seen, legs
/// sent and filled, filled quantity and PnL (means per run), and its share of
/// all arbitrage fills in the competitive runs.
void latency_arbitrage(context& cx, const scenario& sc) {
  const auto arbs = groups_of(sc, "arbitrage", 2);
  const auto plan = make_network_plan(sc);
  if (!plan)
    throw std::invalid_argument(sc.file + ": the experiment needs a network: section");

  struct tally {
    double opportunities = 0, legs_sent = 0, legs_filled = 0, filled_qty = 0, edge = 0,
           pnl = 0;
    std::uint32_t runs = 0;
  };
  auto add = [&](tally& t, const run_result& r, const std::vector<group_range>& ranges,
                 std::size_t g) {
    for (std::size_t i = 0; i < ranges[g].count; ++i) {
      const auto& a = r.agents.at(ranges[g].first + i);
      t.opportunities += metric(a, "opportunities");
      t.legs_sent += metric(a, "legs_sent");
      t.legs_filled += metric(a, "legs_filled");
      t.filled_qty += metric(a, "filled_qty");
      t.edge += metric(a, "edge_captured");
      t.pnl += static_cast<double>(a.pnl);
    }
    ++t.runs;
  };

  std::map<std::size_t, tally> together;
  run_seeds(cx, sc, "all arbitrageurs", [&](const run_result& r, const auto& ranges) {
    for (auto g : arbs)
      add(together[g], r, ranges, g);
  });
  std::map<std::size_t, tally> alone;
  for (auto g : arbs) {
    scenario solo = sc;
    for (auto other : arbs)
      if (other != g)
        solo.agents[other].count = 0;
    run_seeds(cx, solo, "alone at " + sc.agents[g].site.name,
              [&](const run_result& r, const auto& ranges) { add(alone[g], r, ranges, g); });
  }

  double all_filled = 0;
  for (const auto& [g, t] : together)
    all_filled += t.filled_qty;

  std::vector<std::string> header{"arbitrageur site"};
  for (std::size_t s = 0; s < sc.shards.size(); ++s)
    header.push_back("to " + plan->topology.site_at(plan->shard_sites[s]).name + " (ms)");
  for (auto h : {"opportunities", "legs sent", "legs filled", "fill rate", "filled qty",
                 "share of fills", "edge captured", "PnL", "alone: legs sent",
                 "alone: fill rate", "alone: edge captured"})
    header.emplace_back(h);
  experiment_table t;
  t.header = header;
  for (auto g : arbs) {
    const auto& c = together[g];
    const auto& s = alone[g];
    const double runs = std::max<std::uint32_t>(c.runs, 1);
    const double solo_runs = std::max<std::uint32_t>(s.runs, 1);
    std::vector<std::string> row{sc.agents[g].site.name};
    for (std::size_t v = 0; v < sc.shards.size(); ++v)
      row.push_back(ms(static_cast<double>(
          path_ns(*plan, plan->group_sites[g], plan->shard_sites[v]))));
    row.push_back(num(c.opportunities / runs));
    row.push_back(num(c.legs_sent / runs));
    row.push_back(num(c.legs_filled / runs));
    row.push_back(pct(c.legs_filled, c.legs_sent));
    row.push_back(num(c.filled_qty / runs));
    row.push_back(pct(c.filled_qty, all_filled));
    row.push_back(num(c.edge / runs));
    row.push_back(num(c.pnl / runs));
    row.push_back(num(s.legs_sent / solo_runs));
    row.push_back(pct(s.legs_filled, s.legs_sent));
    row.push_back(num(s.edge / solo_runs));
    t.rows.push_back(std::move(row));
  }
  t.title = fmt::format("Latency arbitrage: {} arbitrageurs, {} venues, {} seed(s), {} each",
                        arbs.size(), sc.shards.size(), cx.options.seeds,
                        format_duration(sc.duration));
  t.note = "Means per run. Edge captured and PnL in money units (price ticks x "
           "quantity). 'alone': the same arbitrageur with no competitor.";
  emit(cx, std::move(t));
}

// -- information propagation -----------------------------------------------------------

/// One `shock` agent and `sentinel` agents at sites. Per sentinel site: the
/// shortest-path latency from the venue of the shocked symbol (the first
/// shard's site: the sentinels and the shock must watch a symbol of it), the
/// reaction delay (when the sentinel saw the move minus when the shock was
/// sent), the delay from the venue's timestamp of what it saw, and the
/// difference to the path latency; means over the seeds in which it reacted.
void information_propagation(context& cx, const scenario& sc) {
  const auto shocks = groups_of(sc, "shock", 1);
  const auto sentinels = groups_of(sc, "sentinel", 1);
  const auto plan = make_network_plan(sc);
  if (!plan)
    throw std::invalid_argument(sc.file + ": the experiment needs a network: section");
  const auto& shock_group = sc.agents[shocks.front()];
  require_before_end(sc, std::chrono::nanoseconds{shock_group.params.duration_ns("at")},
                     "the shock");
  const auto symbol = shock_group.params.text("symbol");
  std::size_t shard = sc.shards.size();
  for (std::size_t s = 0; s < sc.shards.size(); ++s)
    for (const auto& name : sc.shards[s].symbols)
      if (name == symbol)
        shard = s;
  if (shard == sc.shards.size())
    throw std::invalid_argument(sc.file + ": the shock's symbol is on no shard");
  const auto venue = plan->shard_sites[shard];

  struct tally {
    double seen = 0, from_event = 0;
    std::uint32_t reacted = 0, early = 0, runs = 0;
  };
  std::map<std::size_t, tally> by_group;
  run_seeds(cx, sc, "shock", [&](const run_result& r, const auto& ranges) {
    const auto& shock_agent = r.agents.at(ranges[shocks.front()].first);
    if (!has_metric(shock_agent, "shock_time_ns") ||
        metric(shock_agent, "shock_rejected") != 0)
      throw std::runtime_error("the shock order was not sent or was refused (seed " +
                               std::to_string(r.seed) + ")");
    const double sent = metric(shock_agent, "shock_time_ns");
    for (auto g : sentinels)
      for (std::size_t i = 0; i < ranges[g].count; ++i) {
        const auto& a = r.agents.at(ranges[g].first + i);
        auto& t = by_group[g];
        ++t.runs;
        if (metric(a, "reacted") == 0)
          continue;
        // A move the venue showed before the shock was sent is the market's
        // own: a false alarm, counted apart and kept out of the delays.
        if (metric(a, "reaction_event_time_ns") < sent) {
          ++t.early;
          continue;
        }
        ++t.reacted;
        t.seen += metric(a, "reaction_time_ns") - sent;
        t.from_event += metric(a, "reaction_time_ns") - metric(a, "reaction_event_time_ns");
      }
  });

  experiment_table t;
  t.header = {"sentinel site", "hops", "path latency (ms)", "reacted", "false alarms",
           "seen after shock (ms)", "after venue timestamp (ms)", "minus path latency (ms)"};
  for (auto g : sentinels) {
    const auto site = plan->group_sites[g];
    const auto route = plan->topology.route(venue, site);
    const auto& x = by_group[g];
    const double n = std::max<std::uint32_t>(x.reacted, 1);
    const double path = route ? static_cast<double>(route->latency_ns) : 0;
    t.rows.push_back({sc.agents[g].site.name, route ? std::to_string(route->hops.size() - 1) : "-",
           route ? ms(path) : "-", fmt::format("{}/{}", x.reacted, x.runs),
           std::to_string(x.early), x.reacted ? ms(x.seen / n) : "-", x.reacted ? ms(x.from_event / n) : "-",
           x.reacted && route ? ms(x.from_event / n - path) : "-"});
  }
  t.title = fmt::format(
      "Information propagation: shock on {} at {} ({}), {} sentinel site(s), {} seed(s)",
      symbol, plan->topology.site_at(venue).name,
      format_duration(std::chrono::nanoseconds{shock_group.params.duration_ns("at")}),
      sentinels.size(), cx.options.seeds);
  t.note = "Means over the runs in which the sentinel reacted to the shock. False alarms: "
           "runs in which it reacted to a move the venue showed before the shock was sent "
           "(the market's own), left out of the means. Path latency: the shortest route's "
           "mean latency from the venue.";
  emit(cx, std::move(t));
}

// -- congestion and outage -----------------------------------------------------------

/// The base scenario's market with no disruption, then with each of: its own
/// disruptions (as in the file), a node failure of the market makers' site,
/// and a partition of that site from the venue's, all over the window of the
/// file's first disruption. Per variant, inside the window and outside it
/// (the rest of the run): the time-weighted spread from the L1 samples, the
/// share of samples with a side of the book empty, trades per second; the
/// market makers' fills inside the window and the share of them that were
/// stale (the mid 500 ms later had moved against the maker by 2 ticks or
/// more: a quote left behind by the market); for the whole run: the makers'
/// PnL, the other agents' fills per order sent, and the messages the network
/// lost or could not route.
void disruption(context& cx, const scenario& sc) {
  if (!sc.network || sc.network->disruptions.empty() ||
      !sc.network->disruptions.front().duration)
    throw std::invalid_argument(sc.file + ": the experiment needs a network: section with "
                                          "a first disruption that has a duration (its "
                                          "window is the experiment's)");
  const auto makers = groups_of(sc, "market_maker", 1);
  const auto& first = sc.network->disruptions.front();
  const auto w0 = first.start;
  const auto w1 = first.start + *first.duration;
  require_before_end(sc, w1, "the disruption's end");
  const auto maker_site = sc.agents[makers.front()].site;
  const auto plan = make_network_plan(sc);
  const auto venue_name = plan->topology.site_at(plan->shard_sites.front()).name;

  std::set<market::owner_id> maker_owners;
  struct variant {
    std::string name;
    std::vector<disruption_config> disruptions;
  };
  std::vector<variant> variants;
  variants.push_back({"none", {}});
  variants.push_back({"as in the file (" + std::string{to_string(first.kind)} + ")",
                      sc.network->disruptions});
  {
    disruption_config d;
    d.kind = disruption_kind::node_failure;
    d.start = w0;
    d.duration = *first.duration;
    d.sites = {maker_site};
    variants.push_back({"node failure of " + maker_site.name, {d}});
  }
  {
    // The makers' site and the first noise traders' site cut off from the
    // venue's (in a star: both leaves isolated at once).
    std::vector<site_ref> cut{maker_site};
    for (const auto& g : sc.agents)
      if (g.strategy == "noise" && g.count > 0 && g.site.name != maker_site.name &&
          g.site.name != venue_name) {
        cut.push_back(g.site);
        break;
      }
    disruption_config d;
    d.kind = disruption_kind::partition;
    d.start = w0;
    d.duration = *first.duration;
    d.groups = {cut, {site_ref{venue_name, 0}}};
    std::string names;
    for (const auto& c : cut)
      names += (names.empty() ? "" : ", ") + c.name;
    variants.push_back({"partition {" + names + "} from " + venue_name, {d}});
  }

  experiment_table t;
  t.header = {"disruption", "spread in window", "spread outside", "one-sided in window",
           "one-sided outside", "trades/s in window", "trades/s outside", "maker fills in window",
           "of which stale", "maker PnL", "taker fills/order", "lost or unroutable msgs"};
  for (const auto& v : variants) {
    scenario s = sc;
    s.network->disruptions = v.disruptions;
    double spread_in = 0, spread_out = 0, n_in = 0, n_out = 0, one_in = 0, one_out = 0,
           trades_in = 0, trades_out = 0, maker_fills = 0, stale = 0, maker_pnl = 0,
           taker_orders = 0, taker_fills = 0, lost = 0;
    std::uint32_t runs = 0;
    run_seeds(cx, s, "disruption: " + v.name, [&](const run_result& r, const auto& ranges) {
      ++runs;
      maker_owners.clear();
      for (std::size_t g = 0; g < s.agents.size(); ++g)
        for (std::size_t i = 0; i < ranges[g].count; ++i) {
          const auto& a = r.agents.at(ranges[g].first + i);
          if (std::find(makers.begin(), makers.end(), g) != makers.end()) {
            maker_owners.insert(a.owner);
            maker_pnl += static_cast<double>(a.pnl);
          } else {
            taker_orders += static_cast<double>(a.orders);
            taker_fills += static_cast<double>(a.fills);
          }
        }
      auto in_window = [&](std::int64_t ns) { return ns >= w0.count() && ns < w1.count(); };
      for (const auto& q : r.l1) {
        if (q.symbol != 0)
          continue;
        const bool two = q.bid_qty > 0 && q.ask_qty > 0;
        auto& sum = in_window(q.time_ns) ? spread_in : spread_out;
        auto& n = in_window(q.time_ns) ? n_in : n_out;
        auto& one = in_window(q.time_ns) ? one_in : one_out;
        if (two) {
          sum += static_cast<double>(q.ask - q.bid);
          n += 1;
        } else {
          one += 1;
        }
      }
      // The mid at or after t from the samples (0 if none two-sided).
      auto mid_after = [&](std::int64_t t_ns) -> double {
        for (const auto& q : r.l1)
          if (q.symbol == 0 && q.time_ns >= t_ns && q.bid_qty > 0 && q.ask_qty > 0)
            return static_cast<double>(q.bid + q.ask) / 2;
        return 0;
      };
      const auto tick = static_cast<double>(sc.symbols.front().tick_size);
      for (const auto& tr : r.tape) {
        (in_window(tr.time_ns) ? trades_in : trades_out) += 1;
        if (!maker_owners.count(tr.maker_owner) || !in_window(tr.time_ns))
          continue;
        maker_fills += 1;
        const double later = mid_after(tr.time_ns + 500'000'000);
        if (later == 0)
          continue;
        // The maker bought when the aggressor sold; it sold when they bought.
        const bool maker_bought = tr.aggressor == market::side::sell;
        const double move = (later - static_cast<double>(tr.price)) / tick;
        if ((maker_bought && move <= -2) || (!maker_bought && move >= 2))
          stale += 1;
      }
      if (r.network)
        lost += static_cast<double>(r.network->dropped() + r.network->unroutable());
    });
    const double window_s = std::chrono::duration<double>(w1 - w0).count();
    const double outside_s = std::chrono::duration<double>(sc.duration).count() - window_s;
    const double samples_in = n_in + one_in, samples_out = n_out + one_out;
    const double rn = std::max<std::uint32_t>(runs, 1);
    t.rows.push_back({v.name, n_in ? num(spread_in / n_in, 2) : "-",
           n_out ? num(spread_out / n_out, 2) : "-", pct(one_in, samples_in),
           pct(one_out, samples_out), num(trades_in / rn / window_s, 1),
           outside_s > 0 ? num(trades_out / rn / outside_s, 1) : "-", num(maker_fills / rn),
           pct(stale, maker_fills), num(maker_pnl / rn), num(taker_orders ? taker_fills / taker_orders : 0, 3),
           num(lost / rn)});
  }
  t.title = fmt::format("Congestion and outage: market makers at {}, venue at {}, window "
                        "{} .. {}, {} seed(s), {} each",
                        maker_site.name, venue_name, format_duration(w0),
                        format_duration(w1), cx.options.seeds, format_duration(sc.duration));
  t.note = "Spread in ticks, mean over the L1 samples with both sides; one-sided: samples "
           "with a side empty. Maker fills and PnL, trades/s, lost messages: means per "
           "run.";
  emit(cx, std::move(t));
}

// -- venue choice ------------------------------------------------------------------------

/// The `venue_router` groups in each mode (best_quote, nearest, smart), with
/// market orders and with IOC limit orders at the chosen quote, the rest of
/// the market unchanged. Per variant: parent orders, orders sent, the
/// quantity filled per quantity sent, the mean slippage against the chosen
/// venue's quote at the decision and against the best quote of any venue
/// (per unit filled, positive = worse; weighted by filled quantity), the
/// share of orders per venue, and the routers' PnL.
void venue_choice(context& cx, const scenario& sc) {
  const auto routers = groups_of(sc, "venue_router", 1);
  std::vector<std::string> venues;
  for (const auto& s : sc.agents[routers.front()].symbols)
    venues.push_back(s);

  std::vector<std::string> header{"orders", "mode", "parents", "sent", "filled / sent",
                                  "slippage vs chosen quote", "cost vs best quote"};
  for (const auto& v : venues)
    header.push_back("to " + v);
  header.emplace_back("PnL");
  experiment_table t;
  t.header = header;
  for (const char* type : {"market", "limit"})
  for (const char* mode : {"best_quote", "nearest", "smart"}) {
    scenario s = sc;
    for (auto g : routers) {
      s.agents[g].params.set("mode", std::string{mode});
      s.agents[g].params.set("order_type", std::string{type});
    }
    double parents = 0, orders = 0, sent = 0, filled = 0, slip = 0, cost = 0, pnl = 0;
    std::map<std::string, double> routed;
    std::uint32_t runs = 0;
    run_seeds(cx, s, fmt::format("routers: {} orders, mode {}", type, mode),
              [&](const run_result& r, const auto& ranges) {
      ++runs;
      for (auto g : routers)
        for (std::size_t i = 0; i < ranges[g].count; ++i) {
          const auto& a = r.agents.at(ranges[g].first + i);
          parents += metric(a, "parents");
          orders += metric(a, "orders_sent");
          sent += metric(a, "sent_qty");
          const double f = metric(a, "filled_qty");
          filled += f;
          slip += metric(a, "avg_slippage") * f;
          cost += metric(a, "avg_cost_vs_best_quote") * f;
          pnl += static_cast<double>(a.pnl);
          for (const auto& v : venues)
            routed[v] += metric(a, "routed_" + v);
        }
    });
    const double rn = std::max<std::uint32_t>(runs, 1);
    std::vector<std::string> row{type == std::string_view{"limit"} ? "IOC limit" : type,
                                 mode,
                                 num(parents / rn),
                                 num(orders / rn),
                                 pct(filled, sent),
                                 filled ? num(slip / filled, 3) : "-",
                                 filled ? num(cost / filled, 3) : "-"};
    for (const auto& v : venues)
      row.push_back(pct(routed[v], orders));
    row.push_back(num(pnl / rn));
    t.rows.push_back(std::move(row));
  }
  const auto plan = make_network_plan(sc);
  t.title = fmt::format("Venue choice: {} router(s) at {}, {} seed(s), {} each",
                        sc.agents[routers.front()].count,
                        sc.agents[routers.front()].site.name, cx.options.seeds,
                        format_duration(sc.duration));
  t.note = "Per run, summed over the routers. Slippage and cost in price units per unit "
           "filled (positive = worse). An IOC limit order at a quote that is gone when it "
           "arrives fills nothing (filled / sent).";
  for (std::size_t v = 0; v < sc.shards.size(); ++v)
    t.note += fmt::format(
        " Latency to {}: {} ms.", plan->topology.site_at(plan->shard_sites[v]).name,
        ms(static_cast<double>(
            path_ns(*plan, plan->group_sites[routers.front()], plan->shard_sites[v]))));
  emit(cx, std::move(t));
}

using experiment_fn = void (*)(context&, const scenario&);

struct entry {
  experiment_info info;
  experiment_fn run;
};

const std::vector<entry>& entries() {
  static const std::vector<entry> all{
      {{"latency-arbitrage",
        "two venues of one instrument, arbitrageurs at different distances: PnL and "
        "fill rates against latency",
        "configs/experiments/latency_arbitrage.yaml"},
       latency_arbitrage},
      {{"information-propagation",
        "a price shock at one venue: when each site's agents see it, against the "
        "shortest-path latency",
        "configs/experiments/information_propagation.yaml"},
       information_propagation},
      {{"disruption",
        "congestion, a node failure and a partition: spreads, one-sided books, fills "
        "and stale quotes",
        "configs/experiments/disruption.yaml"},
       disruption},
      {{"venue-choice",
        "routers that choose a venue by quote, by measured latency, or by expected "
        "price after latency",
        "configs/experiments/venue_choice.yaml"},
       venue_choice},
  };
  return all;
}

} // namespace

const std::vector<experiment_info>& experiment_list() {
  static const std::vector<experiment_info> list = [] {
    std::vector<experiment_info> out;
    for (const auto& e : entries())
      out.push_back(e.info);
    return out;
  }();
  return list;
}

const std::string& experiment_table::cell(std::size_t row, std::string_view column) const {
  auto i = std::find(header.begin(), header.end(), column);
  if (i == header.end())
    throw std::out_of_range("no column '" + std::string{column} + "' in '" + title + "'");
  return rows.at(row).at(static_cast<std::size_t>(i - header.begin()));
}

std::size_t experiment_table::row_of(std::string_view key) const {
  for (std::size_t r = 0; r < rows.size(); ++r)
    if (!rows[r].empty() && rows[r].front() == key)
      return r;
  throw std::out_of_range("no row '" + std::string{key} + "' in '" + title + "'");
}

std::vector<experiment_table> run_experiment(std::string_view name,
                                             const experiment_options& options,
                                             const strategies::strategy_registry& registry,
                                             std::ostream& out) {
  const entry* found = nullptr;
  std::string names;
  for (const auto& e : entries()) {
    names += (names.empty() ? "" : ", ") + e.info.name;
    if (e.info.name == name)
      found = &e;
  }
  if (found == nullptr)
    throw std::invalid_argument("unknown experiment '" + std::string{name} +
                                "' (experiments: " + names + ")");
  if (options.seeds == 0)
    throw std::invalid_argument("--seeds must be at least 1");
  const auto path = options.config.empty() ? found->info.config : options.config;
  auto sc = load_scenario(path, registry);
  if (options.duration)
    sc.duration = *options.duration;
  if (sc.clock != clock_mode::virtual_time)
    throw std::invalid_argument(path + ": experiments run in virtual time (clock: virtual)");

  context cx{options, registry, out, {}, {}};
  emit(cx, [&](std::ostream& o) {
    o << fmt::format("## Experiment {}\n\n`marketsim experiment {} --seeds {}` on {} (base "
                     "seed {}).\n\n",
                     found->info.name, found->info.name, options.seeds, path, sc.seed);
  });
  found->run(cx, sc);

  const auto dir = options.out_dir.empty()
                       ? "runs/experiments/" + std::string{name}
                       : options.out_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("cannot create " + dir + ": " + ec.message());
  const auto file = dir + "/" + std::string{name} + ".md";
  std::ofstream f{file};
  f << cx.doc.str();
  if (!f)
    throw std::runtime_error("cannot write " + file);
  out << "wrote " << file << '\n';
  return std::move(cx.tables);
}

} // namespace marketsim::app
