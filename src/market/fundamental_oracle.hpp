#pragma once

/// The fundamental oracle actor: owns a fundamental_process (the hidden true
/// values, fundamental.hpp), steps it on its own timer and publishes every
/// symbol's value to the signal hub.
///
/// ## What it sends where
/// - At spawn and then every `period` on the actor system's clock (virtual or
///   real), one signal_message per symbol, in symbol order:
///   {topic, symbol id, exact value in price units, from = 0, time}, where
///   `time` is the actor clock's time of the step in ns since the clock's
///   epoch (as the exchange shard stamps its market data). The step k is due
///   at start + k * period; the process is stepped by the actor-clock time
///   elapsed since the previous step, in units of `time_unit`.
/// - fundamental_request is answered with fundamental_values: the values of
///   the last step, i.e. the last ones published. The oracle never steps on a
///   request, so who asks when does not change the path: the same seed and
///   period give the same values at the same times.
///
/// The first publication goes out while the oracle starts: a subscriber
/// receives it if its signal_subscribe reached the hub first (in virtual
/// time: spawn the hub, then the subscribers, then the oracle). A late
/// subscriber can ask for the values with fundamental_request.
///
/// The timer keeps the oracle alive: quit it with an exit message at the end
/// (runtime::shutdown).

#include "actors/interfaces.hpp"
#include "market/fundamental.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace marketsim::market {

struct fundamental_oracle_params {
  fundamental_params process;
  /// The symbol id to publish for each symbol of `process` (same order);
  /// empty means 0, 1, 2, ...
  std::vector<symbol_id> symbol_ids;
  /// Time between two steps; > 0.
  std::chrono::nanoseconds period{std::chrono::seconds{1}};
  /// The process's unit of time (its kappa is per unit, its sigma per
  /// sqrt(unit)); > 0. One second for three_stock_preset.
  std::chrono::nanoseconds time_unit{std::chrono::seconds{1}};
  std::string topic = "fundamental";
  /// Where the values go; a null hub publishes nothing (requests only).
  actors::signal_hub_actor hub;
};

/// Spawns an oracle. Throws std::invalid_argument on bad params (those of
/// the process included, see fundamental_process; a period or time unit not
/// positive; symbol_ids neither empty nor one per symbol).
actors::fundamental_oracle_actor
spawn_fundamental_oracle(caf::actor_system& sys, fundamental_oracle_params params);

} // namespace marketsim::market
