#include "consensus/bft/streamlet.hpp"

#include <algorithm>
#include <cassert>
#include <deque>
#include <unordered_set>

namespace marketsim::consensus::bft::streamlet {

streamlet_core::streamlet_core(streamlet_params params, validator_id self,
                               crypto::key_pair keys,
                               std::vector<crypto::public_key> roster,
                               payload_check check)
    : params_(params), self_(self), keys_(std::move(keys)), roster_(std::move(roster)),
      check_(std::move(check)), best_tip_(genesis_hash()) {
  assert(roster_.size() == params_.n && self_ < params_.n);
  assert(roster_[self_] == keys_.public_part());
  auto& g = blocks_[genesis_hash()];
  g.blk = std::shared_ptr<const block>(&genesis_block(), [](const block*) {});
  g.valid = g.notarized = g.chain_notarized = true;
}

// -- time and proposing --------------------------------------------------------

step_result streamlet_core::tick(time_ns now) {
  step_result out;
  advance(now, out);
  request_sync(out);
  return out;
}

void streamlet_core::advance(time_ns now, step_result& out) {
  now_ = std::max(now_, now);
  auto e = epoch_at(params_, now_);
  if (e <= epoch_)
    return;
  epoch_ = e;
  if (leader_of(params_, epoch_) == self_ && proposed_epoch_ < epoch_)
    propose(out);
  try_vote(out); // a proposal for this epoch may have arrived early
}

void streamlet_core::abstain_through(epoch_t e) {
  proposed_epoch_ = std::max(proposed_epoch_, e);
  voted_epoch_ = std::max(voted_epoch_, e);
}

std::vector<std::string> streamlet_core::batch_for(const block& draft) const {
  // Transactions already in the unfinalized part of the chain being extended.
  std::unordered_set<hash256> in_chain;
  for (auto h = draft.parent; draft.height > 1 && h != genesis_hash();) {
    const auto& nb = blocks_.at(h);
    if (nb.blk->height <= finalized_.size())
      break;
    for (const auto& tx : nb.blk->txs)
      in_chain.insert(crypto::blake2b_256(tx));
    h = nb.blk->parent;
  }
  std::vector<std::string> txs;
  for (const auto& [seq, tx] : pool_) {
    if (txs.size() >= params_.max_block_txs)
      break;
    if (!in_chain.empty() && in_chain.count(crypto::blake2b_256(tx)))
      continue;
    txs.push_back(tx);
  }
  return txs;
}

block streamlet_core::next_block(epoch_t epoch) const {
  block b;
  b.epoch = epoch;
  b.parent = best_tip_;
  b.height = best_height_ + 1;
  b.proposer = self_;
  b.txs = batch_for(b);
  if (!check_ || check_(b, *this))
    return b;
  // Some transaction breaks the payload rule on this chain (only paid when
  // the pool holds bad ones). Each is checked on its own first, so junk costs
  // one check per transaction, not one per prefix; only when the ones that
  // pass alone conflict with each other are they added one at a time.
  auto all = std::move(b.txs);
  block one = b;
  b.txs.clear();
  for (auto& tx : all) {
    one.txs.assign(1, tx);
    if (check_(one, *this))
      b.txs.push_back(std::move(tx));
  }
  if (b.txs.empty() || check_(b, *this))
    return b;
  auto passing = std::move(b.txs);
  b.txs.clear();
  for (auto& tx : passing) {
    b.txs.push_back(std::move(tx));
    if (!check_(b, *this))
      b.txs.pop_back();
  }
  return b;
}

void streamlet_core::propose(step_result& out) {
  proposed_epoch_ = epoch_;
  auto p = make_proposal(keys_, next_block(epoch_));
  ++stats_.proposals_sent;
  out.sends.push_back({self_, broadcast, p});
  on_proposal(p, self_, out);
}

// -- receiving -----------------------------------------------------------------

step_result streamlet_core::receive(const envelope& e, time_ns now) {
  step_result out;
  advance(now, out);
  if (auto* p = std::get_if<proposal>(&e.msg))
    on_proposal(*p, e.from, out);
  else if (auto* v = std::get_if<vote>(&e.msg))
    on_vote(*v, e.from, out);
  else if (auto* q = std::get_if<sync_request>(&e.msg))
    on_sync_request(*q, out);
  else
    on_sync_response(std::get<sync_response>(e.msg), e.from, out);
  request_sync(out);
  return out;
}

void streamlet_core::send(packet m, step_result& out) {
  out.sends.push_back({self_, broadcast, std::move(m)});
}

void streamlet_core::reject(reject_reason why, validator_id from, epoch_t epoch,
                            step_result& out) {
  ++stats_.rejected;
  out.rejected.push_back({why, from, epoch});
}

void streamlet_core::report(offence kind, validator_id culprit, epoch_t epoch,
                            message first, std::optional<message> second,
                            std::shared_ptr<const block> blk, step_result& out) {
  if (!reported_.insert({kind, culprit, epoch}).second)
    return;
  ++stats_.evidence;
  out.misbehaviour.push_back(
      {kind, culprit, epoch, std::move(first), std::move(second), std::move(blk)});
}

std::optional<reject_reason> streamlet_core::validate(const block& b) const {
  auto parent = blocks_.find(b.parent);
  if (parent == blocks_.end() || !parent->second.valid)
    return reject_reason::bad_structure;
  const auto& pb = *parent->second.blk;
  if (b.height != pb.height + 1 || b.epoch <= pb.epoch)
    return reject_reason::bad_structure;
  if (b.txs.size() > params_.max_block_txs)
    return reject_reason::too_many_txs;
  if (check_ && !check_(b, *this))
    return reject_reason::invalid_payload;
  return std::nullopt;
}

void streamlet_core::on_proposal(const proposal& p, validator_id from, step_result& out) {
  if (!p.blk || p.blk->proposer >= params_.n) {
    reject(reject_reason::unknown_validator, from, p.blk ? p.blk->epoch : 0, out);
    return;
  }
  if (seen_proposals_.count(p.hash))
    return; // an echo or replay of a proposal we handled (a forged copy changes nothing)
  const auto& b = *p.blk;
  if (!signature_ok(p, roster_[b.proposer])) {
    reject(reject_reason::bad_signature, from, b.epoch, out);
    return;
  }
  if (block_hash(b) != p.hash) {
    reject(reject_reason::hash_mismatch, from, b.epoch, out);
    return;
  }
  signed_proposal(p, from, params_.echo, out);
}

void streamlet_core::signed_proposal(const proposal& p, validator_id from, bool echo,
                                     step_result& out) {
  if (!seen_proposals_.insert(p.hash).second)
    return;
  // Signed by its proposer from here on: offences are provable.
  const auto& b = *p.blk;
  if (leader_of(params_, b.epoch) != b.proposer) {
    report(offence::proposal_not_leader, b.proposer, b.epoch, p, std::nullopt, p.blk,
           out);
    return;
  }
  auto& candidates = leader_proposals_[b.epoch];
  if (!candidates.empty() && candidates.front().hash != p.hash)
    report(offence::double_proposal, b.proposer, b.epoch, candidates.front(), p, nullptr,
           out);
  candidates.push_back(p);
  if (echo && b.proposer != self_) {
    ++stats_.echoes_sent;
    send(p, out);
  }
  auto parent = blocks_.find(b.parent);
  if (parent == blocks_.end() || !parent->second.blk) {
    orphans_[b.parent].push_back(p);
    need(b.parent, b.height - 1, from);
    return;
  }
  check_parent_notarized(b, from);
  accept_block(p, out);
}

void streamlet_core::accept_block(const proposal& p, step_result& out) {
  // Blocks whose parent arrives later are accepted in the same pass (a
  // worklist, not recursion: a long orphan chain cannot blow the stack).
  std::deque<proposal> work{p};
  while (!work.empty()) {
    auto cur = std::move(work.front());
    work.pop_front();
    auto& nb = blocks_[cur.hash];
    if (nb.blk)
      continue;
    nb.blk = cur.blk;
    nb.sig = cur.sig;
    if (auto why = validate(*cur.blk)) {
      reject(*why, cur.blk->proposer, cur.blk->epoch, out);
      report(offence::invalid_proposal, cur.blk->proposer, cur.blk->epoch, cur,
             std::nullopt, cur.blk, out);
      for (const auto& v : nb.votes)
        report(offence::vote_for_invalid, v.voter, v.epoch, v, std::nullopt, cur.blk,
               out);
    } else {
      nb.valid = true;
      blocks_[cur.blk->parent].children.push_back(cur.hash);
      check_notarized(cur.hash, out);
    }
    // Orphans of an invalid block are invalid too (their parent is not valid).
    if (auto it = orphans_.find(cur.hash); it != orphans_.end()) {
      for (auto& o : it->second)
        work.push_back(std::move(o));
      orphans_.erase(it);
    }
  }
  try_vote(out);
}

void streamlet_core::on_vote(const vote& v, validator_id from, step_result& out) {
  if (v.voter >= params_.n) {
    reject(reject_reason::unknown_validator, from, v.epoch, out);
    return;
  }
  if (seen_votes_.count({v.voter, v.epoch, v.block}))
    return; // an echo or a replay of a vote we handled
  if (!signature_ok(v, roster_[v.voter])) {
    reject(reject_reason::bad_signature, from, v.epoch, out);
    return;
  }
  signed_vote(v, from, params_.echo, out);
}

void streamlet_core::signed_vote(const vote& v, validator_id from, bool echo,
                                 step_result& out) {
  if (!seen_votes_.insert({v.voter, v.epoch, v.block}).second)
    return;
  auto key = std::make_pair(v.voter, v.epoch);
  auto first = first_votes_.find(key);
  if (first == first_votes_.end()) {
    first_votes_.emplace(key, v);
  } else {
    // A second signed vote in one epoch: proof of equivocation. Still
    // counted below: a notarization needs quorum distinct signers for one
    // block, whatever else they signed, and views must not diverge on it.
    report(offence::double_vote, v.voter, v.epoch, first->second, v, nullptr, out);
  }
  if (echo && v.voter != self_) {
    ++stats_.echoes_sent;
    send(v, out);
  }
  count_vote(v, from, out);
}

void streamlet_core::count_vote(const vote& v, validator_id from, step_result& out) {
  auto& nb = blocks_[v.block];
  for (const auto& seen : nb.votes)
    if (seen.voter == v.voter)
      return; // one vote per validator per block, whatever epoch it names
  nb.votes.push_back(v);
  // Enough voters that one is honest: the block exists; fetch it (unless
  // it is an orphan here: then its parent is what is missing).
  if (!nb.blk && nb.votes.size() > params_.n - quorum(params_.n) &&
      !seen_proposals_.count(v.block))
    need(v.block, 0, from);
  if (nb.blk && !nb.valid) {
    report(offence::vote_for_invalid, v.voter, v.epoch, v, std::nullopt, nb.blk, out);
    return;
  }
  check_notarized(v.block, out);
}

// -- notarization, finalization, voting ----------------------------------------

void streamlet_core::check_notarized(const hash256& h, step_result& out) {
  auto& nb = blocks_[h];
  if (nb.notarized || !nb.valid)
    return;
  // Only votes that name the block's own epoch count.
  auto epoch = nb.blk->epoch;
  auto count = std::count_if(nb.votes.begin(), nb.votes.end(),
                             [epoch](const vote& v) { return v.epoch == epoch; });
  if (static_cast<std::uint32_t>(count) < quorum(params_.n))
    return;
  nb.notarized = true;
  if (blocks_[nb.blk->parent].chain_notarized)
    on_chain_notarized(h, out);
}

void streamlet_core::on_chain_notarized(const hash256& h, step_result& out) {
  std::deque<hash256> work{h};
  while (!work.empty()) {
    auto cur = work.front();
    work.pop_front();
    auto& nb = blocks_[cur];
    nb.chain_notarized = true;
    if (nb.blk->height > best_height_) {
      best_height_ = nb.blk->height;
      best_tip_ = cur;
    }
    try_finalize(cur, out);
    for (const auto& c : nb.children)
      if (blocks_[c].notarized && !blocks_[c].chain_notarized)
        work.push_back(c);
  }
  try_vote(out);
}

bool streamlet_core::chain_notarized(const hash256& h) const {
  auto it = blocks_.find(h);
  return it != blocks_.end() && it->second.chain_notarized;
}

const block* streamlet_core::find(const hash256& h) const {
  auto it = blocks_.find(h);
  return it != blocks_.end() && it->second.valid ? it->second.blk.get() : nullptr;
}

void streamlet_core::try_finalize(const hash256& tip, step_result& out) {
  const auto& b3 = *blocks_.at(tip).blk;
  if (b3.height < 2)
    return;
  const auto& b2 = *blocks_.at(b3.parent).blk;
  const auto& b1 = *blocks_.at(b2.parent).blk;
  if (b3.epoch != b2.epoch + 1 || b2.epoch != b1.epoch + 1 ||
      b2.height <= finalized_.size())
    return;
  // Collect b2 and its ancestors down to what is already final.
  std::vector<hash256> newly;
  auto h = b3.parent;
  while (blocks_.at(h).blk->height > finalized_.size()) {
    newly.push_back(h);
    h = blocks_.at(h).blk->parent;
  }
  auto final_tip = finalized_.empty() ? genesis_hash() : finalized_.back();
  if (h != final_tip) {
    ++stats_.conflicting_finalizations;
    return;
  }
  for (auto it = newly.rbegin(); it != newly.rend(); ++it) {
    const auto& fb = blocks_.at(*it).blk;
    finalized_.push_back(*it);
    out.finalized.push_back(fb);
    for (const auto& tx : fb->txs) {
      auto idx = pool_index_.find(crypto::blake2b_256(tx));
      if (idx != pool_index_.end()) {
        pool_.erase(idx->second);
        pool_index_.erase(idx);
      }
    }
  }
}

void streamlet_core::try_vote(step_result& out) {
  if (voted_epoch_ >= epoch_)
    return;
  auto it = leader_proposals_.find(epoch_);
  if (it == leader_proposals_.end())
    return;
  for (const auto& p : it->second) {
    auto nb = blocks_.find(p.hash);
    if (nb == blocks_.end() || !nb->second.valid)
      continue;
    if (!chain_notarized(p.blk->parent) || p.blk->height != best_height_ + 1)
      continue;
    voted_epoch_ = epoch_;
    auto v = make_vote(keys_, epoch_, p.hash, self_);
    ++stats_.votes_sent;
    send(v, out);
    on_vote(v, self_, out);
    return;
  }
}

// -- block sync (see the header comment) ------------------------------------------

namespace {

/// Bounds the needs a flood of validly signed junk (a Byzantine leader's
/// proposals on made-up parents) can pile up: beyond it new ones are ignored.
constexpr std::size_t max_needs = 64;

} // namespace

std::vector<hash256> streamlet_core::sync_needs() const {
  std::vector<hash256> out;
  for (const auto& [h, nd] : needs_)
    out.push_back(h);
  return out;
}

validator_id streamlet_core::next_peer(validator_id after) const {
  auto p = static_cast<validator_id>((after + 1) % params_.n);
  return p == self_ ? static_cast<validator_id>((p + 1) % params_.n) : p;
}

void streamlet_core::need(const hash256& h, std::uint64_t height, validator_id hint) {
  if (!params_.sync || chain_notarized(h) || (height > 0 && height <= finalized_.size()))
    return;
  const auto grace = params_.epoch_duration / 2;
  auto it = needs_.find(h);
  if (it == needs_.end()) {
    if (needs_.size() >= max_needs)
      return;
    it = needs_.emplace(h, sync_need{}).first;
    it->second.since = now_;
    it->second.peer = hint < params_.n && hint != self_ ? hint : next_peer(self_);
  }
  auto& nd = it->second;
  if (height > 0)
    nd.height = height;
  if (in_sync_response_)
    nd.since = std::min(nd.since, now_ - grace);
}

void streamlet_core::check_parent_notarized(const block& b, validator_id from) {
  // Only a vote candidate's parent matters: without its notarization this
  // node cannot vote, and the leader had it, so it was notarized somewhere.
  if (b.epoch < epoch_)
    return;
  const auto& parent = blocks_.at(b.parent);
  if (parent.valid && !parent.chain_notarized && parent.blk->height >= best_height_)
    need(b.parent, parent.blk->height, from);
}

void streamlet_core::request_sync(step_result& out) {
  if (!params_.sync || epoch_ == 0)
    return;
  std::erase_if(pending_, [this](const auto& kv) { return kv.second.second + 2 < epoch_; });
  const auto grace = params_.epoch_duration / 2;
  const auto max_tries =
      params_.sync_max_tries > 0 ? params_.sync_max_tries : 2 * (params_.n - 1);
  sync_request r;
  std::optional<validator_id> to;
  for (auto it = needs_.begin(); it != needs_.end();) {
    auto& nd = it->second;
    if (chain_notarized(it->first) || (nd.height > 0 && nd.height <= finalized_.size())) {
      it = needs_.erase(it); // met, or a fork below the finalized chain
      continue;
    }
    if (nd.asked >= epoch_ || now_ < nd.since + grace ||
        r.wanted.size() >= params_.max_sync_wanted) {
      ++it;
      continue;
    }
    if (nd.tries >= max_tries) {
      ++stats_.sync_gave_up;
      it = needs_.erase(it);
      continue;
    }
    if (!to)
      to = nd.asked == 0 ? nd.peer : next_peer(nd.peer);
    nd.asked = epoch_;
    nd.peer = *to;
    ++nd.tries;
    r.wanted.push_back(it->first);
    ++it;
  }
  if (!to)
    return;
  r.requester = self_;
  r.epoch = epoch_;
  r.finalized_height = finalized_.size();
  r.tip_height = best_height_;
  r.max_blocks = params_.max_sync_blocks;
  sign(keys_, r);
  pending_[sync_request_digest(r)] = {*to, epoch_};
  ++stats_.sync_requests_sent;
  out.sends.push_back({self_, *to, std::move(r)});
}

void streamlet_core::collect(hash256 h, std::uint64_t floor, std::size_t budget,
                             std::vector<hash256>& into) const {
  for (; budget > 0; --budget) {
    auto it = blocks_.find(h);
    if (it == blocks_.end() || !it->second.chain_notarized ||
        it->second.blk->height <= floor ||
        std::find(into.begin(), into.end(), h) != into.end())
      return;
    into.push_back(h);
    h = it->second.blk->parent;
  }
}

certified_block streamlet_core::certificate_of(const hash256& h) const {
  const auto& nb = blocks_.at(h);
  certified_block cb{proposal{nb.blk, h, nb.sig}, {}};
  for (const auto& v : nb.votes)
    if (v.epoch == nb.blk->epoch && cb.votes.size() < quorum(params_.n))
      cb.votes.push_back(v);
  return cb;
}

void streamlet_core::on_sync_request(const sync_request& r, step_result& out) {
  if (r.requester >= params_.n || r.requester == self_) {
    reject(reject_reason::unknown_validator, r.requester, r.epoch, out);
    return;
  }
  if (!signature_ok(r, roster_[r.requester])) {
    reject(reject_reason::bad_signature, r.requester, r.epoch, out);
    return;
  }
  if (r.epoch + 1 < epoch_ || r.epoch > epoch_ + 1) {
    reject(reject_reason::stale_request, r.requester, r.epoch, out);
    return;
  }
  auto& answers = answered_[r.requester];
  if (answers.epoch != epoch_)
    answers = {epoch_, 0};
  if (answers.count >= params_.sync_answers_per_epoch) {
    reject(reject_reason::rate_limited, r.requester, r.epoch, out);
    return;
  }
  ++answers.count;
  if (!params_.sync)
    return;
  const std::size_t budget = std::min(r.max_blocks, params_.max_sync_blocks);
  const std::size_t wanted = std::min<std::size_t>(r.wanted.size(), params_.max_sync_wanted);
  std::vector<hash256> picked;
  for (std::size_t i = 0; i < wanted && picked.size() < budget; ++i)
    collect(r.wanted[i], r.finalized_height, budget - picked.size(), picked);
  if (best_height_ > r.tip_height)
    collect(best_tip_, r.tip_height, budget - picked.size(), picked);
  if (picked.empty())
    return; // nothing to give: the requester asks another peer next epoch
  std::sort(picked.begin(), picked.end(), [this](const hash256& a, const hash256& b) {
    return blocks_.at(a).blk->height < blocks_.at(b).blk->height;
  });
  sync_response s;
  s.responder = self_;
  s.request = sync_request_digest(r);
  for (const auto& h : picked)
    s.blocks.push_back(certificate_of(h));
  sign(keys_, s);
  ++stats_.sync_responses_sent;
  stats_.sync_blocks_sent += s.blocks.size();
  out.sends.push_back({self_, r.requester, std::move(s)});
}

std::optional<reject_reason> streamlet_core::check_response(const sync_response& s) const {
  if (s.blocks.size() > params_.max_sync_blocks)
    return reject_reason::unsolicited;
  for (const auto& cb : s.blocks) {
    const auto& p = cb.prop;
    if (!p.blk || p.blk->proposer >= params_.n)
      return reject_reason::unknown_validator;
    if (block_hash(*p.blk) != p.hash)
      return reject_reason::hash_mismatch;
    if (!signature_ok(p, roster_[p.blk->proposer]))
      return reject_reason::bad_signature;
    std::set<validator_id> voters;
    for (const auto& v : cb.votes) {
      if (v.voter >= params_.n)
        return reject_reason::unknown_validator;
      if (v.block != p.hash || v.epoch != p.blk->epoch || !voters.insert(v.voter).second)
        return reject_reason::bad_certificate;
      if (!signature_ok(v, roster_[v.voter]))
        return reject_reason::bad_signature;
    }
    if (voters.size() < quorum(params_.n))
      return reject_reason::bad_certificate;
  }
  return std::nullopt;
}

void streamlet_core::on_sync_response(const sync_response& s, validator_id from,
                                      step_result& out) {
  if (s.responder >= params_.n || s.responder == self_) {
    reject(reject_reason::unknown_validator, from, epoch_, out);
    return;
  }
  // The responder's signature first: nobody can clear another's pending
  // request or get a refusal pinned on an honest peer.
  if (!signature_ok(s, roster_[s.responder])) {
    reject(reject_reason::bad_signature, from, epoch_, out);
    return;
  }
  auto it = pending_.find(s.request);
  if (it == pending_.end() || it->second.first != s.responder) {
    ++stats_.sync_refused;
    reject(reject_reason::unsolicited, s.responder, epoch_, out);
    return;
  }
  pending_.erase(it);
  if (auto why = check_response(s)) {
    ++stats_.sync_refused;
    reject(*why, s.responder, epoch_, out);
    return;
  }
  stats_.sync_blocks_received += s.blocks.size();
  in_sync_response_ = true;
  for (const auto& cb : s.blocks) {
    signed_proposal(cb.prop, s.responder, false, out);
    for (const auto& v : cb.votes)
      signed_vote(v, s.responder, false, out);
  }
  in_sync_response_ = false;
}

void streamlet_core::submit(std::string tx) {
  auto h = crypto::blake2b_256(tx);
  if (pool_index_.count(h))
    return;
  pool_index_.emplace(h, pool_seq_);
  pool_.emplace(pool_seq_++, std::move(tx));
}

} // namespace marketsim::consensus::bft::streamlet
