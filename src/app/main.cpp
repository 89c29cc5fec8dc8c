#include "app/cli.hpp"

#include <iostream>

/// Our own main rather than CAF_MAIN: it returns real exit codes and keeps
/// CAF's option parser away from our command line.
int main(int argc, char** argv) {
  return marketsim::app::run_cli(argc, argv, std::cout, std::cerr);
}
