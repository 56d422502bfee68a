// The GDB remote serial protocol's framing, apart from any socket or machine so that it can be
// unit-tested: $payload#cs packets, '+'/'-' acknowledgements, '}' escapes (0x20 xor), '*'
// run-length encoding (gdb may send it; btvm never does) and the 0x03 interrupt byte.
// Reference: gdb manual, "Overview" of Remote Protocol (checksums, escaping, run-length).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace btvm::gdb {

// Sum of the payload's bytes mod 256 (computed over the payload as sent: escaped).
uint8_t checksum(std::string_view payload);
// Frames a reply: '$', the payload with '#', '$', '}' and '*' escaped, '#', two hex digits.
std::string frame(std::string_view payload);

// What the reader found in the byte stream from gdb.
struct Event {
  enum Kind { Packet, BadChecksum, Interrupt, Ack, Nack } kind;
  std::string payload;  // Packet: unescaped and run-length expanded
};

// Accumulates bytes from gdb and yields events in order. Bytes between packets other than the
// acknowledgements and 0x03 are ignored, as gdb's own stubs do.
class PacketReader {
 public:
  void feed(std::string_view bytes);
  std::optional<Event> next();

 private:
  std::string buf_;
};

// Decodes escapes ("}x" -> x ^ 0x20) and run-length ("c*n" -> c repeated n - 29 more times).
// Returns nothing for a malformed payload (a dangling '}' or '*').
std::optional<std::string> decodePayload(std::string_view raw);

// Hex helpers for register and memory contents (lower-case, as gdb sends).
std::string toHex(const uint8_t* data, size_t len);
std::optional<std::vector<uint8_t>> fromHex(std::string_view hex);
// A hexadecimal number (no prefix); nothing if empty, not hex or wider than 64 bits.
std::optional<uint64_t> parseHexNumber(std::string_view s);

}  // namespace btvm::gdb
