#include "emu/devices/fw_cfg.h"

#include "emu/devices/devices.h"

namespace btvm {

namespace {
void putLe(std::vector<uint8_t>& out, uint64_t v, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) out.push_back(uint8_t(v >> (8 * i)));
}
void putBe(std::vector<uint8_t>& out, uint64_t v, unsigned bytes) {
  for (unsigned i = bytes; i-- > 0;) out.push_back(uint8_t(v >> (8 * i)));
}
}  // namespace

FwCfg::FwCfg(uint64_t ram_bytes) {
  setItem(fw_cfg::kSignature, {'Q', 'E', 'M', 'U'});
  setU32(fw_cfg::kId, fw_cfg::kIdTraditional);
  setItem(fw_cfg::kUuid, std::vector<uint8_t>(16, 0));
  setU64(fw_cfg::kRamSize, ram_bytes);
  setU16(fw_cfg::kNoGraphic, 1);  // btvm has no display
  setU16(fw_cfg::kNbCpus, 1);
  setU16(fw_cfg::kMaxCpus, 1);
  setU16(fw_cfg::kBootMenu, 0);
  setU32(fw_cfg::kIrq0Override, 1);  // IRQ0 reaches I/O APIC pin 2 (the MADT says so too)
  setU32(fw_cfg::kE820Table, 0);     // the legacy table of reserved ranges: empty, as QEMU's TCG
  rebuildDirectory();
}

void FwCfg::attach(IoBus& bus) {
  // One 2-byte range: a word write to 0x510 selects, 0x511 is the data byte.
  bus.add(fw_cfg::kSelectorPort, 2,
          [this](uint16_t port, unsigned size) -> uint32_t {
            if (port != fw_cfg::kDataPort) return 0;
            uint32_t v = 0;
            for (unsigned i = 0; i < size; ++i) v |= uint32_t(readByte()) << (8 * i);
            return v;
          },
          [this](uint16_t port, unsigned size, uint32_t v) {
            if (port == fw_cfg::kSelectorPort && size >= 2) select(uint16_t(v));
          });
}

void FwCfg::setItem(uint16_t key, std::vector<uint8_t> data) { items_[key] = std::move(data); }

void FwCfg::setU16(uint16_t key, uint16_t v) {
  std::vector<uint8_t> d;
  putLe(d, v, 2);
  setItem(key, std::move(d));
}

void FwCfg::setU32(uint16_t key, uint32_t v) {
  std::vector<uint8_t> d;
  putLe(d, v, 4);
  setItem(key, std::move(d));
}

void FwCfg::setU64(uint16_t key, uint64_t v) {
  std::vector<uint8_t> d;
  putLe(d, v, 8);
  setItem(key, std::move(d));
}

void FwCfg::setString(uint16_t key, const std::string& s) {
  std::vector<uint8_t> d(s.begin(), s.end());
  d.push_back(0);
  setItem(key, std::move(d));
}

void FwCfg::addFile(const std::string& name, std::vector<uint8_t> data) {
  files_[name.substr(0, fw_cfg::kFileNameMax - 1)] = std::move(data);
  rebuildDirectory();
}

void FwCfg::rebuildDirectory() {
  for (auto it = items_.lower_bound(fw_cfg::kFileFirst); it != items_.end() && it->first < 0x4000;)
    it = items_.erase(it);
  std::vector<uint8_t> dir;
  putBe(dir, files_.size(), 4);
  uint16_t key = fw_cfg::kFileFirst;
  for (const auto& [name, data] : files_) {
    putBe(dir, data.size(), 4);
    putBe(dir, key, 2);
    putBe(dir, 0, 2);
    std::string padded = name;
    padded.resize(fw_cfg::kFileNameMax, '\0');
    dir.insert(dir.end(), padded.begin(), padded.end());
    items_[key++] = data;
  }
  items_[fw_cfg::kFileDir] = std::move(dir);
}

void FwCfg::select(uint16_t key) {
  // Bit 14 (write channel) is not an item's number; writes are not supported.
  selected_ = key & ~uint16_t(0x4000);
  offset_ = 0;
}

uint8_t FwCfg::readByte() {
  auto it = items_.find(selected_);
  if (it == items_.end() || offset_ >= it->second.size()) return 0;
  return it->second[offset_++];
}

}  // namespace btvm
