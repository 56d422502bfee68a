// Seeded random test cases, one instruction class per case. A case is fully determined by
// (seed, index, class list): the class is drawn from its own stream, the contents from another, so
// `--class NAME` replays a case that was drawn from a longer list.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "case.h"

namespace diff {

struct Case {
  std::string cls;
  uint64_t seed = 0, index = 0;
  CaseInput in;
  int base = -1;             // register holding the data-area pointer (never written by the case)
  int expectVector = -1;     // the exception the case must end with (-1: none, it reaches the hlt)
};

const std::vector<std::string>& classNames();
int classIndex(const std::string& name);  // -1 if unknown

Case generate(uint64_t seed, uint64_t index, const std::vector<int>& classes);

}  // namespace diff
