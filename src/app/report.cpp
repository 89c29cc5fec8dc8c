#include "app/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>

namespace marketsim::app {

namespace {

std::string spread_text(const std::optional<double>& x) {
  return x ? fmt::format("{:.2f}", *x) : std::string{"-"};
}

std::string spread_text(const std::optional<market::price_t>& x) {
  return x ? std::to_string(*x) : std::string{"-"};
}

std::string vwap_text(const symbol_result& s) {
  return s.trades > 0 ? fmt::format("{:.2f}", s.vwap) : std::string{"-"};
}

double seconds(std::chrono::nanoseconds x) {
  return std::chrono::duration<double>(x).count();
}

double per_second(std::uint64_t n, std::chrono::nanoseconds wall) {
  return seconds(wall) > 0 ? static_cast<double>(n) / seconds(wall) : 0.0;
}

/// A CSV field: quoted (with doubled quotes) when it holds a comma, a quote
/// or a line break.
std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos)
    return std::string{s};
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + "\"";
}

std::string positions_text(const run_result& r, const agent_record& a) {
  std::string out;
  for (const auto& [symbol, qty] : a.positions) {
    if (!out.empty())
      out += ';';
    out += r.symbols.at(symbol).name + ":" + std::to_string(qty);
  }
  return out;
}

// -- JSON ------------------------------------------------------------------------

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20)
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      else
        out += c;
    }
  }
  return out + "\"";
}

/// Shortest round-trip form, locale-independent; JSON has no NaN or
/// infinity, so those become null.
std::string json_number(double x) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return ec == std::errc{} && std::isfinite(x) ? std::string(buf, end)
                                               : std::string{"null"};
}

template <class T>
std::string json_optional(const std::optional<T>& x) {
  if (!x)
    return "null";
  if constexpr (std::is_floating_point_v<T>)
    return json_number(*x);
  else
    return std::to_string(*x);
}

/// Joins `items` as the elements of a JSON array, one per line.
/// A one-line JSON array of strings.
std::string json_strings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + json_string(items[i]);
  return out + "]";
}

std::string json_array(const std::vector<std::string>& items, std::string_view indent) {
  if (items.empty())
    return "[]";
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "\n" : ",\n") + std::string{indent} + "  " + items[i];
  return out + "\n" + std::string{indent} + "]";
}

} // namespace

std::vector<strategy_summary> summarise_strategies(const run_result& r) {
  std::vector<strategy_summary> result;
  std::map<std::string, std::size_t, std::less<>> index;
  for (const auto& a : r.agents) {
    auto [it, inserted] = index.emplace(a.strategy, result.size());
    if (inserted) {
      result.push_back({});
      result.back().strategy = a.strategy;
      result.back().pnl_min = a.pnl;
      result.back().pnl_max = a.pnl;
    }
    auto& s = result[it->second];
    ++s.agents;
    s.orders += a.orders;
    s.fills += a.fills;
    s.rejects += a.rejects;
    s.pnl_total += a.pnl;
    s.pnl_min = std::min(s.pnl_min, a.pnl);
    s.pnl_max = std::max(s.pnl_max, a.pnl);
    s.fees += a.fees;
    s.failed += a.failed ? 1 : 0;
  }
  for (auto& s : result)
    s.pnl_mean = static_cast<double>(s.pnl_total) / static_cast<double>(s.agents);
  return result;
}

void print_summary(std::ostream& out, const run_result& r) {
  out << fmt::format("marketsim run '{}' (seed {}, {} time): {:.2f} s simulated in "
                     "{:.2f} s wall, {} agents, {} shards",
                     r.name, r.seed, to_string(r.clock), seconds(r.sim_time),
                     seconds(r.elapsed), r.agents.size(), r.shards);
  if (r.clock == clock_mode::real_time)
    out << fmt::format(", {} threads ({})", r.threads, to_string(r.policy));
  out << "\n\n";

  auto row = [&](auto&&... xs) {
    auto line =
        fmt::format("{:<10} {:>9} {:>8} {:>8} {:>10} {:>12} {:>10} {:>9} {:>9}", xs...);
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  };
  row("symbol", "orders", "rejects", "trades", "volume", "vwap", "avg spread", "spread",
      "mark");
  std::uint64_t orders = 0, rejects = 0, trades = 0;
  market::qty_t volume = 0;
  for (const auto& s : r.symbols) {
    row(s.name, s.orders, s.rejects, s.trades, s.volume, vwap_text(s),
        spread_text(s.average_spread), spread_text(s.final_spread), s.mark);
    orders += s.orders;
    rejects += s.rejects;
    trades += s.trades;
    volume += s.volume;
  }
  row("total", orders, rejects, trades, volume, "", "", "", "");

  out << '\n';
  auto srow = [&](auto&&... xs) {
    auto line = fmt::format("{:<18} {:>8} {:>10} {:>9} {:>8} {:>14} {:>16} {:>7}", xs...);
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  };
  srow("strategy", "agents", "orders", "fills", "rejects", "pnl mean", "pnl total",
       "failed");
  for (const auto& s : summarise_strategies(r))
    srow(s.strategy, s.agents, s.orders, s.fills, s.rejects,
         fmt::format("{:.1f}", s.pnl_mean), s.pnl_total, s.failed);
  for (const auto& a : r.agents)
    if (a.failed) {
      out << fmt::format("first failed agent: #{} ({}): {}\n", a.index, a.strategy,
                         a.error);
      break;
    }

  out << '\n';
  if (r.clock == clock_mode::virtual_time)
    out << fmt::format("speed: {} events, {:.0f} events/s, {:.0f} orders/s, "
                       "{:.0f} trades/s, {:.1f}x real time\n",
                       r.events, r.events_per_second(), r.orders_per_second(),
                       r.trades_per_second(),
                       seconds(r.elapsed) > 0 ? seconds(r.sim_time) / seconds(r.elapsed)
                                              : 0.0);
  else
    out << fmt::format("speed: {:.0f} orders/s, {:.0f} requests/s at the shards, "
                       "{:.0f} trades/s\n",
                       r.orders_per_second(), per_second(r.shard_requests, r.elapsed),
                       r.trades_per_second());
  out << fmt::format("tape: {} trades, hash {:016x}\n", r.tape.size(), tape_hash(r));
  print_network_summary(out, r);
  print_settlement_summary(out, r);
}

void print_price_consensus_summary(std::ostream& out, const run_result& r) {
  if (!r.price_consensus)
    return;
  const auto& x = *r.price_consensus;
  out << fmt::format("\nconsensus prices (streamlet, {} validators) for {}: {} finalized, "
                     "first {}, last {} (epoch {})\n",
                     x.validators, x.symbol, x.finalized_prices, x.first_price, x.last_price,
                     x.last_epoch);
  for (const auto& s : r.symbols)
    if (s.name == x.symbol)
      out << fmt::format("  {} requests rejected at the shard (all reasons, the band's "
                         "among them)\n",
                         s.rejects);
  for (const auto& m : x.misbehaviour)
    out << "  misbehaviour proved: " << m << "\n";
}

void print_halt_summary(std::ostream& out, const run_result& r) {
  if (!r.halt)
    return;
  const auto& x = *r.halt;
  out << fmt::format("\ntrading halt (dolev-strong, {} validators, f = {}, sender {}): ", x.validators,
                     x.faulty, x.sender);
  if (!x.decided)
    out << "the broadcast did not finish before the end\n";
  else
    out << fmt::format("{} at {:.3f} s (started {:.3f} s), honest validators {}; {} "
                       "signature verifications\n",
                       x.halted ? "HALTED" : "no halt (the default)",
                       static_cast<double>(x.decided_ns) / 1e9,
                       static_cast<double>(x.started_ns) / 1e9,
                       x.agreement ? "agree" : "DISAGREE", x.verifications);
  if (x.refused > 0)
    out << fmt::format("  chains refused by honest validators: {}\n", x.refused);
  for (const auto& m : x.misbehaviour)
    out << "  misbehaviour proved: " << m << "\n";
}

void print_settlement_summary(std::ostream& out, const run_result& r) {
  print_price_consensus_summary(out, r);
  print_halt_summary(out, r);
  if (!r.settlement)
    return;
  const auto& x = *r.settlement;
  auto ms = [](std::int64_t ns) { return static_cast<double>(ns) / 1e6; };
  const bool bft = x.protocol == "streamlet";
  if (bft)
    out << fmt::format("\nsettlement (streamlet, {} validators): {} trades submitted, {} "
                       "finalized on every honest validator, {} not; {} shard-signed batches\n",
                       x.validators, x.submitted, x.committed, x.gave_up, x.batches);
  else
    out << fmt::format("\nsettlement (raft, {} validators): {} trades submitted, {} committed, "
                       "{} refused, {} unanswered; {} resends\n",
                       x.validators, x.submitted, x.committed, x.rejected, x.gave_up,
                       x.retries);
  out << fmt::format("  {} latency: p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, max {:.2f} "
                     "ms; throughput {:.0f} trades/s",
                     bft ? "finality" : "commit", ms(x.latency_p50_ns), ms(x.latency_p90_ns),
                     ms(x.latency_p99_ns), ms(x.latency_max_ns), x.committed_per_second);
  if (bft)
    out << fmt::format("; chain height {}\n", x.applied_index);
  else
    out << fmt::format("; longest wait between commits {:.1f} ms\n", ms(x.longest_gap_ns));
  if (bft && (x.unsigned_finalized > 0 || x.finalized_twice > 0))
    out << fmt::format("  FINALIZED ANYWAY: {} transactions no shard signed, {} trades a second "
                       "time (neither settled)\n",
                       x.unsigned_finalized, x.finalized_twice);
  for (const auto& m : x.misbehaviour)
    out << "  misbehaviour proved: " << m << "\n";
  if (x.crashed) {
    out << fmt::format("  leader crash: validator {} killed at {:.3f} s; ", *x.crashed,
                       static_cast<double>(x.crash_at_ns) / 1e9);
    if (x.failover_ns)
      out << fmt::format("validator {} elected {:.1f} ms later (failover){}\n",
                         x.new_leader.value_or(0), ms(*x.failover_ns),
                         x.restarted ? "; the crashed validator was restarted" : "");
    else
      out << "no new leader was seen\n";
  }
  out << fmt::format("  {}: {}, {} {}, ledger {}; the tape's own ledger: {}\n",
                     bft ? "honest validators" : "replicas",
                     x.replicas_agree ? "agree" : "DISAGREE",
                     bft ? "finalized height" : "applied index", x.applied_index,
                     x.state_hash.substr(0, 16),
                     x.matches_tape ? "the same" : "DIFFERENT (" + x.tape_hash.substr(0, 16) + ")");
  if (!x.settled)
    out << "  warning: not every trade was answered before the settlement deadline\n";
}

void print_network_summary(std::ostream& out, const run_result& r) {
  if (!r.network)
    return;
  const auto& n = *r.network;
  out << fmt::format("\nnetwork: {} sites, {} directed links, {} ports; {} messages sent, "
                     "{} delivered, {} dropped, {} unroutable",
                     n.sites, n.links.size(), n.proxies, n.sent(), n.delivered(),
                     n.dropped(), n.unroutable());
  if (n.unserializable > 0)
    out << fmt::format(", {} unserializable", n.unserializable);
  out << fmt::format("; {} events; settled in {:.3f} s{}\n", n.events,
                     seconds(n.settle_time), n.settled ? "" : " (NOT settled)");
  if (n.unplaced_senders + n.anonymous + n.refused_requests > 0)
    out << fmt::format("  from actors outside the network: {} (unplaced), {} (anonymous), "
                       "{} requests refused\n",
                       n.unplaced_senders, n.anonymous, n.refused_requests);

  auto ms = [](std::int64_t ns) { return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6); };
  // Site names vary in length: the first column fits the longest pair.
  std::size_t width = 4;
  for (const auto& l : n.links)
    width = std::max(width, l.from.size() + l.to.size() + 2);
  for (const auto& p : n.routes)
    width = std::max(width, p.from.size() + p.to.size() + 2);
  auto lrow = [&](const std::string& name, auto&&... xs) {
    auto line = fmt::format("  {:<{}} {:>10} {:>12} {:>7} {:>10} {:>10} {:>12}", name,
                            width, xs...);
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  };
  // Busiest first; ties by name, so the table is stable.
  std::vector<const network_link_result*> links;
  for (const auto& l : n.links)
    if (l.messages > 0)
      links.push_back(&l);
  std::stable_sort(links.begin(), links.end(), [](const auto* a, const auto* b) {
    return a->messages > b->messages;
  });
  constexpr std::size_t busiest = 5;
  if (!links.empty()) {
    out << "busiest links:\n";
    lrow("link", "messages", "bytes", "drops", "p50 ms", "p99 ms", "queue max ms");
    for (std::size_t i = 0; i < links.size() && i < busiest; ++i) {
      const auto& l = *links[i];
      lrow(l.from + "->" + l.to, l.messages, l.bytes, l.drops, ms(l.latency_p50_ns),
           ms(l.latency_p99_ns), ms(l.queueing_max_ns));
    }
  }
  bool any_drops = false;
  for (const auto& l : n.links)
    if (l.drops > 0) {
      if (!any_drops)
        out << "links with drops:\n";
      any_drops = true;
      out << fmt::format("  {:<{}} {} of {}\n", l.from + "->" + l.to, width, l.drops,
                         l.messages);
    }
  bool any_unroutable = false;
  for (const auto& p : n.routes)
    if (p.unroutable > 0) {
      if (!any_unroutable)
        out << "unroutable (no route at the time):\n";
      any_unroutable = true;
      out << fmt::format("  {:<{}} {} of {}\n", p.from + "->" + p.to, width, p.unroutable,
                         p.sent);
    }
}

void write_network_links_csv(std::ostream& out, const run_result& r) {
  if (!r.network)
    return;
  out << "from,to,messages,bytes,drops,queueing_total_ns,queueing_max_ns,latency_min_ns,"
         "latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_max_ns\n";
  for (const auto& l : r.network->links)
    out << csv_field(l.from) << ',' << csv_field(l.to) << ',' << l.messages << ','
        << l.bytes << ',' << l.drops << ',' << l.queueing_total_ns << ','
        << l.queueing_max_ns << ',' << l.latency_min_ns << ',' << l.latency_p50_ns << ','
        << l.latency_p90_ns << ',' << l.latency_p99_ns << ',' << l.latency_max_ns << '\n';
}

void write_network_routes_csv(std::ostream& out, const run_result& r) {
  if (!r.network)
    return;
  out << "from,to,sent,delivered,dropped,unroutable\n";
  for (const auto& p : r.network->routes)
    out << csv_field(p.from) << ',' << csv_field(p.to) << ',' << p.sent << ','
        << p.delivered << ',' << p.dropped << ',' << p.unroutable << '\n';
}

void write_trades_csv(std::ostream& out, const run_result& r) {
  out << "seq,time_ns,symbol,price,qty,aggressor,maker_id,taker_id,maker_owner,taker_"
         "owner\n";
  for (const auto& t : r.tape)
    out << t.seq << ',' << t.time_ns << ',' << t.symbol << ',' << t.price << ',' << t.qty
        << ',' << market::to_string(t.aggressor) << ',' << t.maker_id << ',' << t.taker_id
        << ',' << t.maker_owner << ',' << t.taker_owner << '\n';
}

void write_l1_csv(std::ostream& out, const run_result& r) {
  out << "time_ns,symbol,bid,bid_qty,ask,ask_qty\n";
  for (const auto& s : r.l1)
    out << s.time_ns << ',' << r.symbols.at(s.symbol).name << ',' << s.bid << ','
        << s.bid_qty << ',' << s.ask << ',' << s.ask_qty << '\n';
}

void write_agents_csv(std::ostream& out, const run_result& r) {
  out << "index,owner,strategy,cash,positions,realised,unrealised,equity,fees,pnl,"
         "orders,fills,rejects,failed,error,metrics\n";
  for (const auto& a : r.agents) {
    std::string metrics;
    for (const auto& [name, value] : a.metrics)
      metrics += fmt::format("{}{}={}", metrics.empty() ? "" : ";", name, value);
    out << a.index << ',' << a.owner << ',' << csv_field(a.strategy) << ',' << a.cash
        << ',' << positions_text(r, a) << ',' << a.realised << ',' << a.unrealised << ','
        << a.equity << ',' << a.fees << ',' << a.pnl << ',' << a.orders << ',' << a.fills
        << ',' << a.rejects << ',' << (a.failed ? 1 : 0) << ',' << csv_field(a.error)
        << ',' << csv_field(metrics) << '\n';
  }
}

std::uint64_t tape_hash(const run_result& r) {
  std::ostringstream text;
  write_trades_csv(text, r);
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text.str()) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string summary_json(const run_result& r) {
  std::string out = "{\n";
  std::vector<std::string> groups;
  for (const auto& [strategy, count] : r.groups)
    groups.push_back(
        fmt::format("{{\"strategy\": {}, \"count\": {}}}", json_string(strategy), count));
  out += fmt::format("  \"scenario\": {{\"name\": {}, \"file\": {}, \"agents\": {}}},\n",
                     json_string(r.name), json_string(r.file), json_array(groups, "  "));
  out += fmt::format("  \"name\": {},\n  \"clock\": {},\n  \"seed\": {},\n",
                     json_string(r.name), json_string(to_string(r.clock)), r.seed);
  out += fmt::format("  \"sim_time_s\": {},\n  \"elapsed_s\": {},\n",
                     json_number(seconds(r.sim_time)), json_number(seconds(r.elapsed)));
  out += fmt::format("  \"events\": {},\n  \"events_per_s\": {},\n", r.events,
                     json_number(r.events_per_second()));
  out += fmt::format("  \"threads\": {},\n  \"policy\": {},\n  \"shards\": {},\n",
                     r.threads, json_string(to_string(r.policy)), r.shards);
  out += fmt::format("  \"fundamentals\": {},\n  \"l1_sample_s\": {},\n",
                     r.fundamentals ? "true" : "false",
                     json_number(seconds(r.l1_sample_period)));
  out += fmt::format("  \"shard_requests\": {},\n  \"unroutable_reports\": {},\n",
                     r.shard_requests, r.unroutable_reports);
  out += fmt::format("  \"tape_trades\": {},\n  \"tape_hash\": \"{:016x}\",\n",
                     r.tape.size(), tape_hash(r));
  out += fmt::format("  \"orders\": {},\n  \"orders_per_s\": {},\n", r.orders_sent(),
                     json_number(r.orders_per_second()));
  out += fmt::format("  \"trades_per_s\": {},\n", json_number(r.trades_per_second()));

  std::vector<std::string> symbols;
  for (const auto& s : r.symbols)
    symbols.push_back(fmt::format(
        "{{\"name\": {}, \"orders\": {}, \"rejects\": {}, \"trades\": {}, "
        "\"volume\": {}, \"vwap\": {}, \"last_price\": {}, \"mark\": {}, "
        "\"l1_updates\": {}, \"average_spread\": {}, \"final_spread\": {}}}",
        json_string(s.name), s.orders, s.rejects, s.trades, s.volume,
        s.trades > 0 ? json_number(s.vwap) : std::string{"null"},
        s.trades > 0 ? std::to_string(s.last_price) : std::string{"null"}, s.mark,
        s.l1_updates, json_optional(s.average_spread), json_optional(s.final_spread)));
  out += "  \"symbols\": " + json_array(symbols, "  ") + ",\n";

  std::vector<std::string> strategies;
  for (const auto& s : summarise_strategies(r))
    strategies.push_back(fmt::format(
        "{{\"strategy\": {}, \"agents\": {}, \"orders\": {}, \"fills\": {}, "
        "\"rejects\": {}, \"pnl_total\": {}, \"pnl_mean\": {}, \"pnl_min\": {}, "
        "\"pnl_max\": {}, \"fees\": {}, \"failed\": {}}}",
        json_string(s.strategy), s.agents, s.orders, s.fills, s.rejects, s.pnl_total,
        json_number(s.pnl_mean), s.pnl_min, s.pnl_max, s.fees, s.failed));
  out += "  \"strategies\": " + json_array(strategies, "  ");
  if (r.network) {
    const auto& n = *r.network;
    out += fmt::format(
        ",\n  \"network\": {{\"sites\": {}, \"links\": {}, \"ports\": {}, "
        "\"forwarded\": {}, \"sent\": {}, \"delivered\": {}, \"dropped\": {}, "
        "\"unroutable\": {}, \"unserializable\": {}, \"unplaced_senders\": {}, "
        "\"anonymous\": {}, \"refused_requests\": {}, \"events\": {}, "
        "\"settled\": {}, \"settle_time_s\": {}}}",
        n.sites, n.links.size(), n.proxies, n.forwarded, n.sent(), n.delivered(),
        n.dropped(), n.unroutable(), n.unserializable, n.unplaced_senders, n.anonymous,
        n.refused_requests, n.events, n.settled ? "true" : "false",
        json_number(seconds(n.settle_time)));
  }
  if (r.halt) {
    const auto& x = *r.halt;
    out += fmt::format(",\n  \"halt\": {{\"validators\": {}, \"faulty\": {}, \"sender\": {}, "
                       "\"decided\": {}, \"halted\": {}, \"agreement\": {}, "
                       "\"started_s\": {}, \"decided_s\": {}, \"verifications\": {}, "
                       "\"refused\": {}, \"misbehaviour\": {}}}",
                       x.validators, x.faulty, json_string(x.sender), x.decided ? "true" : "false",
                       x.halted ? "true" : "false", x.agreement ? "true" : "false",
                       x.started_ns >= 0 ? json_number(x.started_ns / 1e9) : "null",
                       x.decided_ns >= 0 ? json_number(x.decided_ns / 1e9) : "null",
                       x.verifications, x.refused, json_strings(x.misbehaviour));
  }
  if (r.price_consensus) {
    const auto& x = *r.price_consensus;
    out += fmt::format(",\n  \"price_consensus\": {{\"symbol\": {}, \"validators\": {}, "
                       "\"finalized_prices\": {}, \"first_price\": {}, \"last_price\": {}, "
                       "\"last_epoch\": {}, \"misbehaviour\": {}}}",
                       json_string(x.symbol), x.validators, x.finalized_prices, x.first_price,
                       x.last_price, x.last_epoch, json_strings(x.misbehaviour));
  }
  if (r.settlement) {
    const auto& x = *r.settlement;
    out += fmt::format(
        ",\n  \"settlement\": {{\"protocol\": {}, \"validators\": {}, \"submitted\": {}, "
        "\"committed\": {}, \"rejected\": {}, \"unanswered\": {}, \"resends\": {}, "
        "\"latency_p50_ms\": {}, \"latency_p90_ms\": {}, \"latency_p99_ms\": {}, "
        "\"latency_max_ms\": {}, \"commits_per_s\": {}, \"longest_gap_ms\": {}, "
        "\"crashed\": {}, \"crash_at_s\": {}, \"failover_ms\": {}, \"new_leader\": {}, "
        "\"restarted\": {}, \"replicas_agree\": {}, \"applied_index\": {}, "
        "\"state_hash\": {}, \"matches_tape\": {}, \"settled\": {}, "
        "\"unsigned_finalized\": {}, \"finalized_twice\": {}, \"batches\": {}, "
        "\"misbehaviour\": {}}}",
        json_string(x.protocol), x.validators, x.submitted, x.committed, x.rejected, x.gave_up, x.retries,
        json_number(x.latency_p50_ns / 1e6), json_number(x.latency_p90_ns / 1e6),
        json_number(x.latency_p99_ns / 1e6), json_number(x.latency_max_ns / 1e6),
        json_number(x.committed_per_second), json_number(x.longest_gap_ns / 1e6),
        x.crashed ? std::to_string(*x.crashed) : "null",
        x.crash_at_ns >= 0 ? json_number(x.crash_at_ns / 1e9) : "null",
        x.failover_ns ? json_number(*x.failover_ns / 1e6) : "null",
        x.new_leader ? std::to_string(*x.new_leader) : "null",
        x.restarted ? "true" : "false", x.replicas_agree ? "true" : "false", x.applied_index,
        json_string(x.state_hash), x.matches_tape ? "true" : "false",
        x.settled ? "true" : "false", x.unsigned_finalized, x.finalized_twice, x.batches,
        json_strings(x.misbehaviour));
  }
  out += "\n}\n";
  return out;
}

void write_outputs(const run_result& r, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error(dir.string() +
                             ": cannot create the folder: " + ec.message());
  auto write = [&](const char* name, auto&& body) {
    auto path = dir / name;
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    if (out)
      body(out);
    out.flush();
    if (!out)
      throw std::runtime_error(path.string() + ": cannot write: " + std::strerror(errno));
  };
  write("trades.csv", [&](std::ostream& out) { write_trades_csv(out, r); });
  write("l1.csv", [&](std::ostream& out) { write_l1_csv(out, r); });
  write("agents.csv", [&](std::ostream& out) { write_agents_csv(out, r); });
  write("summary.json", [&](std::ostream& out) { out << summary_json(r); });
  if (r.network) {
    write("network_links.csv", [&](std::ostream& out) { write_network_links_csv(out, r); });
    write("network_routes.csv",
          [&](std::ostream& out) { write_network_routes_csv(out, r); });
  }
}

} // namespace marketsim::app
