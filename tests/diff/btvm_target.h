// The side under test: one case on a fresh btvm::Machine. Exceptions go through a guest IDT whose
// every vector points at its own hlt stub, so the halt address names the vector and the pushed
// frame gives the faulting EIP and EFLAGS; the result is reported exactly as the oracle reports it.
#pragma once
#include "case.h"

namespace diff {

Outcome runBtvm(const CaseInput& in);

}  // namespace diff
