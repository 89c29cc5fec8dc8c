#pragma once

/// Consensus prices for trading, in `marketsim run` with a `price_consensus:`
/// section (scenario.hpp): Streamlet price validators
/// (consensus/bft/streamlet_validator.hpp, price mode) agree every epoch on
/// a reference price for one symbol from simulated feeds, and every price
/// they finalize goes to the shard trading that symbol as a finalized_price,
/// which moves the shard's price band (market/exchange_shard.hpp): orders
/// priced outside it are rejected with outside_price_band.

#include "app/scenario.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace marketsim::actors {
class runtime;
} // namespace marketsim::actors

namespace marketsim::app {

struct price_consensus_result {
  std::string symbol;
  std::uint32_t validators = 0;
  std::uint64_t finalized_prices = 0; ///< sent to the shard
  std::int64_t first_price = 0;
  std::int64_t last_price = 0;
  std::uint64_t last_epoch = 0;
  std::vector<std::string> misbehaviour; ///< proved with evidence, one line each
};

class price_consensus {
public:
  /// Spawns the validators; `shard` trades the section's symbol.
  price_consensus(actors::runtime& rt, const price_consensus_config& cfg, const scenario& sc,
                  const caf::actor& shard);
  ~price_consensus();

  price_consensus(const price_consensus&) = delete;
  price_consensus& operator=(const price_consensus&) = delete;

  std::vector<caf::actor> actors() const;
  price_consensus_result result() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace marketsim::app
