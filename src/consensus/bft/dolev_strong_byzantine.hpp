#pragma once

/// How a Dolev-Strong validator behaves, as a policy over an honest node
/// (dolev_strong.hpp), in the manner of Streamlet's byzantine.hpp: the
/// policy sees the start and every delivery, lets the node handle them (or
/// not), and decides what leaves the validator. It signs only with the
/// node's own key: another validator's signature it can copy or move, never
/// make, so what it forges does not verify and honest nodes refuse it.
/// Pure: no CAF, no clock.

#include "consensus/bft/dolev_strong.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::consensus::bft {

enum class ds_behaviour_kind : std::uint8_t {
  honest,
  silent,          ///< sends nothing, ever (as sender: the default wins)
  equivocate,      ///< as sender, signs its value for every other node in turn and a
                   ///< second value for the rest; then takes no further part
  forge_relay,     ///< relays honestly, and with every relay also sends the same
                   ///< chain moved to another value (the earlier signatures no longer
                   ///< match), signed by itself: a forgery that convicts it
  selective_relay, ///< sends (as sender or relay) only to the lower half of the ids
};

std::string_view to_string(ds_behaviour_kind k);
/// Parses a name as printed by to_string; nullopt if unknown.
std::optional<ds_behaviour_kind> ds_behaviour_from_string(std::string_view name);

struct ds_behaviour_params {
  /// equivocate: the second value; forge_relay: the value it moves chains to.
  /// Empty: the broadcast's default value.
  std::string other_value;
};

class ds_behaviour {
public:
  virtual ~ds_behaviour() = default;
  virtual std::string_view name() const = 0;
  virtual bool honest() const { return false; }
  /// Round 0: what the node sends (only the sender sends anything).
  virtual std::vector<ds_send> on_start(dolev_strong_node& node, std::string value) {
    return node.start(std::move(value));
  }
  /// A delivery in `round`: the node's verdict and what leaves the node.
  virtual ds_receive_result on_receive(dolev_strong_node& node, const ds_message& m,
                                       std::uint32_t round) {
    return node.receive(m, round);
  }
};

std::unique_ptr<ds_behaviour> make_ds_behaviour(ds_behaviour_kind kind,
                                                ds_behaviour_params p = {});

} // namespace marketsim::consensus::bft
