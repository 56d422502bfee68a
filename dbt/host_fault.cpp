#include "dbt/host_fault.h"

#include "dbt/call_stack.h"

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
std::atomic<uint64_t> g_handled{0}, g_sent{0};
const uint8_t* g_soft_request = nullptr;  // takeSoftRequest
// The site of the last fault, until its slow path reports (an index: the table may grow).
FaultSites* g_last_table = nullptr;
size_t g_last_index = 0;

struct sigaction g_previous_fpe;
void restorePrevious() { sigaction(SIGSEGV, &g_previous, nullptr); }

// An inline DIV/IDIV's #DE (dbt/emit_divide.cpp): on to the helper's path after it. Any other
// SIGFPE (an x87 exception, a division elsewhere) is a host bug and repeats under the previous
// handler.
void onFpe(int, siginfo_t* si, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  auto* pc = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.gregs[REG_RIP]);
  if (si->si_code == FPE_INTDIV || si->si_code == FPE_INTOVF)
    for (FaultSites* t : g_tables)
      if (FaultSite* site = t ? t->siteAt(pc) : nullptr) {
        uc->uc_mcontext.gregs[REG_RIP] = greg_t(reinterpret_cast<uintptr_t>(t->base() + site->resume));
        return;
      }
  sigaction(SIGFPE, &g_previous_fpe, nullptr);
}

void onSegv(int, siginfo_t* si, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  auto* pc = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.gregs[REG_RIP]);
  for (FaultSites* t : g_tables) {
    if (!t) continue;
    // A CALL's probe reached the guard of translated code's stack (dbt/call_stack.h): drop the
    // pending predictions and run the probe again from the stack's base.
    if (t->holds(pc) && inCallStackGuard(reinterpret_cast<uint64_t>(si->si_addr)) && isCallStackProbe(pc)) {
      uc->uc_mcontext.gregs[REG_RSP] = greg_t(callStackBase());
      noteCallStackReset();
      return;
    }
    if (FaultSite* site = t->siteAt(pc)) {
      auto* base = const_cast<uint8_t*>(t->base());
      uc->uc_mcontext.gregs[REG_RIP] = greg_t(reinterpret_cast<uintptr_t>(base + site->resume));
      g_handled.fetch_add(1, std::memory_order_relaxed);
      if (g_last_table) g_last_table->noteUnresolved(g_last_index);  // it never reported
      g_last_table = t;
      g_last_index = t->indexOf(site);
      // Outside the 4 GiB at R15 (the view's base): an access whose last bytes wrap past
      // 4 GiB, in the guard after the view. No mapping can resolve that.
      auto addr = reinterpret_cast<uint64_t>(si->si_addr), view = uint64_t(uc->uc_mcontext.gregs[REG_R15]);
      if (addr - view >= (uint64_t(1) << 32)) {
        t->noteUnresolved(g_last_index);
        g_last_table = nullptr;
      }
      if (site->access && !site->sent && site->unresolved >= kSoftAfter) {
        site->sent = true;
        g_soft_request = base + site->begin;
        g_last_table = nullptr;
        g_sent.fetch_add(1, std::memory_order_relaxed);
      }
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
  if (g_last_table == this) g_last_table = nullptr;
  for (FaultSites*& t : g_tables)
    if (t == this) t = nullptr;
}

FaultSite* FaultSites::siteAt(const uint8_t* pc) {
  if (pc < base_ || pc >= base_ + size_) return nullptr;
  auto off = uint32_t(pc - base_);
  // The last site that begins at or before pc.
  auto it = std::upper_bound(sites_.begin(), sites_.end(), off,
                             [](uint32_t o, const FaultSite& s) { return o < s.begin; });
  if (it == sites_.begin()) return nullptr;
  --it;
  return off < it->end ? &*it : nullptr;
}

namespace {

void install(int sig, void (*handler)(int, siginfo_t*, void*), struct sigaction* previous) {
  struct sigaction now;
  sigaction(sig, nullptr, &now);
  if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == handler) return;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;  // not SA_NODEFER: a fault inside the handler is fatal at once
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, previous);
}

}  // namespace

void installHostFaultHandler() {
  install(SIGSEGV, onSegv, &g_previous);
  install(SIGFPE, onFpe, &g_previous_fpe);
}

void hostFaultResolved() { g_last_table = nullptr; }

void FaultSites::clear() {
  sites_.clear();
  if (g_last_table == this) g_last_table = nullptr;
}

uint64_t hostFaultsHandled() { return g_handled.load(std::memory_order_relaxed); }
uint64_t hostSitesSentToSoft() { return g_sent.load(std::memory_order_relaxed); }

const uint8_t* takeSoftRequest() {
  const uint8_t* at = g_soft_request;
  g_soft_request = nullptr;
  return at;
}

}  // namespace btvm
