// Committed entries/s and commit latency of the pure Raft core: 3 and 5
// nodes in one process and one thread, no CAF, no I/O, no persistence. The
// network is a FIFO delivered in rounds (one message step each): a round
// first proposes, then delivers every message in flight at that point, so a
// proposal's appends arrive in its own round and their replies in the next.
// Commit latency is counted in these steps; 2 (append out, reply back) is
// the floor. Each round the client proposes `per_round`
// commands of 32 bytes to the leader, either one propose() call per command
// or one propose_batch() per round; the core batches them into appends
// (max_entries_per_append) and pipelines (max_inflight).
//
//   raft_core_load [--entries N] [--per-round K] [--nodes 3|5] [--mode single|batch]
// Without --nodes/--mode it runs the matrix {3, 5} x {single, batch}.

#include "consensus/raft/raft.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <vector>

using namespace marketsim::consensus::raft;

namespace {

struct load_params {
  int nodes = 3;
  bool batch_api = true;
  std::size_t entries = 2'000'000;
  std::size_t per_round = 256;
};

struct load_result {
  std::size_t committed = 0;
  double seconds = 0;     ///< wall clock
  double cpu_seconds = 0; ///< this process's CPU time (steadier on a busy machine)
  std::size_t rounds = 0;
  std::size_t messages = 0;
  std::size_t p50 = 0, p99 = 0, max = 0; ///< commit latency, message steps
};

class bench_cluster {
public:
  explicit bench_cluster(int n) {
    cluster_config cfg;
    for (int i = 1; i <= n; ++i)
      cfg.voters.push_back(static_cast<node_id>(i));
    raft_params p;
    p.max_entries_per_append = 512;
    p.max_inflight = 16;
    for (int i = 1; i <= n; ++i)
      nodes_.emplace_back(static_cast<node_id>(i), cfg, p, 1000 + i, 0);
  }

  node& at(node_id id) { return nodes_[id - 1]; }
  std::vector<node>& nodes() { return nodes_; }

  /// Node 1's timer fires; the cluster runs until quiet: node 1 leads.
  void elect() {
    auto ignore = [](const std::vector<log_entry>&) {};
    take(at(1).tick(at(1).wake_at()), ignore);
    while (!queue_.empty())
      deliver_round(ignore);
  }

  /// Queues the sends of `out` and hands its commits to `on_commit`.
  template <class OnCommit>
  void take(output out, OnCommit& on_commit) {
    for (auto& m : out.sends)
      queue_.push_back(std::move(m));
    on_commit(out.committed);
  }

  /// Delivers every message queued before this round; returns how many.
  /// Commits of the leader (node 1) go to `on_leader_commit`.
  template <class OnCommit>
  std::size_t deliver_round(OnCommit& on_leader_commit) {
    auto ignore = [](const std::vector<log_entry>&) {};
    const std::size_t k = queue_.size();
    for (std::size_t i = 0; i < k; ++i) {
      message m = std::move(queue_.front());
      queue_.pop_front();
      const node_id to = receiver(m);
      if (to == 1)
        take(at(to).step(m, 0), on_leader_commit);
      else
        take(at(to).step(m, 0), ignore);
    }
    return k;
  }

private:
  std::vector<node> nodes_;
  std::deque<message> queue_;
};

load_result run(const load_params& lp) {
  bench_cluster c(lp.nodes);
  c.elect();
  node& leader = c.at(1);
  if (leader.role() != node_role::leader) {
    std::fprintf(stderr, "no leader\n");
    std::exit(1);
  }
  const std::string payload(32, 'x');
  std::vector<std::uint32_t> proposed_round(lp.entries + lp.per_round + 64, 0);
  std::vector<std::uint32_t> latency;
  latency.reserve(lp.entries + lp.per_round);
  load_result r;
  std::uint32_t round = 0;
  auto on_commit = [&](const std::vector<log_entry>& committed) {
    for (const log_entry& e : committed)
      if (e.kind == entry_kind::command && e.index < proposed_round.size()) {
        latency.push_back(round - proposed_round[e.index] + 1);
        ++r.committed;
      }
  };
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  while (r.committed < lp.entries) {
    ++round;
    if (leader.last_index() + lp.per_round < proposed_round.size()) {
      const index_t first = leader.last_index() + 1;
      if (lp.batch_api) {
        std::vector<std::string> cmds(lp.per_round, payload);
        c.take(leader.propose_batch(std::move(cmds)).out, on_commit);
      } else {
        for (std::size_t i = 0; i < lp.per_round; ++i)
          c.take(leader.propose(payload).out, on_commit);
      }
      for (index_t i = first; i <= leader.last_index(); ++i)
        proposed_round[i] = round;
    }
    r.messages += c.deliver_round(on_commit);
    if (round % 512 == 0) // keep the logs short, as a running validator would
      for (node& n : c.nodes())
        n.compact(n.applied_index(), {});
  }
  r.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.cpu_seconds = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  r.rounds = round;
  std::sort(latency.begin(), latency.end());
  r.p50 = latency[latency.size() / 2];
  r.p99 = latency[latency.size() * 99 / 100];
  r.max = latency.back();
  return r;
}

void print(const load_params& lp, const load_result& r) {
  std::printf("nodes=%d mode=%-6s per_round=%zu committed=%zu wall=%.3fs entries/s=%.0f "
              "cpu=%.3fs entries/cpu-s=%.0f msgs=%zu rounds=%zu latency_steps p50=%zu "
              "p99=%zu max=%zu\n",
              lp.nodes, lp.batch_api ? "batch" : "single", lp.per_round, r.committed,
              r.seconds, double(r.committed) / r.seconds, r.cpu_seconds,
              double(r.committed) / r.cpu_seconds, r.messages, r.rounds, r.p50, r.p99,
              r.max);
}

} // namespace

int main(int argc, char** argv) {
  load_params lp;
  std::vector<int> node_counts{3, 5};
  std::vector<bool> modes{false, true};
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* v = argv[i + 1];
    if (!std::strcmp(argv[i], "--entries"))
      lp.entries = std::strtoull(v, nullptr, 10);
    else if (!std::strcmp(argv[i], "--per-round"))
      lp.per_round = std::strtoull(v, nullptr, 10);
    else if (!std::strcmp(argv[i], "--nodes"))
      node_counts = {std::atoi(v)};
    else if (!std::strcmp(argv[i], "--mode"))
      modes = {std::strcmp(v, "batch") == 0};
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  for (int n : node_counts)
    for (bool b : modes) {
      lp.nodes = n;
      lp.batch_api = b;
      print(lp, run(lp));
    }
  return 0;
}
