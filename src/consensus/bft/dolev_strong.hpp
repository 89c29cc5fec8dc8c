#pragma once

/// Dolev-Strong Byzantine broadcast (Dolev & Strong 1983), pure core: one
/// designated sender broadcasts a value to n nodes, any number f < n of which
/// may be Byzantine, in f+1 synchronous rounds, with signature chains.
///
/// Rounds. The sender signs its value and sends it in round 0 (start()).
/// Messages sent in round r are delivered in round r+1; the caller (a test
/// harness, or the validator actor with a round timer) passes the round of
/// delivery to receive(). In round r (1 <= r <= f+1) a node accepts a value
/// only with a chain of exactly r valid signatures by distinct nodes,
/// starting with the sender's. A node that accepts a value it had not
/// extracted yet adds it to its extracted set and, if r <= f, signs and
/// relays it to every other node (delivered in round r+1). After round f+1
/// the output is the single extracted value, or the default when the node
/// extracted none (silent or late sender) or two or more (an equivocating
/// sender): every honest node then outputs the same (agreement), and the
/// honest sender's value when the sender is honest (validity).
///
/// Why it works: a value accepted by an honest node in round r <= f is
/// relayed to every honest node, which accepts it in round r+1; one accepted
/// in round f+1 carries f+1 distinct signatures, so one of them is honest and
/// that node relayed it earlier. Two extracted values are enough to decide
/// the default, so a node relays at most two values and ignores the rest.
///
/// Signed bytes (canonical, crypto/canonical.hpp): link k of a chain signs
///   tag "marketsim/dolev-strong/v1", u64 instance, u32 sender, bytes value,
///   then (u32 signer_j, signature_j) for every earlier link j < k,
///   then u32 signer_k
/// so a signature covers the value and the whole chain before it, and cannot
/// be moved to another instance, sender, value or chain.
///
/// Pure: no CAF, no clock, no I/O; the node never reads the time (the round
/// is an input). Deterministic given its inputs (Ed25519 is deterministic).

#include "consensus/crypto/signature.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::consensus::bft {

using node_id = std::uint32_t;

/// What every node of one broadcast agrees on beforehand.
struct ds_config {
  std::uint32_t n = 4;                  ///< nodes 0..n-1
  std::uint32_t f = 1;                  ///< tolerated Byzantine nodes, f < n; f+1 rounds
  node_id sender = 0;                   ///< the designated sender
  std::uint64_t instance = 0;           ///< broadcast id: signatures do not replay across
  std::string default_value;            ///< the output without a single extracted value
  std::vector<crypto::public_key> keys; ///< keys[i] is node i's public key (size n)

  /// The last round, f+1: outputs are final after receive() calls of this round.
  std::uint32_t last_round() const { return f + 1; }
};

/// One link of a signature chain.
struct ds_link {
  node_id signer = 0;
  crypto::signature sig;

  friend bool operator==(const ds_link&, const ds_link&) = default;
};

/// A value with its signature chain (chain[0] is the sender's).
struct ds_message {
  std::uint64_t instance = 0;
  node_id sender = 0;
  std::string value;
  std::vector<ds_link> chain;

  friend bool operator==(const ds_message&, const ds_message&) = default;
};

/// A message to deliver to `to` in the next round.
struct ds_send {
  node_id to = 0;
  ds_message msg;
};

/// What receive() did with a message.
enum class ds_verdict : std::uint8_t {
  accepted,         ///< a new value: extracted (and relayed if round <= f)
  redundant,        ///< valid or not, it can change nothing: the value is known
                    ///< or two values are already extracted (not verified)
  wrong_instance,   ///< another broadcast's instance or sender
  wrong_round,      ///< chain length differs from the round, or round outside 1..f+1
  not_from_sender,  ///< the chain does not start with the sender
  unknown_signer,   ///< a signer id >= n
  duplicate_signer, ///< a signer appears twice in the chain
  bad_signature,    ///< a signature does not verify (forged, moved or corrupted)
};

std::string_view to_string(ds_verdict x);

struct ds_receive_result {
  ds_verdict verdict = ds_verdict::redundant;
  std::vector<ds_send> sends; ///< relays, to every other node, for the next round
};

/// The bytes link `k` of `m`'s chain signs (see the header comment); needs
/// chain[0..k] (the signer of link k included).
std::string ds_signed_bytes(const ds_message& m, std::size_t k);

/// The sender's round-0 message: `value` with the sender's signature only.
ds_message ds_make_initial(const ds_config& cfg, std::string value,
                           const crypto::key_pair& sender_key);

/// `m` with one more link: `signer`'s signature over the chain so far.
/// Byzantine test code uses it to build chains an honest node would not.
ds_message ds_extend(ds_message m, node_id signer, const crypto::key_pair& key);

/// The first verdict that makes `m` unacceptable in `round` (or accepted if
/// none): instance, round and chain shape, then every signature in order.
/// `verifications` counts the Ed25519 verifications done.
ds_verdict ds_check(const ds_config& cfg, const ds_message& m, std::uint32_t round,
                    std::uint64_t* verifications = nullptr);

/// Proof of a forgery: link `bad_link` of `msg` does not verify, and
/// `culprit`, the signer of a later link whose own signature does verify,
/// signed the chain with that bad link inside. An honest node verifies a
/// whole chain before it signs (receive()), so that signature convicts its
/// signer; anyone with the keys can check it (ds_verify_evidence). Without a
/// valid later link nobody is convicted (the network sender is not
/// authenticated): `culprit` is empty.
struct ds_evidence {
  ds_message msg;
  std::size_t bad_link = 0;
  std::optional<node_id> culprit;
  std::size_t culprit_link = 0; ///< meaningful with a culprit

  friend bool operator==(const ds_evidence&, const ds_evidence&) = default;
};

/// The evidence in `m` when one of its signatures does not verify (signers
/// must be known, < n); nullopt when every signature verifies or a signer is
/// unknown.
std::optional<ds_evidence> ds_forgery_evidence(const ds_config& cfg, ds_message m);

/// True iff `e` proves what it claims: link bad_link fails, and with a
/// culprit, link culprit_link (after it) is the culprit's and verifies.
bool ds_verify_evidence(const ds_config& cfg, const ds_evidence& e);

/// One node of one broadcast (honest behaviour).
class dolev_strong_node {
public:
  /// `key` must be node `self`'s key pair (keys[self] == key.public_part()).
  dolev_strong_node(ds_config cfg, node_id self, crypto::key_pair key);

  /// Round 0, sender only: extracts `value` and returns its signed message
  /// for every other node. Empty when this node is not the sender or has
  /// started already.
  std::vector<ds_send> start(std::string value);

  /// Delivers `m` in `round` (1..f+1).
  ds_receive_result receive(const ds_message& m, std::uint32_t round);

  /// The extracted values so far (at most two are kept: two decide).
  const std::set<std::string>& extracted() const { return extracted_; }
  /// The single extracted value, or the default (meaningful after round f+1).
  const std::string& output() const;
  /// True iff exactly one value was extracted.
  bool decided_value() const { return extracted_.size() == 1; }

  node_id self() const { return self_; }
  const ds_config& config() const { return cfg_; }
  /// The node's own key pair (a Byzantine policy signs with it).
  const crypto::key_pair& keys() const { return key_; }
  /// Ed25519 verifications done by this node (for benchmarks).
  std::uint64_t verifications() const { return verifications_; }

private:
  std::vector<ds_send> to_all_others(const ds_message& m) const;

  ds_config cfg_;
  node_id self_;
  crypto::key_pair key_;
  std::set<std::string> extracted_;
  bool started_ = false;
  std::uint64_t verifications_ = 0;
};

} // namespace marketsim::consensus::bft
