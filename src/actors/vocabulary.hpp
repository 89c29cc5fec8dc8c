#pragma once

/// Registration of the whole message vocabulary with an actor system config.

#include <caf/fwd.hpp>

namespace marketsim::actors {

/// Registers every message type of marketsim (messages.hpp, interfaces.hpp)
/// under its inspect() name. Call once per actor_system_config, in every
/// process, before the actor system is created.
void add_message_types(caf::actor_system_config& cfg);

} // namespace marketsim::actors
