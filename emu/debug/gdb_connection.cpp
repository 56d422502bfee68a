#include "emu/debug/gdb_connection.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace btvm::gdb {

namespace {

struct Endpoint {
  std::string host, port;
};

Endpoint parseSpec(const std::string& spec) {
  std::string s = spec;
  if (s.rfind("tcp:", 0) == 0) s = s.substr(4);
  size_t colon = s.rfind(':');
  Endpoint e;
  if (colon == std::string::npos) {
    e.port = s;
  } else {
    e.host = s.substr(0, colon);
    e.port = s.substr(colon + 1);
  }
  bool digits = !e.port.empty() && e.port.size() <= 5 && e.port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoul(e.port) > 65535)
    throw std::runtime_error(fmt::format("bad -gdb '{}' (use tcp::PORT or tcp:HOST:PORT)", spec));
  return e;
}

}  // namespace

Connection::Connection(const std::string& spec) {
  Endpoint e = parseSpec(spec);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(e.host.empty() ? nullptr : e.host.c_str(), e.port.c_str(), &hints, &res);
  if (rc != 0) throw std::runtime_error(fmt::format("-gdb {}: {}", spec, gai_strerror(rc)));
  std::string err = "no address";
  for (addrinfo* a = res; a && listen_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1) == 0) {
      listen_ = fd;
    } else {
      err = std::strerror(errno);
      ::close(fd);
    }
  }
  freeaddrinfo(res);
  if (listen_ < 0) throw std::runtime_error(fmt::format("-gdb {}: cannot listen: {}", spec, err));
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(listen_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

Connection::~Connection() {
  close();
  if (listen_ >= 0) ::close(listen_);
}

bool Connection::accept(bool wait) {
  if (client_ >= 0) return true;
  if (!wait) {
    pollfd p{listen_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
  }
  int fd;
  do fd = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return false;
  int one = 1;  // replies are small and gdb waits for each: send them at once
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  client_ = fd;
  reader_ = PacketReader();
  acks_ = true;
  return true;
}

bool Connection::readable() {
  pollfd p{client_ >= 0 ? client_ : listen_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

bool Connection::fill(bool wait) {
  if (!wait) {
    pollfd p{client_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return true;
  }
  char buf[4096];
  ssize_t n;
  do n = ::recv(client_, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) {
    close();
    return false;
  }
  reader_.feed(std::string_view(buf, size_t(n)));
  return true;
}

std::optional<Event> Connection::take() {
  std::optional<Event> e = reader_.next();
  if (e && acks_ && (e->kind == Event::Packet || e->kind == Event::BadChecksum))
    sendRaw(e->kind == Event::Packet ? "+" : "-");
  return e;
}

std::optional<Event> Connection::next() {
  while (client_ >= 0) {
    if (auto e = take()) return e;
    if (!fill(true)) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Event> Connection::poll() {
  if (client_ < 0) return std::nullopt;
  if (auto e = take()) return e;
  if (!fill(false)) return std::nullopt;
  return take();
}

void Connection::send(const std::string& payload) { sendRaw(frame(payload)); }

void Connection::sendRaw(const std::string& out) {
  if (client_ < 0) return;
  for (size_t off = 0; off < out.size();) {
    ssize_t n = ::send(client_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close();
      return;
    }
    off += size_t(n);
  }
}

void Connection::close() {
  if (client_ >= 0) ::close(client_);
  client_ = -1;
}

}  // namespace btvm::gdb
