#include "app/cli.hpp"

#include "app/consensus_scenario.hpp"
#include "app/experiment.hpp"
#include "app/report.hpp"
#include "app/run.hpp"
#include "app/scenario.hpp"
#include "distributed/node.hpp"
#include "distributed/transport.hpp"
#include "consensus/bft/streamlet_bench.hpp"
#include "consensus/bft/streamlet_node.hpp"
#include "consensus/raft/validator_node.hpp"
#include "strategies/registry.hpp"

// The load drivers (bench/, included from the project root).
#include "bench/book_load.hpp"
#include "bench/shard_load.hpp"
#include "bench/virtual_time_load.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>

namespace marketsim::app {

namespace {

/// An error the user can fix on the command line or in the scenario file.
class usage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One line, whatever the message holds.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return text;
}

struct run_cli_options {
  std::string scenario_path = "configs/default.yaml";
  std::string clock;
  std::string out_dir;
  std::string duration;
  std::uint64_t seed = 0;
  CLI::Option* seed_option = nullptr;
  std::string hosts; ///< --hosts name=host:port,...
  distributed::transport_security security;
};

/// The scenario file's text, for the nodes of a run across hosts.
std::string read_text(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw usage_error(path + ": cannot open the scenario file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// hosts.csv: what ran where in a run across hosts, and which hosts were lost.
void write_hosts(const run_result& result, const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream out{dir + "/hosts.csv"};
  out << "host,address,node,shards,groups,agents,lost,lost_at_ns,reason\n";
  auto list = [](const std::vector<std::size_t>& xs) {
    std::string text;
    for (auto x : xs) {
      if (!text.empty())
        text += ' ';
      text += std::to_string(x);
    }
    return text;
  };
  for (const auto& h : result.hosts) {
    auto reason = h.reason;
    std::replace(reason.begin(), reason.end(), '"', '\'');
    out << h.name << ',' << h.address << ',' << h.node_name << ',' << list(h.shards)
        << ',' << list(h.groups) << ',' << h.agents << ',' << (h.lost ? "yes" : "no")
        << ',' << h.lost_at.count() << ",\"" << reason << "\"\n";
  }
  if (!out)
    throw std::runtime_error(dir + "/hosts.csv: cannot write");
}

/// The hosts of a run across hosts, one line each, and the losses.
void print_hosts(std::ostream& out, const run_result& result) {
  for (const auto& h : result.hosts) {
    out << fmt::format("  host {:<10} {:<22} {} shard(s), {} group(s), {} agents", h.name,
                       h.address, h.shards.size(), h.groups.size(), h.agents);
    if (h.lost)
      out << fmt::format(" -- LOST at {:.3f} s ({})",
                         std::chrono::duration<double>(h.lost_at).count(), h.reason);
    out << '\n';
  }
}

/// A run across hosts (`--hosts` or a `deployment:` section).
int do_run_on_hosts(const run_cli_options& opts, const scenario& sc,
                    const strategies::strategy_registry& registry, const std::string& dir,
                    std::ostream& out, std::ostream& err) {
  std::vector<host_endpoint> hosts;
  try {
    if (!opts.hosts.empty())
      hosts = parse_host_list(opts.hosts);
  } catch (const std::invalid_argument& e) {
    throw usage_error(std::string{"--hosts: "} + e.what());
  }
  deployment_plan plan;
  try {
    plan = make_deployment_plan(sc, hosts);
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  run_result result;
  try {
    result = run_scenario_on_hosts(sc, read_text(opts.scenario_path), registry, plan,
                                   opts.security);
  } catch (const deployment_error& e) {
    throw usage_error(e.what());
  }
  print_summary(out, result);
  print_hosts(out, result);
  write_outputs(result, dir);
  write_hosts(result, dir);
  out << "wrote " << dir << "/: trades.csv (" << result.tape.size()
      << " trades), l1.csv (" << result.l1.size() << " samples), agents.csv ("
      << result.agents.size() << " agents), summary.json, hosts.csv\n";
  for (const auto& h : result.hosts)
    if (h.lost)
      err << "marketsim: host " << h.name << " (" << h.address << ") lost after "
          << fmt::format("{:.3f}", std::chrono::duration<double>(h.lost_at).count())
          << " s with " << h.shards.size() << " shard(s) and " << h.agents << " agents ("
          << h.reason << "); "
          << (result.stopped_by_host_failure
                  ? "run stopped (on_host_failure: stop)"
                  : "run continued (on_host_failure: continue)")
          << '\n';
  return result.stopped_by_host_failure ? exit_failure : exit_ok;
}

int do_run(const run_cli_options& opts, const strategies::strategy_registry& registry,
           std::ostream& out, std::ostream& err) {
  scenario sc;
  try {
    sc = load_scenario(opts.scenario_path, registry);
  } catch (const scenario_error& e) {
    throw usage_error(e.what());
  }
  if (!opts.clock.empty())
    sc.clock = parse_clock(opts.clock); // CLI11 checked the value
  if (!opts.duration.empty()) {
    try {
      sc.duration = parse_duration(opts.duration);
    } catch (const std::invalid_argument& e) {
      throw usage_error(std::string{"--duration: "} + e.what());
    }
    if (sc.duration.count() <= 0)
      throw usage_error("--duration: must be positive");
  }
  if (opts.seed_option->count() > 0)
    sc.seed = opts.seed;
  std::string dir = opts.out_dir.empty() ? sc.output : opts.out_dir;
  if (!opts.hosts.empty() || sc.deployment)
    return do_run_on_hosts(opts, sc, registry, dir, out, err);
  run_options ro;
  // A progress line only for a person watching: not into logs or pipes.
  ro.progress = ::isatty(STDERR_FILENO) == 1;
  ro.progress_out = &err;
  auto result = run_scenario(sc, registry, ro);
  print_summary(out, result);
  write_outputs(result, dir);
  out << "wrote " << dir << "/: trades.csv (" << result.tape.size()
      << " trades), l1.csv (" << result.l1.size() << " samples), agents.csv ("
      << result.agents.size() << " agents), summary.json\n";
  return exit_ok;
}

struct experiment_cli_options {
  std::string name;
  std::uint32_t seeds = 3;
  std::string duration;
  std::string config;
  std::string out_dir;
  bool list = false;
};

int do_experiment(const experiment_cli_options& opts,
                  const strategies::strategy_registry& registry, std::ostream& out,
                  std::ostream& err) {
  if (opts.list || opts.name.empty()) {
    if (!opts.list)
      throw usage_error("experiment: name one (--list shows them)");
    for (const auto& e : experiment_list())
      out << fmt::format("{:<25} {}\n{:<25} base scenario: {}\n", e.name, e.summary, "",
                         e.config);
    return exit_ok;
  }
  experiment_options eo;
  eo.seeds = opts.seeds;
  eo.config = opts.config;
  eo.out_dir = opts.out_dir;
  if (!opts.duration.empty()) {
    try {
      eo.duration = parse_duration(opts.duration);
    } catch (const std::invalid_argument& e) {
      throw usage_error(std::string{"--duration: "} + e.what());
    }
    if (eo.duration->count() <= 0)
      throw usage_error("--duration: must be positive");
  }
  if (::isatty(STDERR_FILENO) == 1)
    eo.progress = &err;
  // stdout carries the result tables (Markdown); the runs' log lines (network
  // events as they begin and end, routes lost during an outage) go to stderr,
  // and only from warnings up: each experiment runs its scenario many times.
  auto quiet = spdlog::stderr_color_mt("experiment");
  quiet->set_level(spdlog::level::warn);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(quiet);
  struct restore_logger {
    std::shared_ptr<spdlog::logger> logger;
    ~restore_logger() {
      spdlog::set_default_logger(logger);
      spdlog::drop("experiment");
    }
  } restore{previous};
  try {
    run_experiment(opts.name, eo, registry, out);
  } catch (const scenario_error& e) {
    throw usage_error(e.what());
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  return exit_ok;
}

/// A parameter's default as a scenario would write it.
std::string default_text(const strategies::param_spec& p) {
  if (!p.default_value)
    return "(required)";
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>)
          return v ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::string>)
          return v.empty() ? "\"\"" : v;
        else if constexpr (std::is_same_v<T, double>)
          return fmt::format("{}", v);
        else if (p.type == strategies::param_type::duration)
          return format_duration(std::chrono::nanoseconds{v});
        else
          return std::to_string(v);
      },
      *p.default_value);
}

std::string bound_text(const strategies::param_spec& p, double x) {
  if (p.type == strategies::param_type::duration)
    return format_duration(std::chrono::nanoseconds{static_cast<std::int64_t>(x)});
  return fmt::format("{:g}", x);
}

/// The range of a parameter: `[min, max]`, `>= min`, `<= max`, a list of
/// choices, or nothing.
std::string range_text(const strategies::param_spec& p) {
  if (!p.choices.empty()) {
    std::string text;
    for (const auto& c : p.choices)
      text += (text.empty() ? "" : "|") + c;
    return text;
  }
  if (p.min && p.max)
    return "[" + bound_text(p, *p.min) + ", " + bound_text(p, *p.max) + "]";
  if (p.min)
    return ">= " + bound_text(p, *p.min);
  if (p.max)
    return "<= " + bound_text(p, *p.max);
  return "";
}

int do_strategies(const strategies::strategy_registry& registry, std::ostream& out) {
  for (const auto& name : registry.names()) {
    const auto* info = registry.find(name);
    out << info->name << "\n  " << info->summary << "\n\n";
    auto row = [&](auto&&... xs) {
      auto line = fmt::format("  {:<25} {:<9} {:<12} {:<20} {}", xs...);
      line.erase(line.find_last_not_of(' ') + 1);
      out << line << '\n';
    };
    row("parameter", "type", "default", "range", "meaning");
    for (const auto& p : info->params)
      row(p.name, strategies::to_string(p.type), default_text(p), range_text(p),
          p.description);
    out << '\n';
  }
  out << "In a scenario: agents: [{count: 10, strategy: <name>, symbols: [<symbol>], "
         "params: {<parameter>: <value>}}].\nA group's symbols set the 'symbols' "
         "parameter; 'reference_price', when not given, is the reference price of the "
         "group's symbols if they share one.\n";
  return exit_ok;
}

int do_bench_book(const bench::book_load_params& params, std::ostream& out) {
  bench::book_load_result result;
  try {
    result = bench::run_book_load(params);
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  out << bench::to_string(result) << '\n';
  return exit_ok;
}

int do_bench_shard(const bench::shard_load_params& params, std::ostream& out) {
  bench::shard_load_result result;
  try {
    result = bench::run_shard_load(params);
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  out << bench::to_string(result) << '\n';
  return exit_ok;
}

struct bench_virtual_options {
  bench::virtual_load_params params;
  std::string duration = "60s";
  std::string interval = "100ms";
  std::string exchange = "echo";
};

int do_bench_virtual(bench_virtual_options opts, std::ostream& out, std::ostream& err) {
  try {
    opts.params.duration = parse_duration(opts.duration);
  } catch (const std::invalid_argument& e) {
    throw usage_error(std::string{"--duration: "} + e.what());
  }
  try {
    opts.params.interval = parse_duration(opts.interval);
  } catch (const std::invalid_argument& e) {
    throw usage_error(std::string{"--interval: "} + e.what());
  }
  opts.params.real_shard = opts.exchange == "shard";
  if (::isatty(STDERR_FILENO) == 1) {
    opts.params.progress = [&err](std::int64_t sim_ns, std::uint64_t events,
                                  std::chrono::nanoseconds wall) {
      auto secs = std::chrono::duration<double>(wall).count();
      err << fmt::format("\r  sim {:.2f} s, {} events, {:.0f} events/s   ",
                         static_cast<double>(sim_ns) / 1e9, events,
                         secs > 0 ? static_cast<double>(events) / secs : 0.0);
      err.flush();
    };
  }
  bench::virtual_load_result result;
  try {
    result = bench::run_virtual_time_load(opts.params);
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  if (opts.params.progress)
    err << "\r" << std::string(78, ' ') << "\r";
  out << bench::to_string(result) << '\n';
  return exit_ok;
}

/// CLI11 2.1 reads "-5" into an unsigned option as a huge number: refuse a
/// leading minus sign before the conversion.
const CLI::Validator not_negative{[](std::string& text) {
                                    return !text.empty() && text[0] == '-'
                                               ? "must not be negative, got " + text
                                               : std::string{};
                                  },
                                  "", "not_negative"};

} // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"marketsim: an actor-model market simulator", "marketsim"};
  const auto registry = strategies::builtin_strategies();
  app.set_version_flag("--version", std::string{"marketsim "} + MARKETSIM_VERSION);
  // At most one; "none" is reported after parsing, so that an unknown flag
  // is reported as such rather than as a missing subcommand.
  app.require_subcommand(0, 1);

  run_cli_options run_opts;
  auto* run = app.add_subcommand("run", "Run a scenario (virtual or real time)");
  run->add_option("scenario", run_opts.scenario_path, "Scenario file (YAML)")
      ->capture_default_str();
  run->add_option("--clock", run_opts.clock,
                  "virtual (deterministic, as fast as possible) or real (wall clock); "
                  "default: the scenario's clock")
      ->check(CLI::IsMember({"virtual", "real"}));
  run->add_option("--out", run_opts.out_dir,
                  "Output folder (default: the scenario's output, runs/<name>)");
  run->add_option("--duration", run_opts.duration,
                  "Run for this long instead (simulated time; e.g. 500ms, 5s)");
  run_opts.seed_option =
      run->add_option("--seed", run_opts.seed, "Override the seed")->check(not_negative);

  run->add_option("--hosts", run_opts.hosts,
                  "Run across hosts: name=host:port,... of `marketsim node` processes "
                  "(real time; placement: the scenario's deployment section)");
  distributed::add_security_options(*run, run_opts.security);

  distributed::node_options node_opts;
  auto* node = app.add_subcommand(
      "node",
      "Serve as a host of runs across hosts (`run --hosts`) until SIGINT/SIGTERM");
  node->add_option("--listen", node_opts.port, "TCP port (0: any free port, printed)")
      ->required()
      ->check(CLI::Range(0, 65535));
  node->add_option("--bind", node_opts.bind, "Address to listen on (0.0.0.0: every one)")
      ->capture_default_str();
  node->add_option("--name", node_opts.name, "Name in logs (default: hostname#pid)");
  node->add_option("--threads", node_opts.threads, "Scheduler threads (0: one per core)")
      ->check(not_negative)
      ->capture_default_str();
  // Tests only: a node whose vocabulary differs from ours.
  node->add_option("--vocabulary-salt", node_opts.vocabulary_salt)
      ->check(not_negative)
      ->group("");
  distributed::add_security_options(*node, node_opts.security);

  // -- raft across processes (consensus/raft/validator_node.hpp) --
  consensus::raft::validator_node_options val_opts;
  auto* val = app.add_subcommand(
      "validator", "Run one Raft validator of a replicated exchange until SIGINT/SIGTERM");
  val->add_option("--id", val_opts.id, "This validator's id (in --peers)")->required();
  val->add_option("--listen", val_opts.port, "TCP port (the one --peers gives)")
      ->required()
      ->check(CLI::Range(0, 65535));
  val->add_option("--bind", val_opts.bind, "Address to listen on")->capture_default_str();
  val->add_option("--data", val_opts.data_dir, "Data directory (term, vote, log, snapshots)");
  val->add_flag("--in-memory", val_opts.in_memory, "No disk at all (benchmarks)");
  val->add_option("--peers", val_opts.peers, "Every validator: id=host:port,...")->required();
  val->add_option("--sync", val_opts.sync, "every-write or batch (one fdatasync per message)")
      ->check(CLI::IsMember({"every-write", "batch"}))
      ->capture_default_str();
  val->add_option("--snapshot-every", val_opts.snapshot_every,
                  "Applied entries between snapshots (0: never)")
      ->capture_default_str();
  val->add_option("--election-timeout", val_opts.election_timeout_ms,
                  "Minimum election timeout, ms (maximum: twice)")
      ->capture_default_str();
  val->add_option("--heartbeat", val_opts.heartbeat_ms, "Heartbeat interval, ms")
      ->capture_default_str();
  val->add_option("--max-append", val_opts.max_entries_per_append,
                  "Entries per append_entries")
      ->capture_default_str();
  val->add_option("--threads", val_opts.threads, "Scheduler threads (0: one per core)")
      ->capture_default_str();
  val->add_option("--symbols", val_opts.symbols, "The exchange's symbols, comma-separated")
      ->capture_default_str();
  distributed::add_security_options(*val, val_opts.security);

  consensus::raft::raft_bench_options rb_opts;
  auto* rb = app.add_subcommand(
      "raft-bench", "Submit orders to Raft validators, measure commits, check agreement");
  rb->add_option("--validators", rb_opts.validators, "id=host:port,... of `validator`s");
  rb->add_option("--in-process", rb_opts.in_process,
                 "Or run this many validators in this process");
  rb->add_option("--data", rb_opts.data_dir, "In-process: parent of their data dirs");
  rb->add_option("--sync", rb_opts.sync, "In-process: every-write or batch")
      ->check(CLI::IsMember({"every-write", "batch"}));
  rb->add_option("--commands", rb_opts.commands, "Orders to submit (0: only check)")
      ->capture_default_str();
  rb->add_option("--in-flight", rb_opts.in_flight, "Orders outstanding")->capture_default_str();
  rb->add_option("--batch", rb_opts.batch, "Client max_batch")->capture_default_str();
  rb->add_option("--batch-window-us", rb_opts.batch_window_us, "Client batch_window, us")
      ->capture_default_str();
  rb->add_option("--max-append", rb_opts.max_entries_per_append,
                 "In-process: entries per append_entries")
      ->capture_default_str();
  rb->add_option("--retry-ms", rb_opts.retry_ms, "Client retry_after, ms")
      ->capture_default_str();
  rb->add_option("--first-id", rb_opts.first_order_id, "First order id")
      ->capture_default_str();
  rb->add_option("--threads", rb_opts.threads, "Scheduler threads (0: one per core)");
  rb->add_option("--progress-ms", rb_opts.progress_ms, "Print `acked N` this often");
  rb->add_option("--expect", rb_opts.expect, "Validators that must agree (0: all)");
  rb->add_option("--agree-timeout-ms", rb_opts.agree_timeout_ms,
                 "How long to wait for agreement")
      ->capture_default_str();
  rb->add_option("--timeout-ms", rb_opts.timeout_ms, "How long the stream may take")
      ->capture_default_str();
  distributed::add_security_options(*rb, rb_opts.security);

  // -- streamlet across processes (consensus/bft/streamlet_node.hpp) --
  consensus::bft::streamlet::streamlet_node_options sv_opts;
  auto* sv = app.add_subcommand(
      "streamlet-validator",
      "Run one Streamlet validator in real time until SIGINT/SIGTERM or --epochs");
  sv->add_option("--id", sv_opts.id, "This validator's id (1..n, in --peers)")->required();
  sv->add_option("--listen", sv_opts.port, "TCP port (the one --peers gives)")
      ->required()
      ->check(CLI::Range(0, 65535));
  sv->add_option("--bind", sv_opts.bind, "Address to listen on")->capture_default_str();
  sv->add_option("--peers", sv_opts.peers, "Every validator, ids 1..n: id=host:port,...")
      ->required();
  sv->add_option("--epoch-ms", sv_opts.epoch_ms, "Epoch duration, ms")->capture_default_str();
  sv->add_option("--genesis-ms", sv_opts.genesis_ms,
                 "Unix time (ms) when epoch 1 starts; the same for every validator")
      ->capture_default_str();
  sv->add_option("--leader", sv_opts.leader, "Leader rule: hash or round-robin")
      ->check(CLI::IsMember({"hash", "round-robin"}))
      ->capture_default_str();
  bool sv_no_echo = false;
  sv->add_flag("--no-echo", sv_no_echo, "Do not re-broadcast proposals and votes");
  sv->add_option("--max-block-txs", sv_opts.max_block_txs, "A leader's batch")
      ->capture_default_str();
  sv->add_option("--key", sv_opts.key_file, "This validator's key pair file");
  sv->add_option("--roster", sv_opts.roster_file, "Every validator's public key (roster file)");
  sv->add_option("--key-seed", sv_opts.key_seed,
                 "Tests only: derive every key from this seed instead of files");
  sv->add_option("--behaviour", sv_opts.behaviour,
                 "honest, crash, silent, equivocate, vote_invalid, forge, selective_delay")
      ->capture_default_str();
  sv->add_option("--crash-after-ms", sv_opts.crash_after_ms,
                 "With --behaviour crash: when, after start");
  sv->add_option("--epochs", sv_opts.epochs, "Stop after this many epochs (0: at a signal)")
      ->capture_default_str();
  sv->add_option("--status-ms", sv_opts.status_ms, "A status line this often (0: never)")
      ->capture_default_str();
  bool sv_quiet_blocks = false;
  sv->add_flag("--no-block-lines", sv_quiet_blocks, "No line per finalized block");
  sv->add_option("--load", sv_opts.load,
                 "Submit this many transactions/s to this validator (0: saturate)");
  sv->add_option("--load-window", sv_opts.load_window,
                 "Own transactions unfinalized at most (0: 3 blocks)");
  sv->add_option("--tx-bytes", sv_opts.tx_bytes, "Size of a load transaction")
      ->capture_default_str();
  sv->add_option(
        "--trades", sv_opts.trades_per_batch,
        "Trades mode (benchmarks): run the trade payload rule, and with --load "
        "submit shard-signed batches of this many trades (this validator's driver is "
        "shard id-1; --load counts trades). Shard keys derive from a fixed seed, as "
        "in streamlet-bench: anyone can sign as a shard. Give every validator the "
        "same --trades (0: opaque transactions)")
      ->capture_default_str();
  sv->add_option("--threads", sv_opts.threads, "Scheduler threads (0: one per core)")
      ->capture_default_str();
  distributed::add_security_options(*sv, sv_opts.security);

  consensus::bft::streamlet::streamlet_keygen_options sk_opts;
  auto* sk = app.add_subcommand(
      "streamlet-keygen", "Write key pairs v1.key .. v<n>.key and roster.txt for validators");
  sk->add_option("--out", sk_opts.out_dir, "Directory to write to")->required();
  sk->add_option("--validators", sk_opts.validators, "How many")->capture_default_str();

  consensus::bft::streamlet::streamlet_bench_options sb_opts;
  auto* sb = app.add_subcommand(
      "streamlet-bench",
      "Finalized tx/s and latency through Streamlet validator actors, against the core");
  sb->add_option("--sizes", sb_opts.sizes, "Group sizes, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  sb->add_option("--epoch-ms", sb_opts.epoch_ms, "Epoch duration, ms")->capture_default_str();
  sb->add_option("--epochs", sb_opts.epochs, "Measured epochs")->capture_default_str();
  sb->add_option("--batch", sb_opts.batch, "A leader's batch (max block txs)")
      ->capture_default_str();
  sb->add_option("--rate", sb_opts.rate, "Offered tx/s over all drivers (0: saturate)")
      ->capture_default_str();
  sb->add_option("--tx-bytes", sb_opts.tx_bytes, "Transaction size")->capture_default_str();
  sb->add_flag("--echo", sb_opts.echo, "Re-broadcast proposals and votes");
  sb->add_option("--leader", sb_opts.leader, "hash or round-robin")
      ->check(CLI::IsMember({"hash", "round-robin"}))
      ->capture_default_str();
  sb->add_option("--threads", sb_opts.threads, "Scheduler threads (0: one per core)");
  sb->add_option("--trades", sb_opts.trades_per_batch,
                 "Trades per shard-signed batch: drivers are shards, validators run the trade "
                 "payload rule, --batch counts batches (0: opaque txs)")
      ->capture_default_str();
  bool sb_no_core = false;
  sb->add_flag("--no-core", sb_no_core,
               "Skip the baseline (the pure core; with --trades, opaque txs) and the ratio");

  // -- Streamlet validators in virtual time (app/consensus_scenario.hpp) --
  consensus_cli_options cons_opts;
  auto* cons = app.add_subcommand(
      "consensus", "Run Streamlet validators (some Byzantine) on prices and transactions");
  cons->add_option("scenario", cons_opts.file, "Consensus scenario file")->required();
  cons->add_option("--duration", cons_opts.duration, "Override the scenario's duration");
  cons->add_option("--seed", cons_opts.seed, "Override the scenario's seed");

  experiment_cli_options exp_opts;
  auto* experiment_cmd = app.add_subcommand(
      "experiment", "Run a network experiment over several seeds and print its tables");
  experiment_cmd->add_option("name", exp_opts.name, "Experiment (--list shows them)");
  experiment_cmd->add_flag("--list", exp_opts.list, "List the experiments");
  experiment_cmd->add_option("--seeds", exp_opts.seeds, "Runs per variant")
      ->check(not_negative)
      ->capture_default_str();
  experiment_cmd->add_option("--duration", exp_opts.duration,
                             "Simulated time per run instead of the scenario's");
  experiment_cmd->add_option("--config", exp_opts.config,
                             "Base scenario instead of the experiment's own");
  experiment_cmd->add_option("--out", exp_opts.out_dir,
                             "Output folder (default: runs/experiments/<name>)");

  auto* strategies_cmd = app.add_subcommand(
      "strategies", "List the registered strategies and their parameters");

  auto* bench_cmd = app.add_subcommand("bench", "Load drivers");
  bench_cmd->require_subcommand(0, 1);
  bench::book_load_params book_params;
  auto* book =
      bench_cmd->add_subcommand("book", "Replay an order stream against one book");
  book->add_option("--mix", book_params.mix, "Operation mix")
      ->check(CLI::IsMember({"exchange-core", "add-cancel"}))
      ->capture_default_str();
  book->add_option("--ops", book_params.operations, "Operations to measure")
      ->check(not_negative)
      ->capture_default_str();
  book->add_option("--resting", book_params.resting_orders, "Resting orders in the book")
      ->check(not_negative)
      ->capture_default_str();
  book->add_option("--seed", book_params.seed, "Seed")
      ->check(not_negative)
      ->capture_default_str();
  bool book_no_baseline = false;
  bool book_no_latency = false;
  book->add_flag("--no-baseline", book_no_baseline,
                 "Skip the same-run textbook-book baseline (and the ratio)");
  book->add_flag("--no-latency", book_no_latency, "Skip the per-operation latency pass");

  bench::shard_load_params shard_params;
  auto* shard =
      bench_cmd->add_subcommand("shard", "Senders against exchange shard actors");
  shard->add_option("--senders", shard_params.senders, "Sender actors")
      ->check(not_negative)
      ->capture_default_str();
  shard->add_option("--orders", shard_params.orders_per_sender, "Orders per sender")
      ->check(not_negative)
      ->capture_default_str();
  shard->add_option("--threads", shard_params.threads, "Scheduler threads")
      ->check(not_negative)
      ->capture_default_str();
  shard->add_option("--policy", shard_params.policy, "Scheduler policy")
      ->check(CLI::IsMember({"stealing", "sharing"}))
      ->capture_default_str();
  shard
      ->add_option("--in-flight", shard_params.in_flight, "Requests in flight per sender")
      ->check(not_negative)
      ->capture_default_str();
  shard->add_option("--batch", shard_params.batch, "Orders per message")
      ->check(not_negative)
      ->capture_default_str();
  shard->add_option("--seed", shard_params.seed, "Seed")
      ->check(not_negative)
      ->capture_default_str();
  bool shard_no_direct = false;
  shard->add_flag("--no-direct", shard_no_direct,
                  "Skip the same-run direct (no actors) replay (and the ratio)");

  bench_virtual_options virtual_opts;
  auto* virt = bench_cmd->add_subcommand(
      "virtual", "Agents on timers against an exchange, in virtual time on one core");
  virt->add_option("--agents", virtual_opts.params.agents, "Agents")
      ->check(not_negative)
      ->capture_default_str();
  virt->add_option("--duration", virtual_opts.duration, "Simulated time")
      ->capture_default_str();
  virt->add_option("--interval", virtual_opts.interval, "Mean time between two ticks")
      ->capture_default_str();
  virt->add_option("--exchange", virtual_opts.exchange,
                   "echo (the platform alone) or shard (a real order book)")
      ->check(CLI::IsMember({"echo", "shard"}))
      ->capture_default_str();
  virt->add_option("--seed", virtual_opts.params.seed, "Seed")
      ->check(not_negative)
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
      return app.exit(e, out, err); // --help, --version
    err << "marketsim: " << one_line(e.what()) << " (see --help)\n";
    return exit_usage;
  }

  try {
    if (run->parsed())
      return do_run(run_opts, registry, out, err);
    if (node->parsed())
      return distributed::run_node(node_opts, make_node_hooks(registry), out, err);
    if (val->parsed())
      return consensus::raft::run_validator_node(val_opts, out, err);
    if (rb->parsed())
      return consensus::raft::run_raft_bench(rb_opts, out, err);
    if (sv->parsed()) {
      sv_opts.echo = !sv_no_echo;
      sv_opts.print_blocks = !sv_quiet_blocks;
      return consensus::bft::streamlet::run_streamlet_node(sv_opts, out, err);
    }
    if (sk->parsed())
      return consensus::bft::streamlet::run_streamlet_keygen(sk_opts, out, err);
    if (sb->parsed()) {
      sb_opts.core_baseline = !sb_no_core;
      return consensus::bft::streamlet::run_streamlet_bench(sb_opts, out, err);
    }
    if (cons->parsed())
      return consensus_command(cons_opts, out, err);
    if (strategies_cmd->parsed())
      return do_strategies(registry, out);
    if (experiment_cmd->parsed())
      return do_experiment(exp_opts, registry, out, err);
    if (book->parsed()) {
      book_params.baseline = !book_no_baseline;
      book_params.measure_latency = !book_no_latency;
      return do_bench_book(book_params, out);
    }
    if (shard->parsed()) {
      shard_params.direct = !shard_no_direct;
      return do_bench_shard(shard_params, out);
    }
    if (virt->parsed())
      return do_bench_virtual(virtual_opts, out, err);
  } catch (const usage_error& e) {
    err << "marketsim: " << one_line(e.what()) << '\n';
    return exit_usage;
  } catch (const std::exception& e) {
    err << "marketsim: " << one_line(e.what()) << '\n';
    return exit_failure;
  }
  if (bench_cmd->parsed())
    err << "marketsim: bench needs a subcommand: book, shard or virtual (see --help)\n";
  else
    err << "marketsim: a subcommand is required: run, node, validator, raft-bench, "
           "streamlet-validator, streamlet-keygen, streamlet-bench, consensus, experiment, "
           "strategies or bench (see --help)\n";
  return exit_usage;
}

} // namespace marketsim::app
