// The TCP end of the gdb stub: one listening socket, at most one gdb at a time, framed replies
// and incoming events through the PacketReader. Blocking reads while the guest is stopped,
// zero-timeout polls while it runs.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "emu/debug/gdb_protocol.h"

namespace btvm::gdb {

class Connection {
 public:
  // `spec`: tcp::PORT, tcp:HOST:PORT or PORT (QEMU's -gdb forms); an empty HOST listens on every
  // interface, as QEMU does; PORT 0 picks a free port. Throws std::runtime_error.
  explicit Connection(const std::string& spec);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint16_t port() const { return port_; }
  bool connected() const { return client_ >= 0; }
  // Accepts gdb; with `wait`, blocks until it comes. Returns true when one is connected.
  bool accept(bool wait);
  // While the guest runs: is there something to read (gdb's Ctrl-C) or a gdb to accept?
  bool readable();
  // Next event from gdb, blocking; nothing when gdb went away (the connection is then closed).
  std::optional<Event> next();
  // Next event already received or readable now, without blocking.
  std::optional<Event> poll();
  void send(const std::string& payload);  // framed; lost if gdb has gone
  // After QStartNoAckMode: packets are no longer acknowledged with '+' (gdb stops sending them).
  void stopAcks() { acks_ = false; }
  void close();

 private:
  bool fill(bool wait);  // reads what is there into the reader; false at EOF or error
  std::optional<Event> take();  // the reader's next event, acknowledged
  void sendRaw(const std::string& bytes);

  int listen_ = -1;
  int client_ = -1;
  uint16_t port_ = 0;
  PacketReader reader_;
  bool acks_ = true;
};

}  // namespace btvm::gdb
