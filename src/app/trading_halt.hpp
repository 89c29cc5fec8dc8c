#pragma once

/// A trading halt decided by Byzantine broadcast, for `marketsim run` with a
/// `halt:` section (scenario.hpp): at `at` a designated validator broadcasts
/// "halt" with Dolev-Strong (consensus/bft/dolev_strong.hpp: signature
/// chains, f+1 synchronous rounds of `round` each); when the rounds are over
/// every honest validator has the same output, and if it is the halt every
/// shard halts (actors::trading_halt: new orders and modifies are then
/// rejected with trading_halted). A Byzantine sender that equivocates or
/// stays silent leaves every honest validator on the default, no halt.
///
/// Each validator is an actor of its own (dolev_strong_validator.hpp) under
/// its behaviour policy (the sender's from `sender`, relays' from
/// `byzantine`), with rounds on the run's clock. With a network, the
/// validators sit at the shards' sites and their chains travel the network
/// (latency, loss). Every validator reports its decision to a collector
/// actor here; once every honest validator has reported, the collector
/// records the outcome and, if they all output the halt, halts every shard.
/// The collector and the halt it sends stay outside the network, like the
/// run's other control messages.

#include "app/scenario.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace marketsim::actors {
class runtime;
} // namespace marketsim::actors

namespace marketsim::network {
class endpoints;
} // namespace marketsim::network

namespace marketsim::app {

struct halt_result {
  std::uint32_t validators = 0;
  std::uint32_t faulty = 0;
  std::string sender; ///< honest | equivocate | silent
  bool decided = false;  ///< every honest validator decided
  bool halted = false;   ///< the honest validators' output was the halt
  bool agreement = false; ///< every honest validator output the same
  std::int64_t started_ns = -1; ///< run time of round 0
  std::int64_t decided_ns = -1; ///< run time of the last honest decision
  std::uint64_t verifications = 0; ///< Ed25519 verifications, all validators
  std::uint64_t refused = 0;       ///< chains the honest validators refused
  /// Validators convicted by evidence (a forged signature they signed over),
  /// one line each.
  std::vector<std::string> misbehaviour;
};

/// Where the validators' chains travel: through `ports` (validator i placed
/// at sites[i % sites.size()]), or directly when `ports` is null.
struct halt_network {
  std::shared_ptr<network::endpoints> ports;
  std::vector<std::uint32_t> sites; ///< network::site_id
};

class trading_halt_broadcast {
public:
  trading_halt_broadcast(actors::runtime& rt, const halt_config& cfg, std::uint64_t seed,
                         std::vector<caf::actor> shards, halt_network net = {});
  ~trading_halt_broadcast();

  trading_halt_broadcast(const trading_halt_broadcast&) = delete;
  trading_halt_broadcast& operator=(const trading_halt_broadcast&) = delete;

  /// The validators and the collector (to quit at the end).
  std::vector<caf::actor> actors() const;
  halt_result result() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace marketsim::app
