#include "app/cli.hpp"

#include "app/report.hpp"
#include "app/run.hpp"
#include "app/scenario.hpp"

// The load drivers (bench/, included from the project root).
#include "bench/book_load.hpp"
#include "bench/shard_load.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <ostream>
#include <stdexcept>
#include <string>

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

struct run_options {
  std::string scenario_path = "configs/default.yaml";
  std::string out_dir;
  std::string duration;
  std::uint64_t seed = 0;
  CLI::Option* seed_option = nullptr;
};

int do_run(const run_options& opts, std::ostream& out) {
  scenario sc;
  try {
    sc = load_scenario(opts.scenario_path);
  } catch (const scenario_error& e) {
    throw usage_error(e.what());
  }
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
  auto result = run_scenario(sc);
  print_summary(out, result);
  write_outputs(result, dir);
  out << "wrote " << dir << "/trades.csv (" << result.tape.size() << " trades) and "
      << dir << "/summary.json\n";
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
  app.set_version_flag("--version", std::string{"marketsim "} + MARKETSIM_VERSION);
  // At most one; "none" is reported after parsing, so that an unknown flag
  // is reported as such rather than as a missing subcommand.
  app.require_subcommand(0, 1);

  run_options run_opts;
  auto* run = app.add_subcommand("run", "Run a scenario in real time");
  run->add_option("scenario", run_opts.scenario_path, "Scenario file (YAML)")
      ->capture_default_str();
  run->add_option("--out", run_opts.out_dir,
                  "Output folder (default: the scenario's output, runs/<name>)");
  run->add_option("--duration", run_opts.duration,
                  "Run for this long instead (e.g. 500ms, 5s)");
  run_opts.seed_option =
      run->add_option("--seed", run_opts.seed, "Override the seed")->check(not_negative);

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
      return do_run(run_opts, out);
    if (book->parsed())
      return do_bench_book(book_params, out);
    if (shard->parsed())
      return do_bench_shard(shard_params, out);
  } catch (const usage_error& e) {
    err << "marketsim: " << one_line(e.what()) << '\n';
    return exit_usage;
  } catch (const std::exception& e) {
    err << "marketsim: " << one_line(e.what()) << '\n';
    return exit_failure;
  }
  if (bench_cmd->parsed())
    err << "marketsim: bench needs a subcommand: book or shard (see --help)\n";
  else
    err << "marketsim: a subcommand is required: run or bench (see --help)\n";
  return exit_usage;
}

} // namespace marketsim::app
