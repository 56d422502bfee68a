// The host fault handler of --mmu host (mmu/host_mmu.h): translated code reaches guest memory as
// [host_base + linear], and a page its address space has not mapped (or not mapped writable)
// raises SIGSEGV. Each such access is a *fault site*: the host code of its op and the slow path
// that the soft TLB would have taken. The handler finds the faulting instruction among the sites
// and resumes at the site's slow path by rewriting the saved RIP; guest registers (in host
// registers) and flags (in RFLAGS) are exactly as before the access, because a faulting
// instruction changes nothing. Everything else happens in the slow path, outside the signal
// handler: the guest page walk, hidden faults (the page gets mapped), true #PF (raised
// precisely, through the helpers' longjmp), watched and MMIO writes, page crossings.
// The same handler resets translated code's stack when a CALL's probe hits its guard
// (dbt/call_stack.h). A SIGSEGV anywhere else is a host bug: the previous handler is put back
// and the fault repeats under it (a crash report, never swallowed). An inline 32-bit DIV/IDIV
// (dbt/emit_divide.cpp) is a site too, for SIGFPE: its host #DE resumes at the helper's path,
// which raises the guest's #DE; under either --mmu.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace btvm {

// Offsets from the start of the code cache.
struct FaultSite {
  uint32_t begin, end;  // the op's host instructions
  uint32_t resume;      // its slow path (or a stub that undoes a register swap, then it)
  bool access = false;  // a guest access (not a block entry's budget load or a division)
  // Faults that did not end with the page mapped for that access (true #PF, watched writes,
  // MMIO, page crossings). At kSoftAfter the site is sent to the soft TLB (takeSoftRequest).
  uint32_t unresolved = 0;
  bool sent = false;
};
// A site that faults this often without a mapping to show for it is sent to the soft TLB: its
// block is translated again with that instruction's accesses through the soft-TLB probe, so
// that it costs what --mmu soft costs instead of a host signal each time.
constexpr uint32_t kSoftAfter = 16;

// One code cache's sites, kept sorted by `begin` (the cache is bump-allocated, so sites are
// appended in address order; a flush truncates). Registered for the handler while it lives.
class FaultSites {
 public:
  FaultSites(const uint8_t* cache_base, uint64_t cache_size);
  ~FaultSites();
  FaultSites(const FaultSites&) = delete;
  FaultSites& operator=(const FaultSites&) = delete;

  void add(const FaultSite& s) { sites_.push_back(s); }
  void clear();
  // The site whose op holds host address `pc`, or nullptr.
  FaultSite* siteAt(const uint8_t* pc);
  const uint8_t* base() const { return base_; }
  bool holds(const uint8_t* pc) const { return pc >= base_ && pc < base_ + size_; }
  size_t indexOf(const FaultSite* s) const { return size_t(s - sites_.data()); }
  void noteUnresolved(size_t i) {
    if (i < sites_.size() && sites_[i].unresolved < kSoftAfter) ++sites_[i].unresolved;
  }
  size_t size() const { return sites_.size(); }

 private:
  const uint8_t* base_;
  uint64_t size_;
  std::vector<FaultSite> sites_;
};

// Installs the SIGSEGV handler if it is not the current one (another handler, e.g. the
// console's, may have been installed since); the one it replaces is kept for foreign faults.
void installHostFaultHandler();
// The slow path of the last fault mapped the page for its access (a hidden fault): it does
// not count towards sending the site to the soft TLB.
void hostFaultResolved();
// The host code address of a site that has just reached kSoftAfter, once (then null): the
// slow path it faulted into asks the translator to send it to the soft TLB
// (Dbt::sendToSoftTlb), outside the signal handler.
const uint8_t* takeSoftRequest();
// Faults sent to a slow path since start, and sites sent to the soft TLB (--stats).
uint64_t hostFaultsHandled();
uint64_t hostSitesSentToSoft();

}  // namespace btvm
