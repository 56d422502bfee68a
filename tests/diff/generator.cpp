#include "tests/diff/generator.h"

#include <asmjit/x86.h>

#include <stdexcept>

#include "tests/diff/gen_context.h"

namespace diff {
namespace {

using namespace gen;

uint64_t mix(uint64_t seed, uint64_t index, uint64_t stream) {
  Rng r(seed * 0x9E3779B97F4A7C15ull ^ (index + 1) * 0xD1B54A32D192ED03ull ^
        stream * 0xAF251AF3B0F025B5ull);
  return r.next();
}

class ThrowOnError : public ErrorHandler {
  void handleError(Error, const char* message, BaseEmitter*) override {
    throw std::runtime_error(std::string("asmjit: ") + message);
  }
};

}  // namespace

const std::vector<std::string>& classNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const ClassDef& c : classTable()) v.push_back(c.name);
    return v;
  }();
  return names;
}

int classIndex(const std::string& name) {
  for (size_t i = 0; i < classTable().size(); i++)
    if (name == classTable()[i].name) return int(i);
  return -1;
}

Case generate(uint64_t seed, uint64_t index, const std::vector<int>& classes) {
  Rng pick(mix(seed, index, 1));
  const ClassDef& def = classTable()[classes[pick.below(uint32_t(classes.size()))]];
  Rng r(mix(seed, index, 2));

  Case c;
  c.cls = def.name;
  c.seed = seed;
  c.index = index;
  CaseInput& in = c.in;
  for (uint32_t& v : in.init.regs) v = value32(r);
  in.init.eflags = (uint32_t(r.next()) & kArith) | 2;
  in.init.eip = kCode;
  do c.base = int(r.below(8));
  while (!(def.bases >> c.base & 1));
  in.init.regs[c.base] = kDataMid + uint32_t(r.range(-0x100, 0x100));
  // Mostly aligned; sometimes just above a page boundary, so pushes straddle it.
  in.init.regs[ESP] = r.chance(15) ? kStackInit + uint32_t(r.range(1, 3)) : kStackInit - 4 * r.below(64);
  in.data.resize(kDataSize);
  in.stack.resize(kStackSize);
  for (auto* buf : {&in.data, &in.stack})
    for (size_t i = 0; i < buf->size(); i += 8) {
      uint64_t v = r.chance(10) ? value32(r) : r.next();
      for (size_t j = 0; j < 8; j++) (*buf)[i + j] = uint8_t(v >> (8 * j));
    }

  Environment env(Arch::kX86);
  CodeHolder code;
  ThrowOnError eh;
  code.init(env, kCode);
  code.setErrorHandler(&eh);
  x86::Assembler a(&code);
  a.addDiagnosticOptions(DiagnosticOptions::kValidateAssembler);
  static thread_local Disasm dis;
  Gen g(r, a, in, dis);
  g.base = c.base;
  g.writable = uint8_t(0xff & ~(1 << ESP) & ~(1 << c.base));
  if (def.setup) def.setup(g);
  g.units = r.range(1, 6);
  for (g.unit = 0; g.unit < g.units; g.unit++) def.unit(g);
  a.hlt();
  if (code.hasUnresolvedLinks()) throw std::runtime_error("generator: unbound label");
  in.code.assign(a.bufferData(), a.bufferData() + a.offset());
  if (in.code.size() > kCodeMax) throw std::runtime_error("generator: case too long");
  c.expectVector = g.expectVector;
  return c;
}

}  // namespace diff
