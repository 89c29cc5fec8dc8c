#include "consensus/raft/raft_storage.hpp"

#include "consensus/raft/crc32c.hpp"
#include "consensus/raft/raft.pb.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <sys/file.h>
#include <system_error>
#include <unistd.h>

namespace marketsim::consensus::raft {

namespace fs = std::filesystem;

// -- errors -------------------------------------------------------------------

std::string_view to_string(storage_errc x) {
  switch (x) {
  case storage_errc::none:
    return "none";
  case storage_errc::io_error:
    return "io_error";
  case storage_errc::corrupt_record:
    return "corrupt_record";
  case storage_errc::bad_argument:
    return "bad_argument";
  }
  return "unknown";
}

std::string to_string(const storage_error& x) {
  std::string s(to_string(x.code));
  if (!x.detail.empty())
    s += ": " + x.detail;
  return s;
}

namespace {

constexpr const char* wal_name = "raft.wal";
constexpr const char* snapshot_name = "raft.snapshot";
constexpr const char* lock_name = "raft.lock";
constexpr std::size_t header_size = 12;
/// No record is this large; a bigger length field is damage, not data.
constexpr std::uint32_t max_record = 256u << 20;

storage_error io_error(const fs::path& file, std::string_view what) {
  return {storage_errc::io_error,
          file.string() + ": " + std::string(what) + ": " + std::strerror(errno)};
}

storage_error corrupt(const fs::path& file, std::uint64_t offset, std::string_view what) {
  return {storage_errc::corrupt_record, file.string() + ": corrupt record at offset " +
                                            std::to_string(offset) + ": " +
                                            std::string(what)};
}

storage_error bad_argument(std::string what) {
  return {storage_errc::bad_argument, std::move(what)};
}

// -- framing ------------------------------------------------------------------

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

/// Appends one framed record holding `msg` to `out`: [u32 length][u32 crc of
/// the payload][u32 crc of the 8 bytes before], then the payload. The header
/// has its own checksum so that a damaged length is told from a short file.
void frame(std::string& out, const google::protobuf::MessageLite& msg) {
  std::string payload = msg.SerializeAsString();
  std::size_t start = out.size();
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, crc32c(payload));
  put_u32(out, crc32c(std::string_view(out).substr(start, 8)));
  out += payload;
}

/// Walks the framed records of `data` (the contents of `file`), calling
/// `visit(payload, offset)` for each good one. A torn last write (see the
/// header file) is reported in `torn` and `valid_end` is where it starts; any
/// other bad record, or an error from `visit`, stops the walk with an error.
storage_error
scan_records(const fs::path& file, std::string_view data,
             const std::function<storage_error(std::string_view, std::uint64_t)>& visit,
             std::uint64_t& valid_end, std::optional<torn_tail>& torn) {
  std::size_t off = 0;
  auto tear = [&](std::string reason) {
    torn = torn_tail{file.string(), off, data.size() - off, std::move(reason)};
    valid_end = off;
    return storage_error{};
  };
  while (off < data.size()) {
    std::size_t rest = data.size() - off;
    if (rest < header_size)
      return tear("cut short in the record header");
    const char* h = data.data() + off;
    if (crc32c(data.substr(off, 8)) != get_u32(h + 8)) {
      // A zero-filled tail (a file extended before its data landed) or a
      // header that is the file's last bytes is a torn write; a bad header
      // with data after it is damage.
      if (data.find_first_not_of('\0', off) == std::string_view::npos)
        return tear("zero-filled tail");
      if (rest == header_size)
        return tear("header checksum mismatch in the last record");
      return corrupt(file, off, "header checksum mismatch");
    }
    std::uint32_t len = get_u32(h);
    if (len > max_record)
      return corrupt(file, off, "bad length " + std::to_string(len));
    if (len > rest - header_size)
      return tear("cut short");
    std::string_view payload = data.substr(off + header_size, len);
    if (crc32c(payload) != get_u32(h + 4)) {
      if (off + header_size + len == data.size())
        return tear("checksum mismatch in the last record");
      return corrupt(file, off, "checksum mismatch");
    }
    if (auto err = visit(payload, off))
      return err;
    off += header_size + len;
  }
  valid_end = off;
  return {};
}

storage_result<std::string> read_whole(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::string{};
    return io_error(file, "open");
  }
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = io_error(file, "read");
      ::close(fd);
      return err;
    }
    if (n == 0)
      break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

storage_error write_all(int fd, const fs::path& file, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_error(file, "write");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

storage_error sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_error(dir, "open directory");
  storage_error err;
  if (::fsync(fd) != 0)
    err = io_error(dir, "fsync directory");
  ::close(fd);
  return err;
}

/// Writes `data` to `dir/name.tmp`, syncs it, renames it to `dir/name` and
/// syncs the directory: the file is replaced whole or not at all.
storage_error replace_file(const fs::path& dir, const std::string& name,
                           std::string_view data) {
  fs::path tmp = dir / (name + ".tmp");
  fs::path dst = dir / name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error(tmp, "open");
  storage_error err = write_all(fd, tmp, data);
  if (!err && ::fsync(fd) != 0)
    err = io_error(tmp, "fsync");
  ::close(fd);
  if (!err && ::rename(tmp.c_str(), dst.c_str()) != 0)
    err = io_error(dst, "rename");
  if (!err)
    err = sync_dir(dir);
  return err;
}

// -- conversions ----------------------------------------------------------------

void to_pb(const log_entry& e, pb::Entry& out) {
  out.set_term(e.term);
  out.set_index(e.index);
  out.set_kind(static_cast<std::uint32_t>(e.kind));
  out.set_data(e.data);
}

bool from_pb(const pb::Entry& in, log_entry& out) {
  if (in.kind() > static_cast<std::uint32_t>(entry_kind::config))
    return false;
  out.term = in.term();
  out.index = in.index();
  out.kind = static_cast<entry_kind>(in.kind());
  out.data = in.data();
  return true;
}

std::string frame_hard_state(const hard_state& hs) {
  pb::WalRecord rec;
  rec.mutable_hard_state()->set_term(hs.term);
  rec.mutable_hard_state()->set_voted_for(hs.voted_for);
  std::string out;
  frame(out, rec);
  return out;
}

// -- replay -----------------------------------------------------------------------

struct wal_replay {
  stored_state state;
  std::uint64_t valid_end = 0;
};

storage_result<wal_replay> replay_wal(const fs::path& dir) {
  fs::path file = dir / wal_name;
  auto data = read_whole(file);
  if (!data)
    return data.error();
  wal_replay r;
  stored_state& st = r.state;
  pb::WalRecord rec;
  std::size_t records = 0;
  auto visit = [&](std::string_view payload, std::uint64_t off) -> storage_error {
    if (!rec.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
      return corrupt(file, off, "not a WalRecord");
    switch (rec.record_case()) {
    case pb::WalRecord::kHardState:
      st.hard = {rec.hard_state().term(), rec.hard_state().voted_for()};
      break;
    case pb::WalRecord::kEntry: {
      log_entry e;
      if (!from_pb(rec.entry(), e))
        return corrupt(file, off, "entry kind out of range");
      if (e.index != st.last_index() + 1)
        return corrupt(file, off,
                       "entry " + std::to_string(e.index) + " after entry " +
                           std::to_string(st.last_index()));
      st.entries.push_back(std::move(e));
      break;
    }
    case pb::WalRecord::kTruncate: {
      index_t from = rec.truncate().from_index();
      if (from <= st.base_index)
        return corrupt(file, off, "truncation into the compacted prefix");
      if (from <= st.last_index())
        st.entries.resize(from - st.base_index - 1);
      break;
    }
    case pb::WalRecord::kBase:
      if (records != 0)
        return corrupt(file, off, "log base after the first record");
      st.base_index = rec.base().base_index();
      st.base_term = rec.base().base_term();
      break;
    case pb::WalRecord::RECORD_NOT_SET:
      return corrupt(file, off, "empty WalRecord");
    }
    ++records;
    return {};
  };
  std::optional<torn_tail> torn;
  if (auto err = scan_records(file, *data, visit, r.valid_end, torn))
    return err;
  st.torn = std::move(torn);
  return r;
}

storage_result<std::optional<snapshot>> read_snapshot(const fs::path& dir) {
  fs::path file = dir / snapshot_name;
  auto data = read_whole(file);
  if (!data)
    return data.error();
  std::optional<snapshot> snap;
  auto visit = [&](std::string_view payload, std::uint64_t off) -> storage_error {
    pb::Snapshot s;
    if (snap || !s.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
      return corrupt(file, off, "not a single Snapshot record");
    snapshot out;
    out.meta.last_index = s.last_index();
    out.meta.last_term = s.last_term();
    out.meta.config.voters.assign(s.config().voters().begin(), s.config().voters().end());
    out.data = s.data();
    snap = std::move(out);
    return {};
  };
  std::uint64_t end = 0;
  std::optional<torn_tail> torn;
  if (auto err = scan_records(file, *data, visit, end, torn))
    return err;
  // The snapshot file is renamed into place whole: a torn one is damage.
  if (torn)
    return corrupt(file, torn->offset, torn->reason);
  return snap;
}

} // namespace

// -- raft_storage -------------------------------------------------------------------

raft_storage::raft_storage(fs::path dir, storage_options options)
    : dir_(std::move(dir)), options_(options) {}

raft_storage::raft_storage(raft_storage&& other) noexcept {
  *this = std::move(other);
}

raft_storage& raft_storage::operator=(raft_storage&& other) noexcept {
  if (this != &other) {
    close_all();
    dir_ = std::move(other.dir_);
    options_ = other.options_;
    // The descriptors change owner: the moved-from object closes nothing.
    wal_fd_ = std::exchange(other.wal_fd_, -1);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
    wal_size_ = other.wal_size_;
    hard_ = other.hard_;
    base_index_ = other.base_index_;
    last_index_ = other.last_index_;
    snapshot_index_ = other.snapshot_index_;
    snapshot_term_ = other.snapshot_term_;
    torn_ = std::move(other.torn_);
  }
  return *this;
}

raft_storage::~raft_storage() {
  close_all();
}

void raft_storage::close_all() {
  close_wal();
  if (lock_fd_ >= 0)
    ::close(lock_fd_); // releases the flock
  lock_fd_ = -1;
}

void raft_storage::close_wal() {
  if (wal_fd_ >= 0)
    ::close(wal_fd_);
  wal_fd_ = -1;
}

storage_error raft_storage::open_wal_for_append() {
  close_wal();
  fs::path file = dir_ / wal_name;
  wal_fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (wal_fd_ < 0)
    return io_error(file, "open");
  return {};
}

storage_result<raft_storage> raft_storage::open(const fs::path& dir,
                                                storage_options options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return storage_error{storage_errc::io_error,
                         dir.string() + ": create directory: " + ec.message()};
  raft_storage s(dir, options);
  fs::path lock_file = dir / lock_name;
  s.lock_fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (s.lock_fd_ < 0)
    return io_error(lock_file, "open");
  if (::flock(s.lock_fd_, LOCK_EX | LOCK_NB) != 0)
    return io_error(lock_file,
                    errno == EWOULDBLOCK
                        ? "locked: another raft_storage has this directory open"
                        : "flock");
  fs::remove(dir / (std::string(wal_name) + ".tmp"), ec);
  fs::remove(dir / (std::string(snapshot_name) + ".tmp"), ec);

  auto snap = read_snapshot(dir);
  if (!snap)
    return snap.error();
  auto wal = replay_wal(dir);
  if (!wal)
    return wal.error();

  const stored_state& st = wal->state;
  if (st.torn) {
    // Cut the torn write off so that new records follow the last good one.
    fs::path file = dir / wal_name;
    if (::truncate(file.c_str(), static_cast<off_t>(wal->valid_end)) != 0)
      return io_error(file, "truncate torn tail");
    s.torn_ = st.torn;
  }
  bool creates_wal = !fs::exists(dir / wal_name, ec);
  if (auto err = s.open_wal_for_append())
    return err;
  if (st.torn && ::fdatasync(s.wal_fd_) != 0)
    return io_error(dir / wal_name, "fdatasync");
  // A new file's name must be durable before anything synced into it counts.
  if (creates_wal)
    if (auto err = sync_dir(dir))
      return err;
  s.wal_size_ = wal->valid_end;
  s.hard_ = st.hard;
  s.base_index_ = st.base_index;
  s.last_index_ = st.last_index();
  if (*snap) {
    s.snapshot_index_ = (*snap)->meta.last_index;
    s.snapshot_term_ = (*snap)->meta.last_term;
  }
  return s;
}

storage_error raft_storage::write_records(const std::string& framed) {
  if (auto err = write_all(wal_fd_, dir_ / wal_name, framed)) {
    // Cut a partial write (ENOSPC, EFBIG, EIO) off: records appended after
    // it would make it a corrupt record in the middle, which open() refuses.
    // If the cut fails too, close the log: later writes fail, and the next
    // open() finds the partial record at the end, a torn tail.
    if (::ftruncate(wal_fd_, static_cast<off_t>(wal_size_)) != 0)
      close_wal();
    return err;
  }
  wal_size_ += framed.size();
  if (options_.sync == sync_policy::every_write)
    return sync();
  return {};
}

storage_error raft_storage::sync() {
  if (::fdatasync(wal_fd_) != 0)
    return io_error(dir_ / wal_name, "fdatasync");
  return {};
}

storage_error raft_storage::save_hard_state(const hard_state& hs) {
  if (auto err = write_records(frame_hard_state(hs)))
    return err;
  hard_ = hs;
  return {};
}

storage_error raft_storage::append(std::span<const log_entry> entries) {
  if (entries.empty())
    return {};
  std::string framed;
  pb::WalRecord rec;
  index_t next = last_index_ + 1;
  for (const log_entry& e : entries) {
    if (e.index != next)
      return bad_argument("append: entry " + std::to_string(e.index) + " where " +
                          std::to_string(next) + " is next");
    to_pb(e, *rec.mutable_entry());
    frame(framed, rec);
    ++next;
  }
  if (auto err = write_records(framed))
    return err;
  last_index_ = next - 1;
  return {};
}

storage_error raft_storage::truncate_suffix(index_t from_index) {
  if (from_index <= base_index_)
    return bad_argument("truncate_suffix: " + std::to_string(from_index) +
                        " is in the compacted prefix (base " +
                        std::to_string(base_index_) + ")");
  if (from_index > last_index_)
    return {};
  pb::WalRecord rec;
  rec.mutable_truncate()->set_from_index(from_index);
  std::string framed;
  frame(framed, rec);
  if (auto err = write_records(framed))
    return err;
  last_index_ = from_index - 1;
  return {};
}

storage_error raft_storage::save_snapshot(const snapshot& snap) {
  if (snap.meta.last_index < snapshot_index_)
    return bad_argument("save_snapshot: snapshot at " +
                        std::to_string(snap.meta.last_index) +
                        " is older than the one at " + std::to_string(snapshot_index_));
  pb::Snapshot s;
  s.set_last_index(snap.meta.last_index);
  s.set_last_term(snap.meta.last_term);
  for (node_id v : snap.meta.config.voters)
    s.mutable_config()->add_voters(v);
  s.set_data(snap.data);
  std::string framed;
  frame(framed, s);
  if (auto err = replace_file(dir_, snapshot_name, framed))
    return err;
  snapshot_index_ = snap.meta.last_index;
  snapshot_term_ = snap.meta.last_term;
  return {};
}

storage_error raft_storage::compact_prefix(index_t up_to) {
  if (up_to <= base_index_)
    return {};
  if (up_to > snapshot_index_)
    return bad_argument("compact_prefix: " + std::to_string(up_to) +
                        " is not covered by the snapshot (at " +
                        std::to_string(snapshot_index_) + ")");
  if (up_to > last_index_ && up_to != snapshot_index_)
    return bad_argument("compact_prefix: " + std::to_string(up_to) +
                        " is past the log's end and not the snapshot's index");
  auto wal = replay_wal(dir_);
  if (!wal)
    return wal.error();
  const stored_state& st = wal->state;
  term_t base_term = up_to <= st.last_index() ? st.entries[up_to - st.base_index - 1].term
                                              : snapshot_term_;
  pb::WalRecord rec;
  rec.mutable_base()->set_base_index(up_to);
  rec.mutable_base()->set_base_term(base_term);
  std::string framed;
  frame(framed, rec);
  framed += frame_hard_state(hard_);
  for (index_t i = up_to + 1; i <= st.last_index(); ++i) {
    to_pb(st.entries[i - st.base_index - 1], *rec.mutable_entry());
    frame(framed, rec);
  }
  if (auto err = replace_file(dir_, wal_name, framed))
    return err;
  wal_size_ = framed.size();
  base_index_ = up_to;
  last_index_ = std::max(last_index_, up_to);
  return open_wal_for_append();
}

storage_result<stored_state> raft_storage::load() const {
  auto snap = read_snapshot(dir_);
  if (!snap)
    return snap.error();
  auto wal = replay_wal(dir_);
  if (!wal)
    return wal.error();
  stored_state st = std::move(wal->state);
  st.snap = std::move(*snap);
  st.torn = torn_;
  return st;
}

} // namespace marketsim::consensus::raft
