/// Specification of the durable Raft storage (src/consensus/raft/raft_storage.hpp):
/// round trips, restart recovery, truncation, compaction, torn tails, corruption,
/// and a randomized comparison against an in-memory model.

#include "consensus/raft/crc32c.hpp"
#include "consensus/raft/raft_storage.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace marketsim::consensus::raft;
namespace fs = std::filesystem;

/// A fresh directory, removed when the test ends.
struct temp_dir {
  fs::path path;
  temp_dir() {
    static int counter = 0;
    path =
        fs::temp_directory_path() / ("raft_storage_test_" + std::to_string(::getpid()) +
                                     "_" + std::to_string(counter++));
    fs::remove_all(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

log_entry entry(index_t index, term_t term, std::string data = "") {
  if (data.empty())
    data = "cmd-" + std::to_string(index) + "-" + std::to_string(term);
  return {term, index, entry_kind::command, std::move(data)};
}

std::vector<log_entry> entries(index_t from, index_t to, term_t term) {
  std::vector<log_entry> out;
  for (index_t i = from; i <= to; ++i)
    out.push_back(entry(i, term));
  return out;
}

snapshot make_snapshot(index_t index, term_t term, std::string data) {
  snapshot s;
  s.meta.last_index = index;
  s.meta.last_term = term;
  s.meta.config.voters = {1, 2, 3};
  s.data = std::move(data);
  return s;
}

raft_storage open_ok(const fs::path& dir, storage_options opt = {}) {
  auto s = raft_storage::open(dir, opt);
  INFO((s ? std::string("ok") : to_string(s.error())));
  REQUIRE(s.has_value());
  return std::move(*s);
}

stored_state load_ok(const raft_storage& s) {
  auto st = s.load();
  INFO((st ? std::string("ok") : to_string(st.error())));
  REQUIRE(st.has_value());
  return std::move(*st);
}

void require_ok(const storage_error& e) {
  INFO(to_string(e));
  REQUIRE(e.ok());
}

std::uintmax_t wal_size(const fs::path& dir) {
  return fs::file_size(dir / "raft.wal");
}

void cut_wal(const fs::path& dir, std::uintmax_t bytes) {
  fs::resize_file(dir / "raft.wal", wal_size(dir) - bytes);
}

void flip_byte(const fs::path& file, std::uintmax_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5A));
}

} // namespace

TEST_CASE("CRC-32C matches the published check values", "[raft_storage]") {
  CHECK(crc32c("") == 0u);
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu); // RFC 3720 B.4
  CHECK(crc32c(std::string(32, '\xFF')) == 0x62A8AB43u);
  // Extending over pieces equals one pass, at any split.
  std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  for (std::size_t cut = 0; cut <= text.size(); ++cut)
    CHECK(crc32c(text.substr(cut), crc32c(text.substr(0, cut))) == crc32c(text));
}

TEST_CASE("A fresh directory opens empty", "[raft_storage]") {
  temp_dir d;
  auto s = open_ok(d.path / "nested" / "node1");
  auto st = load_ok(s);
  CHECK(st.hard == hard_state{});
  CHECK_FALSE(st.snap.has_value());
  CHECK(st.entries.empty());
  CHECK(st.base_index == 0);
  CHECK_FALSE(st.torn.has_value());
}

TEST_CASE("Hard state, entries and snapshot round-trip across a restart",
          "[raft_storage]") {
  temp_dir d;
  snapshot snap = make_snapshot(3, 2, std::string("state\0with\0nuls", 15));
  {
    auto s = open_ok(d.path);
    require_ok(s.save_hard_state({2, 3}));
    auto es = entries(1, 3, 1);
    es.push_back({2, 4, entry_kind::noop, ""});
    es.push_back({2, 5, entry_kind::config, "\x01\x02"});
    require_ok(s.append(es));
    require_ok(s.save_hard_state({7, 0}));
    require_ok(s.save_snapshot(snap));
    CHECK(s.last_index() == 5);
  }
  auto s = open_ok(d.path);
  auto st = load_ok(s);
  CHECK(st.hard == hard_state{7, 0});
  REQUIRE(st.snap.has_value());
  CHECK(*st.snap == snap);
  REQUIRE(st.entries.size() == 5);
  CHECK(st.entries[0] == entry(1, 1));
  CHECK(st.entries[3].kind == entry_kind::noop);
  CHECK(st.entries[4] == log_entry{2, 5, entry_kind::config, "\x01\x02"});
  CHECK(s.hard() == hard_state{7, 0});
  CHECK(s.last_index() == 5);
}

TEST_CASE("Appends must follow the log without gaps", "[raft_storage]") {
  temp_dir d;
  auto s = open_ok(d.path);
  require_ok(s.append(entries(1, 2, 1)));
  auto err = s.append(entries(4, 4, 1));
  CHECK(err.code == storage_errc::bad_argument);
  CHECK(err.detail.find("entry 4 where 3 is next") != std::string::npos);
  err = s.append(entries(2, 2, 1));
  CHECK(err.code == storage_errc::bad_argument);
  CHECK(s.last_index() == 2);
  CHECK(load_ok(s).entries == entries(1, 2, 1));
}

TEST_CASE("A conflicting suffix is truncated and replaced, also after a restart",
          "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path);
    require_ok(s.append(entries(1, 10, 1)));
    require_ok(s.truncate_suffix(6));
    CHECK(s.last_index() == 5);
    require_ok(s.append(entries(6, 8, 2)));
    require_ok(s.truncate_suffix(20)); // past the end: nothing to do
    CHECK(s.last_index() == 8);
  }
  auto s = open_ok(d.path);
  auto want = entries(1, 5, 1);
  auto tail = entries(6, 8, 2);
  want.insert(want.end(), tail.begin(), tail.end());
  CHECK(load_ok(s).entries == want);
  require_ok(s.truncate_suffix(1));
  CHECK(load_ok(s).entries.empty());
  require_ok(s.append(entries(1, 1, 3)));
  CHECK(load_ok(s).entries == entries(1, 1, 3));
}

TEST_CASE("Compaction drops the prefix the snapshot covers", "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path);
    require_ok(s.save_hard_state({4, 2}));
    require_ok(s.append(entries(1, 5, 1)));
    require_ok(s.append(entries(6, 10, 3)));
    // Not covered by any snapshot yet.
    CHECK(s.compact_prefix(3).code == storage_errc::bad_argument);
    require_ok(s.save_snapshot(make_snapshot(7, 3, "seven")));
    CHECK(s.compact_prefix(8).code == storage_errc::bad_argument);
    require_ok(s.compact_prefix(7));
    CHECK(s.base_index() == 7);
    CHECK(s.last_index() == 10);
    require_ok(s.compact_prefix(5)); // already gone: nothing to do
    // The prefix is gone for truncation too.
    CHECK(s.truncate_suffix(7).code == storage_errc::bad_argument);
    require_ok(s.append(entries(11, 12, 4)));
  }
  auto s = open_ok(d.path);
  auto st = load_ok(s);
  CHECK(st.hard == hard_state{4, 2});
  CHECK(st.base_index == 7);
  CHECK(st.base_term == 3);
  auto want = entries(8, 10, 3);
  auto tail = entries(11, 12, 4);
  want.insert(want.end(), tail.begin(), tail.end());
  CHECK(st.entries == want);
  REQUIRE(st.snap.has_value());
  CHECK(st.snap->data == "seven");
  // An older snapshot is refused; the stored one stays.
  CHECK(s.save_snapshot(make_snapshot(5, 1, "five")).code == storage_errc::bad_argument);
  CHECK(load_ok(s).snap->data == "seven");
}

TEST_CASE("A snapshot past the log's end empties the log (InstallSnapshot)",
          "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path);
    require_ok(s.append(entries(1, 3, 1)));
    require_ok(s.save_snapshot(make_snapshot(50, 6, "far ahead")));
    require_ok(s.compact_prefix(50));
    CHECK(s.base_index() == 50);
    CHECK(s.last_index() == 50);
    CHECK(s.append(entries(4, 4, 1)).code == storage_errc::bad_argument);
    require_ok(s.append(entries(51, 52, 6)));
  }
  auto s = open_ok(d.path);
  auto st = load_ok(s);
  CHECK(st.base_index == 50);
  CHECK(st.base_term == 6);
  CHECK(st.entries == entries(51, 52, 6));
}

TEST_CASE("A torn last record is dropped, reported, and the log goes on",
          "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path);
    require_ok(s.save_hard_state({1, 1}));
    require_ok(s.append(entries(1, 4, 1)));
  }
  auto full = wal_size(d.path);
  std::uintmax_t cut = GENERATE(1, 3, 7, 8, 12);
  cut_wal(d.path, cut);
  {
    auto s = open_ok(d.path);
    auto st = load_ok(s);
    REQUIRE(st.torn.has_value());
    CHECK(st.torn->file.find("raft.wal") != std::string::npos);
    CHECK(st.torn->offset + st.torn->dropped_bytes == full - cut);
    CHECK(st.entries == entries(1, 3, 1));
    CHECK(st.hard == hard_state{1, 1});
    CHECK(s.last_index() == 3);
    require_ok(s.append(entries(4, 5, 2)));
  }
  auto s = open_ok(d.path);
  auto st = load_ok(s);
  CHECK_FALSE(st.torn.has_value());
  auto want = entries(1, 3, 1);
  auto tail = entries(4, 5, 2);
  want.insert(want.end(), tail.begin(), tail.end());
  CHECK(st.entries == want);
}

TEST_CASE("A log cut at any byte recovers a prefix of what was written",
          "[raft_storage]") {
  temp_dir d;
  auto want = entries(1, 12, 1);
  {
    auto s = open_ok(d.path);
    require_ok(s.save_hard_state({1, 2}));
    require_ok(s.append(want));
  }
  std::string full;
  {
    std::ifstream in(d.path / "raft.wal", std::ios::binary);
    full.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    INFO("file cut to " << cut << " of " << full.size() << " bytes");
    {
      std::ofstream out(d.path / "raft.wal", std::ios::binary | std::ios::trunc);
      out.write(full.data(), static_cast<std::streamsize>(cut));
    }
    auto s = std::make_optional(open_ok(d.path));
    auto st = load_ok(*s);
    s.reset();
    REQUIRE(st.entries.size() <= want.size());
    REQUIRE(std::equal(st.entries.begin(), st.entries.end(), want.begin()));
    if (cut == full.size())
      REQUIRE(st.entries == want);
    // Recovery leaves a clean file: a second open finds nothing torn.
    auto again = open_ok(d.path);
    REQUIRE_FALSE(load_ok(again).torn.has_value());
    REQUIRE(load_ok(again).entries == st.entries);
  }
}

TEST_CASE("A bad checksum in the last record is a torn write", "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path);
    require_ok(s.append(entries(1, 3, 1)));
  }
  flip_byte(d.path / "raft.wal", wal_size(d.path) - 2);
  auto s = open_ok(d.path);
  auto st = load_ok(s);
  REQUIRE(st.torn.has_value());
  CHECK(st.torn->reason.find("checksum") != std::string::npos);
  CHECK(st.entries == entries(1, 2, 1));
}

TEST_CASE("A zero-filled tail is a torn write", "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path);
    require_ok(s.append(entries(1, 2, 1)));
  }
  auto size = wal_size(d.path);
  fs::resize_file(d.path / "raft.wal", size + 100);
  auto s = open_ok(d.path);
  auto st = load_ok(s);
  REQUIRE(st.torn.has_value());
  CHECK(st.torn->offset == size);
  CHECK(st.torn->dropped_bytes == 100);
  CHECK(st.entries == entries(1, 2, 1));
}

TEST_CASE("A corrupt record in the middle is refused with file and offset",
          "[raft_storage]") {
  temp_dir d;
  std::uintmax_t second_record = 0;
  {
    auto s = open_ok(d.path);
    require_ok(s.append(entries(1, 1, 1)));
    second_record = wal_size(d.path);
    require_ok(s.append(entries(2, 5, 1)));
  }
  SECTION("in a payload") {
    flip_byte(d.path / "raft.wal", second_record + 14);
  }
  SECTION("in a payload checksum") {
    flip_byte(d.path / "raft.wal", second_record + 5);
  }
  SECTION("in a header checksum") {
    flip_byte(d.path / "raft.wal", second_record + 9);
  }
  // A damaged length must not pass for a record cut short by the file's end.
  SECTION("in a length") {
    flip_byte(d.path / "raft.wal", second_record + 1);
  }
  auto s = raft_storage::open(d.path);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code == storage_errc::corrupt_record);
  CHECK(s.error().detail.find("raft.wal") != std::string::npos);
  CHECK(s.error().detail.find("offset " + std::to_string(second_record)) !=
        std::string::npos);
}

TEST_CASE("A damaged snapshot file is refused, not ignored", "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path);
    require_ok(s.save_snapshot(make_snapshot(1, 1, "data")));
  }
  flip_byte(d.path / "raft.snapshot", 12);
  auto s = raft_storage::open(d.path);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code == storage_errc::corrupt_record);
  CHECK(s.error().detail.find("raft.snapshot") != std::string::npos);
}

TEST_CASE("Leftover temporary files of an interrupted snapshot are ignored",
          "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path);
    require_ok(s.save_snapshot(make_snapshot(2, 1, "old")));
  }
  std::ofstream(d.path / "raft.snapshot.tmp") << "half a snapshot";
  std::ofstream(d.path / "raft.wal.tmp") << "half a log";
  auto s = open_ok(d.path);
  CHECK(load_ok(s).snap->data == "old");
  CHECK_FALSE(fs::exists(d.path / "raft.snapshot.tmp"));
  CHECK_FALSE(fs::exists(d.path / "raft.wal.tmp"));
}

TEST_CASE("Manual sync: writes are visible at once and durable after sync()",
          "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path, {sync_policy::manual});
    require_ok(s.append(entries(1, 100, 1)));
    CHECK(load_ok(s).entries.size() == 100);
    require_ok(s.sync());
  }
  auto again = open_ok(d.path);
  CHECK(load_ok(again).entries == entries(1, 100, 1));
}

TEST_CASE("A failed write is cut off and the log goes on after it", "[raft_storage]") {
  temp_dir d;
  auto s = open_ok(d.path);
  require_ok(s.append(entries(1, 3, 1)));
  // A file size limit makes the next write stop part way (EFBIG), as a full
  // disk would.
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  rlimit small = old;
  small.rlim_cur = static_cast<rlim_t>(wal_size(d.path) + 100);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto err = s.append(entries(4, 100, 1));
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &old) == 0);
  CHECK(err.code == storage_errc::io_error);
  CHECK(s.last_index() == 3);
  require_ok(s.append(entries(4, 5, 2)));
  auto want = entries(1, 3, 1);
  auto tail = entries(4, 5, 2);
  want.insert(want.end(), tail.begin(), tail.end());
  CHECK(load_ok(s).entries == want);
  auto st = s.load();
  REQUIRE(st.has_value());
  CHECK_FALSE(st->torn.has_value());
}

TEST_CASE("A directory has one owner at a time", "[raft_storage]") {
  temp_dir d;
  {
    auto s = open_ok(d.path);
    auto second = raft_storage::open(d.path);
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().code == storage_errc::io_error);
    CHECK(second.error().detail.find("locked") != std::string::npos);
    // Moving the owner keeps the lock with it.
    auto moved = std::move(s);
    CHECK_FALSE(raft_storage::open(d.path).has_value());
  }
  // Closed: the lock is gone.
  CHECK(raft_storage::open(d.path).has_value());
}

// -- randomized: the storage against an in-memory model -----------------------

namespace {

struct model {
  hard_state hard;
  std::optional<snapshot> snap;
  index_t base = 0;
  term_t base_term = 0;
  std::vector<log_entry> log;

  index_t last() const { return base + log.size(); }
  term_t term_at(index_t i) const {
    if (i == base)
      return base_term;
    return log[i - base - 1].term;
  }
};

void require_matches(const model& m, const stored_state& st) {
  REQUIRE(st.hard == m.hard);
  REQUIRE(st.snap == m.snap);
  REQUIRE(st.base_index == m.base);
  REQUIRE(st.base_term == m.base_term);
  REQUIRE(st.entries == m.log);
}

} // namespace

TEST_CASE("Random operations agree with an in-memory model over many seeds",
          "[raft_storage][random]") {
  // RAFT_STORAGE_SEEDS=5000 for a long run.
  const char* env = std::getenv("RAFT_STORAGE_SEEDS");
  const int seeds = env != nullptr ? std::atoi(env) : 100;
  const int steps = 80;
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    temp_dir d;
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
    auto pick = [&](std::uint64_t lo, std::uint64_t hi) {
      return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
    };
    // fdatasync() per write for one seed in eight (slow on this disk).
    storage_options opt{pick(0, 7) == 0 ? sync_policy::every_write : sync_policy::manual};
    std::optional<raft_storage> s(open_ok(d.path, opt));
    model m;
    term_t term = 1;
    for (int step = 0; step < steps; ++step) {
      INFO("step " << step);
      switch (pick(0, 9)) {
      case 0: { // term and vote
        term += pick(0, 1);
        m.hard = {term, static_cast<node_id>(pick(0, 3))};
        require_ok(s->save_hard_state(m.hard));
        break;
      }
      case 1:
      case 2:
      case 3: { // a batch of entries
        std::vector<log_entry> batch;
        auto n = pick(1, 6);
        for (index_t i = m.last() + 1; i <= m.last() + n; ++i) {
          std::string data(pick(0, 40), '\0');
          for (char& c : data)
            c = static_cast<char>(pick(0, 255));
          auto kind = static_cast<entry_kind>(pick(0, 2));
          batch.push_back({term, i, kind, data});
        }
        require_ok(s->append(batch));
        m.log.insert(m.log.end(), batch.begin(), batch.end());
        break;
      }
      case 4: { // a conflicting suffix
        if (m.last() == m.base)
          break;
        index_t from = pick(m.base + 1, m.last());
        require_ok(s->truncate_suffix(from));
        m.log.resize(from - m.base - 1);
        ++term;
        break;
      }
      case 5: { // snapshot somewhere in the log, or past it
        index_t lo = std::max<index_t>(m.snap ? m.snap->meta.last_index : 0, m.base);
        bool past = pick(0, 4) == 0;
        if (!past && lo > m.last())
          break;
        index_t at = past ? m.last() + pick(1, 5) : pick(lo, m.last());
        if (at < lo || at == 0)
          break;
        term_t t = past ? term : m.term_at(at);
        snapshot snap = make_snapshot(at, t, "snap@" + std::to_string(at));
        require_ok(s->save_snapshot(snap));
        m.snap = snap;
        break;
      }
      case 6: { // compaction up to the snapshot (or before it)
        if (!m.snap)
          break;
        index_t snap_at = m.snap->meta.last_index;
        index_t up_to = snap_at <= m.last() ? pick(m.base, snap_at) : snap_at;
        require_ok(s->compact_prefix(up_to));
        if (up_to > m.base) {
          if (up_to <= m.last()) {
            m.base_term = m.term_at(up_to);
            m.log.erase(m.log.begin(),
                        m.log.begin() + static_cast<std::ptrdiff_t>(up_to - m.base));
          } else {
            m.base_term = m.snap->meta.last_term;
            m.log.clear();
          }
          m.base = up_to;
        }
        break;
      }
      case 7:
        require_ok(s->sync());
        break;
      default: {   // restart (the page cache holds unsynced writes in-process)
        s.reset(); // closes, releasing the directory
        s.emplace(open_ok(d.path, opt));
        break;
      }
      }
      REQUIRE(s->last_index() == m.last());
      REQUIRE(s->base_index() == m.base);
      require_matches(m, load_ok(*s));
    }
    require_ok(s->sync());
    s.reset();
    auto reopened = open_ok(d.path, opt);
    require_matches(m, load_ok(reopened));
  }
}

// -- throughput (hidden: run with "[.bench]") ---------------------------------

TEST_CASE("Append throughput with and without fdatasync per batch", "[.bench]") {
  const std::size_t total = 200'000;
  for (std::size_t batch : {std::size_t{1}, std::size_t{64}, std::size_t{1024}}) {
    for (bool sync : {false, true}) {
      // fdatasync per single entry is slow: fewer entries for that row.
      std::size_t n = sync && batch == 1 ? 2'000 : total;
      temp_dir d;
      auto s = open_ok(d.path, {sync_policy::manual});
      std::vector<log_entry> es;
      index_t next = 1;
      auto start = std::chrono::steady_clock::now();
      while (next <= n) {
        es.clear();
        for (std::size_t i = 0; i < batch && next <= n; ++i, ++next)
          es.push_back({1, next, entry_kind::command, std::string(32, 'x')});
        require_ok(s.append(es));
        if (sync)
          require_ok(s.sync());
      }
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("batch %5zu  fdatasync per batch %-3s  %8zu entries  %8.3f s  %10.0f "
                  "entries/s\n",
                  batch, sync ? "yes" : "no", n, secs, static_cast<double>(n) / secs);
      auto t0 = std::chrono::steady_clock::now();
      auto st = load_ok(s);
      double load_secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      REQUIRE(st.entries.size() == n);
      std::printf("             load (replay) of %zu entries: %.3f s\n", n, load_secs);
    }
  }
}
