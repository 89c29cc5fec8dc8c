/// Runs the virtual-time load once and prints its result line (the app's
/// `marketsim bench` may offer the same; this driver needs only the bench
/// code).
///
/// usage: virtual_time_load [agents=1000] [simulated_seconds=60]
///                          [interval_ms=100] [echo|shard] [seed=1]

#include "virtual_time_load.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  using namespace std::chrono;
  marketsim::bench::virtual_load_params p;
  try {
    if (argc > 1)
      p.agents = static_cast<std::uint32_t>(std::stoul(argv[1]));
    if (argc > 2)
      p.duration = duration_cast<nanoseconds>(duration<double>{std::stod(argv[2])});
    if (argc > 3)
      p.interval =
          duration_cast<nanoseconds>(duration<double, std::milli>{std::stod(argv[3])});
    if (argc > 4) {
      std::string kind = argv[4];
      if (kind != "echo" && kind != "shard")
        throw std::invalid_argument("exchange must be echo or shard, not " + kind);
      p.real_shard = kind == "shard";
    }
    if (argc > 5)
      p.seed = std::stoull(argv[5]);
  } catch (const std::exception& e) {
    std::cerr << "virtual_time_load: bad argument: " << e.what()
              << "\nusage: virtual_time_load [agents] [simulated_seconds] [interval_ms] "
                 "[echo|shard] [seed]\n";
    return 2;
  }
  p.progress = [](std::int64_t sim, std::uint64_t events, nanoseconds wall) {
    std::fprintf(stderr, "  %.1f s simulated, %llu events, %.1f s wall\n", sim * 1e-9,
                 static_cast<unsigned long long>(events), wall.count() * 1e-9);
  };
  try {
    std::cout << marketsim::bench::to_string(marketsim::bench::run_virtual_time_load(p))
              << '\n';
  } catch (const std::exception& e) {
    std::cerr << "virtual_time_load: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
