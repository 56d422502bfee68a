// --stats: what the translator, the MMU and the machine did, printed at exit.
#include <fmt/core.h>

#include "dbt/call_stack.h"
#include "dbt/host_fault.h"
#include "emu/debug/snapshot.h"
#include "emu/vm.h"

namespace btvm {

namespace {
const char* const kVectorNames[32] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
                                      "#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM"};
}

void Machine::printStats() const {
  const Impl& vm = *impl_;
  const DbtStats& d = vm.dbt->stats();
  auto ms = [](uint64_t ns) { return double(ns) / 1e6; };
  FILE* o = stderr;
  fmt::print(o, "btvm statistics\n");
  fmt::print(o, "  guest instructions executed   {}\n", vm.executed);
  if (vm.history) printSnapshotStats(*vm.history, o);
  fmt::print(o, "translation\n");
  fmt::print(o, "  blocks translated             {} (+{} one-off)\n", d.blocks, d.one_off_blocks);
  fmt::print(o, "  guest instructions translated {} ({} bytes)\n", d.guest_insns, d.guest_bytes);
  fmt::print(o, "  translation time              {:.3f} ms (decode {:.3f}, emit {:.3f}, install {:.3f})\n",
             ms(d.decode_ns + d.emit_ns + d.install_ns), ms(d.decode_ns), ms(d.emit_ns), ms(d.install_ns));
  if (d.guest_insns)
    fmt::print(o, "  ns per guest instruction      {:.0f}\n", double(d.decode_ns + d.emit_ns + d.install_ns) / double(d.guest_insns));
  fmt::print(o, "  code cache bytes              {} (host bytes per guest byte {:.1f})\n", d.code_bytes,
             d.guest_bytes ? double(d.code_bytes) / double(d.guest_bytes) : 0.0);
  fmt::print(o, "  code cache flushes            {}\n", d.cache_flushes);
  fmt::print(o, "  blocks invalidated (SMC)      {}\n", d.invalidated);
  fmt::print(o, "  block chains made             {}\n", d.chains);
  fmt::print(o, "  jump-cache fills              {}\n", d.jcache_fills);
  fmt::print(o, "  call-stack resets (too deep)  {}\n", callStackResets());
  fmt::print(o, "dispatcher exits\n");
  fmt::print(o, "  direct branch (not chained)   {}\n", vm.stats.exits_block_end);
  fmt::print(o, "  indirect miss / helper / budget {}\n", vm.stats.exits_helper);
  fmt::print(o, "  exception                     {}\n", vm.stats.exits_exception);
  fmt::print(o, "  write to translated code      {}\n", vm.stats.exits_smc);
  fmt::print(o, "  (block-ending helpers gone on in translated code, no exit: {})\n", vm.stats.helper_exits_continued);
  fmt::print(o, "soft TLB\n");
  fmt::print(o, "  hits (inline)                 {}\n", vm.cpu.tlb_hits);
  fmt::print(o, "  misses (slow path fills)      {}\n", vm.mmu.stats.tlb_misses);
  fmt::print(o, "  flushes                       {}\n", vm.mmu.stats.tlb_flushes);
  fmt::print(o, "  page walks                    {}\n", vm.mmu.stats.page_walks);
  const ShadowStats& sh = vm.mmu.shadowStats();
  fmt::print(o, "shadow page tables\n");
  fmt::print(o, "  hidden faults (VMM resolved)  {}\n", vm.mmu.stats.hidden_faults);
  fmt::print(o, "  true faults (guest #PF)       {}\n", vm.mmu.stats.true_faults);
  fmt::print(o, "  answered from shadow tables   {}\n", sh.hits);
  fmt::print(o, "  entries filled by walks       {}\n", sh.fills);
  fmt::print(o, "  contexts created / reused / evicted  {} / {} / {}\n", sh.contexts_created, sh.contexts_reused,
             sh.contexts_evicted);
  fmt::print(o, "  page-table writes trapped     {}\n", sh.table_writes);
  fmt::print(o, "  shadow entries invalidated    {}\n", sh.invalidated);
  fmt::print(o, "  PT writes kept / updated in place  {} / {}\n", sh.writes_kept, sh.updated);
  fmt::print(o, "  INVLPG kept / #PF retries prefilled  {} / {}\n", sh.invlpg_kept, sh.prefilled);
  fmt::print(o, "  table pages unwatched (flooded) {}\n", sh.unshadowed);
  if (vm.host_mmu) {
    const HostMmuStats& h = vm.host_mmu->stats;
    fmt::print(o, "host MMU (--mmu host)\n");
    fmt::print(o, "  host faults to the slow path  {}\n", hostFaultsHandled());
    fmt::print(o, "  sites sent to the soft TLB    {}\n", hostSitesSentToSoft());
    fmt::print(o, "  pages mapped / unmapped       {} / {}\n", h.pages_mapped, h.pages_unmapped);
    fmt::print(o, "  pages remapped in place       {}\n", h.pages_remapped);
    fmt::print(o, "  pages left to the soft TLB    {}\n", h.pages_churning);
    fmt::print(o, "  syscalls mmap / unmap / mprotect  {} / {} / {}\n", h.mmap_calls, h.unmap_calls,
               h.mprotect_calls);
    fmt::print(o, "  spaces reserved / cleared     {} / {}\n", h.spaces_reserved, h.spaces_cleared);
    fmt::print(o, "  map-count resets / failures   {} / {}\n", h.budget_resets, h.map_failures);
  }
  const RealMemoryStats& rm = vm.mem.stats();
  fmt::print(o, "real memory\n");
  fmt::print(o, "  pages backed / evicted / brought back  {} / {} / {}\n", rm.pages_backed, rm.pages_evicted,
             rm.pages_restored);
  fmt::print(o, "sensitive and privileged instructions (--mode {})\n", modeName(vm.config.mode));
  for (int k = 0; k < 2; ++k)
    for (Handling h : {Handling::Translated, Handling::Trapped, Handling::Patched, Handling::Missed})
      if (vm.stats.sensitive[k][size_t(h)])
        fmt::print(o, "  {:<10} {:<10}         {}\n", k == 0 ? "privileged" : "sensitive", handlingName(h),
                   vm.stats.sensitive[k][size_t(h)]);
  fmt::print(o, "  traps taken                   {}\n", vm.stats.traps);
  if (vm.stats.traps)
    fmt::print(o, "  time emulating traps          {:.3f} ms ({:.0f} ns per trap)\n", double(vm.stats.trap_ns) / 1e6,
               double(vm.stats.trap_ns) / double(vm.stats.traps));
  fmt::print(o, "exceptions and interrupts delivered\n");
  bool any = false;
  for (int v = 0; v < 256; ++v) {
    if (!vm.stats.exceptions[v]) continue;
    any = true;
    fmt::print(o, "  vector {:3} {:4}               {}\n", v, v < 32 && kVectorNames[v] ? kVectorNames[v] : "", vm.stats.exceptions[v]);
  }
  if (!any) fmt::print(o, "  none\n");
  fmt::print(o, "unimplemented instructions (raised #UD)\n");
  if (vm.stats.unimplemented_ud.empty()) fmt::print(o, "  none\n");
  for (const auto& [name, n] : vm.stats.unimplemented_ud) fmt::print(o, "  {:28}  {}\n", name, n);
  fmt::print(o, "devices\n");
  fmt::print(o, "  serial bytes written / read   {} / {}\n", vm.platform.uart.bytesTransmitted(),
             vm.platform.uart.bytesReceived());
  fmt::print(o, "  unassigned port accesses      {}\n", vm.stats.unassigned_io);
  fmt::print(o, "  unassigned memory (reads all-ones, writes dropped){}\n", vm.stats.unassigned_mem.empty() ? ": none" : "");
  for (const auto& [region, u] : vm.stats.unassigned_mem)
    fmt::print(o, "    {:#010x}-{:#010x}       {} reads, {} writes\n", uint64_t(region) << 16,
               (uint64_t(region) << 16) + 0xffff, u.reads, u.writes);
  const PcPlatform& pc = vm.platform;
  fmt::print(o, "  timer (PIT) / RTC interrupts raised  {} / {}\n", pc.pit.irqsRaised(), pc.rtc.irqsRaised());
  std::string irqs;
  for (unsigned irq = 0; irq < 16; ++irq)
    if (uint64_t n = pc.pic.delivered(irq)) irqs += fmt::format(" IRQ{}={}", irq, n);
  fmt::print(o, "  interrupts delivered by line {}{}\n", irqs.empty() ? " none" : irqs,
             pc.pic.spurious() ? fmt::format(" (+{} spurious)", pc.pic.spurious()) : "");
  fmt::print(o, "  HLT wake-ups / virtual time idle  {} / {:.3f} ms\n", vm.idle_wakeups, double(vm.idle_ns) / 1e6);
  fmt::print(o, "  virtual time                  {:.3f} ms\n", double(vm.executed + vm.idle_ns) / 1e6);
}

}  // namespace btvm
