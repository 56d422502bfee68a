// QEMU's firmware configuration device (fw_cfg), the I/O-port interface of the PC: a 16-bit
// write to 0x510 selects an item, byte reads of 0x511 walk through its contents and give 0 past
// the end. Items are numbered as in QEMU's include/standard-headers/linux/qemu_fw_cfg.h; named
// files (etc/e820, ...) get selectors from 0x20 in name order and are listed by the file
// directory item 0x19 (a big-endian count, then 64-byte entries: size and selector big-endian,
// the name NUL-padded). Integers in items are little-endian. No DMA interface (ID bit 1 clear),
// and the guest cannot write items.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace btvm {

class IoBus;

namespace fw_cfg {
constexpr uint16_t kSelectorPort = 0x510, kDataPort = 0x511;
// Item keys.
constexpr uint16_t kSignature = 0x00, kId = 0x01, kUuid = 0x02, kRamSize = 0x03, kNoGraphic = 0x04,
                   kNbCpus = 0x05, kKernelAddr = 0x07, kKernelSize = 0x08, kKernelCmdline = 0x09,
                   kInitrdAddr = 0x0a, kInitrdSize = 0x0b, kBootDevice = 0x0c, kBootMenu = 0x0e,
                   kMaxCpus = 0x0f, kKernelEntry = 0x10, kKernelData = 0x11, kInitrdData = 0x12,
                   kCmdlineAddr = 0x13, kCmdlineSize = 0x14, kCmdlineData = 0x15, kSetupAddr = 0x16,
                   kSetupSize = 0x17, kSetupData = 0x18, kFileDir = 0x19, kFileFirst = 0x20;
// x86's own items (FW_CFG_ARCH_LOCAL | n).
constexpr uint16_t kIrq0Override = 0x8002, kE820Table = 0x8003;
constexpr uint32_t kIdTraditional = 1;  // ID bit 0: the port interface (bit 1 would be DMA)
constexpr size_t kFileNameMax = 56;     // name field of a directory entry, NUL included
}  // namespace fw_cfg

// FwCfg's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct FwCfgState {
  // (The items are set at boot and never change: they are not part of it.)
  uint16_t selected_ = 0;
  uint32_t offset_ = 0;
};

class FwCfg : private FwCfgState {
 public:
  using State = FwCfgState;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  // The items every QEMU pc machine has: signature, ID, UUID (all zero), RAM size, one CPU.
  explicit FwCfg(uint64_t ram_bytes);
  void attach(IoBus& bus);

  void setItem(uint16_t key, std::vector<uint8_t> data);
  void setU16(uint16_t key, uint16_t v);
  void setU32(uint16_t key, uint32_t v);
  void setU64(uint16_t key, uint64_t v);
  // A NUL-terminated string item (the kernel command line).
  void setString(uint16_t key, const std::string& s);
  // A named file; the directory and the file selectors are rebuilt at once.
  void addFile(const std::string& name, std::vector<uint8_t> data);

  void select(uint16_t key);
  uint8_t readByte();

 private:
  void rebuildDirectory();
  std::map<uint16_t, std::vector<uint8_t>> items_;
  std::map<std::string, std::vector<uint8_t>> files_;  // ordered by name, as QEMU sorts them
};

}  // namespace btvm
