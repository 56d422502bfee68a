// Watched linear ranges (emu/debug/watch_range.h), shared by gdb's watchpoints and the guest's
// data breakpoints: overlap by access kind, and ranges or accesses at the top of the 4 GiB
// linear space, which the guest kernels cannot place.
#include <doctest/doctest.h>

#include "emu/debug/watch_range.h"

using namespace btvm;

TEST_CASE("watch range: overlap and access kind") {
  WatchRange w{0x1004, 4, false, true};  // writes of 0x1004..0x1007
  CHECK(w.hits(0x1004, 4, true));
  CHECK(w.hits(0x1007, 1, true));
  CHECK(w.hits(0x1000, 8, true));
  CHECK(w.hits(0x1003, 2, true));
  CHECK_FALSE(w.hits(0x1003, 1, true));
  CHECK_FALSE(w.hits(0x1008, 4, true));
  CHECK_FALSE(w.hits(0x1004, 4, false));  // a read
  WatchRange rw{0x1004, 2, true, true};
  CHECK(rw.hits(0x1005, 1, false));
  CHECK_FALSE(rw.hits(0x1006, 2, false));
}

TEST_CASE("watch range: pages, and no wrap at 4 GiB") {
  WatchRange top{0xfffffffcu, 4, true, true};
  CHECK(top.hits(0xfffffffeu, 2, false));
  CHECK_FALSE(top.hits(0, 4, false));  // the range ends at 2^32, it does not wrap to 0
  CHECK(top.onPage(0xfffff000u));
  CHECK_FALSE(top.onPage(0));
  WatchRange low{0, 2, true, true};
  CHECK_FALSE(low.hits(0xfffffffcu, 4, false));  // nor does the access
  WatchRange across{0x1ffe, 4, true, true};      // two pages
  CHECK(across.onPage(0x1000));
  CHECK(across.onPage(0x2fff));
  CHECK_FALSE(across.onPage(0x3000));
  CHECK_FALSE(across.onPage(0x0fff));
}
