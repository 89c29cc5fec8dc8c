#include "consensus/crypto/roster_file.hpp"

#include <catch2/catch.hpp>

#include <fstream>

#include <unistd.h>

using namespace marketsim::consensus::crypto;
namespace fs = std::filesystem;

namespace {

/// A roster file of this test process, removed at the end of each case.
struct roster_path {
  fs::path file = fs::temp_directory_path() /
                  ("marketsim-roster-test-" + std::to_string(::getpid()) + ".txt");
  ~roster_path() {
    std::error_code ec;
    fs::remove(file, ec);
  }
  /// Writes `body` and loads it back.
  roster_result load(const std::string& body) const {
    std::ofstream(file) << body;
    return load_roster(file);
  }
};

std::string key_hex(std::uint32_t index) {
  return key_pair::derive(9, index).public_part().hex();
}

} // namespace

TEST_CASE("a saved roster loads back with the same ids and keys", "[crypto][roster]") {
  roster_path p;
  roster_map keys;
  for (std::uint32_t id = 1; id <= 4; ++id)
    keys[id] = key_pair::derive(9, id).public_part();
  REQUIRE(save_roster(p.file, keys).empty());
  auto r = load_roster(p.file);
  REQUIRE(r);
  CHECK(r.keys == keys);
}

TEST_CASE("a roster may hold comments, blank lines and ids in any order",
          "[crypto][roster]") {
  roster_path p;
  auto r = p.load("marketsim-roster-v1\n# the group\n\n7 " + key_hex(7) + "\n2 " +
                  key_hex(2) + "\n");
  REQUIRE(r);
  REQUIRE(r.keys.size() == 2);
  CHECK(r.keys.at(7) == key_pair::derive(9, 7).public_part());
  CHECK(r.keys.at(2) == key_pair::derive(9, 2).public_part());
}

TEST_CASE("a bad roster is refused with the file, the line and the reason",
          "[crypto][roster]") {
  roster_path p;
  const auto where = p.file.string() + ": ";
  CHECK(p.load("marketsim-ed25519-v1\n1 " + key_hex(1) + "\n").message ==
        where + "line 1: expected \"marketsim-roster-v1\"");
  CHECK(p.load("marketsim-roster-v1\n1" + key_hex(1) + "\n").message ==
        where + "line 2: want \"<id> <64 hex public key>\"");
  CHECK(p.load("marketsim-roster-v1\n0 " + key_hex(1) + "\n").message ==
        where + "line 2: the id must be a number in 1..2^32-1, got \"0\"");
  CHECK(p.load("marketsim-roster-v1\nx1 " + key_hex(1) + "\n").message ==
        where + "line 2: the id must be a number in 1..2^32-1, got \"x1\"");
  CHECK(p.load("marketsim-roster-v1\n1 abc\n").message ==
        where + "line 2: the public key must be 64 hex characters");
  CHECK(p.load("marketsim-roster-v1\n1 " + key_hex(1) + "\n1 " + key_hex(2) + "\n").message ==
        where + "line 3: validator 1 is listed twice");
  CHECK(p.load("marketsim-roster-v1\n1 " + key_hex(1) + "\n2 " + key_hex(1) + "\n").message ==
        where + "line 3: validator 2 has the key of another validator");
  CHECK(p.load("marketsim-roster-v1\n# nobody\n").message == where + "no validator listed");
}

TEST_CASE("a missing roster file is named", "[crypto][roster]") {
  auto r = load_roster("/nonexistent/marketsim/roster.txt");
  CHECK_FALSE(r);
  CHECK(r.message == "/nonexistent/marketsim/roster.txt: no such roster file");
}
