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

// -- block sync ----------------------------------------------------------------

namespace {

constexpr std::string_view sync_request_tag = "marketsim/streamlet/sync-request/v1";
constexpr std::string_view sync_response_tag = "marketsim/streamlet/sync-response/v1";

/// A request's signed fields, after whatever tag `w` started with.
void write_request_fields(crypto::canonical_writer& w, const sync_request& r) {
  w.u32(r.requester).u64(r.epoch).u64(r.finalized_height).u64(r.tip_height);
  w.u32(r.max_blocks).u32(static_cast<std::uint32_t>(r.wanted.size()));
  for (const auto& h : r.wanted)
    w.hash(h);
}

} // namespace

std::string sync_request_bytes(const sync_request& r) {
  crypto::canonical_writer w(sync_request_tag);
  write_request_fields(w, r);
  return w.take();
}

hash256 sync_request_digest(const sync_request& r) {
  return crypto::blake2b_256(sync_request_bytes(r));
}

std::string sync_response_bytes(const sync_response& r) {
  crypto::canonical_writer w(sync_response_tag);
  w.u32(r.responder).hash(r.request).u32(static_cast<std::uint32_t>(r.blocks.size()));
  for (const auto& cb : r.blocks) {
    w.hash(cb.prop.hash).fixed(cb.prop.sig.bytes);
    w.u32(static_cast<std::uint32_t>(cb.votes.size()));
    for (const auto& v : cb.votes)
      w.u64(v.epoch).hash(v.block).u32(v.voter).fixed(v.sig.bytes);
  }
  return w.take();
}

void sign(const crypto::key_pair& keys, sync_request& r) {
  r.sig = keys.sign(sync_request_bytes(r));
}

void sign(const crypto::key_pair& keys, sync_response& r) {
  r.sig = keys.sign(sync_response_bytes(r));
}

bool signature_ok(const sync_request& r, const crypto::public_key& key) {
  return crypto::verify(key, sync_request_bytes(r), r.sig);
}

bool signature_ok(const sync_response& r, const crypto::public_key& key) {
  return crypto::verify(key, sync_response_bytes(r), r.sig);
}

bool is_sync(const packet& m) {
  return std::holds_alternative<sync_request>(m) || std::holds_alternative<sync_response>(m);
}

// -- wire form -----------------------------------------------------------------

namespace {

constexpr std::string_view wire_tag = "marketsim/streamlet/wire/v1";

/// Smallest encodings, to refuse counts the remaining input cannot hold.
constexpr std::size_t vote_wire_size = 8 + 32 + 4 + 64;
constexpr std::size_t proposal_wire_size = 8 + 8 + 32 + 4 + 4 + 32 + 64;

void write_proposal(crypto::canonical_writer& w, const proposal& p) {
  const auto& b = *p.blk;
  w.u64(b.epoch).u64(b.height).hash(b.parent).u32(b.proposer);
  w.u32(static_cast<std::uint32_t>(b.txs.size()));
  for (const auto& tx : b.txs)
    w.bytes(tx);
  w.hash(p.hash).fixed(p.sig.bytes);
}

void write_vote(crypto::canonical_writer& w, const vote& v) {
  w.u64(v.epoch).hash(v.block).u32(v.voter).fixed(v.sig.bytes);
}

/// nullopt if the input ran out (or lies about a count); the caller checks
/// the end of input.
std::optional<proposal> read_proposal(crypto::canonical_reader& r) {
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
  if (!r.good())
    return std::nullopt;
  p.blk = std::make_shared<const block>(std::move(b));
  return p;
}

vote read_vote(crypto::canonical_reader& r) {
  vote v;
  v.epoch = r.u64();
  v.block = r.hash();
  v.voter = r.u32();
  r.fixed(v.sig.bytes);
  return v;
}

std::optional<packet> read_request(crypto::canonical_reader& r) {
  sync_request q;
  q.requester = r.u32();
  q.epoch = r.u64();
  q.finalized_height = r.u64();
  q.tip_height = r.u64();
  q.max_blocks = r.u32();
  auto count = r.u32();
  if (count > r.remaining() / 32)
    return std::nullopt;
  q.wanted.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i)
    q.wanted.push_back(r.hash());
  r.fixed(q.sig.bytes);
  return packet{std::move(q)};
}

std::optional<packet> read_response(crypto::canonical_reader& r) {
  sync_response s;
  s.responder = r.u32();
  s.request = r.hash();
  auto count = r.u32();
  if (count > r.remaining() / (proposal_wire_size + 4))
    return std::nullopt;
  s.blocks.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    auto p = read_proposal(r);
    if (!p)
      return std::nullopt;
    auto votes = r.u32();
    if (votes > r.remaining() / vote_wire_size)
      return std::nullopt;
    certified_block cb{std::move(*p), {}};
    cb.votes.reserve(votes);
    for (std::uint32_t k = 0; k < votes; ++k)
      cb.votes.push_back(read_vote(r));
    s.blocks.push_back(std::move(cb));
  }
  r.fixed(s.sig.bytes);
  return packet{std::move(s)};
}

} // namespace

std::string encode_message(const packet& m) {
  crypto::canonical_writer w(wire_tag);
  w.u8(static_cast<std::uint8_t>(m.index()));
  if (const auto* p = std::get_if<proposal>(&m)) {
    write_proposal(w, *p);
  } else if (const auto* v = std::get_if<vote>(&m)) {
    write_vote(w, *v);
  } else if (const auto* q = std::get_if<sync_request>(&m)) {
    write_request_fields(w, *q);
    w.fixed(q->sig.bytes);
  } else {
    const auto& s = std::get<sync_response>(m);
    w.u32(s.responder).hash(s.request).u32(static_cast<std::uint32_t>(s.blocks.size()));
    for (const auto& cb : s.blocks) {
      write_proposal(w, cb.prop);
      w.u32(static_cast<std::uint32_t>(cb.votes.size()));
      for (const auto& v : cb.votes)
        write_vote(w, v);
    }
    w.fixed(s.sig.bytes);
  }
  return w.take();
}

std::optional<packet> decode_message(std::string_view bytes) {
  crypto::canonical_reader r(bytes, wire_tag);
  std::optional<packet> out;
  switch (r.u8()) {
  case 0:
    if (auto p = read_proposal(r))
      out = packet{std::move(*p)};
    break;
  case 1:
    out = packet{read_vote(r)};
    break;
  case 2:
    out = read_request(r);
    break;
  case 3:
    out = read_response(r);
    break;
  default:
    return std::nullopt;
  }
  if (!out || !r.ok())
    return std::nullopt;
  return out;
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
  case reject_reason::bad_certificate:
    return "bad_certificate";
  case reject_reason::unsolicited:
    return "unsolicited";
  case reject_reason::stale_request:
    return "stale_request";
  case reject_reason::rate_limited:
    return "rate_limited";
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
