#include "app/report.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <ostream>
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

/// Shortest round-trip form, locale-independent (JSON has no NaN/inf; none
/// of ours can be).
std::string json_number(double x) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return ec == std::errc{} ? std::string(buf, end) : std::string{"null"};
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

} // namespace

void print_summary(std::ostream& out, const run_result& r) {
  out << fmt::format("marketsim run '{}' (seed {}): {:.2f} s, {} traders, {} shards, "
                     "{} threads ({})\n\n",
                     r.name, r.seed, seconds(r.elapsed), r.traders.traders, r.shards,
                     r.threads, to_string(r.policy));
  auto row = [&](auto&&... xs) {
    auto line =
        fmt::format("{:<10} {:>9} {:>8} {:>8} {:>10} {:>12} {:>10} {:>9} {:>9}", xs...);
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  };
  row("symbol", "orders", "rejects", "trades", "volume", "vwap", "avg spread", "spread",
      "last");
  std::uint64_t orders = 0, rejects = 0, trades = 0;
  market::qty_t volume = 0;
  for (const auto& s : r.symbols) {
    row(s.name, s.orders, s.rejects, s.trades, s.volume, vwap_text(s),
        spread_text(s.average_spread), spread_text(s.final_spread),
        s.trades > 0 ? std::to_string(s.last_price) : std::string{"-"});
    orders += s.orders;
    rejects += s.rejects;
    trades += s.trades;
    volume += s.volume;
  }
  row("total", orders, rejects, trades, volume, "", "", "", "");
  const auto& t = r.traders;
  out << fmt::format("\ntraders: {} orders sent, {} cancels, {} rejects, {} fills "
                     "({} units), {} orders still resting\n",
                     t.orders, t.cancels, t.rejects, t.fills, t.filled_qty, t.resting);
  out << fmt::format(
      "throughput: {:.0f} orders/s, {:.0f} requests/s at the shards, "
      "{:.0f} trades/s\n",
      r.orders_per_second(),
      seconds(r.elapsed) > 0 ? static_cast<double>(r.shard_requests) / seconds(r.elapsed)
                             : 0.0,
      seconds(r.elapsed) > 0 ? static_cast<double>(trades) / seconds(r.elapsed) : 0.0);
}

void write_trades_csv(std::ostream& out, const run_result& r) {
  out << "seq,time_ns,symbol,price,qty,aggressor,maker_id,taker_id,maker_owner,taker_"
         "owner\n";
  for (const auto& t : r.tape)
    out << t.seq << ',' << t.time_ns << ',' << t.symbol << ',' << t.price << ',' << t.qty
        << ',' << market::to_string(t.aggressor) << ',' << t.maker_id << ',' << t.taker_id
        << ',' << t.maker_owner << ',' << t.taker_owner << '\n';
}

std::string summary_json(const run_result& r) {
  std::string out = "{\n";
  out += fmt::format("  \"name\": {},\n  \"seed\": {},\n", json_string(r.name), r.seed);
  out += fmt::format("  \"elapsed_s\": {},\n  \"threads\": {},\n  \"policy\": {},\n"
                     "  \"shards\": {},\n",
                     json_number(seconds(r.elapsed)), r.threads,
                     json_string(to_string(r.policy)), r.shards);
  out += fmt::format("  \"orders_per_s\": {},\n  \"shard_requests\": {},\n",
                     json_number(r.orders_per_second()), r.shard_requests);
  const auto& t = r.traders;
  out +=
      fmt::format("  \"traders\": {{\"count\": {}, \"orders\": {}, \"cancels\": {}, "
                  "\"accepted\": {}, \"rejects\": {}, \"fills\": {}, \"filled_qty\": {}, "
                  "\"resting\": {}}},\n",
                  t.traders, t.orders, t.cancels, t.accepted, t.rejects, t.fills,
                  t.filled_qty, t.resting);
  out += fmt::format("  \"tape_trades\": {},\n  \"symbols\": [", r.tape.size());
  bool first = true;
  for (const auto& s : r.symbols) {
    out += first ? "\n" : ",\n";
    first = false;
    out += fmt::format(
        "    {{\"name\": {}, \"orders\": {}, \"rejects\": {}, \"trades\": {}, "
        "\"volume\": {}, \"vwap\": {}, \"last_price\": {}, \"l1_updates\": {}, "
        "\"average_spread\": {}, \"final_spread\": {}}}",
        json_string(s.name), s.orders, s.rejects, s.trades, s.volume,
        s.trades > 0 ? json_number(s.vwap) : std::string{"null"},
        s.trades > 0 ? std::to_string(s.last_price) : std::string{"null"}, s.l1_updates,
        json_optional(s.average_spread), json_optional(s.final_spread));
  }
  out += "\n  ]\n}\n";
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
  write("summary.json", [&](std::ostream& out) { out << summary_json(r); });
}

} // namespace marketsim::app
