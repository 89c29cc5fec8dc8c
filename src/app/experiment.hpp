#pragma once

/// `marketsim experiment NAME`: the network layer's measurable effects, each
/// one command. An experiment loads its base scenario (a plain scenario file
/// in configs/experiments/ that `marketsim run` also runs), runs variants of
/// it over several seeds, and prints result tables (Markdown) that it also
/// writes to `<out>/<name>.md`.
///
/// | name                    | question                                                  |
/// |-------------------------|-----------------------------------------------------------|
/// | latency-arbitrage       | Do nearer arbitrageurs win, and by how much?              |
/// | information-propagation | When does a price shock reach each site?                  |
/// | disruption              | What do congestion, a failure, a partition do to a market? |
/// | venue-choice            | Does routing on measured latency pay?                     |
///
/// What each one runs and reports is in experiment.cpp, at its function; the
/// tables' columns are defined under them in docs/experiments.md.
///
/// No CAF here.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::strategies {
class strategy_registry;
} // namespace marketsim::strategies

namespace marketsim::app {

struct experiment_info {
  std::string name;
  std::string summary;
  std::string config; ///< the default base scenario
};

/// Every experiment, in the order of the table above.
const std::vector<experiment_info>& experiment_list();

struct experiment_options {
  /// Runs per variant; seed k (0-based) is the base scenario's seed + k.
  std::uint32_t seeds = 3;
  /// Replaces the base scenario's duration (shorter runs for tests). The
  /// experiments' own times (a shock at 5 s, a disruption from 10 s) do not
  /// move: a duration that ends before them is refused.
  std::optional<std::chrono::nanoseconds> duration;
  std::string config;  ///< "" = the experiment's own base scenario
  std::string out_dir; ///< "" = runs/experiments/<name>
  /// Receives one line per run as it starts (nullptr: quiet).
  std::ostream* progress = nullptr;
};

/// One result table as printed: its title, a note on its units, and cells
/// as text (numbers formatted; "-" where there is none).
struct experiment_table {
  std::string title;
  std::string note;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  /// The cell of `row` under the column named `column`; throws
  /// std::out_of_range when there is no such row or column.
  const std::string& cell(std::size_t row, std::string_view column) const;
  /// The first row whose first cell is `key`; throws std::out_of_range.
  std::size_t row_of(std::string_view key) const;
};

/// Runs the experiment `name`, prints its tables to `out` and returns them. Throws
/// std::invalid_argument for an unknown name, zero seeds, or a base scenario
/// that does not have what the experiment needs (the message says what);
/// scenario_error for a bad scenario file; std::runtime_error when the
/// result file cannot be written.
std::vector<experiment_table> run_experiment(std::string_view name,
                                             const experiment_options& options,
                                             const strategies::strategy_registry& registry,
                                             std::ostream& out);

} // namespace marketsim::app
