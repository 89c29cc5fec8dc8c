#include "consensus/raft/validator_node.hpp"

#include "actors/consensus_messages.hpp"
#include "consensus/raft/bench_order.hpp"
#include "consensus/raft/client.hpp"
#include "consensus/raft/exchange_command.hpp"
#include "consensus/raft/validator.hpp"
#include "distributed/process.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <thread>

namespace marketsim::consensus::raft {

using namespace marketsim::actors;
using std::chrono::steady_clock;

namespace {

// -- the actor system of both commands ---------------------------------------------

std::vector<std::string> symbol_list(const std::string& text) {
  std::vector<std::string> names{std::string{}};
  for (char c : text) {
    if (c == ',')
      names.emplace_back();
    else
      names.back() += c;
  }
  for (const auto& n : names)
    if (n.empty())
      throw std::invalid_argument("--symbols: an empty symbol name");
  return names;
}

bool sync_every_write(const std::string& sync) {
  if (sync == "every-write")
    return true;
  if (sync == "batch")
    return false;
  throw std::invalid_argument("--sync: want every-write or batch, got '" + sync + "'");
}

// -- leader line ----------------------------------------------------------------------

using watch_atom = caf::atom_constant<caf::atom("rwatch")>;

/// Asks the validator for its status every 100 ms and prints one line each
/// time it becomes leader.
caf::behavior leader_watch(caf::event_based_actor* self, caf::actor validator,
                           std::ostream* out) {
  auto was_leader = std::make_shared<bool>(false);
  self->send(self, watch_atom::value);
  return {
      [self, validator](watch_atom) {
        self->send(validator, raft_status_request{});
        self->delayed_send(self, std::chrono::milliseconds{100}, watch_atom::value);
      },
      [was_leader, out](const raft_status& s) {
        const bool leader = s.role == static_cast<std::uint8_t>(node_role::leader);
        if (leader && !*was_leader)
          *out << fmt::format("validator {}: leader of term {} (commit index {}) at unix ms {}\n",
                              s.id, s.term, s.commit_index,
                              std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count())
               << std::flush;
        *was_leader = leader;
      },
  };
}

raft_params raft_params_of(std::int64_t election_timeout_ms, std::int64_t heartbeat_ms,
                           std::uint32_t max_entries, std::uint32_t max_inflight) {
  raft_params p;
  p.election_timeout_min = election_timeout_ms * 1'000'000;
  p.election_timeout_max = 2 * election_timeout_ms * 1'000'000;
  p.heartbeat_interval = heartbeat_ms * 1'000'000;
  p.max_entries_per_append = std::max<std::uint32_t>(1, max_entries);
  p.max_inflight = std::max<std::uint32_t>(1, max_inflight);
  return p;
}

} // namespace

// -- marketsim validator --------------------------------------------------------------

int run_validator_node(const validator_node_options& options, std::ostream& out,
                       std::ostream& err) {
  const std::string who = fmt::format("marketsim validator {}", options.id);
  std::vector<distributed::peer_address> peers;
  validator_params params;
  try {
    if (options.id == 0)
      throw std::invalid_argument("--id must be at least 1");
    peers = distributed::parse_peer_list(options.peers);
    params.sync_every_write = sync_every_write(options.sync);
    params.machine = exchange_machine(symbol_list(options.symbols));
    if (options.election_timeout_ms <= 0 || options.heartbeat_ms <= 0 ||
        options.heartbeat_ms >= options.election_timeout_ms)
      throw std::invalid_argument("want 0 < --heartbeat < --election-timeout (ms)");
    if (options.data_dir.empty() && !options.in_memory)
      throw std::invalid_argument("--data DIR is required (or --in-memory)");
  } catch (const std::exception& e) {
    err << who << ": " << e.what() << '\n';
    return 2;
  }
  params.id = options.id;
  for (const auto& p : peers)
    params.voters.voters.push_back(p.id);
  if (std::find(params.voters.voters.begin(), params.voters.voters.end(), options.id) ==
      params.voters.voters.end())
    params.voters.voters.push_back(options.id);
  std::sort(params.voters.voters.begin(), params.voters.voters.end());
  params.raft = raft_params_of(options.election_timeout_ms, options.heartbeat_ms,
                               options.max_entries_per_append, options.max_inflight);
  params.seed = 0x5eed0000ull + options.id + static_cast<std::uint64_t>(::getpid()) * 7919u;
  params.data_dir = options.in_memory ? std::string{} : options.data_dir;
  params.snapshot_every = options.snapshot_every;

  distributed::stop_signals stop; // before the actor system (see process.hpp)
  distributed::process_config cfg{options.threads, options.security};
  if (!cfg.usable(who, err))
    return 2;
  caf::actor_system sys{cfg};
  caf::actor validator;
  try {
    if (!params.data_dir.empty())
      std::filesystem::create_directories(params.data_dir);
    validator = spawn_validator(sys, std::move(params));
  } catch (const std::exception& e) {
    err << who << ": " << e.what() << '\n';
    return 2;
  }
  auto port = distributed::publish_member(sys, validator, options.port, options.bind,
                                         options.security, who, err);
  if (!port)
    return 2;
  out << fmt::format("{} listening on {}:{} ({} validators, data {})\n", who,
                     options.bind.empty() ? "*" : options.bind, *port,
                     peers.size() + (std::any_of(peers.begin(), peers.end(),
                                                 [&](auto& p) { return p.id == options.id; })
                                         ? 0
                                         : 1),
                     options.in_memory ? "in memory" : options.data_dir)
      << std::flush;

  // Plain links: every validator connects to every other one; over TLS only
  // to smaller ids, handing over its own handle (peer_links.hpp).
  std::vector<caf::actor> helpers;
  for (const auto& p : peers)
    if (distributed::should_connect(options.id, p.id, options.security))
      helpers.push_back(distributed::spawn_peer_link(
          sys, {fmt::format("validator {}", options.id), fmt::format("validator {}", p.id), p,
                p.id, options.id, validator, options.security.tls, options.security}));
  helpers.push_back(sys.spawn(leader_watch, validator, &out));

  const int signal = stop.wait();
  spdlog::info("validator {}: stopping ({})", options.id, distributed::signal_name(signal));
  for (auto& h : helpers)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(validator, caf::exit_reason::user_shutdown);
  sys.middleman().unpublish(validator, *port);
  return 0;
}

// -- marketsim raft-bench -----------------------------------------------------------

namespace {

std::string bench_order(std::uint64_t id) {
  return encode(exchange_command{raft_bench_order(id)});
}

struct bench_result {
  std::atomic<std::uint64_t> replies{0};
  std::uint64_t committed = 0;
  std::uint64_t rejected = 0;
  std::uint64_t failed = 0;
  std::uint64_t max_index = 0;
  std::string first_failure;
  steady_clock::time_point start;
  steady_clock::time_point end;
  std::promise<void> done;
};

struct driver_state {
  static inline const char* name = "marketsim.raft_bench_driver";
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;
};

/// Records one answer; true when it was the last one.
bool on_bench_reply(driver_state& st, bench_result& res, const raft_submit_reply& r,
                    std::uint64_t total) {
  ++st.answered;
  switch (r.status) {
    case raft_submit_status::committed:
      ++res.committed;
      res.max_index = std::max(res.max_index, r.index);
      break;
    case raft_submit_status::rejected:
      ++res.rejected;
      res.max_index = std::max(res.max_index, r.index);
      break;
    default:
      if (res.failed++ == 0)
        res.first_failure =
            fmt::format("request {}: {} {}", r.request_id, to_string(r.status), r.reason);
  }
  res.replies.store(st.answered, std::memory_order_relaxed);
  if (st.answered != total)
    return false;
  res.end = steady_clock::now();
  res.done.set_value();
  return true;
}

/// Submits `total` orders to the client, keeping `in_flight` outstanding, in
/// messages of `batch`; records the replies.
caf::behavior bench_driver(caf::stateful_actor<driver_state>* self, caf::actor client,
                           raft_bench_options opt, std::shared_ptr<bench_result> res) {
  const auto chunk = std::max<std::uint64_t>(1, std::min(opt.batch, opt.in_flight));
  auto refill = [self, client, opt, chunk] {
    auto& st = self->state;
    while (st.sent < opt.commands) {
      const auto outstanding = st.sent - st.answered;
      const auto n = std::min<std::uint64_t>(chunk, opt.commands - st.sent);
      if (outstanding + n > opt.in_flight)
        return;
      raft_submit_batch b;
      b.commands.reserve(n);
      for (std::uint64_t k = 0; k < n; ++k, ++st.sent)
        b.commands.push_back({st.sent, bench_order(opt.first_order_id + st.sent)});
      self->send(client, std::move(b));
    }
  };
  res->start = steady_clock::now();
  refill();
  return {
      [self, res, refill, total = opt.commands](const raft_submit_reply_batch& b) {
        for (const auto& r : b.replies)
          if (on_bench_reply(self->state, *res, r, total))
            return;
        refill();
      },
      [self, res, refill, total = opt.commands](const raft_submit_reply& r) {
        if (!on_bench_reply(self->state, *res, r, total))
          refill();
      },
  };
}

/// Asks each validator (null handles are skipped) for its raft_status;
/// waits at most `wait` for the answers.
std::map<std::uint32_t, raft_status> query_status(caf::actor_system& sys,
                                                  const std::vector<caf::actor>& handles,
                                                  std::chrono::milliseconds wait) {
  std::map<std::uint32_t, raft_status> got;
  caf::scoped_actor self{sys};
  std::size_t asked = 0;
  for (const auto& h : handles)
    if (h) {
      self->send(h, raft_status_request{});
      ++asked;
    }
  const auto deadline = steady_clock::now() + wait;
  while (got.size() < asked) {
    const auto left = deadline - steady_clock::now();
    if (left <= steady_clock::duration::zero())
      break;
    bool timed_out = false;
    self->receive([&](const raft_status& s) { got[s.id] = s; },
                  caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(left) +
                             std::chrono::milliseconds{1}) >>
                      [&] { timed_out = true; });
    if (timed_out)
      break;
  }
  return got;
}

std::string_view role_name(std::uint8_t r) {
  return to_string(static_cast<node_role>(r));
}

/// Connects to the validators that have no handle yet (one attempt each).
void resolve(caf::actor_system& sys, const std::vector<distributed::peer_address>& addrs,
             std::vector<caf::actor>& handles, const distributed::transport_security& s,
             std::chrono::milliseconds timeout, std::vector<std::string>* errors) {
  for (std::size_t k = 0; k < addrs.size(); ++k) {
    if (handles[k])
      continue;
    auto h = distributed::connect(sys, addrs[k].host, addrs[k].port, s, timeout);
    if (h)
      handles[k] = std::move(*h);
    else if (errors)
      errors->push_back(fmt::format("validator {}: {}", addrs[k].id, sys.render(h.error())));
  }
}

} // namespace

int run_raft_bench(const raft_bench_options& opt, std::ostream& out, std::ostream& err) {
  const std::string who = "marketsim raft-bench";
  std::vector<distributed::peer_address> addrs;
  bool every_write = false;
  try {
    if (opt.in_process == 0)
      addrs = distributed::parse_peer_list(opt.validators);
    else if (!opt.validators.empty())
      throw std::invalid_argument("give --validators or --in-process, not both");
    every_write = sync_every_write(opt.sync);
    if (opt.commands > 0 && (opt.in_flight == 0 || opt.batch == 0))
      throw std::invalid_argument("--in-flight and --batch must be at least 1");
  } catch (const std::exception& e) {
    err << who << ": " << e.what() << '\n';
    return 2;
  }
  distributed::process_config cfg{opt.threads, opt.security};
  if (!cfg.usable(who, err))
    return 2;
  caf::actor_system sys{cfg};
  std::vector<std::uint32_t> ids;
  std::vector<caf::actor> handles;
  std::vector<caf::actor> owned; // actors this process must stop
  if (opt.in_process > 0) {
    for (std::uint32_t k = 1; k <= opt.in_process; ++k)
      ids.push_back(k);
    for (auto id : ids) {
      validator_params p;
      p.id = id;
      p.voters.voters = ids;
      p.raft = raft_params_of(300, 50, opt.max_entries_per_append, 16);
      p.seed = 7000 + id;
      p.sync_every_write = every_write;
      if (!opt.data_dir.empty()) {
        p.data_dir = (std::filesystem::path{opt.data_dir} / fmt::format("v{}", id)).string();
        std::filesystem::create_directories(p.data_dir);
      }
      p.machine = exchange_machine({"SYM"});
      try {
        handles.push_back(spawn_validator(sys, std::move(p)));
      } catch (const std::exception& e) {
        err << who << ": " << e.what() << '\n';
        for (auto& h : handles)
          caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
        return 2;
      }
    }
    for (auto& h : handles)
      caf::anon_send(h, raft_peers{ids, handles});
    owned = handles;
  } else {
    handles.resize(addrs.size());
    for (const auto& a : addrs)
      ids.push_back(a.id);
    // Validators may still be starting: a few rounds, bounded.
    const auto deadline = steady_clock::now() + std::chrono::seconds{10};
    std::vector<std::string> errors;
    while (true) {
      errors.clear();
      resolve(sys, addrs, handles, opt.security, std::chrono::milliseconds{1000}, &errors);
      const bool all = std::all_of(handles.begin(), handles.end(), [](auto& h) { return !!h; });
      // With commands: one validator is enough to start (the client finds
      // the leader); for a check: those that answer.
      if (all || opt.commands == 0 || steady_clock::now() >= deadline)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{300});
    }
    for (const auto& e : errors)
      spdlog::warn("{}: {}", who, e);
    if (std::none_of(handles.begin(), handles.end(), [](auto& h) { return !!h; })) {
      err << who << ": no validator reachable (" << (errors.empty() ? "" : errors.front())
          << ")\n";
      return 2;
    }
  }

  int code = 0;
  std::uint64_t must_cover = 0; // every acknowledged entry is at or below this index
  if (opt.commands > 0) {
    client_params cp;
    for (std::size_t k = 0; k < ids.size(); ++k)
      if (handles[k]) {
        cp.ids.push_back(ids[k]);
        cp.handles.push_back(handles[k]);
      }
    cp.retry_after = std::chrono::milliseconds{opt.retry_ms};
    cp.max_batch = opt.batch;
    cp.batch_window = opt.batch > 1 ? std::chrono::microseconds{opt.batch_window_us}
                                    : std::chrono::microseconds{0};
    cp.max_attempts = 40;
    auto client = spawn_raft_client(sys, cp);
    owned.push_back(client);
    // Let the group elect a leader before the clock starts (in-process).
    if (opt.in_process > 0) {
      const auto until = steady_clock::now() + std::chrono::seconds{5};
      while (steady_clock::now() < until) {
        auto st = query_status(sys, handles, std::chrono::milliseconds{200});
        if (std::any_of(st.begin(), st.end(), [](auto& kv) {
              return kv.second.role == static_cast<std::uint8_t>(node_role::leader);
            }))
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
      }
    }
    auto res = std::make_shared<bench_result>();
    auto done = res->done.get_future();
    auto driver = sys.spawn(bench_driver, client, opt, res);
    owned.push_back(driver);
    const auto give_up = steady_clock::now() + std::chrono::milliseconds{opt.timeout_ms};
    const auto tick = std::chrono::milliseconds{opt.progress_ms > 0 ? opt.progress_ms : 200};
    bool finished = false;
    while (!finished && steady_clock::now() < give_up) {
      finished = done.wait_for(tick) == std::future_status::ready;
      if (opt.progress_ms > 0 && !finished)
        out << fmt::format("acked {}\n", res->replies.load(std::memory_order_relaxed))
            << std::flush;
    }
    raft_client_stats cs;
    {
      caf::scoped_actor self{sys};
      self->send(client, raft_client_stats_request{});
      self->receive([&](const raft_client_stats& s) { cs = s; },
                    caf::after(std::chrono::seconds{5}) >> [] {});
    }
    if (!finished) {
      err << fmt::format("{}: timed out after {} ms with {} of {} answered\n", who,
                         opt.timeout_ms, res->replies.load(), opt.commands);
      code = 1;
    } else {
      const double secs = std::chrono::duration<double>(res->end - res->start).count();
      const auto acked = res->committed + res->rejected;
      out << fmt::format(
                 "raft-bench: {} validators ({}), {} commands, in flight {}, batch {}: "
                 "{} committed ({} rejected by the book), {} failed in {:.3f} s = {:.0f} "
                 "committed/s; latency p50 {:.3f} ms p90 {:.3f} ms p99 {:.3f} ms max {:.3f} "
                 "ms; sends {} timeouts {} redirects {} lost {}; longest gap {:.1f} ms; "
                 "last acked index {}\n",
                 ids.size(), opt.in_process > 0 ? "in-process" : "remote", opt.commands,
                 opt.in_flight, opt.batch, acked,
                 res->rejected, res->failed, secs, static_cast<double>(acked) / secs,
                 static_cast<double>(cs.latency_p50_ns) / 1e6,
                 static_cast<double>(cs.latency_p90_ns) / 1e6,
                 static_cast<double>(cs.latency_p99_ns) / 1e6,
                 static_cast<double>(cs.latency_max_ns) / 1e6, cs.sends, cs.timeouts,
                 cs.redirects, cs.lost, static_cast<double>(cs.longest_gap_ns) / 1e6,
                 res->max_index)
          << std::flush;
      if (res->failed > 0) {
        err << who << ": " << res->failed << " command(s) not committed, first: "
            << res->first_failure << '\n';
        code = 1;
      }
    }
    must_cover = res->max_index;
  }

  // Agreement: `expect` validators with the same applied index (covering
  // every acknowledged entry) and the same state hash.
  const std::size_t expect = opt.expect > 0 ? opt.expect : ids.size();
  const auto agree_until = steady_clock::now() + std::chrono::milliseconds{opt.agree_timeout_ms};
  std::map<std::uint32_t, raft_status> last;
  bool agreed = false;
  while (true) {
    if (opt.in_process == 0)
      resolve(sys, addrs, handles, opt.security, std::chrono::milliseconds{500}, nullptr);
    last = query_status(sys, handles, std::chrono::milliseconds{500});
    std::map<std::pair<std::uint64_t, std::string>, std::size_t> groups;
    for (const auto& [id, s] : last)
      if (s.applied_index >= must_cover && s.applied_index == s.commit_index)
        ++groups[{s.applied_index, s.state_hash}];
    for (const auto& [key, n] : groups)
      agreed = agreed || (n >= expect && groups.size() == 1 && n == last.size());
    if (agreed || steady_clock::now() >= agree_until)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  for (const auto& [id, s] : last)
    out << fmt::format("validator {}: {} term {} leader {} commit {} applied {} last {} "
                       "snapshot {} hash {}{}\n",
                       id, role_name(s.role), s.term, s.leader, s.commit_index,
                       s.applied_index, s.last_index, s.snapshot_index,
                       s.state_hash.substr(0, 16), s.failure.empty() ? "" : " FAILED: " + s.failure);
  for (std::size_t k = 0; k < ids.size(); ++k)
    if (!last.count(ids[k]))
      out << fmt::format("validator {}: no answer\n", ids[k]);
  if (agreed)
    out << fmt::format("agree: {} validators, applied index {}, state hash {}{}\n",
                       last.size(), last.begin()->second.applied_index,
                       last.begin()->second.state_hash.substr(0, 16),
                       opt.commands > 0 ? fmt::format(" (covers acked index {})", must_cover)
                                        : std::string{});
  else {
    out << fmt::format("DISAGREE: want {} validators with one applied index >= {} and one "
                       "state hash; {} answered\n",
                       expect, must_cover, last.size())
        << std::flush;
    code = 1;
  }
  out << std::flush;
  for (auto& h : owned)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  return code;
}

} // namespace marketsim::consensus::raft
