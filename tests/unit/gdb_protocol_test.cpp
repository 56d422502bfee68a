// The GDB remote protocol's framing (emu/debug/gdb_protocol.h): checksums, escapes, run-length
// decoding, and how the reader splits a byte stream into packets, acks and Ctrl-C.
#include <doctest/doctest.h>

#include "emu/debug/gdb_protocol.h"
#include "emu/debug/gdb_regs.h"

using namespace btvm::gdb;

TEST_CASE("gdb: checksum and framing") {
  CHECK(checksum("") == 0);
  CHECK(checksum("OK") == 0x9a);  // 'O' 0x4f + 'K' 0x4b
  CHECK(frame("OK") == "$OK#9a");
  CHECK(frame("") == "$#00");
  // '#', '$', '}' and '*' go out as '}' then the byte xor 0x20; the checksum covers the escapes.
  CHECK(frame("a#b") == std::string("$a}\x03" "b#43"));  // 0x61 + 0x7d + 0x03 + 0x62 = 0x143
  std::string f = frame("*}$");
  CHECK(f.substr(0, 8) == std::string("$}\x0a}]}\x04#"));
  CHECK(f.substr(8) == "e2");  // 0x7d + 0x0a + 0x7d + 0x5d + 0x7d + 0x04 = 0x1e2
}

TEST_CASE("gdb: payload decoding") {
  CHECK(decodePayload("abc") == std::optional<std::string>("abc"));
  CHECK(decodePayload("}\x03") == std::optional<std::string>("#"));
  CHECK(decodePayload("}]") == std::optional<std::string>("}"));
  // Run-length: "0* " is '0' and 32 - 29 = 3 more.
  CHECK(decodePayload("0* ") == std::optional<std::string>("0000"));
  CHECK(decodePayload("x}") == std::nullopt);   // dangling escape
  CHECK(decodePayload("*!") == std::nullopt);   // nothing to repeat
}

TEST_CASE("gdb: reader splits packets, acks and Ctrl-C") {
  PacketReader r;
  r.feed("+$g#67");
  auto e = r.next();
  REQUIRE(e);
  CHECK(e->kind == Event::Ack);
  e = r.next();
  REQUIRE(e);
  CHECK(e->kind == Event::Packet);
  CHECK(e->payload == "g");
  CHECK(!r.next());

  r.feed("$m1000,4#");  // incomplete: no checksum yet
  CHECK(!r.next());
  r.feed("8");
  CHECK(!r.next());
  r.feed("e\x03");
  e = r.next();
  REQUIRE(e);
  CHECK(e->kind == Event::Packet);
  CHECK(e->payload == "m1000,4");
  e = r.next();
  REQUIRE(e);
  CHECK(e->kind == Event::Interrupt);

  r.feed("$g#00-");
  e = r.next();
  REQUIRE(e);
  CHECK(e->kind == Event::BadChecksum);
  CHECK(r.next()->kind == Event::Nack);

  // A binary X packet: the escaped byte comes back as itself.
  std::string framed = frame("X10,1:}");
  r.feed(framed);
  e = r.next();
  REQUIRE(e);
  CHECK(e->payload == "X10,1:}");
}

TEST_CASE("gdb: hex helpers") {
  uint8_t b[] = {0x00, 0x7f, 0xff};
  CHECK(toHex(b, 3) == "007fff");
  CHECK(fromHex("007FfF") == std::optional<std::vector<uint8_t>>({0x00, 0x7f, 0xff}));
  CHECK(!fromHex("abc"));
  CHECK(!fromHex("zz"));
  CHECK(parseHexNumber("dead0000") == std::optional<uint64_t>(0xdead0000));
  CHECK(!parseHexNumber(""));
  CHECK(!parseHexNumber("12345678123456789"));
}

TEST_CASE("gdb: i386 register file") {
  CHECK(regSize(0) == 4);
  CHECK(regSize(16) == 10);  // st0
  CHECK(regSize(31) == 4);   // fop
  CHECK(regSize(kNumRegs) == 0);
  btvm::CpuState c{};
  c.eip = 0x12345678;
  c.seg[btvm::CS].selector = 0x08;
  uint8_t out[10];
  readReg(c, 8, out);
  CHECK(out[0] == 0x78);
  CHECK(out[3] == 0x12);
  uint8_t sel[4] = {0x10, 0, 0, 0};
  CHECK(!writeReg(c, 10, sel));  // CS: a new selector needs a descriptor load
  sel[0] = 0x08;
  CHECK(writeReg(c, 10, sel));   // the same one is accepted (gdb's G sends every register)
  const std::string& xml = targetXml();
  CHECK(xml.find("org.gnu.gdb.i386.core") != std::string::npos);
  CHECK(xml.find("org.gnu.gdb.i386.sse") == std::string::npos);
}
