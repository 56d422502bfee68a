#include "tests/diff/btvm_target.h"

#include <fmt/format.h>

#include <cstring>
#include <exception>

#include "emu/machine.h"

namespace diff {
namespace {

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

bool hasErrorCode(int v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

const char* kindName(btvm::ExitKind k) {
  switch (k) {
    case btvm::ExitKind::DebugExit: return "debug exit";
    case btvm::ExitKind::TripleFault: return "triple fault";
    case btvm::ExitKind::Halted: return "halted";
    case btvm::ExitKind::InsnLimit: return "instruction limit";
    case btvm::ExitKind::Unsupported: return "unsupported";
    case btvm::ExitKind::Reset: return "reset";
    case btvm::ExitKind::Quit: return "quit";
    case btvm::ExitKind::PowerOff: return "power off";
  }
  return "?";
}

}  // namespace

Outcome runBtvm(const CaseInput& in) {
  Outcome o;
  try {
    btvm::MachineConfig cfg;
    cfg.ram_bytes = 16u << 20;
    cfg.max_insns = 100000;  // a runaway case ends instead of hanging the harness
    cfg.code_cache_bytes = 4u << 20;
    btvm::Machine m(cfg);
    m.setFlatProtectedMode();
    uint8_t* ram = m.ram();
    std::memcpy(ram + kCode, in.code.data(), in.code.size());
    std::memset(ram + kStubs, 0xF4, kVectors);
    for (int v = 0; v < kVectors; v++) {  // 32-bit interrupt gate, CS 0x08, to stub v
      const uint32_t off = kStubs + uint32_t(v);
      uint8_t* g = ram + kIdt + 8 * v;
      const uint8_t gate[8] = {uint8_t(off), uint8_t(off >> 8), 0x08, 0x00, 0x00, 0x8E,
                               uint8_t(off >> 16), uint8_t(off >> 24)};
      std::memcpy(g, gate, 8);
    }
    std::memcpy(ram + kData, in.data.data(), in.data.size());
    std::memcpy(ram + kStack, in.stack.data(), in.stack.size());
    btvm::CpuState& cpu = m.cpu();
    cpu.idtr.base = kIdt;
    cpu.idtr.limit = 8 * kVectors - 1;
    for (int i = 0; i < 8; i++) cpu.regs[i] = in.init.regs[i];
    cpu.eip = in.init.eip;
    cpu.eflags = in.init.eflags | 2;

    btvm::RunResult r = m.run();

    o.data.assign(ram + kData, ram + kData + kDataSize);
    o.stack.assign(ram + kStack, ram + kStack + kStackSize);
    for (int i = 0; i < 8; i++) o.st.regs[i] = cpu.regs[i];
    o.st.eip = cpu.eip;
    o.st.eflags = cpu.eflags;
    const uint32_t at = cpu.eip - 1;  // a halt leaves EIP just after the hlt
    if (r.kind != btvm::ExitKind::Halted) {
      o.message = fmt::format("btvm: {} ({})", kindName(r.kind), r.message);
    } else if (at == in.endEip()) {
      o.kind = OutKind::Completed;
      o.st.eip = at;
    } else if (at >= kStubs && at < kStubs + kVectors) {
      // Same privilege level, so the frame is on the case's own stack: [err] EIP CS EFLAGS.
      o.kind = OutKind::Exception;
      o.vector = int(at - kStubs);
      const uint32_t esp = cpu.regs[btvm::ESP];
      const uint32_t frame = hasErrorCode(o.vector) ? 16 : 12;
      if (esp < kMapBase || esp + frame > kMapEnd) {
        o.kind = OutKind::Error;
        o.message = fmt::format("btvm: exception frame outside the case's memory (esp={:08x})", esp);
      } else {
        const uint8_t* f = ram + esp + (frame - 12);
        o.st.eip = load32(f);
        o.st.eflags = load32(f + 8);
        o.st.regs[ESP] = esp + frame;
        o.skipLo = esp;
        o.skipHi = esp + frame;
      }
    } else {
      o.message = fmt::format("btvm: halted at unexpected address {:08x}", at);
    }
  } catch (const std::exception& e) {
    o.kind = OutKind::Error;
    o.message = std::string("btvm threw: ") + e.what();
  }
  return o;
}

}  // namespace diff
