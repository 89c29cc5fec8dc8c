#pragma once

/// Raft across processes: the process glue around the validator and client
/// actors (validator.hpp, client.hpp), over the links of
/// distributed/transport.hpp.
///
/// - `marketsim validator`: one validator per process. It publishes its
///   validator actor, connects to every peer in the background (a peer that
///   is not up yet, or whose connection is lost, is retried every
///   `distributed::reconnect_interval`; each new handle, and each loss, reaches the
///   validator as a `raft_peers`), prints one line when it becomes leader,
///   and stops on SIGINT/SIGTERM. The state machine is the replicated
///   exchange (exchange_machine) on the listed symbols.
/// - `marketsim raft-bench`: a load driver and checker. It connects to the
///   validators (or runs N of them in its own actor system, `--in-process`),
///   submits N encoded orders through a raft client keeping K in flight,
///   prints committed/s and the client's commit latency, then asks every
///   validator for its raft_status until they agree (same applied index and
///   state hash, at or after every acknowledged entry).

#include "distributed/peer_links.hpp"

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace marketsim::consensus::raft {

struct validator_node_options {
  std::uint32_t id = 0;
  std::uint16_t port = 0;          ///< --listen (must be the one the peers know)
  std::string bind = "127.0.0.1";  ///< --bind
  std::string data_dir;            ///< --data; "" only with in_memory
  bool in_memory = false;          ///< --in-memory: no disk at all (benchmarks)
  std::string peers;               ///< --peers: every validator (this one may be listed)
  std::string sync = "batch";      ///< every-write | batch (one fdatasync per message)
  std::uint64_t snapshot_every = 0;
  std::int64_t election_timeout_ms = 300; ///< minimum; the maximum is twice that
  std::int64_t heartbeat_ms = 50;
  std::uint32_t max_entries_per_append = 512;
  std::uint32_t max_inflight = 16; ///< unacknowledged appends per follower
  std::uint32_t threads = 0;       ///< scheduler threads; 0: one per core
  std::string symbols = "SYM";     ///< the exchange's symbols, comma-separated
  distributed::transport_security security;
};

/// Runs a validator until SIGINT or SIGTERM (exit 0). Exit 2 with one line on
/// `err` for a bad peers list, a data directory that cannot be opened or
/// recovered, a port it cannot listen on, or bad security settings.
int run_validator_node(const validator_node_options& options, std::ostream& out,
                       std::ostream& err);

struct raft_bench_options {
  std::string validators;       ///< remote validators: id=host:port,...
  std::uint32_t in_process = 0; ///< or run this many validators in this process
  std::string data_dir;         ///< in-process: parent of their data dirs ("" memory)
  std::string sync = "batch";   ///< in-process validators' sync policy
  std::uint64_t commands = 100'000; ///< 0: only check the validators' agreement
  std::uint32_t in_flight = 1000;
  std::uint32_t batch = 100;           ///< client max_batch
  std::int64_t batch_window_us = 200;  ///< client batch_window (batch > 1)
  std::uint32_t max_entries_per_append = 512; ///< in-process validators
  std::int64_t retry_ms = 1000;        ///< client retry_after
  std::uint64_t first_order_id = 1;
  std::uint32_t threads = 0;
  std::int64_t progress_ms = 0;        ///< print "acked N" this often (0: never)
  std::uint32_t expect = 0;            ///< validators that must agree (0: all listed)
  std::int64_t agree_timeout_ms = 15'000;
  std::int64_t timeout_ms = 120'000;   ///< the whole stream
  distributed::transport_security security;
};

/// Exit 0 when every command was acknowledged committed (or rejected by the
/// state machine, still committed) and at least `expect` validators agree;
/// 1 otherwise; 2 for bad options or validators it cannot reach at start.
int run_raft_bench(const raft_bench_options& options, std::ostream& out, std::ostream& err);

} // namespace marketsim::consensus::raft
