// The AML encoders the DSDT is built with, against byte sequences from the ACPI specification
// (and iasl's output for the same ASL).
#include <doctest/doctest.h>

#include "emu/boot/aml.h"

using namespace btvm;
using aml::Bytes;

TEST_CASE("AML: integers, EisaId, names") {
  CHECK(aml::integer(0) == Bytes{0x00});
  CHECK(aml::integer(1) == Bytes{0x01});
  CHECK(aml::integer(5) == Bytes{0x0a, 0x05});
  CHECK(aml::integer(0x1234) == Bytes{0x0b, 0x34, 0x12});
  CHECK(aml::integer(0x12345678) == Bytes{0x0c, 0x78, 0x56, 0x34, 0x12});
  CHECK(aml::eisaId("PNP0303") == Bytes{0x0c, 0x41, 0xd0, 0x03, 0x03});
  CHECK(aml::eisaId("PNP0F13") == Bytes{0x0c, 0x41, 0xd0, 0x0f, 0x13});
  CHECK(aml::name("\\_S5_") == Bytes{'\\', '_', 'S', '5', '_'});
  CHECK_THROWS(aml::name("TOOLONG"));
}

TEST_CASE("AML: PkgLength in one byte up to 63, two bytes beyond (counting itself)") {
  Bytes small = aml::package({aml::integer(0), aml::integer(0), aml::integer(0), aml::integer(0)});
  CHECK(small == Bytes{0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00});
  Bytes big = aml::buffer(Bytes(100, 0xaa));  // content: 0a 64 + 100 bytes = 102; +2 = 104 = 0x68
  REQUIRE(big.size() == 1 + 2 + 102);
  CHECK(big[0] == 0x11);
  CHECK(big[1] == 0x48);  // one extra byte (01 in bits 7-6), low nibble 8
  CHECK(big[2] == 0x06);
  Bytes edge = aml::buffer(Bytes(60, 0));  // content 62 -> 63 with one length byte
  CHECK(edge[1] == 63);
  Bytes over = aml::buffer(Bytes(61, 0));  // content 63 -> needs two bytes: 65 = 0x41
  CHECK(over[1] == 0x41);
  CHECK(over[2] == 0x04);
}

TEST_CASE("AML: a resource template with IO, IRQ and the end tag") {
  Bytes t = aml::resourceTemplate({aml::io16(0x60, 0x60, 1, 1), aml::irqNoFlags(12)});
  CHECK(t == Bytes{0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, 0x22, 0x00, 0x10, 0x79,
                   0x00});
}

TEST_CASE("AML: address space descriptors (WordBusNumber, WordIO, DWordMemory)") {
  CHECK(aml::wordBusNumber(0, 0xff) ==
        Bytes{0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0x00, 0x00, 0xff, 0x00, 0, 0, 0x00, 0x01});
  CHECK(aml::wordIo(0x0d00, 0xffff) ==
        Bytes{0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3});
  Bytes m = aml::dwordMemory(0xa0000, 0xbffff, true);
  REQUIRE(m.size() == 26);
  CHECK(Bytes(m.begin(), m.begin() + 6) == Bytes{0x87, 0x17, 0x00, 0x00, 0x0c, 0x03});
  CHECK(Bytes(m.end() - 4, m.end()) == Bytes{0x00, 0x00, 0x02, 0x00});  // length 0x20000
}
