// The Multiboot loader's -initrd module list, in QEMU's syntax.
#include <doctest/doctest.h>

#include "emu/boot/multiboot.h"

using namespace btvm;

TEST_CASE("-initrd for Multiboot: ',' separates modules, ',,' is a comma, the path ends at a space") {
  CHECK(parseMultibootModules("").empty());
  auto m = parseMultibootModules("a.bin one two,b.bin");
  REQUIRE(m.size() == 2);
  CHECK(m[0].path == "a.bin");
  CHECK(m[0].cmdline == "a.bin one two");
  CHECK(m[1].path == "b.bin");
  CHECK(m[1].cmdline == "b.bin");
  m = parseMultibootModules("x,,y z,,,w");
  REQUIRE(m.size() == 2);
  CHECK(m[0].path == "x,y");
  CHECK(m[0].cmdline == "x,y z,");
  CHECK(m[1].cmdline == "w");
  m = parseMultibootModules("a,");
  REQUIRE(m.size() == 2);
  CHECK(m[1].path.empty());
}
