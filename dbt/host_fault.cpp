#include "dbt/host_fault.h"

#include <signal.h>
#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace btvm {

namespace {

// The live site tables. Written only by the thread that runs translated code, outside
// translated code; read by the handler, which runs on that thread while translated code runs.
constexpr int kMaxTables = 64;
FaultSites* g_tables[kMaxTables];
struct sigaction g_previous;
std::atomic<uint64_t> g_handled{0};

void restorePrevious() { sigaction(SIGSEGV, &g_previous, nullptr); }

void onSegv(int, siginfo_t*, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  auto* pc = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.gregs[REG_RIP]);
  for (FaultSites* t : g_tables) {
    if (!t) continue;
    if (const uint8_t* resume = t->resumeFor(pc)) {
      uc->uc_mcontext.gregs[REG_RIP] = greg_t(reinterpret_cast<uintptr_t>(resume));
      g_handled.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  // Not translated code's access: a host bug. The fault repeats under the previous handler.
  restorePrevious();
}

}  // namespace

FaultSites::FaultSites(const uint8_t* cache_base, uint64_t cache_size) : base_(cache_base), size_(cache_size) {
  for (FaultSites*& t : g_tables)
    if (!t) {
      t = this;
      return;
    }
}

FaultSites::~FaultSites() {
  for (FaultSites*& t : g_tables)
    if (t == this) t = nullptr;
}

const uint8_t* FaultSites::resumeFor(const uint8_t* pc) const {
  if (pc < base_ || pc >= base_ + size_) return nullptr;
  auto off = uint32_t(pc - base_);
  // The last site that begins at or before pc.
  auto it = std::upper_bound(sites_.begin(), sites_.end(), off,
                             [](uint32_t o, const FaultSite& s) { return o < s.begin; });
  if (it == sites_.begin()) return nullptr;
  --it;
  return off < it->end ? base_ + it->resume : nullptr;
}

void installHostFaultHandler() {
  struct sigaction now;
  sigaction(SIGSEGV, nullptr, &now);
  if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == onSegv) return;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = onSegv;
  sa.sa_flags = SA_SIGINFO;  // not SA_NODEFER: a fault inside the handler is fatal at once
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_previous);
}

uint64_t hostFaultsHandled() { return g_handled.load(std::memory_order_relaxed); }

}  // namespace btvm
