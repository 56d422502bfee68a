/* gdb: the guest that tests/gdb drives through btvm's gdb stub. Each thing below gives gdb
 * something to do and prints what the guest saw, so the test can check both sides:
 * - gdb_counter is written in a loop (a write watchpoint stops at the first store);
 * - gdb_patch is written by gdb before the guest prints it;
 * - gdb_probe returns 7 in EAX unless gdb sets EAX at gdb_probe_ret;
 * - the guest reads its own code under a breakpoint (it must not see an INT3);
 * - gdb_spin keeps the guest busy until gdb clears it (Ctrl-C from gdb). */
#include "guest.h"

volatile uint32_t gdb_counter;
volatile uint32_t gdb_patch = 1111;
volatile uint32_t gdb_spin;
volatile uint32_t gdb_spins;

uint32_t gdb_probe(void); /* gdb_asm.asm */

void kmain(uint32_t magic, uint32_t mbi) {
    (void)magic;
    (void)mbi;
    for (int i = 0; i < 5; i++) gdb_counter = gdb_counter + 3;
    printf_s("counter %u\n", gdb_counter);
    printf_s("patch %u\n", gdb_patch);
    check_eq("code under a breakpoint", *(volatile uint8_t *)gdb_probe, 0xb8); /* MOV EAX, imm32 */
    printf_s("probe %u\n", gdb_probe());
    while (gdb_spin) gdb_spins++;
    printf_s("spun %s\n", gdb_spins ? "yes" : "no");
    finish("gdb");
}
