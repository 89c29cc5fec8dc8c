#pragma once

/// The signal hub: delivers signals between agents (and from the platform,
/// e.g. fundamental values) by topic.
///
/// - signal_subscribe{topic, from, listener}: `listener` receives every
///   signal_message of `topic` from then on. Subscribing the same listener to
///   the same topic again only updates its `from`.
/// - signal_message: sent to every subscriber of its topic, in order of
///   subscription, except its publisher. The publisher is recognised by its
///   agent index (`from` of the message equals `from` of the subscription,
///   0 = the platform, which never matches) and by its address (the sender
///   of the message is the listener), so an agent never hears itself even if
///   its index is 0.
/// - signal_unsubscribe{listener}: drops the listener from every topic.
/// - Subscribers are monitored; a dead one is dropped from every topic.

#include "actors/interfaces.hpp"

#include <caf/fwd.hpp>

namespace marketsim::strategies {

actors::signal_hub_actor spawn_signal_hub(caf::actor_system& sys);

} // namespace marketsim::strategies
