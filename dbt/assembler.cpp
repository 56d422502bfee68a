#include "dbt/assembler.h"

namespace btvm {

using namespace asmjit;

void initAssembler(CodeHolder& code, x86::Assembler& a, AsmErrorHandler& eh, uint64_t base) {
  code.init(Environment(Arch::kX64), base);
  code.setErrorHandler(&eh);
  code.attach(&a);
#ifdef BTVM_VALIDATE_ASM
  a.addDiagnosticOptions(DiagnosticOptions::kValidateAssembler);
#endif
}

uint8_t* installCode(CodeHolder& code, CodeCache& cache, size_t* size_out) {
  code.flatten();
  code.resolveUnresolvedLinks();
  size_t size = code.codeSize();
  uint8_t* dst = cache.allocate(size);
  if (!dst) return nullptr;
  // Assembled for this very address (CodeCache::next()), nothing is left to relocate.
  if (!code.hasBaseAddress() || code.baseAddress() != reinterpret_cast<uint64_t>(dst) || !code.relocEntries().empty())
    code.relocateToBase(reinterpret_cast<uint64_t>(dst));
  size = code.codeSize();
  code.copyFlattenedData(dst, size, CopySectionFlags::kPadSectionBuffer);
  if (size_out) *size_out = size;
  return dst;
}

}  // namespace btvm
