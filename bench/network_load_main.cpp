/// Runs the network load once (network pass, then the direct baseline) and
/// prints its report.
///
/// usage: network_load [ring|star|tree] [sites=32] [senders=256] [ticks=2000]
///                     [burst=4] [interval_ms=1] [seed=1]
///                     [ingress=controller|port|burst]

#include "network_load.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
  using namespace std::chrono;
  using marketsim::bench::network_shape;
  marketsim::bench::network_load_params p;
  try {
    if (argc > 1) {
      std::string shape = argv[1];
      if (shape == "ring")
        p.shape = network_shape::ring;
      else if (shape == "star")
        p.shape = network_shape::star;
      else if (shape == "tree")
        p.shape = network_shape::tree;
      else
        throw std::invalid_argument("shape must be ring, star or tree, not " + shape);
    }
    if (argc > 2)
      p.sites = static_cast<std::uint32_t>(std::stoul(argv[2]));
    if (argc > 3)
      p.senders = static_cast<std::uint32_t>(std::stoul(argv[3]));
    if (argc > 4)
      p.ticks = static_cast<std::uint32_t>(std::stoul(argv[4]));
    if (argc > 5)
      p.burst = static_cast<std::uint32_t>(std::stoul(argv[5]));
    if (argc > 6)
      p.interval =
          duration_cast<nanoseconds>(duration<double, std::milli>{std::stod(argv[6])});
    if (argc > 7)
      p.seed = std::stoull(argv[7]);
    if (argc > 8) {
      std::string ingress = argv[8];
      if (ingress == "controller")
        p.ingress = marketsim::bench::network_ingress::controller;
      else if (ingress == "port")
        p.ingress = marketsim::bench::network_ingress::port;
      else if (ingress == "burst")
        p.ingress = marketsim::bench::network_ingress::burst;
      else
        throw std::invalid_argument("ingress must be controller, port or burst, not " +
                                    ingress);
    }
  } catch (const std::exception& e) {
    std::cerr << "network_load: bad argument: " << e.what()
              << "\nusage: network_load [ring|star|tree] [sites] [senders] [ticks] "
                 "[burst] [interval_ms] [seed] [controller|port|burst]\n";
    return 2;
  }
  try {
    std::cout << marketsim::bench::to_string(marketsim::bench::run_network_load(p));
  } catch (const std::exception& e) {
    std::cerr << "network_load: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
