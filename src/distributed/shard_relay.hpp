#pragma once

/// Orders in flight to a lost host: a relay stands, in the traders' process,
/// in front of each exchange shard that runs in another process.
///
/// Traders send orders with plain sends and the shard answers each with an
/// order_reply. When the shard's host is lost (killed, cut off), the requests
/// already on the wire are never answered, and CAF answers nothing either: a
/// proxy that goes down drops what it had sent. The relay keeps every order
/// request (new, cancel, modify, batch) it forwarded until its reply came back;
/// when the shard goes down it answers each one itself with a reject
/// (`reject_reason::venue_unreachable`), and every later one at once, so a
/// trader always hears back about each order. It logs how many. "Down" is
/// the down message of its monitor on the shard, or the coordinator's notice
/// that the shard's host is lost (protocol.hpp, step 4): a node that reaches
/// the shard's host through the coordinator gets no down message at all.
///
/// Execution reports go through the relay too (it registers itself as the
/// owners' listener), so that a trader sees the reply to an order before any
/// fill of it, as it does in-process. Everything else (market data, quotes,
/// statistics) goes straight to the shard (delegated: the shard answers the
/// original sender).

#include "actors/interfaces.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <vector>

namespace marketsim::distributed {

/// Spawns a relay in front of `shard` (index `index` in the scenario, for the
/// logs). It quits on an exit message (quit it when its traders are gone).
actors::exchange_shard_actor spawn_shard_relay(caf::actor_system& sys,
                                               const actors::exchange_shard_actor& shard,
                                               std::uint32_t index);

/// `shards` with each one that runs in another process replaced by a relay in
/// front of it; the relays spawned are appended to `spawned`.
std::vector<actors::exchange_shard_actor>
relay_remote_shards(caf::actor_system& sys,
                    const std::vector<actors::exchange_shard_actor>& shards,
                    std::vector<caf::actor>& spawned);

} // namespace marketsim::distributed
