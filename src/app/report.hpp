#pragma once

/// What `marketsim run` shows and leaves behind: summary tables on the
/// terminal, and in the output folder the trade tape (trades.csv), sampled
/// best bid/offer (l1.csv), one line per agent (agents.csv) and the summary
/// as JSON (summary.json); with a network model also its links
/// (network_links.csv) and site pairs (network_routes.csv). No CAF here.

#include "app/run.hpp"

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace marketsim::app {

/// The agents of one strategy, summed.
struct strategy_summary {
  std::string strategy;
  std::uint64_t agents = 0;
  std::uint64_t orders = 0;
  std::uint64_t fills = 0;
  std::uint64_t rejects = 0;
  std::int64_t pnl_total = 0; ///< sum of agent_record::pnl
  double pnl_mean = 0;
  std::int64_t pnl_min = 0;
  std::int64_t pnl_max = 0;
  std::int64_t fees = 0;
  std::uint64_t failed = 0; ///< agents whose strategy threw
};

/// Per strategy, in order of first appearance among the agents.
std::vector<strategy_summary> summarise_strategies(const run_result& result);

/// The summary: per symbol orders, trades, volume, VWAP, average and final
/// spread, mark; totals; per strategy agents, orders, fills, PnL; speed.
void print_summary(std::ostream& out, const run_result& result);

/// The tape as CSV with the header
/// `seq,time_ns,symbol,price,qty,aggressor,maker_id,taker_id,maker_owner,taker_owner`.
void write_trades_csv(std::ostream& out, const run_result& result);

/// Sampled L1: `time_ns,symbol,bid,bid_qty,ask,ask_qty`.
void write_l1_csv(std::ostream& out, const run_result& result);

/// One line per agent: `index,owner,strategy,cash,positions,realised,
/// unrealised,equity,fees,pnl,orders,fills,rejects,failed,error,metrics`;
/// positions as `SYM:qty` separated by `;`, metrics (what the strategy
/// recorded, context::record_metric) as `name=value` separated by `;`.
void write_agents_csv(std::ostream& out, const run_result& result);

/// With a network: one line per directed link, `from,to,messages,bytes,drops,
/// queueing_total_ns,queueing_max_ns,latency_min_ns,latency_p50_ns,
/// latency_p90_ns,latency_p99_ns,latency_max_ns` (site names). Nothing without.
void write_network_links_csv(std::ostream& out, const run_result& result);

/// With a network: one line per pair of sites that carried traffic,
/// `from,to,sent,delivered,dropped,unroutable`. Nothing without.
void write_network_routes_csv(std::ostream& out, const run_result& result);

/// With a network: the busiest links, the links that dropped messages and
/// the site pairs with unroutable messages, as short tables. Nothing without.
void print_network_summary(std::ostream& out, const run_result& result);

/// With a `settlement:` section: the validators, commits, latency, the
/// failover, and whether the replicas agree with each other and the tape.
void print_settlement_summary(std::ostream& out, const run_result& result);

/// FNV-1a (64 bit) of trades.csv's text: equal tapes, equal hashes.
std::uint64_t tape_hash(const run_result& result);

/// The summary as one JSON object (the numbers of print_summary, and more;
/// with a network a `network` object of totals).
std::string summary_json(const run_result& result);

/// Creates `dir` (and its parents) and writes trades.csv, l1.csv, agents.csv
/// and summary.json into it, with a network also network_links.csv and
/// network_routes.csv. Throws std::runtime_error when a file cannot be
/// written.
void write_outputs(const run_result& result, const std::filesystem::path& dir);

} // namespace marketsim::app
