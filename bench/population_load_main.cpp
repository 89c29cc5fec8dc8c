/// Runs the population load once and prints its report (see
/// population_load.hpp).
///
/// usage: population_load [agents=100000] [simulated_seconds=10] [shards=1]
///                        [strategy=poisson_limit] [key=value ...]
///                        [--per-agent-params]
/// --per-agent-params: every agent gets its own copy of the group's params
/// (population_params::shared_groups = false).
/// e.g.   population_load 1000000 60 2 poisson_limit interval=30s
///        population_load 100000 10 1 noise mean_interval=600s

#include "population_load.hpp"

#include <chrono>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace std::chrono;
  marketsim::bench::population_params p;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (std::string{argv[i]} == "--per-agent-params")
      p.shared_groups = false;
    else
      args.emplace_back(argv[i]);
  }
  try {
    if (args.size() > 0)
      p.agents = static_cast<std::uint32_t>(std::stoul(args[0]));
    if (args.size() > 1)
      p.duration = duration_cast<nanoseconds>(duration<double>{std::stod(args[1])});
    if (args.size() > 2)
      p.shards = static_cast<std::uint32_t>(std::stoul(args[2]));
    if (args.size() > 3)
      p.strategy = args[3];
    for (std::size_t i = 4; i < args.size(); ++i) {
      const auto& kv = args[i];
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw std::invalid_argument("expected key=value, got " + kv);
      p.strategy_params.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
  } catch (const std::exception& e) {
    std::cerr << "population_load: bad argument: " << e.what()
              << "\nusage: population_load [agents] [simulated_seconds] [shards] "
                 "[strategy] [key=value ...] [--per-agent-params]\n";
    return 2;
  }
  try {
    std::cout << marketsim::bench::to_string(marketsim::bench::run_population_load(p));
  } catch (const std::exception& e) {
    std::cerr << "population_load: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
