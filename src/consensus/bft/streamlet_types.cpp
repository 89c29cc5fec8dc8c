#include "consensus/bft/streamlet_types.hpp"

#include "consensus/crypto/canonical.hpp"

#include <iterator>

namespace marketsim::consensus::bft::streamlet {

namespace {

constexpr std::string_view block_tag = "marketsim/streamlet/block/v1";
constexpr std::string_view proposal_tag = "marketsim/streamlet/proposal/v1";
constexpr std::string_view vote_tag = "marketsim/streamlet/vote/v1";
constexpr std::string_view leader_tag = "marketsim/streamlet/leader/v1";

template <class T>
void move_append(std::vector<T>& to, std::vector<T>& from) {
  if (to.empty()) {
    to = std::move(from);
    return;
  }
  to.insert(to.end(), std::make_move_iterator(from.begin()),
            std::make_move_iterator(from.end()));
}

} // namespace

validator_id leader_of(const streamlet_params& p, epoch_t epoch) {
  if (p.leader == leader_rule::round_robin)
    return static_cast<validator_id>(epoch % p.n);
  auto h = crypto::blake2b_256(crypto::canonical_writer(leader_tag).u64(epoch).data());
  std::uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x |= std::uint64_t{h.bytes[i]} << (8 * i);
  return static_cast<validator_id>(x % p.n);
}

epoch_t epoch_at(const streamlet_params& p, time_ns now) {
  return now < 0 ? 1 : static_cast<epoch_t>(now / p.epoch_duration) + 1;
}

time_ns epoch_start(const streamlet_params& p, epoch_t epoch) {
  return static_cast<time_ns>(epoch - 1) * p.epoch_duration;
}

std::string block_body_bytes(const block& b) {
  crypto::canonical_writer w(block_tag);
  w.u64(b.epoch)
      .u64(b.height)
      .u32(b.proposer)
      .u32(static_cast<std::uint32_t>(b.txs.size()));
  for (const auto& tx : b.txs)
    w.bytes(tx);
  return w.take();
}

hash256 block_hash(const block& b) {
  return crypto::chain_hash(b.parent, block_body_bytes(b));
}

const block& genesis_block() {
  static const block g{};
  return g;
}

const hash256& genesis_hash() {
  static const hash256 h = block_hash(genesis_block());
  return h;
}

std::string proposal_bytes(epoch_t epoch, const hash256& h) {
  return crypto::canonical_writer(proposal_tag).u64(epoch).hash(h).take();
}

std::string vote_bytes(epoch_t epoch, const hash256& h, validator_id voter) {
  return crypto::canonical_writer(vote_tag).u64(epoch).hash(h).u32(voter).take();
}

proposal make_proposal(const crypto::key_pair& keys, block b) {
  auto h = block_hash(b);
  auto sig = keys.sign(proposal_bytes(b.epoch, h));
  return {std::make_shared<const block>(std::move(b)), h, sig};
}

vote make_vote(const crypto::key_pair& keys, epoch_t epoch, const hash256& h,
               validator_id voter) {
  return {epoch, h, voter, keys.sign(vote_bytes(epoch, h, voter))};
}

bool signature_ok(const proposal& p, const crypto::public_key& key) {
  return p.blk && crypto::verify(key, proposal_bytes(p.blk->epoch, p.hash), p.sig);
}

bool signature_ok(const vote& v, const crypto::public_key& key) {
  return crypto::verify(key, vote_bytes(v.epoch, v.block, v.voter), v.sig);
}

namespace {

constexpr std::string_view wire_tag = "marketsim/streamlet/wire/v1";

} // namespace

std::string encode_message(const message& m) {
  crypto::canonical_writer w(wire_tag);
  if (const auto* p = std::get_if<proposal>(&m)) {
    const auto& b = *p->blk;
    w.u8(0).u64(b.epoch).u64(b.height).hash(b.parent).u32(b.proposer);
    w.u32(static_cast<std::uint32_t>(b.txs.size()));
    for (const auto& tx : b.txs)
      w.bytes(tx);
    w.hash(p->hash).fixed(p->sig.bytes);
  } else {
    const auto& v = std::get<vote>(m);
    w.u8(1).u64(v.epoch).hash(v.block).u32(v.voter).fixed(v.sig.bytes);
  }
  return w.take();
}

std::optional<message> decode_message(std::string_view bytes) {
  crypto::canonical_reader r(bytes, wire_tag);
  auto kind = r.u8();
  if (kind == 0) {
    block b;
    b.epoch = r.u64();
    b.height = r.u64();
    b.parent = r.hash();
    b.proposer = r.u32();
    auto count = r.u32();
    // Each tx takes at least its 4-byte length: a larger count is a lie.
    if (count > r.remaining() / 4)
      return std::nullopt;
    b.txs.reserve(count);
    for (std::uint32_t i = 0; i < count && r.good(); ++i)
      b.txs.push_back(r.bytes());
    proposal p;
    p.hash = r.hash();
    r.fixed(p.sig.bytes);
    if (!r.ok())
      return std::nullopt;
    p.blk = std::make_shared<const block>(std::move(b));
    return message{std::move(p)};
  }
  if (kind != 1)
    return std::nullopt;
  vote v;
  v.epoch = r.u64();
  v.block = r.hash();
  v.voter = r.u32();
  r.fixed(v.sig.bytes);
  if (!r.ok())
    return std::nullopt;
  return message{v};
}

std::string_view to_string(offence o) {
  switch (o) {
  case offence::double_proposal:
    return "double_proposal";
  case offence::double_vote:
    return "double_vote";
  case offence::proposal_not_leader:
    return "proposal_not_leader";
  case offence::vote_for_invalid:
    return "vote_for_invalid";
  case offence::invalid_proposal:
    return "invalid_proposal";
  }
  return "unknown";
}

std::string_view to_string(reject_reason r) {
  switch (r) {
  case reject_reason::bad_signature:
    return "bad_signature";
  case reject_reason::unknown_validator:
    return "unknown_validator";
  case reject_reason::hash_mismatch:
    return "hash_mismatch";
  case reject_reason::bad_structure:
    return "bad_structure";
  case reject_reason::too_many_txs:
    return "too_many_txs";
  case reject_reason::invalid_payload:
    return "invalid_payload";
  }
  return "unknown";
}

namespace {

/// The author, epoch and signed hash of a message, if its signature holds.
struct signed_claim {
  validator_id author;
  epoch_t epoch;
  hash256 hash;
};

std::optional<signed_claim> check_signed(const message& m,
                                         const std::vector<crypto::public_key>& roster) {
  if (auto* p = std::get_if<proposal>(&m)) {
    if (!p->blk || p->blk->proposer >= roster.size() || block_hash(*p->blk) != p->hash ||
        !signature_ok(*p, roster[p->blk->proposer]))
      return std::nullopt;
    return signed_claim{p->blk->proposer, p->blk->epoch, p->hash};
  }
  const auto& v = std::get<vote>(m);
  if (v.voter >= roster.size() || !signature_ok(v, roster[v.voter]))
    return std::nullopt;
  return signed_claim{v.voter, v.epoch, v.block};
}

} // namespace

bool verify_evidence(const evidence& e, const streamlet_params& p,
                     const std::vector<crypto::public_key>& roster) {
  auto a = check_signed(e.first, roster);
  if (!a || a->author != e.culprit || a->epoch != e.epoch)
    return false;
  bool first_is_vote = std::holds_alternative<vote>(e.first);
  switch (e.kind) {
  case offence::double_proposal:
  case offence::double_vote: {
    if (!e.second || first_is_vote != (e.kind == offence::double_vote) ||
        std::holds_alternative<vote>(*e.second) != first_is_vote)
      return false;
    auto b = check_signed(*e.second, roster);
    return b && b->author == e.culprit && b->epoch == e.epoch && b->hash != a->hash;
  }
  case offence::proposal_not_leader:
    return !first_is_vote && leader_of(p, e.epoch) != e.culprit;
  case offence::vote_for_invalid:
  case offence::invalid_proposal:
    return first_is_vote == (e.kind == offence::vote_for_invalid) && e.invalid_block &&
           block_hash(*e.invalid_block) == a->hash;
  }
  return false;
}

void step_result::append(step_result&& other) {
  move_append(sends, other.sends);
  move_append(finalized, other.finalized);
  move_append(misbehaviour, other.misbehaviour);
  move_append(rejected, other.rejected);
}

} // namespace marketsim::consensus::bft::streamlet
