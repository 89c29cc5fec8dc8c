/// Links between nodes: plain links carry orders; TLS links carry them only
/// between nodes holding certificates of the same CA, in both directions; a
/// process without such credentials cannot connect, and gets an error in
/// bounded time; garbage on the wire, unknown message types, invalid payloads
/// and unexpected messages never stop a node from serving.
///
/// Each test runs the nodes as separate actor systems in this process, on
/// ephemeral loopback ports; certificates are made with the openssl command.

#include "distributed/transport.hpp"

#include "actors/messages.hpp"
#include "actors/vocabulary.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>
#include <catch2/catch.hpp>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace marketsim;
using namespace std::chrono_literals;
using distributed::transport_security;
namespace fs = std::filesystem;

// -- message types a hostile peer may register ---------------------------------

namespace {

/// A type the server has never heard of.
struct rogue_message {
  std::uint32_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rogue_message& x) {
  return f(caf::meta::type_name("marketsim.rogue_message"), x.value);
}

/// Claims to be a new_order but carries one byte: its payload cannot
/// deserialize as the server's new_order.
struct fake_order {
  std::uint8_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fake_order& x) {
  return f(caf::meta::type_name("marketsim.new_order"), x.value);
}

} // namespace

namespace {

constexpr auto connect_timeout = 3000ms;
/// A refused connection must fail within its timeout plus this margin.
constexpr auto slack = 2000ms;
constexpr auto reply_timeout = 5s;

// -- certificates ---------------------------------------------------------------

/// A temporary directory holding two CAs ("ca" and "rogue_ca") and certificates
/// they signed; removed when the test ends.
class pki {
public:
  pki() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("marketsim_tls_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(dir_);
    make_ca("ca");
    make_ca("rogue_ca");
    make_cert("server", "ca");
    make_cert("client", "ca");
    make_cert("intruder", "rogue_ca");
    make_cert("rogue_server", "rogue_ca");
    run("openssl pkey -in " + path("client.key") +
        " -aes256 -passout pass:open-sesame -out " + path("client_enc.key"));
  }
  ~pki() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  pki(const pki&) = delete;
  pki& operator=(const pki&) = delete;

  std::string path(const std::string& file) const { return (dir_ / file).string(); }

  /// Credentials of `name`, trusting the CA `ca`.
  transport_security node(const std::string& name, const std::string& ca = "ca") const {
    transport_security s;
    s.tls = true;
    s.certificate = path(name + ".pem");
    s.key = path(name + ".key");
    s.cafile = path(ca + ".pem");
    return s;
  }

private:
  void run(const std::string& cmd) const {
    auto full = cmd + " >>" + path("openssl.log") + " 2>&1";
    INFO(full);
    REQUIRE(std::system(full.c_str()) == 0);
  }
  static std::string ec_key() {
    return " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  }
  void make_ca(const std::string& name) const {
    run("openssl req -x509" + ec_key() + " -keyout " + path(name + ".key") + " -out " +
        path(name + ".pem") + " -days 2 -subj /CN=marketsim-" + name);
  }
  void make_cert(const std::string& name, const std::string& ca) {
    run("openssl req" + ec_key() + " -keyout " + path(name + ".key") + " -out " +
        path(name + ".csr") + " -subj /CN=marketsim-" + name);
    run("openssl x509 -req -in " + path(name + ".csr") + " -CA " + path(ca + ".pem") +
        " -CAkey " + path(ca + ".key") + " -set_serial " + std::to_string(++serial_) +
        " -days 2 -out " + path(name + ".pem"));
  }

  fs::path dir_;
  int serial_ = 0;
};

// -- nodes ----------------------------------------------------------------------

/// One actor system with the marketsim vocabulary, configured by `configure`.
class node {
public:
  explicit node(const transport_security& s) {
    actors::add_message_types(cfg_);
    auto err = distributed::configure(cfg_, s);
    INFO(caf::to_string(err));
    REQUIRE(!err);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
  }
  /// A system set up by hand: `setup` fills the config.
  template <class Setup>
  node(Setup setup, int) {
    setup(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
  }
  caf::actor_system& sys() { return *sys_; }

private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

/// What the order desk saw: the lines reject_unexpected() logged.
struct desk_log {
  std::mutex mtx;
  std::vector<std::string> lines;
  std::size_t size() {
    std::lock_guard<std::mutex> guard{mtx};
    return lines.size();
  }
};

/// Answers each new_order with an order_reply echoing its ids; rejects (and
/// logs) anything else.
caf::behavior order_desk(caf::event_based_actor* self, std::shared_ptr<desk_log> log) {
  distributed::reject_unexpected(self, [log](const std::string& line) {
    std::lock_guard<std::mutex> guard{log->mtx};
    log->lines.push_back(line);
  });
  return {
      [](const actors::new_order& x) {
        return actors::order_reply{x.client_order_id, x.order.id, {}};
      },
  };
}

actors::new_order make_order(std::uint64_t id) {
  actors::new_order x;
  x.client_order_id = id;
  x.order.id = id * 10;
  x.order.symbol = 1;
  x.order.price = 100;
  x.order.qty = 5;
  return x;
}

/// Sends a new_order to `desk` and returns its reply, or the error.
template <class Message>
caf::expected<actors::order_reply>
ask(caf::actor_system& sys, const caf::actor& desk, const Message& msg,
    caf::duration timeout = caf::duration{reply_timeout}) {
  caf::expected<actors::order_reply> result{
      caf::make_error(caf::sec::runtime_error, "no reply")};
  caf::scoped_actor self{sys};
  self->request(desk, timeout, msg)
      .receive([&](actors::order_reply& r) { result = std::move(r); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// The desk answers order `id` correctly through `desk`.
void require_round_trip(caf::actor_system& sys, const caf::actor& desk,
                        std::uint64_t id) {
  auto reply = ask(sys, desk, make_order(id));
  INFO((reply ? std::string{"ok"} : sys.render(reply.error())));
  REQUIRE(reply);
  CHECK(reply->client_order_id == id);
  CHECK(reply->id == id * 10);
}

/// A server node publishing an order desk on an ephemeral loopback port.
struct server {
  explicit server(const transport_security& s) : security(s), host(s) {
    desk = host.sys().spawn(order_desk, log);
    auto res = distributed::publish(host.sys(), desk, 0, "127.0.0.1", s);
    INFO((res ? std::string{"ok"} : host.sys().render(res.error())));
    REQUIRE(res);
    port = *res;
    REQUIRE(port != 0);
  }
  ~server() { caf::anon_send_exit(desk, caf::exit_reason::user_shutdown); }

  /// A fresh good client connects and an order round-trips.
  void require_serves(const transport_security& client_security, std::uint64_t id) {
    node client{client_security};
    auto remote = distributed::connect(client.sys(), "127.0.0.1", port, client_security,
                                       connect_timeout);
    INFO((remote ? std::string{"ok"} : client.sys().render(remote.error())));
    REQUIRE(remote);
    require_round_trip(client.sys(), *remote, id);
  }

  transport_security security;
  std::shared_ptr<desk_log> log = std::make_shared<desk_log>();
  node host;
  caf::actor desk;
  std::uint16_t port = 0;
};

/// Connects `client` to `port` and requires a refusal within the time bound.
void require_refused(caf::actor_system& client, std::uint16_t port,
                     const transport_security& s) {
  auto start = std::chrono::steady_clock::now();
  auto remote = distributed::connect(client, "127.0.0.1", port, s, connect_timeout);
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(remote);
  INFO(client.render(remote.error()));
  CHECK(elapsed < connect_timeout + slack);
}

// -- raw sockets ------------------------------------------------------------------

/// A loopback port that was free a moment ago (bound, then released).
std::uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Opens a TCP connection to 127.0.0.1:`port`, writes `bytes`, waits briefly
/// for the peer to react, and closes. Returns whether the peer closed the
/// connection on its side (it read and rejected the bytes).
bool write_raw(std::uint16_t port, const std::vector<std::uint8_t>& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  auto written = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  CHECK(written == static_cast<ssize_t>(bytes.size()));
  // Drain whatever the server sends (its handshake) until it closes or the
  // receive timeout passes.
  std::array<char, 4096> buf{};
  bool closed_by_peer = false;
  for (int i = 0; i < 64; ++i) {
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n == 0) {
      closed_by_peer = true;
      break;
    }
    if (n < 0) {
      // A reset: the peer closed with our bytes still unread.
      closed_by_peer = errno == ECONNRESET;
      break;
    }
  }
  ::close(fd);
  return closed_by_peer;
}

/// This process's resident memory in MiB, from /proc/self/status.
long resident_mib() {
  std::ifstream in{"/proc/self/status"};
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      in >> kib;
      return kib / 1024;
    }
    in.ignore(4096, '\n');
  }
  FAIL("no VmRSS in /proc/self/status");
  return 0;
}

std::vector<std::uint8_t> garbage(std::size_t n) {
  std::mt19937 gen{42};
  std::vector<std::uint8_t> xs(n);
  for (auto& x : xs)
    x = static_cast<std::uint8_t>(gen());
  return xs;
}

/// A BASP 0.17 header (32 bytes, network byte order): operation, two padding
/// bytes, flags, payload length, operation data, source and destination actor.
std::vector<std::uint8_t> basp_header(std::uint8_t operation, std::uint32_t payload_len,
                                      std::uint64_t operation_data) {
  std::vector<std::uint8_t> xs{operation, 0, 0, 0};
  for (int shift = 24; shift >= 0; shift -= 8)
    xs.push_back(static_cast<std::uint8_t>(payload_len >> shift));
  for (int shift = 56; shift >= 0; shift -= 8)
    xs.push_back(static_cast<std::uint8_t>(operation_data >> shift));
  xs.resize(32, 0);
  return xs;
}

} // namespace

// -- configuration ----------------------------------------------------------------

TEST_CASE("TLS without certificate, key and CA is refused, never anonymous",
          "[transport]") {
  pki p;
  auto full = p.node("server");
  CHECK_FALSE(distributed::check(full));
  for (auto field : {&transport_security::certificate, &transport_security::key,
                     &transport_security::cafile}) {
    auto s = full;
    (s.*field).clear();
    CHECK(distributed::check(s));
  }
  SECTION("a plain system cannot publish or connect with TLS security") {
    node plain{transport_security{}};
    auto desk = plain.sys().spawn(order_desk, std::make_shared<desk_log>());
    CHECK_FALSE(distributed::publish(plain.sys(), desk, 0, "127.0.0.1", full));
    CHECK_FALSE(distributed::connect(plain.sys(), "127.0.0.1", 1, full, 100ms));
    caf::anon_send_exit(desk, caf::exit_reason::user_shutdown);
  }
  SECTION("a TLS node refuses to publish plain") {
    node secure{full};
    auto desk = secure.sys().spawn(order_desk, std::make_shared<desk_log>());
    auto res =
        distributed::publish(secure.sys(), desk, 0, "127.0.0.1", transport_security{});
    CHECK_FALSE(res);
    caf::anon_send_exit(desk, caf::exit_reason::user_shutdown);
  }
}

TEST_CASE("credential files are checked before CAF sees them", "[transport]") {
  pki p;
  auto s = p.node("client");
  SECTION("missing certificate file") {
    s.certificate = p.path("nope.pem");
    CHECK(distributed::check(s));
  }
  SECTION("key of another certificate") {
    s.key = p.path("server.key");
    CHECK(distributed::check(s));
  }
  SECTION("encrypted key: wrong passphrase fails, right one works") {
    s.key = p.path("client_enc.key");
    CHECK(distributed::check(s));
    s.passphrase = "wrong";
    CHECK(distributed::check(s));
    s.passphrase = "open-sesame";
    CHECK_FALSE(distributed::check(s));
  }
  SECTION("credentials without tls") {
    s.tls = false;
    CHECK(distributed::check(s));
  }
}

TEST_CASE("security is read from a YAML file or from flags", "[transport]") {
  pki p;
  {
    std::ofstream pass{p.path("client.pass")};
    pass << "open-sesame\n";
    std::ofstream yaml{p.path("tls.yaml")};
    yaml << "tls: true\ncertificate: client.pem\nkey: client_enc.key\n"
            "passphrase_file: client.pass\ncafile: ca.pem\n";
    std::ofstream typo{p.path("typo.yaml")};
    typo << "tls: true\ncertficate: client.pem\n";
  }
  auto read = distributed::read_security_file(p.path("tls.yaml"));
  REQUIRE(read);
  CHECK(read->tls);
  CHECK(read->certificate == p.path("client.pem"));
  CHECK(read->key == p.path("client_enc.key"));
  CHECK(read->passphrase == "open-sesame");
  CHECK(read->cafile == p.path("ca.pem"));
  CHECK_FALSE(distributed::check(*read));
  CHECK_FALSE(distributed::read_security_file(p.path("typo.yaml")));
  CHECK_FALSE(distributed::read_security_file(p.path("absent.yaml")));

  CLI::App app;
  transport_security s;
  distributed::add_security_options(app, s);
  std::vector<std::string> args{"--tls-config", p.path("tls.yaml"),
                                "--tls-key",    p.path("client.key"),
                                "--tls-ca",     p.path("rogue_ca.pem")};
  std::vector<const char*> argv{"marketsim"};
  for (auto& a : args)
    argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  CHECK(s.tls);
  CHECK(s.certificate == p.path("client.pem"));
  CHECK(s.key == p.path("client.key"));
  CHECK(s.cafile == p.path("rogue_ca.pem"));
}

// -- links ------------------------------------------------------------------------

TEST_CASE("plain link: an order round-trips", "[transport]") {
  server srv{transport_security{}};
  srv.require_serves(transport_security{}, 1);
  SECTION("a port nobody listens on is a clear error, in bounded time") {
    node client{transport_security{}};
    require_refused(client.sys(), unused_port(), transport_security{});
  }
  SECTION("a port in use cannot be published on") {
    auto res = distributed::publish(srv.host.sys(), srv.desk, srv.port, "127.0.0.1",
                                    transport_security{});
    REQUIRE_FALSE(res);
    CHECK(res.error() == caf::sec::cannot_open_port);
  }
}

TEST_CASE("TLS link between certificates of one CA: an order round-trips",
          "[transport][tls]") {
  pki p;
  server srv{p.node("server")};
  srv.require_serves(p.node("client"), 1);
  SECTION("with an encrypted client key") {
    auto s = p.node("client");
    s.key = p.path("client_enc.key");
    s.passphrase = "open-sesame";
    srv.require_serves(s, 2);
  }
}

TEST_CASE("a client without valid credentials cannot connect to a TLS node",
          "[transport][tls]") {
  pki p;
  server srv{p.node("server")};
  SECTION("certificate signed by another CA") {
    // The intruder knows the real CA (it is public) but cannot get it to sign.
    node intruder{p.node("intruder", "ca")};
    require_refused(intruder.sys(), srv.port, p.node("intruder", "ca"));
  }
  SECTION("no certificate at all: CAF's anonymous TLS") {
    // Loading CAF's OpenSSL module without credentials gives anonymous
    // cipher suites (encrypted, unauthenticated): what configure() refuses to
    // set up, tried here by hand.
    node anonymous{[](caf::actor_system_config& cfg) {
                     cfg.load<caf::io::middleman>();
                     cfg.load<caf::openssl::manager>();
                   },
                   0};
    auto start = std::chrono::steady_clock::now();
    caf::scoped_actor self{anonymous.sys()};
    bool connected = false;
    self->request(anonymous.sys().openssl_manager().actor_handle(),
                  caf::duration{connect_timeout}, caf::connect_atom::value,
                  std::string{"127.0.0.1"}, srv.port)
        .receive([&](const caf::node_id&, caf::strong_actor_ptr& ptr,
                     const std::set<std::string>&) { connected = ptr != nullptr; },
                 [](caf::error&) {});
    CHECK_FALSE(connected);
    CHECK(std::chrono::steady_clock::now() - start < connect_timeout + slack);
  }
  SECTION("a plain client") {
    node plain{transport_security{}};
    require_refused(plain.sys(), srv.port, transport_security{});
  }
  // Whatever was tried, the server still serves a good client.
  srv.require_serves(p.node("client"), 7);
  CHECK(srv.log->size() == 0);
}

TEST_CASE("a TLS client refuses a server whose certificate another CA signed",
          "[transport][tls]") {
  pki p;
  server rogue{p.node("rogue_server", "ca")};
  node client{p.node("client")};
  require_refused(client.sys(), rogue.port, p.node("client"));
}

TEST_CASE("a TLS client cannot talk to a plain port", "[transport][tls]") {
  pki p;
  server srv{transport_security{}};
  node client{p.node("client")};
  require_refused(client.sys(), srv.port, p.node("client"));
  srv.require_serves(transport_security{}, 3);
}

// -- hostile input ------------------------------------------------------------------

TEST_CASE("garbage on the wire does not stop a node", "[transport][hostile]") {
  pki p;
  SECTION("plain node") {
    server srv{transport_security{}};
    // Random bytes: read as a header with an invalid operation.
    CHECK(write_raw(srv.port, garbage(4096)));
    // A truncated client handshake header, then the connection closes.
    auto truncated = basp_header(0x01, 64, 1);
    truncated.resize(20);
    write_raw(srv.port, truncated);
    // A header claiming an invalid operation and a huge payload.
    CHECK(write_raw(srv.port, basp_header(0x7f, 0xFFFFFFF0u, 0)));
    // Not sent here: a *valid* client handshake header announcing a huge
    // payload, which CAF 0.17 answers by allocating it (see README.md).
    srv.require_serves(transport_security{}, 4);
  }
  SECTION("TLS node, before any authentication") {
    server srv{p.node("server")};
    CHECK(write_raw(srv.port, garbage(4096)));
    CHECK(write_raw(srv.port, basp_header(0x01, 64, 1)));
    // On a plain port this header makes CAF allocate 4 GiB; before the TLS
    // handshake it is just a malformed record.
    CHECK(write_raw(srv.port, basp_header(0x01, 0xFFFFFFF0u, 1)));
    CHECK(resident_mib() < 1024);
    srv.require_serves(p.node("client"), 5);
  }
}

TEST_CASE("unknown types, invalid payloads and unexpected messages are "
          "rejected; the node keeps serving",
          "[transport][hostile]") {
  server srv{transport_security{}};
  node peer{[](caf::actor_system_config& cfg) {
              actors::add_message_types(cfg);
              cfg.add_message_type<rogue_message>("marketsim.rogue_message");
              transport_security plain;
              REQUIRE(!distributed::configure(cfg, plain));
            },
            0};
  auto remote = distributed::connect(peer.sys(), "127.0.0.1", srv.port,
                                     transport_security{}, connect_timeout);
  REQUIRE(remote);
  auto short_wait = caf::duration{500ms};
  SECTION("a type unknown to the server arrives empty, is rejected, logged") {
    auto reply = ask(peer.sys(), *remote, rogue_message{7}, short_wait);
    REQUIRE_FALSE(reply);
    CHECK(reply.error() == caf::sec::unexpected_message);
    REQUIRE(srv.log->size() == 1);
    CHECK(srv.log->lines.front().ends_with(": ()"));
  }
  SECTION("an unexpected but well-formed message is rejected and logged") {
    auto reply = ask(peer.sys(), *remote, std::string{"buy everything"});
    REQUIRE_FALSE(reply);
    CHECK(reply.error() == caf::sec::unexpected_message);
    REQUIRE(srv.log->size() == 1);
    CHECK(srv.log->lines.front().find("buy everything") != std::string::npos);
  }
  require_round_trip(peer.sys(), *remote, 6);
}

TEST_CASE("a payload that does not deserialize is rejected and logged",
          "[transport][hostile]") {
  server srv{transport_security{}};
  // This peer registers a one-byte type under the server's new_order name.
  node peer{[](caf::actor_system_config& cfg) {
              cfg.add_message_type<fake_order>("marketsim.new_order");
              cfg.add_message_type<actors::order_reply>("marketsim.order_reply");
              cfg.load<caf::io::middleman>();
            },
            0};
  auto remote = distributed::connect(peer.sys(), "127.0.0.1", srv.port,
                                     transport_security{}, connect_timeout);
  REQUIRE(remote);
  auto reply = ask(peer.sys(), *remote, fake_order{9}, caf::duration{500ms});
  REQUIRE_FALSE(reply);
  CHECK(reply.error() == caf::sec::unexpected_message);
  REQUIRE(srv.log->size() == 1);
  CHECK(srv.log->lines.front().ends_with(": ()"));
  srv.require_serves(transport_security{}, 8);
}
