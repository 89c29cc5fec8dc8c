#pragma once

/// The `marketsim` command line: `run`, `experiment`, `strategies`,
/// `bench book|shard|virtual`, `--help`, `--version`. No CAF here: CAF
/// options are set in code by the subcommands, CAF never sees our argv.

#include <iosfwd>

namespace marketsim::app {

/// Exit codes of the binary.
enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1, ///< the work itself failed (I/O, an actor not answering)
  exit_usage = 2,   ///< bad command line or bad scenario file: one line on `err`
};

/// Parses `argv` and runs the chosen subcommand; results go to `out`, errors
/// to `err` as exactly one line. Returns an exit_code.
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

} // namespace marketsim::app
