#include "emu/boot/aml.h"

#include <stdexcept>

namespace btvm::aml {

namespace {

constexpr uint8_t kZeroOp = 0x00, kOneOp = 0x01, kNameOp = 0x08, kBytePrefix = 0x0a, kWordPrefix = 0x0b,
                  kDWordPrefix = 0x0c, kScopeOp = 0x10, kBufferOp = 0x11, kPackageOp = 0x12, kExtOpPrefix = 0x5b,
                  kDeviceOp = 0x82, kRootChar = '\\';

// PkgLength counts itself: one byte up to 63, else a lead byte (count of following bytes in
// bits 7-6, low nibble of the length) and the rest of the length 8 bits at a time.
Bytes withPkgLength(const Bytes& content) {
  size_t n = content.size();
  Bytes out;
  if (n + 1 <= 0x3f) {
    out.push_back(uint8_t(n + 1));
  } else {
    unsigned extra = n + 2 < (1u << 12) ? 1 : n + 3 < (1u << 20) ? 2 : 3;
    size_t len = n + 1 + extra;
    out.push_back(uint8_t((extra << 6) | (len & 0x0f)));
    for (unsigned i = 0; i < extra; ++i) out.push_back(uint8_t(len >> (4 + 8 * i)));
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

Bytes op(std::initializer_list<uint8_t> opcode, const Bytes& body) {
  Bytes out(opcode);
  Bytes p = withPkgLength(body);
  out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

Bytes join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes name(const std::string& path) {
  Bytes out;
  std::string rest = path;
  if (!rest.empty() && rest[0] == kRootChar) {
    out.push_back(kRootChar);
    rest.erase(0, 1);
  }
  // One segment only: the tables btvm writes need no dual or multi-name paths.
  if (rest.size() != 4) throw std::logic_error("AML name segment must be 4 characters: " + path);
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

Bytes integer(uint32_t v) {
  if (v == 0) return {kZeroOp};
  if (v == 1) return {kOneOp};
  if (v <= 0xff) return {kBytePrefix, uint8_t(v)};
  if (v <= 0xffff) return {kWordPrefix, uint8_t(v), uint8_t(v >> 8)};
  return {kDWordPrefix, uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
}

// Three letters of 5 bits each (A = 1) in the first two bytes, big-endian, then four hex digits
// as two bytes: "PNP0303" -> 41 d0 03 03.
Bytes eisaId(const char* id) {
  auto hex = [](char c) { return uint8_t(c <= '9' ? c - '0' : c - 'A' + 10); };
  uint16_t letters = uint16_t(((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) | (id[2] - 0x40));
  return {kDWordPrefix, uint8_t(letters >> 8), uint8_t(letters), uint8_t(hex(id[3]) << 4 | hex(id[4])),
          uint8_t(hex(id[5]) << 4 | hex(id[6]))};
}

Bytes nameDecl(const std::string& path, const Bytes& value) { return join({{kNameOp}, name(path), value}); }

Bytes package(std::initializer_list<Bytes> elements) {
  Bytes body{uint8_t(elements.size())};
  for (const Bytes& e : elements) body.insert(body.end(), e.begin(), e.end());
  return op({kPackageOp}, body);
}

Bytes buffer(const Bytes& data) { return op({kBufferOp}, join({integer(uint32_t(data.size())), data})); }

Bytes device(const std::string& seg, std::initializer_list<Bytes> terms) {
  Bytes body = name(seg);
  for (const Bytes& t : terms) body.insert(body.end(), t.begin(), t.end());
  return op({kExtOpPrefix, kDeviceOp}, body);
}

Bytes scope(const std::string& path, std::initializer_list<Bytes> terms) {
  Bytes body = name(path);
  for (const Bytes& t : terms) body.insert(body.end(), t.begin(), t.end());
  return op({kScopeOp}, body);
}

// Small resource descriptors: tag byte = (type << 3) | length.
Bytes io16(uint16_t min, uint16_t max, uint8_t align, uint8_t len) {
  return {0x47, 0x01, uint8_t(min), uint8_t(min >> 8), uint8_t(max), uint8_t(max >> 8), align, len};
}

Bytes irqNoFlags(unsigned irq) { return {0x22, uint8_t(1u << irq), uint8_t((1u << irq) >> 8)}; }

namespace {
// Large descriptors (ACPI 6.4.3.5.2-3): tag, 16-bit length, resource type, general flags
// (producer, positive decode, min and max fixed = 0x0c), type-specific flags, then granularity,
// min, max, translation offset and length, each 2 or 4 bytes.
constexpr uint8_t kProducerFixed = 0x0c;
Bytes addressSpace(uint8_t tag, uint8_t type, uint8_t type_flags, unsigned width, uint32_t min, uint32_t max) {
  Bytes out{tag, uint8_t(3 + 5 * width), 0, type, kProducerFixed, type_flags};
  for (uint32_t v : {uint32_t(0), min, max, uint32_t(0), max - min + 1})
    for (unsigned i = 0; i < width; ++i) out.push_back(uint8_t(v >> (8 * i)));
  return out;
}
}  // namespace

Bytes wordBusNumber(uint16_t min, uint16_t max) { return addressSpace(0x88, 2, 0x00, 2, min, max); }
Bytes wordIo(uint16_t min, uint16_t max) { return addressSpace(0x88, 1, 0x03, 2, min, max); }
Bytes dwordMemory(uint32_t min, uint32_t max, bool cacheable) {
  return addressSpace(0x87, 0, uint8_t(cacheable ? 0x03 : 0x01), 4, min, max);
}

Bytes resourceTemplate(std::initializer_list<Bytes> items) {
  Bytes data;
  for (const Bytes& i : items) data.insert(data.end(), i.begin(), i.end());
  data.push_back(0x79);  // end tag; checksum 0 means "treat as correct"
  data.push_back(0x00);
  return buffer(data);
}

}  // namespace btvm::aml
