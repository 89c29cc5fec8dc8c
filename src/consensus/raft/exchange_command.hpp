#pragma once

/// The commands of the replicated exchange, as they travel in Raft log
/// entries: a new order, a cancel, a modify, or the end of the trading day.
/// Encoded as a protobuf `pb::ExchangeCommand` (raft.proto); decoding refuses
/// malformed bytes with a reason, so that every replica refuses the same
/// entry the same way. Pure: no CAF, no I/O.

#include "consensus/raft/decoded.hpp"

#include "market/types.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace marketsim::consensus::raft {

struct cancel_command {
  market::cancel_request request;
  market::owner_id requester = 0;
};

struct modify_command {
  market::modify_request request;
  market::owner_id requester = 0;
};

struct end_of_day_command {};

using exchange_command = std::variant<market::order_request, cancel_command,
                                      modify_command, end_of_day_command>;

/// The bytes for a log entry's `data`.
std::string encode(const exchange_command& cmd);

/// Refuses bytes that are not an ExchangeCommand, carry unknown fields, set
/// no command, or have an enum value out of range. Values the book judges
/// (prices, quantities, ids) pass through: the book's reject is part of the
/// tape.
decoded<exchange_command> decode_exchange_command(std::string_view bytes);

} // namespace marketsim::consensus::raft
