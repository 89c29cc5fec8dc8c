#include "consensus/bft/dolev_strong.hpp"

#include "consensus/crypto/canonical.hpp"

#include <utility>

namespace marketsim::consensus::bft {

namespace {

constexpr std::string_view signed_tag = "marketsim/dolev-strong/v1";

/// The signed bytes up to, not including, the signer of the first link.
crypto::canonical_writer chain_prefix(const ds_message& m) {
  crypto::canonical_writer w(signed_tag);
  w.u64(m.instance).u32(m.sender).bytes(m.value);
  return w;
}

} // namespace

std::string_view to_string(ds_verdict x) {
  switch (x) {
  case ds_verdict::accepted:
    return "accepted";
  case ds_verdict::redundant:
    return "redundant";
  case ds_verdict::wrong_instance:
    return "wrong_instance";
  case ds_verdict::wrong_round:
    return "wrong_round";
  case ds_verdict::not_from_sender:
    return "not_from_sender";
  case ds_verdict::unknown_signer:
    return "unknown_signer";
  case ds_verdict::duplicate_signer:
    return "duplicate_signer";
  case ds_verdict::bad_signature:
    return "bad_signature";
  }
  return "ds_verdict?";
}

std::string ds_signed_bytes(const ds_message& m, std::size_t k) {
  auto w = chain_prefix(m);
  for (std::size_t j = 0; j < k; ++j)
    w.u32(m.chain[j].signer).fixed(m.chain[j].sig.bytes);
  w.u32(m.chain[k].signer);
  return w.take();
}

ds_message ds_make_initial(const ds_config& cfg, std::string value,
                           const crypto::key_pair& sender_key) {
  ds_message m;
  m.instance = cfg.instance;
  m.sender = cfg.sender;
  m.value = std::move(value);
  return ds_extend(std::move(m), cfg.sender, sender_key);
}

ds_message ds_extend(ds_message m, node_id signer, const crypto::key_pair& key) {
  m.chain.push_back({signer, {}});
  m.chain.back().sig = key.sign(ds_signed_bytes(m, m.chain.size() - 1));
  return m;
}

ds_verdict ds_check(const ds_config& cfg, const ds_message& m, std::uint32_t round,
                    std::uint64_t* verifications) {
  if (m.instance != cfg.instance || m.sender != cfg.sender)
    return ds_verdict::wrong_instance;
  if (round < 1 || round > cfg.last_round() || m.chain.size() != round)
    return ds_verdict::wrong_round;
  if (m.chain.front().signer != cfg.sender)
    return ds_verdict::not_from_sender;
  std::set<node_id> signers;
  for (const auto& link : m.chain) {
    if (link.signer >= cfg.n || link.signer >= cfg.keys.size())
      return ds_verdict::unknown_signer;
    if (!signers.insert(link.signer).second)
      return ds_verdict::duplicate_signer;
  }
  // Incremental: link k's bytes extend link k-1's, so the whole chain costs
  // one pass over its bytes plus one verification per link.
  auto w = chain_prefix(m);
  for (const auto& link : m.chain) {
    w.u32(link.signer);
    if (verifications != nullptr)
      ++*verifications;
    if (!crypto::verify(cfg.keys[link.signer], w.data(), link.sig))
      return ds_verdict::bad_signature;
    w.fixed(link.sig.bytes);
  }
  return ds_verdict::accepted;
}

namespace {

/// Whether link k of `m` verifies (its signer must be known).
bool link_verifies(const ds_config& cfg, const ds_message& m, std::size_t k) {
  return crypto::verify(cfg.keys[m.chain[k].signer], ds_signed_bytes(m, k), m.chain[k].sig);
}

bool signers_known(const ds_config& cfg, const ds_message& m) {
  for (const auto& link : m.chain)
    if (link.signer >= cfg.n || link.signer >= cfg.keys.size())
      return false;
  return true;
}

} // namespace

std::optional<ds_evidence> ds_forgery_evidence(const ds_config& cfg, ds_message m) {
  if (!signers_known(cfg, m))
    return std::nullopt;
  std::size_t bad = 0;
  while (bad < m.chain.size() && link_verifies(cfg, m, bad))
    ++bad;
  if (bad == m.chain.size())
    return std::nullopt;
  ds_evidence e;
  e.bad_link = bad;
  for (std::size_t k = bad + 1; k < m.chain.size() && !e.culprit; ++k)
    if (link_verifies(cfg, m, k)) {
      e.culprit = m.chain[k].signer;
      e.culprit_link = k;
    }
  e.msg = std::move(m);
  return e;
}

bool ds_verify_evidence(const ds_config& cfg, const ds_evidence& e) {
  const auto& m = e.msg;
  if (!signers_known(cfg, m) || e.bad_link >= m.chain.size() ||
      link_verifies(cfg, m, e.bad_link))
    return false;
  if (!e.culprit)
    return true;
  return e.culprit_link > e.bad_link && e.culprit_link < m.chain.size() &&
         m.chain[e.culprit_link].signer == *e.culprit && link_verifies(cfg, m, e.culprit_link);
}

// -- dolev_strong_node --

dolev_strong_node::dolev_strong_node(ds_config cfg, node_id self, crypto::key_pair key)
    : cfg_(std::move(cfg)), self_(self), key_(std::move(key)) {}

std::vector<ds_send> dolev_strong_node::start(std::string value) {
  if (self_ != cfg_.sender || started_)
    return {};
  started_ = true;
  extracted_.insert(value);
  return to_all_others(ds_make_initial(cfg_, std::move(value), key_));
}

ds_receive_result dolev_strong_node::receive(const ds_message& m, std::uint32_t round) {
  ds_receive_result out;
  // Nothing can change a node that holds two values, or a known value: skip
  // the verifications (they dominate the cost).
  if (extracted_.size() >= 2 || extracted_.count(m.value) > 0) {
    out.verdict = ds_verdict::redundant;
    return out;
  }
  out.verdict = ds_check(cfg_, m, round, &verifications_);
  if (out.verdict != ds_verdict::accepted)
    return out;
  extracted_.insert(m.value);
  // A chain holding our own valid signature means we extracted the value
  // before (we sign only what we extract), so it was redundant above; the
  // check stays for safety: never sign twice into one chain.
  bool signed_already = false;
  for (const auto& link : m.chain)
    signed_already = signed_already || link.signer == self_;
  if (round <= cfg_.f && !signed_already)
    out.sends = to_all_others(ds_extend(m, self_, key_));
  return out;
}

const std::string& dolev_strong_node::output() const {
  return extracted_.size() == 1 ? *extracted_.begin() : cfg_.default_value;
}

std::vector<ds_send> dolev_strong_node::to_all_others(const ds_message& m) const {
  std::vector<ds_send> out;
  out.reserve(cfg_.n);
  for (node_id i = 0; i < cfg_.n; ++i)
    if (i != self_)
      out.push_back({i, m});
  return out;
}

} // namespace marketsim::consensus::bft
