#include "market/shard_router.hpp"

#include <stdexcept>
#include <string>

namespace marketsim::market {

void shard_router::add(actors::exchange_shard_actor shard,
                       const std::vector<symbol_id>& symbols) {
  if (!shard)
    throw std::invalid_argument("shard_router: null shard handle");
  // Check everything before changing anything.
  std::vector<bool> seen;
  for (auto s : symbols) {
    if (s < routes_.size() && routes_[s] != unrouted)
      throw std::invalid_argument("shard_router: symbol " + std::to_string(s) +
                                  " is already routed to shard #" +
                                  std::to_string(routes_[s]));
    if (s >= seen.size())
      seen.resize(s + 1, false);
    if (seen[s])
      throw std::invalid_argument("shard_router: symbol " + std::to_string(s) +
                                  " listed twice");
    seen[s] = true;
  }
  auto index = static_cast<std::int32_t>(shards_.size());
  shards_.push_back(std::move(shard));
  for (auto s : symbols) {
    if (s >= routes_.size())
      routes_.resize(s + 1, unrouted);
    routes_[s] = index;
  }
}

const actors::exchange_shard_actor* shard_router::route(symbol_id s) const {
  if (s >= routes_.size() || routes_[s] == unrouted)
    return nullptr;
  return &shards_[static_cast<std::size_t>(routes_[s])];
}

} // namespace marketsim::market
