#pragma once

/// What `marketsim run` shows and leaves behind: a summary table on the
/// terminal, and in the output folder the trade tape (trades.csv) and the
/// summary as JSON (summary.json).

#include "app/run.hpp"

#include <filesystem>
#include <iosfwd>
#include <string>

namespace marketsim::app {

/// The summary table: per symbol orders, trades, volume, VWAP, average and
/// final spread; totals; orders per second.
void print_summary(std::ostream& out, const run_result& result);

/// The tape as CSV with the header
/// `seq,time_ns,symbol,price,qty,aggressor,maker_id,taker_id,maker_owner,taker_owner`.
void write_trades_csv(std::ostream& out, const run_result& result);

/// The summary as one JSON object (the numbers of print_summary, and more).
std::string summary_json(const run_result& result);

/// Creates `dir` (and its parents) and writes trades.csv and summary.json
/// into it. Throws std::runtime_error when a file cannot be written.
void write_outputs(const run_result& result, const std::filesystem::path& dir);

} // namespace marketsim::app
