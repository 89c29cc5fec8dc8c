#pragma once

/// Which exchange shard trades which symbol, so that several shards can run
/// side by side and a trader sends each order to the right one.

#include "actors/interfaces.hpp"
#include "market/types.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <vector>

namespace marketsim::market {

class shard_router {
public:
  /// Routes `symbols` to `shard`. Throws std::invalid_argument (and changes
  /// nothing) if the handle is null or a symbol is already routed or listed
  /// twice.
  void add(actors::exchange_shard_actor shard, const std::vector<symbol_id>& symbols);

  /// The shard trading `s`; nullptr if no shard does.
  const actors::exchange_shard_actor* route(symbol_id s) const;

  /// Every shard, in order of addition.
  const std::vector<actors::exchange_shard_actor>& shards() const { return shards_; }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, shard_router& x) {
    return f(caf::meta::type_name("marketsim.shard_router"), x.shards_, x.routes_);
  }

private:
  static constexpr std::int32_t unrouted = -1;

  std::vector<actors::exchange_shard_actor> shards_;
  /// Index into shards_ by symbol id; `unrouted` where no shard trades it.
  std::vector<std::int32_t> routes_;
};

} // namespace marketsim::market
