// The three virtualization modes and what each does with a privileged or sensitive instruction.
//
//   mode       privileged            the sensitive-but-unprivileged ones
//   trap       trapped (full exit)   missed: they run with the semantics a deprivileged kernel
//                                    gets from real hardware (real CPL 3, the VMM's tables, real IF)
//   patch      trapped               patched into traps at translation time, emulated correctly
//   translate  translated: an inline call to the VMM helper, no exit from translated code
#pragma once
#include <cstdint>

#include "patcher/insn_table.h"

namespace btvm {

enum class VirtMode : uint8_t { Trap, Patch, Translate };

enum class Handling : uint8_t { None, Translated, Trapped, Patched, Missed };

// How `row` is handled in `mode` (None for instructions that are neither privileged nor sensitive).
inline Handling handlingFor(VirtMode mode, const InsnRow& row) {
  bool priv = row.cls & cls::kPrivileged, sens = row.cls & cls::kSensitive;
  if (!priv && !sens) return Handling::None;
  switch (mode) {
    case VirtMode::Translate: return Handling::Translated;
    case VirtMode::Patch: return priv ? Handling::Trapped : Handling::Patched;
    case VirtMode::Trap: return priv ? Handling::Trapped : Handling::Missed;
  }
  return Handling::None;
}

const char* handlingName(Handling h);
const char* modeName(VirtMode m);

}  // namespace btvm
