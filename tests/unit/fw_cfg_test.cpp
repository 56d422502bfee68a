// fw_cfg through its ports as a guest sees it, and the debug console's port.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include <unistd.h>

#include "emu/boot/fw_cfg_boot.h"
#include "emu/boot/memory_map.h"
#include "emu/devices/debugcon.h"
#include "emu/devices/devices.h"
#include "emu/devices/fw_cfg.h"

using namespace btvm;

namespace {
std::vector<uint8_t> readItem(IoBus& bus, uint16_t key, size_t n) {
  bus.write(fw_cfg::kSelectorPort, 2, key);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < n; ++i) {
    uint32_t v;
    bus.read(fw_cfg::kDataPort, 1, &v);
    out.push_back(uint8_t(v));
  }
  return out;
}
uint64_t le(const std::vector<uint8_t>& b) {
  uint64_t v = 0;
  for (size_t i = b.size(); i-- > 0;) v = v << 8 | b[i];
  return v;
}
uint64_t be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}
}  // namespace

TEST_CASE("fw_cfg: signature, ID, RAM size, CPUs, zero past the end, unknown items read zero") {
  IoBus bus;
  FwCfg f(96ull << 20);
  f.attach(bus);
  std::vector<uint8_t> sig = readItem(bus, fw_cfg::kSignature, 6);
  CHECK(std::string(sig.begin(), sig.begin() + 4) == "QEMU");
  CHECK(sig[4] == 0);
  CHECK(sig[5] == 0);
  CHECK(le(readItem(bus, fw_cfg::kId, 4)) == 1);
  CHECK(le(readItem(bus, fw_cfg::kRamSize, 8)) == (96ull << 20));
  CHECK(le(readItem(bus, fw_cfg::kNbCpus, 2)) == 1);
  CHECK(le(readItem(bus, fw_cfg::kMaxCpus, 2)) == 1);
  CHECK(le(readItem(bus, 0x1234, 4)) == 0);
  // Reselecting starts over.
  CHECK(readItem(bus, fw_cfg::kSignature, 1)[0] == 'Q');
}

TEST_CASE("fw_cfg: command line and the file directory (big-endian, name order, from 0x20)") {
  IoBus bus;
  FwCfg f(64ull << 20);
  f.attach(bus);
  f.setU32(fw_cfg::kCmdlineSize, 6);
  f.setString(fw_cfg::kCmdlineData, "a b=c");
  f.addFile("etc/zeta", {1, 2, 3});
  f.addFile("etc/e820", std::vector<uint8_t>(40, 7));
  CHECK(le(readItem(bus, fw_cfg::kCmdlineSize, 4)) == 6);
  std::vector<uint8_t> cmd = readItem(bus, fw_cfg::kCmdlineData, 6);
  CHECK(std::string(reinterpret_cast<char*>(cmd.data())) == "a b=c");
  std::vector<uint8_t> dir = readItem(bus, fw_cfg::kFileDir, 4 + 2 * 64);
  REQUIRE(be(dir.data(), 4) == 2);
  const uint8_t* e0 = dir.data() + 4;
  const uint8_t* e1 = e0 + 64;
  CHECK(be(e0, 4) == 40);
  CHECK(be(e0 + 4, 2) == 0x20);
  CHECK(std::strcmp(reinterpret_cast<const char*>(e0 + 8), "etc/e820") == 0);
  CHECK(be(e1 + 4, 2) == 0x21);
  CHECK(std::strcmp(reinterpret_cast<const char*>(e1 + 8), "etc/zeta") == 0);
  CHECK(readItem(bus, 0x21, 3) == std::vector<uint8_t>{1, 2, 3});
  CHECK(readItem(bus, 0x20, 1)[0] == 7);
}

TEST_CASE("debugcon: bytes go out as written, the port reads back 0xe9, it can move") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  IoBus bus;
  DebugCon d(fds[1]);
  d.attach(bus, 0x402);
  for (char ch : std::string("ok\n")) bus.write(0x402, 1, uint8_t(ch));
  char buf[8] = {};
  CHECK(read(fds[0], buf, sizeof buf) == 3);  // already written: nothing buffered
  CHECK(std::string(buf) == "ok\n");
  uint32_t v;
  CHECK(bus.read(0x402, 1, &v));
  CHECK(v == 0xe9);
  CHECK_FALSE(bus.read(0xe9, 1, &v));
  close(fds[0]);
  close(fds[1]);
}

TEST_CASE("fw_cfg boot items: a Linux kernel split at its setup sectors, command line, etc/e820") {
  IoBus bus;
  FwCfg f(64ull << 20);
  f.attach(bus);
  std::vector<uint8_t> kernel(4096, 0xaa);
  kernel[0x1f1] = 2;  // setup_sects: the real-mode part is (2 + 1) * 512 bytes
  describeLinuxBoot(f, kernel, "", "console=ttyS0", 64ull << 20);
  CHECK(le(readItem(bus, fw_cfg::kSetupSize, 4)) == 1536);
  CHECK(le(readItem(bus, fw_cfg::kKernelSize, 4)) == 4096 - 1536);
  CHECK(le(readItem(bus, fw_cfg::kCmdlineSize, 4)) == 14);
  std::vector<uint8_t> cmd = readItem(bus, fw_cfg::kCmdlineData, 14);
  CHECK(std::string(reinterpret_cast<char*>(cmd.data())) == "console=ttyS0");
  CHECK(le(readItem(bus, fw_cfg::kInitrdSize, 4)) == 0);  // no initrd: no item
  std::vector<uint8_t> dir = readItem(bus, fw_cfg::kFileDir, 4 + 64);
  REQUIRE(be(dir.data(), 4) == 1);
  CHECK(std::strcmp(reinterpret_cast<const char*>(dir.data() + 12), "etc/e820") == 0);
  size_t n = be(dir.data() + 4, 4);
  CHECK(n == 20 * pcMemoryMap(64ull << 20).size());
  std::vector<uint8_t> e820 = readItem(bus, uint16_t(be(dir.data() + 8, 2)), n);
  CHECK(le(std::vector<uint8_t>(e820.begin() + 16, e820.begin() + 20)) == 1);  // the first entry is RAM
}
