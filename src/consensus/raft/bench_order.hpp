#pragma once

/// The order stream of `marketsim raft-bench`, shared with the apply micro
/// benchmark (replicated_state_machine_test "[.bench]") so that both measure
/// the same mix.

#include "market/types.hpp"

#include <cstdint>

namespace marketsim::consensus::raft {

/// Order `id` of a stream that trades often: GTC limit buys and sells of
/// 1-5 lots within 3 ticks of 1000 on symbol 0, seven owners in turn.
inline market::order_request raft_bench_order(std::uint64_t id) {
  market::order_request o;
  o.id = id;
  o.owner = 1 + id % 7;
  o.symbol = 0;
  o.side = id % 2 == 0 ? market::side::buy : market::side::sell;
  o.type = market::order_type::limit;
  o.tif = market::time_in_force::gtc;
  const auto offset = static_cast<market::price_t>(id % 7) - 3;
  o.price = 1000 + (o.side == market::side::buy ? offset : -offset);
  o.qty = 1 + static_cast<market::qty_t>(id % 5);
  return o;
}

} // namespace marketsim::consensus::raft
