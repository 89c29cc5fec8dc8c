#pragma once

/// Streamlet across processes: the process glue around one validator actor
/// (streamlet_validator.hpp), over the links of distributed/peer_links.hpp,
/// in real time.
///
/// - `marketsim streamlet-validator`: one validator per process. Ids on the
///   command line are 1..n (the validator list must hold exactly those); the
///   validator's index in the roster is id - 1. It publishes its validator
///   actor, connects to its peers in the background (and again after a loss),
///   and runs epochs of `--epoch-ms` from `--genesis-ms` (unix time; every
///   validator must be given the same, and the hosts' clocks must agree to
///   well within an epoch). It prints each finalized block and each piece of
///   evidence, a status line every `--status-ms`, and a summary when it stops
///   (SIGINT, SIGTERM or after `--epochs`). What it publishes is a gate in
///   front of the validator: it holds the peers' links until genesis, then
///   starts the validator with every peer known so far (messages that come
///   earlier wait in the validator). Start every validator before genesis.
///   Keys: `--key FILE` (this validator's key pair, crypto/key_file.hpp) with
///   `--roster FILE` (every validator's public key, crypto/roster_file.hpp),
///   or, for tests, `--key-seed S` (every key derived from S: anyone who
///   knows S can sign as anyone).
///   With `--load RATE`, a driver in the process submits transactions to this
///   validator (streamlet_load.hpp); with `--trades T` as well, shard-signed
///   trade batches of T trades, which every validator (all given `--trades`)
///   checks with the trade payload rule.
/// - `marketsim streamlet-keygen`: writes v<id>.key files and roster.txt.

#include "distributed/transport.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace marketsim::consensus::bft::streamlet {

struct streamlet_node_options {
  std::uint32_t id = 0;
  std::uint16_t port = 0;         ///< --listen (must be the one the peers know)
  std::string bind = "127.0.0.1"; ///< --bind
  std::string peers;              ///< --peers: every validator, ids 1..n
  std::int64_t epoch_ms = 1000;
  std::int64_t genesis_ms = 0; ///< unix ms when epoch 1 starts (0: 1970)
  std::string leader = "hash"; ///< hash | round-robin
  bool echo = true;
  std::uint64_t max_block_txs = 1000;
  std::string key_file;
  std::string roster_file;
  std::optional<std::uint64_t> key_seed;
  std::string behaviour = "honest";
  std::int64_t crash_after_ms = 0; ///< behaviour crash: this long after start
  std::uint64_t epochs = 0;        ///< stop after this many epochs (0: at a signal)
  std::int64_t status_ms = 5000;   ///< 0: no status lines
  bool print_blocks = true;        ///< a line per finalized block
  std::optional<double> load;      ///< transactions/s to submit; 0: saturate
  std::uint64_t load_window = 0;   ///< own unfinalized at most (0: 3 blocks)
  std::uint64_t tx_bytes = 100;
  /// > 0: the validator runs the trade payload rule (trade_rules) over the
  /// shard keys of streamlet_load.hpp (load_shard_keys(n): from a fixed
  /// seed, benchmarks only), and its driver is shard id - 1, submitting
  /// shard-signed batches of this many trades (--load then counts trades).
  std::uint32_t trades_per_batch = 0;
  std::uint32_t threads = 0;       ///< scheduler threads; 0: one per core
  distributed::transport_security security;
};

/// Runs a validator until SIGINT or SIGTERM, or for `epochs` (exit 0). Exit
/// 2 with one line on `err` for bad options, a bad validator list, keys that
/// cannot be read or do not match the roster, a port it cannot listen on,
/// or bad security settings.
int run_streamlet_node(const streamlet_node_options& options, std::ostream& out,
                       std::ostream& err);

struct streamlet_keygen_options {
  std::string out_dir;
  std::uint32_t validators = 4;
};

/// Writes fresh random key pairs `out_dir/v1.key` .. `v<n>.key` (mode 0600)
/// and `out_dir/roster.txt`. Exit 2 with one line when it cannot.
int run_streamlet_keygen(const streamlet_keygen_options& options, std::ostream& out,
                         std::ostream& err);

} // namespace marketsim::consensus::bft::streamlet
