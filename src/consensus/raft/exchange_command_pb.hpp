#pragma once

/// Internal to the state machines' .cpp files: the order <-> protobuf
/// conversions that the command codec and the exchange snapshot share.
/// Includes the generated header, so keep it out of public headers.

#include "consensus/raft/decoded.hpp"
#include "consensus/raft/raft.pb.h"

#include "market/types.hpp"

namespace marketsim::consensus::raft {

void to_pb(const market::order_request& r, pb::NewOrder& out);

/// Refuses enum values out of range (the reason names the field).
decoded<market::order_request> from_pb(const pb::NewOrder& o);

} // namespace marketsim::consensus::raft
