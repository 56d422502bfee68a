#include "dbt/decoder.h"

#include <stdexcept>

namespace btvm {

Decoder::Decoder(cs_mode mode) : mode_(mode) {
  if (cs_open(CS_ARCH_X86, mode, &handle_) != CS_ERR_OK) throw std::runtime_error("capstone: cs_open failed");
  cs_option(handle_, CS_OPT_DETAIL, CS_OPT_ON);
  insn_ = cs_malloc(handle_);
}

Decoder::~Decoder() {
  cs_free(insn_, 1);
  cs_close(&handle_);
}

bool Decoder::decode(const uint8_t* bytes, size_t len, uint32_t address) {
  uint64_t addr = address;
  const uint8_t* p = bytes;
  size_t n = len;
  return cs_disasm_iter(handle_, &p, &n, &addr, insn_);
}

bool Decoder::decodeInto(const uint8_t* bytes, size_t len, uint32_t address, cs_insn* out, cs_detail* detail) {
  uint64_t addr = address;
  const uint8_t* p = bytes;
  size_t n = len;
  out->detail = detail;
  return cs_disasm_iter(handle_, &p, &n, &addr, out);
}

void Decoder::setCode16(bool code16) {
  cs_mode m = code16 ? CS_MODE_16 : CS_MODE_32;
  if (m == mode_) return;
  cs_option(handle_, CS_OPT_MODE, m);
  mode_ = m;
}

}  // namespace btvm
