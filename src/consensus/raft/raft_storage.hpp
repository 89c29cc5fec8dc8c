#pragma once

/// Durable Raft state: the hard state (term, vote), the log and the latest
/// snapshot, in one directory. File I/O, no CAF, no clock, no threads: the
/// validator actor calls it synchronously and decides when to sync().
///
/// ## On disk
///
/// - `raft.wal`: a write-ahead log of records, each `[u32 length][u32 crc of
///   the payload][u32 crc of those 8 header bytes][payload]` (little endian),
///   the payload a protobuf `pb::WalRecord` (raft.proto), the crcs CRC-32C
///   (crc32c.hpp). Replaying the records in order gives the state: a
///   `hard_state` record replaces the hard state, an `entry` record appends
///   (its index must follow the last one), a `truncate` record drops a
///   suffix, a `base` record (first record only, written by compaction) says
///   where the log starts. Nothing is ever rewritten in place.
/// - `raft.snapshot`: one record of the same framing holding a
///   `pb::Snapshot`; written to `raft.snapshot.tmp`, synced, then renamed over
///   the old one (and the directory synced), so a crash leaves the old or the
///   new snapshot, never a mix.
/// - compaction writes the kept part of the log (base, hard state, entries
///   after the base) to `raft.wal.tmp` and renames it over `raft.wal` the same
///   way.
///
/// ## Recovery (open)
///
/// A torn last write is dropped (the file is cut back to the last good
/// record) and reported in `stored_state::torn`: a header cut short by the end
/// of the file, a good header whose payload the end of the file cuts short, a
/// payload whose checksum fails and that ends exactly at the end of the file,
/// or a zero-filled tail. Any other bad record (a bad header or payload with
/// bytes after it), or a record with good checksums that does not parse or
/// does not follow the log, is corruption: open() refuses with
/// `storage_errc::corrupt_record`, naming the file and the offset. If the
/// caller syncs before acknowledging, nothing acknowledged is in a torn write.
///
/// ## One owner
///
/// open() takes an exclusive flock() on `raft.lock` in the directory for the
/// life of the object: a second raft_storage on the same directory, in this
/// process or another, is refused (io_error, "locked"). The kernel drops the
/// lock when a process dies, so a validator restarted after kill -9 opens at
/// once. Not thread-safe: one thread (one actor) uses an instance.
///
/// ## Durability policy
///
/// With `sync_policy::every_write` each call that changes the log or the hard
/// state returns after fdatasync(); with `sync_policy::manual` writes reach
/// the kernel at once (a later load() sees them) but are durable only after
/// sync(): batch appends, then sync once before answering. Snapshots and
/// compaction always sync (their rename must not overtake their data).
/// An error from a sync leaves durability unknown (the kernel may have
/// dropped the dirty pages): the caller should stop, not retry, and recover
/// from disk with open().

#include "consensus/raft/raft_types.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace marketsim::consensus::raft {

// -- errors -------------------------------------------------------------------

enum class storage_errc : std::uint8_t {
  none,
  io_error,       ///< a system call failed (detail has the file and errno text)
  corrupt_record, ///< a bad record before the end of a file (file and offset)
  bad_argument,   ///< a call the log cannot take (gap, index in the compacted
                  ///< prefix, compaction past the snapshot, older snapshot)
};

std::string_view to_string(storage_errc x);

/// An error code and what went wrong, for logs: file, offset, index.
struct storage_error {
  storage_errc code = storage_errc::none;
  std::string detail;

  bool ok() const { return code == storage_errc::none; }
  explicit operator bool() const { return !ok(); } ///< true when it is an error
};

/// "code: detail", for logs and test failure messages.
std::string to_string(const storage_error& x);

/// A value or a storage_error (C++20 has no std::expected yet).
template <class T>
class storage_result {
public:
  storage_result(T value) : value_(std::move(value)) {}
  storage_result(storage_error error) : error_(std::move(error)) {}

  bool has_value() const { return value_.has_value(); }
  explicit operator bool() const { return has_value(); }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const storage_error& error() const { return error_; }

private:
  std::optional<T> value_;
  storage_error error_;
};

// -- values -------------------------------------------------------------------

enum class sync_policy : std::uint8_t {
  every_write, ///< every changing call fdatasync()s before it returns
  manual,      ///< the caller calls sync() (batching)
};

struct storage_options {
  sync_policy sync = sync_policy::every_write;
};

/// What recovery dropped at the end of the log.
struct torn_tail {
  std::string file;
  std::uint64_t offset = 0;        ///< where the file was cut
  std::uint64_t dropped_bytes = 0; ///< how much was cut
  std::string reason;              ///< "cut short" or "checksum mismatch"
};

/// Everything a restarted node needs.
struct stored_state {
  hard_state hard;
  std::optional<raft::snapshot> snap;
  /// The log holds base_index+1 .. base_index+entries.size(); base_term is
  /// the term of base_index (0 for an uncompacted log). Entries the snapshot
  /// covers but that were not compacted yet are still listed.
  index_t base_index = 0;
  term_t base_term = 0;
  std::vector<log_entry> entries;
  std::optional<torn_tail> torn; ///< set by open() when it dropped a torn write

  index_t last_index() const { return base_index + entries.size(); }
};

// -- the storage --------------------------------------------------------------

class raft_storage {
public:
  /// Opens (creating it and the directory if missing) the storage in `dir`,
  /// recovering from a torn last write (see the file comment). Leftover
  /// `.tmp` files of an interrupted snapshot or compaction are removed.
  static storage_result<raft_storage> open(const std::filesystem::path& dir,
                                           storage_options options = {});

  raft_storage(raft_storage&& other) noexcept;
  raft_storage& operator=(raft_storage&& other) noexcept;
  raft_storage(const raft_storage&) = delete;
  raft_storage& operator=(const raft_storage&) = delete;
  ~raft_storage();

  /// Records term and vote.
  storage_error save_hard_state(const hard_state& hs);

  /// Appends entries; the first must have index last_index() + 1 and the
  /// others follow it. To replace a conflicting suffix, truncate_suffix()
  /// first. One write() for the whole batch.
  storage_error append(std::span<const log_entry> entries);

  /// Drops the entries from `from_index` on (no-op past the end). Refuses
  /// `from_index` <= base_index() (that prefix is compacted away).
  storage_error truncate_suffix(index_t from_index);

  /// Replaces the snapshot (atomically; always synced). Refuses a snapshot
  /// older than the one stored.
  storage_error save_snapshot(const snapshot& snap);

  /// Drops the log up to and including `up_to` (no-op when <= base_index()),
  /// rewriting the log file atomically. `up_to` must be covered by the stored
  /// snapshot; past the last entry the log becomes empty and the next append
  /// is `up_to` + 1 (InstallSnapshot).
  storage_error compact_prefix(index_t up_to);

  /// fdatasync() of the log (sync_policy::manual).
  storage_error sync();

  /// Reads the files back: the state as replayed from disk now, plus the
  /// torn tail open() dropped, if any.
  storage_result<stored_state> load() const;

  index_t base_index() const { return base_index_; }
  index_t last_index() const { return last_index_; }
  const hard_state& hard() const { return hard_; }
  const std::filesystem::path& dir() const { return dir_; }
  const storage_options& options() const { return options_; }

private:
  raft_storage(std::filesystem::path dir, storage_options options);

  storage_error write_records(const std::string& framed);
  storage_error open_wal_for_append();
  void close_wal();
  void close_all();

  std::filesystem::path dir_;
  storage_options options_;
  int wal_fd_ = -1;
  int lock_fd_ = -1;
  std::uint64_t wal_size_ = 0; ///< bytes of good records in raft.wal
  hard_state hard_;
  index_t base_index_ = 0;
  index_t last_index_ = 0;
  index_t snapshot_index_ = 0; ///< 0: no snapshot
  term_t snapshot_term_ = 0;
  std::optional<torn_tail> torn_;
};

} // namespace marketsim::consensus::raft
