#include "distributed/protocol.hpp"

#include "actors/vocabulary.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/type_erased_value.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace marketsim::distributed {

namespace {

constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ull;
constexpr std::uint64_t fnv_prime = 0x100000001b3ull;

void mix(std::uint64_t& h, const char* data, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= fnv_prime;
  }
}

/// Only for computing the fingerprint: a config with the whole vocabulary.
struct vocabulary_config : caf::actor_system_config {
  vocabulary_config() {
    actors::add_message_types(*this);
    add_node_message_types(*this);
  }
};

} // namespace

void add_node_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<spawn_shards>("marketsim.spawn_shards");
  cfg.add_message_type<spawn_group>("marketsim.spawn_group");
  cfg.add_message_type<spawned>("marketsim.spawned");
}

std::uint64_t vocabulary_fingerprint(const caf::actor_system_config& cfg,
                                     std::uint64_t salt) {
  std::vector<std::string> names;
  names.reserve(cfg.value_factories_by_name.size());
  for (const auto& kv : cfg.value_factories_by_name)
    names.push_back(kv.first);
  std::sort(names.begin(), names.end());
  std::uint64_t h = fnv_offset;
  for (const auto& name : names) {
    mix(h, name.data(), name.size() + 1); // with the terminating zero
    auto value = cfg.value_factories_by_name.at(name)();
    std::vector<char> bytes;
    caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr), bytes};
    if (value && !value->save(sink))
      mix(h, bytes.data(), bytes.size());
  }
  if (salt != 0)
    mix(h, reinterpret_cast<const char*>(&salt), sizeof(salt));
  return h;
}

std::uint64_t vocabulary_fingerprint(std::uint64_t salt) {
  const vocabulary_config cfg;
  return vocabulary_fingerprint(cfg, salt);
}

} // namespace marketsim::distributed
