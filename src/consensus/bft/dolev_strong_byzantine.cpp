#include "consensus/bft/dolev_strong_byzantine.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace marketsim::consensus::bft {

namespace {

/// The other value of a policy: its own, or the broadcast's default.
std::string other_of(const ds_behaviour_params& p, const dolev_strong_node& node) {
  return p.other_value.empty() ? node.config().default_value : p.other_value;
}

class honest_policy final : public ds_behaviour {
public:
  std::string_view name() const override { return "honest"; }
  bool honest() const override { return true; }
};

class silent_policy final : public ds_behaviour {
public:
  std::string_view name() const override { return "silent"; }
  std::vector<ds_send> on_start(dolev_strong_node&, std::string) override { return {}; }
  ds_receive_result on_receive(dolev_strong_node&, const ds_message&,
                               std::uint32_t) override {
    return {};
  }
};

class equivocate_policy final : public ds_behaviour {
public:
  explicit equivocate_policy(ds_behaviour_params p) : p_(std::move(p)) {}
  std::string_view name() const override { return "equivocate"; }

  std::vector<ds_send> on_start(dolev_strong_node& node, std::string value) override {
    const auto& cfg = node.config();
    if (node.self() != cfg.sender)
      return {};
    // Both signed: each is a valid round-1 message on its own.
    auto a = ds_make_initial(cfg, std::move(value), node.keys());
    auto b = ds_make_initial(cfg, other_of(p_, node), node.keys());
    std::vector<ds_send> out;
    std::uint32_t k = 0;
    for (node_id to = 0; to < cfg.n; ++to)
      if (to != node.self())
        out.push_back({to, (k++ % 2 == 0) ? a : b});
    return out;
  }
  ds_receive_result on_receive(dolev_strong_node&, const ds_message&,
                               std::uint32_t) override {
    return {};
  }

private:
  ds_behaviour_params p_;
};

class forge_relay_policy final : public ds_behaviour {
public:
  explicit forge_relay_policy(ds_behaviour_params p) : p_(std::move(p)) {}
  std::string_view name() const override { return "forge_relay"; }

  ds_receive_result on_receive(dolev_strong_node& node, const ds_message& m,
                               std::uint32_t round) override {
    auto r = node.receive(m, round);
    if (r.sends.empty())
      return r;
    // The chain as received, moved to another value, then signed by us:
    // every earlier signature now covers bytes that were never signed.
    ds_message moved = m;
    moved.value = other_of(p_, node);
    if (moved.value == m.value)
      moved.value += "'";
    moved = ds_extend(std::move(moved), node.self(), node.keys());
    const auto honest_sends = r.sends.size();
    for (std::size_t i = 0; i < honest_sends; ++i)
      r.sends.push_back({r.sends[i].to, moved});
    return r;
  }

private:
  ds_behaviour_params p_;
};

class selective_relay_policy final : public ds_behaviour {
public:
  std::string_view name() const override { return "selective_relay"; }
  std::vector<ds_send> on_start(dolev_strong_node& node, std::string value) override {
    return lower_half(node, node.start(std::move(value)));
  }
  ds_receive_result on_receive(dolev_strong_node& node, const ds_message& m,
                               std::uint32_t round) override {
    auto r = node.receive(m, round);
    r.sends = lower_half(node, std::move(r.sends));
    return r;
  }

private:
  static std::vector<ds_send> lower_half(const dolev_strong_node& node,
                                         std::vector<ds_send> sends) {
    const auto n = node.config().n;
    std::erase_if(sends, [n](const ds_send& s) { return s.to >= n / 2; });
    return sends;
  }
};

constexpr std::array<std::pair<ds_behaviour_kind, std::string_view>, 5> names{{
    {ds_behaviour_kind::honest, "honest"},
    {ds_behaviour_kind::silent, "silent"},
    {ds_behaviour_kind::equivocate, "equivocate"},
    {ds_behaviour_kind::forge_relay, "forge_relay"},
    {ds_behaviour_kind::selective_relay, "selective_relay"},
}};

} // namespace

std::string_view to_string(ds_behaviour_kind k) {
  for (const auto& [kind, name] : names)
    if (kind == k)
      return name;
  return "unknown";
}

std::optional<ds_behaviour_kind> ds_behaviour_from_string(std::string_view name) {
  for (const auto& [kind, n] : names)
    if (n == name)
      return kind;
  return std::nullopt;
}

std::unique_ptr<ds_behaviour> make_ds_behaviour(ds_behaviour_kind kind,
                                                ds_behaviour_params p) {
  switch (kind) {
  case ds_behaviour_kind::honest:
    return std::make_unique<honest_policy>();
  case ds_behaviour_kind::silent:
    return std::make_unique<silent_policy>();
  case ds_behaviour_kind::equivocate:
    return std::make_unique<equivocate_policy>(std::move(p));
  case ds_behaviour_kind::forge_relay:
    return std::make_unique<forge_relay_policy>(std::move(p));
  case ds_behaviour_kind::selective_relay:
    return std::make_unique<selective_relay_policy>();
  }
  return std::make_unique<honest_policy>();
}

} // namespace marketsim::consensus::bft
