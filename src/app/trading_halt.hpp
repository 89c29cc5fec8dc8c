#pragma once

/// A trading halt decided by Byzantine broadcast, for `marketsim run` with a
/// `halt:` section (scenario.hpp): at `at` a designated validator broadcasts
/// "halt" with Dolev-Strong (consensus/bft/dolev_strong.hpp: signature
/// chains, f+1 synchronous rounds of `round` each); when the rounds are over
/// every honest validator has the same output, and if it is the halt they
/// halt every shard (actors::trading_halt: new orders and modifies are then
/// rejected with trading_halted). A Byzantine sender that equivocates or
/// stays silent leaves every honest validator on the default, no halt.
///
/// The n validators' cores run in one actor that steps the rounds on its
/// timer (each message of round r is delivered at round r + 1): the protocol
/// is the real one, signatures included; the validators are not separate
/// actors yet.

#include "app/scenario.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace marketsim::actors {
class runtime;
} // namespace marketsim::actors

namespace marketsim::app {

struct halt_result {
  std::uint32_t validators = 0;
  std::uint32_t faulty = 0;
  std::string sender; ///< honest | equivocate | silent
  bool decided = false;  ///< the rounds ran to the end
  bool halted = false;   ///< the honest validators' output was the halt
  bool agreement = false; ///< every honest validator output the same
  std::int64_t started_ns = -1; ///< run time of round 0
  std::int64_t decided_ns = -1; ///< run time of the last round
  std::uint64_t verifications = 0; ///< Ed25519 verifications, all nodes
};

class trading_halt_broadcast {
public:
  trading_halt_broadcast(actors::runtime& rt, const halt_config& cfg, std::uint64_t seed,
                         std::vector<caf::actor> shards);
  ~trading_halt_broadcast();

  trading_halt_broadcast(const trading_halt_broadcast&) = delete;
  trading_halt_broadcast& operator=(const trading_halt_broadcast&) = delete;

  caf::actor actor() const;
  halt_result result() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace marketsim::app
