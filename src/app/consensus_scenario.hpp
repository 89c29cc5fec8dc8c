#pragma once

/// `marketsim consensus SCENARIO.yaml`: Streamlet validators
/// (consensus/bft/streamlet_validator.hpp) in virtual time, some of them
/// Byzantine, agreeing on blocks of coin transfers and, with a `prices:`
/// section, on reference prices from simulated feeds.
///
/// Schema (every key but `validators` optional):
///
///   consensus:
///     validators: 4            # n
///     f: 1                     # if given: must equal the number of `byzantine` entries
///     byzantine:               # who misbehaves, and how
///       - validator: 1         # 0..n-1
///         behaviour: equivocate  # crash silent equivocate vote_invalid forge
///                                # selective_delay fake_txs double_spend shift_price
///         crash_at: 5s         # crash only
///         shift_bps: 300       # shift_price only: the proposed price moves this much
///     epoch: 1s                # epoch duration
///     duration: 20s
///     seed: 1                  # keys, coins and feeds
///     leader: round_robin      # or hash
///     transactions_per_epoch: 2  # coin transfers a client submits to every validator
///     prices:
///       symbol: AAPL
///       start_price: 15000     # ticks (cents)
///       sources: 5             # feed sources, ids 1..sources
///       faulty_sources:        # - {source: 5, fault: outlier}  (stale, outlier, zero_volume)
///       max_move_bps: 1000     # a quote may move at most this much from the last price
///       min_sources: 3         # valid quotes needed for a proposal
///       band_bps: 500          # the trading band around the last finalized price
///
/// The run prints the finalized prices, finality latency, misbehaviour the
/// honest validators detected (with evidence), and the safety check: every
/// honest validator's finalized chain is a prefix of every other's.

#include "consensus/bft/byzantine.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace marketsim::app {

struct consensus_byzantine {
  std::uint32_t validator = 0;
  std::string behaviour; ///< as written (a behaviour_kind name or shift_price)
  std::int64_t crash_at_ns = 0;
  std::int64_t shift_bps = 300;
  int line = 0;
};

struct consensus_faulty_source {
  std::uint32_t source = 0;
  std::string fault;
};

struct consensus_prices {
  std::string symbol = "AAPL";
  std::int64_t start_price = 15'000;
  std::uint32_t sources = 5;
  std::vector<consensus_faulty_source> faulty;
  std::int64_t max_move_bps = 1'000;
  std::uint32_t min_sources = 3;
  std::int64_t band_bps = 500;
};

struct consensus_scenario {
  std::string file;
  std::uint32_t validators = 4;
  std::vector<consensus_byzantine> byzantine;
  std::int64_t epoch_ns = 1'000'000'000;
  std::int64_t duration_ns = 20'000'000'000;
  std::uint64_t seed = 1;
  bool hash_leader = false;
  std::uint32_t transactions_per_epoch = 2;
  std::optional<consensus_prices> prices;
};

/// Loads and checks a scenario; throws scenario_error (`file:line: what`).
consensus_scenario load_consensus_scenario(const std::string& path);
/// The same from text (`name` stands for the file in messages).
consensus_scenario parse_consensus_scenario(const std::string& text, const std::string& name);

/// Runs it, prints the report; returns 0 when safe, 1 on a safety violation.
int run_consensus(const consensus_scenario& sc, std::ostream& out);

struct consensus_cli_options {
  std::string file;
  std::string duration; ///< overrides the scenario's when set
  std::optional<std::uint64_t> seed;
};

/// The subcommand: 2 with one line on `err` for bad input, else run_consensus.
int consensus_command(const consensus_cli_options& opts, std::ostream& out, std::ostream& err);

} // namespace marketsim::app
