#include "emu/debug/gdb_protocol.h"

namespace btvm::gdb {

namespace {
constexpr char kHex[] = "0123456789abcdef";

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool needsEscape(char c) { return c == '#' || c == '$' || c == '}' || c == '*'; }
}  // namespace

uint8_t checksum(std::string_view payload) {
  unsigned sum = 0;
  for (char c : payload) sum += uint8_t(c);
  return uint8_t(sum);
}

std::string frame(std::string_view payload) {
  std::string body;
  body.reserve(payload.size() + 8);
  for (char c : payload) {
    if (needsEscape(c)) {
      body += '}';
      body += char(c ^ 0x20);
    } else {
      body += c;
    }
  }
  uint8_t cs = checksum(body);
  std::string out = "$" + body + "#";
  out += kHex[cs >> 4];
  out += kHex[cs & 15];
  return out;
}

std::optional<std::string> decodePayload(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '}') {
      if (++i == raw.size()) return std::nullopt;
      out += char(raw[i] ^ 0x20);
    } else if (c == '*') {
      // The count byte is 29 + n (printable); it repeats the previous character n more times.
      if (out.empty() || ++i == raw.size() || uint8_t(raw[i]) < 29) return std::nullopt;
      out.append(size_t(uint8_t(raw[i]) - 29), out.back());
    } else {
      out += c;
    }
  }
  return out;
}

void PacketReader::feed(std::string_view bytes) { buf_.append(bytes); }

std::optional<Event> PacketReader::next() {
  while (!buf_.empty()) {
    char c = buf_[0];
    if (c == '+' || c == '-' || c == 0x03) {
      buf_.erase(0, 1);
      return Event{c == '+' ? Event::Ack : c == '-' ? Event::Nack : Event::Interrupt, {}};
    }
    if (c != '$') {
      buf_.erase(0, 1);  // noise between packets
      continue;
    }
    size_t hash = buf_.find('#');
    if (hash == std::string::npos || hash + 2 >= buf_.size()) return std::nullopt;  // incomplete
    std::string_view raw(buf_.data() + 1, hash - 1);
    int hi = hexDigit(buf_[hash + 1]), lo = hexDigit(buf_[hash + 2]);
    std::optional<std::string> payload;
    if (hi >= 0 && lo >= 0 && uint8_t(hi * 16 + lo) == checksum(raw)) payload = decodePayload(raw);
    buf_.erase(0, hash + 3);
    if (!payload) return Event{Event::BadChecksum, {}};
    return Event{Event::Packet, std::move(*payload)};
  }
  return std::nullopt;
}

std::string toHex(const uint8_t* data, size_t len) {
  std::string s;
  s.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    s += kHex[data[i] >> 4];
    s += kHex[data[i] & 15];
  }
  return s;
}

std::optional<std::vector<uint8_t>> fromHex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hexDigit(hex[2 * i]), lo = hexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = uint8_t(hi * 16 + lo);
  }
  return out;
}

std::optional<uint64_t> parseHexNumber(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = hexDigit(c);
    if (d < 0) return std::nullopt;
    v = v << 4 | uint64_t(d);
  }
  return v;
}

}  // namespace btvm::gdb
