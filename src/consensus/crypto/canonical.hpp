#pragma once

/// Canonical bytes: the one encoding of a value that is hashed and signed.
///
/// Why not protobuf here: protobuf does not promise a canonical encoding (the
/// same message may serialize differently across versions and languages, and
/// unknown fields survive a round trip), and a signature must be checked over
/// exactly the bytes that were signed. So signed values are encoded by hand,
/// by this writer, with these rules, which never change for a given tag:
///
///   - every encoding starts with a domain tag (`bytes` of e.g.
///     "marketsim/streamlet/vote/v1"), so a vote can never be read as a block;
///   - integers are fixed width, little endian (u8, u32, u64; i64 as two's
///     complement u64) -- no varints, so one value has one encoding;
///   - variable-length data is a u32 length followed by the bytes;
///   - fixed-size values (hashes, keys, signatures) are their raw bytes;
///   - fields appear in the order the type's encode function lists them;
///     sequences are a u32 count followed by the elements, in order;
///   - no maps, no optional fields (an absent value is written as a flag u8).
///
/// Protobuf remains the format for what persists or leaves the program as a
/// whole message (the tape, blocks on disk); a stored block carries these
/// canonical bytes for its signed parts.

#include "consensus/crypto/hash.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace marketsim::consensus::crypto {

class canonical_writer {
public:
  /// Starts an encoding with its domain tag.
  explicit canonical_writer(std::string_view tag) { bytes(tag); }

  canonical_writer& u8(std::uint8_t v);
  canonical_writer& u32(std::uint32_t v);
  canonical_writer& u64(std::uint64_t v);
  canonical_writer& i64(std::int64_t v) { return u64(static_cast<std::uint64_t>(v)); }
  /// u32 length, then the bytes.
  canonical_writer& bytes(std::string_view v);
  /// Raw bytes of a fixed-size value (no length).
  canonical_writer& fixed(bytes_view v);
  canonical_writer& hash(const hash256& h) { return fixed(h.bytes); }

  const std::string& data() const { return out_; }
  /// Moves the bytes out; the writer is empty afterwards.
  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

/// Reads what canonical_writer wrote, in the same order. Any read past the
/// end or a length that does not fit sets the reader's error; later reads
/// return zeros, so a decoder checks `ok()` once at the end.
class canonical_reader {
public:
  /// Checks the domain tag first; a different tag makes the reader fail.
  canonical_reader(std::string_view data, std::string_view tag);

  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::string bytes() { return std::string{bytes_view()}; }
  /// As bytes(), without a copy: a view into the input (valid as long as it is).
  std::string_view bytes_view();
  void fixed(std::span<std::uint8_t> out);
  hash256 hash() {
    hash256 h;
    fixed(h.bytes);
    return h;
  }

  /// True iff every read succeeded and the whole input was consumed.
  bool ok() const { return ok_ && pos_ == data_.size(); }
  /// True iff every read so far succeeded (input may remain): for loops
  /// over a count read from the input, which must stop at the first failure.
  bool good() const { return ok_; }
  /// Bytes not read yet.
  std::size_t remaining() const { return data_.size() - pos_; }

private:
  bool take(std::size_t n, const char** at);

  std::string_view data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

} // namespace marketsim::consensus::crypto
