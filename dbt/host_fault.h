// The host fault handler of --mmu host (mmu/host_mmu.h): translated code reaches guest memory as
// [host_base + linear], and a page its address space has not mapped (or not mapped writable)
// raises SIGSEGV. Each such access is a *fault site*: the host code of its op and the slow path
// that the soft TLB would have taken. The handler finds the faulting instruction among the sites
// and resumes at the site's slow path by rewriting the saved RIP; guest registers (in host
// registers) and flags (in RFLAGS) are exactly as before the access, because a faulting
// instruction changes nothing. Everything else happens in the slow path, outside the signal
// handler: the guest page walk, hidden faults (the page gets mapped), true #PF (raised
// precisely, through the helpers' longjmp), watched and MMIO writes, page crossings.
// A SIGSEGV anywhere else is a host bug: the previous handler is put back and the fault repeats
// under it (a crash report, never swallowed).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace btvm {

// Offsets from the start of the code cache.
struct FaultSite {
  uint32_t begin, end;  // the op's host instructions
  uint32_t resume;      // its slow path (or a stub that undoes a register swap, then it)
};

// One code cache's sites, kept sorted by `begin` (the cache is bump-allocated, so sites are
// appended in address order; a flush truncates). Registered for the handler while it lives.
class FaultSites {
 public:
  FaultSites(const uint8_t* cache_base, uint64_t cache_size);
  ~FaultSites();
  FaultSites(const FaultSites&) = delete;
  FaultSites& operator=(const FaultSites&) = delete;

  void add(const FaultSite& s) { sites_.push_back(s); }
  void clear() { sites_.clear(); }
  // Where a fault at host address `pc` resumes, or nullptr if `pc` is in no site.
  const uint8_t* resumeFor(const uint8_t* pc) const;
  size_t size() const { return sites_.size(); }

 private:
  const uint8_t* base_;
  uint64_t size_;
  std::vector<FaultSite> sites_;
};

// Installs the SIGSEGV handler if it is not the current one (another handler, e.g. the
// console's, may have been installed since); the one it replaces is kept for foreign faults.
void installHostFaultHandler();
// Faults sent to a slow path since start (--stats).
uint64_t hostFaultsHandled();

}  // namespace btvm
