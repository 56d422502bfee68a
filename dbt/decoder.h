// Capstone, opened once with detail on; one reusable cs_insn (cs_disasm_iter). 16- and 32-bit
// code share the handle: setCode16 switches its mode (CS_OPT_MODE) only when it changes.
#pragma once
#include <capstone/capstone.h>

#include <cstddef>
#include <cstdint>

namespace btvm {

class Decoder {
 public:
  explicit Decoder(cs_mode mode = CS_MODE_32);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one instruction at `address` from `bytes` (at most `len`); false if invalid.
  // The result stays valid until the next call.
  bool decode(const uint8_t* bytes, size_t len, uint32_t address);
  // The same, straight into the caller's instruction and detail (no copy of either afterwards):
  // Capstone writes the detail through insn->detail, which is pointed at `detail` here.
  bool decodeInto(const uint8_t* bytes, size_t len, uint32_t address, cs_insn* out, cs_detail* detail);
  void setCode16(bool code16);
  const cs_insn& insn() const { return *insn_; }
  const cs_x86& x86() const { return insn_->detail->x86; }
  csh handle() const { return handle_; }

 private:
  csh handle_ = 0;
  cs_insn* insn_ = nullptr;
  cs_mode mode_;
};

}  // namespace btvm
