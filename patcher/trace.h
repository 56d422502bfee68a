// Traces of sensitive and privileged instructions: one JSON object per line, one line per
// instruction executed, identical from run to run for a deterministic guest. Schema (README):
//   {"seq":N,"eip":"0x...","cpl":V,"real_cpl":R,"bytes":"9c","mnemonic":"pushfd",
//    "class":"sensitive","handling":"missed","state":"IF=1->0 mem[0x...]<-0x..."}
// and the trace diff that aligns two traces and reports where they part.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "patcher/modes.h"

namespace btvm {

struct TraceEvent {
  uint64_t seq;
  uint32_t eip;
  uint8_t cpl;        // the guest's (virtual) CPL
  uint8_t real_cpl;   // the CPL the instruction really ran at
  std::string bytes;  // hex
  std::string mnemonic;
  const char* cls;    // "privileged" or "sensitive"
  Handling handling;
  std::string state;  // virtual state read or changed, e.g. "IF=1->0"
};

class TraceWriter {
 public:
  explicit TraceWriter(const std::string& path);  // throws std::runtime_error
  ~TraceWriter();
  void write(const TraceEvent& e);

 private:
  std::FILE* f_;
};

// Compares two traces: prints the first divergence with context, then a table by mnemonic.
// Returns 0 when equivalent, 1 when they differ, 2 when a file cannot be read.
int traceDiff(const std::string& a, const std::string& b, std::FILE* out);

}  // namespace btvm
