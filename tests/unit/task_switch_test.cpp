// Paths of call gates and task switches that the `tasks` guest cannot reach well: the inner
// stack of a call gate taken from a 16-bit TSS (SP0/SS0, SDM vol. 2 CALL), and a task switch to
// a task with EFLAGS.VM (segments loaded as virtual-8086 mode loads them; the task then runs
// 8086 code). Raw code in a fresh Machine.
#include <doctest/doctest.h>

#include <cstring>

#include "emu/cpu/cpu_state.h"
#include "emu/exit_status.h"
#include "emu/machine.h"
#include "mmu/segments.h"

namespace {

using namespace btvm;

constexpr uint32_t kGdt = 0x1000, kTss16 = 0x3000, kTss32 = 0x3100, kCode = 0x4000, kTarget = 0x5000;

struct RawMachine {
  MachineConfig cfg;
  std::unique_ptr<Machine> m;
  uint8_t* ram;
  RawMachine() {
    cfg.ram_bytes = 4u << 20;
    cfg.serial_out_fd = -1;
    cfg.max_insns = 1000;
    m = std::make_unique<Machine>(cfg);
    m->setFlatProtectedMode();
    ram = m->ram();
    const uint32_t gdt[][2] = {
        {0, 0},
        {0x0000ffff, 0x00cf9b00},                 // 0x08 flat code, DPL 0
        {0x0000ffff, 0x00cf9300},                 // 0x10 flat data, DPL 0
        {0x0000ffff, 0x00cffb00},                 // 0x18 flat code, DPL 3
        {0x0000ffff, 0x00cff300},                 // 0x20 flat data, DPL 3
        {(kTss16 << 16) | 0x2b, 0x00008300},      // 0x28 16-bit TSS, busy (TR)
        {(kTss32 << 16) | 0x67, 0x00008900},      // 0x30 32-bit TSS, available
        {(0x08u << 16) | kTarget, 0x0000ec01},    // 0x38 32-bit call gate, DPL 3, 1 dword
    };
    std::memcpy(ram + kGdt, gdt, sizeof gdt);
    CpuState& c = m->cpu();
    c.gdtr = TableReg{kGdt, sizeof gdt - 1};
    c.tr = descriptorToSegment(0x28, gdt[5][0], gdt[5][1]);
    c.eip = kCode;
  }
  void code(std::initializer_list<uint8_t> bytes, uint32_t at = kCode) {
    std::copy(bytes.begin(), bytes.end(), ram + at);
  }
  uint32_t get32(uint32_t a) const { uint32_t v; std::memcpy(&v, ram + a, 4); return v; }
  uint16_t get16(uint32_t a) const { uint16_t v; std::memcpy(&v, ram + a, 2); return v; }
  void put16(uint32_t a, uint16_t v) { std::memcpy(ram + a, &v, 2); }
  void put32(uint32_t a, uint32_t v) { std::memcpy(ram + a, &v, 4); }
};

TEST_CASE("call gate from ring 3 takes SS0:SP0 from a 16-bit TSS") {
  RawMachine r;
  r.put16(kTss16 + 2, 0x7000);  // SP0
  r.put16(kTss16 + 4, 0x10);    // SS0
  CpuState& c = r.m->cpu();
  uint32_t user_code = 0x00cffb00 >> 8 & 0xf0ff, user_data = 0x00cff300 >> 8 & 0xf0ff;
  c.seg[CS] = Segment{0x1b, 0, 0xffffffffu, user_code, true};
  for (int s : {SS, DS, ES}) c.seg[s] = Segment{0x23, 0, 0xffffffffu, user_data, true};
  c.cpl = 3;
  c.regs[ESP] = 0x9000;
  // push 0x11223344; call 0x38:0  (then the target, ring 0: hlt)
  r.code({0x68, 0x44, 0x33, 0x22, 0x11, 0x9a, 0, 0, 0, 0, 0x38, 0x00});
  r.code({0xf4}, kTarget);
  RunResult res = r.m->run();
  CHECK(res.kind == ExitKind::Halted);
  CHECK(c.cpl == 0);
  CHECK(c.seg[SS].selector == 0x10);
  CHECK(c.regs[ESP] == 0x7000 - 20);
  CHECK(r.get32(0x7000 - 4) == 0x23);             // old SS
  CHECK(r.get32(0x7000 - 8) == 0x9000 - 4);       // old ESP (after the parameter push)
  CHECK(r.get32(0x7000 - 12) == 0x11223344);      // the parameter, copied
  CHECK(r.get32(0x7000 - 16) == 0x1b);            // CS
  CHECK(r.get32(0x7000 - 20) == kCode + 12);      // EIP after the CALL
}

TEST_CASE("task switch to a task with EFLAGS.VM loads v8086 segments and runs 8086 code") {
  RawMachine r;
  r.put32(kTss32 + 0x20, 0x0100);                  // EIP
  r.put32(kTss32 + 0x24, 0x00020002);              // EFLAGS: VM
  r.put32(kTss32 + 0x38, 0xfffe);                  // ESP
  const uint16_t sels[6] = {0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000};  // ES CS SS DS FS GS
  for (int s = 0; s < 6; ++s) r.put32(kTss32 + 0x48 + 4 * s, sels[s]);
  r.code({0xea, 0, 0, 0, 0, 0x30, 0x00});          // jmp 0x30:0
  // At CS:IP 2000:0100 (linear 0x20100): mov ax, 0x1234; jmp $ (16-bit code).
  const uint8_t v86_code[] = {0xb8, 0x34, 0x12, 0xeb, 0xfe};
  std::memcpy(r.ram + 0x20100, v86_code, sizeof v86_code);
  RunResult res = r.m->run();
  CHECK(res.kind == ExitKind::InsnLimit);
  const CpuState& c = r.m->cpu();
  CHECK((c.regs[EAX] & 0xffff) == 0x1234);
  CHECK(c.eip == 0x0103);
  CHECK(c.tr.selector == 0x30);
  CHECK(c.cpl == 3);
  for (int s = 0; s < 6; ++s) {
    CHECK(c.seg[s].base == uint32_t(sels[s]) << 4);
    CHECK(c.seg[s].limit == 0xffff);
    CHECK(attr::dpl(c.seg[s].attr) == 3);
  }
  CHECK((c.eflags & flag::VM) != 0);
  // The old (16-bit) task: its IP saved, no longer busy after a JMP.
  CHECK(r.get16(kTss16 + 14) == uint16_t(kCode + 7));
  CHECK(((r.get32(kGdt + 0x28 + 4) >> 8) & 0xf) == 1);
  CHECK(((r.get32(kGdt + 0x30 + 4) >> 8) & 0xf) == 0xb);
}

}  // namespace
