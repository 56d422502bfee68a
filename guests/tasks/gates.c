/* Call gates (SDM vol. 3 5.8.3-5.8.6), conforming code segments (5.8.1.2) and far RET to an
 * outer privilege level (5.8.6, vol. 2 RET). */
#include "tasks.h"

#define SEL_KCS_PRESENT 0x9A
#define CONF_CODE 0x9E /* present, code, conforming, readable */
#define CALL_GATE32 0x8C
#define CALL_GATE16 0x84

static void setup(void) {
    gate_put(&big_gdt[SEL_GATE32 >> 3], KERNEL_CS, (uint32_t)gate32_target, 0x80 | GDT_DPL(3) | 0x0C, 3);
    gate_put(&big_gdt[SEL_GATE16 >> 3], SEL_G16CS, 0, 0x80 | GDT_DPL(3) | 0x04, 2);
    gdt_put(SEL_G16CS, (uint32_t)gate16_target, 0xFFF, GDT_CODE_RX, GDT_FLAGS_32_BYTE);
    gdt_put(SEL_CONF0, 0, 0xFFFFF, CONF_CODE, GDT_FLAGS_32_4K);
    gdt_put(SEL_CONF3, 0, 0xFFFFF, CONF_CODE | GDT_DPL(3), GDT_FLAGS_32_4K);
    gate_put(&big_gdt[SEL_GATE_D0 >> 3], KERNEL_CS, (uint32_t)gate32_target, 0x80 | 0x0C, 3);
    gate_put(&big_gdt[SEL_GATE_NP >> 3], KERNEL_CS, (uint32_t)gate32_target, GDT_DPL(3) | 0x0C, 3);
    gate_put(&big_gdt[SEL_GATE_NPCS >> 3], SEL_NPCODE, 0, 0x80 | GDT_DPL(3) | 0x0C, 0);
    gdt_put(SEL_NPCODE, 0, 0xFFFFF, GDT_CODE_RX & 0x7F, GDT_FLAGS_32_4K);
    gate_put(&big_gdt[SEL_GATE_DATA >> 3], KERNEL_DS, 0, 0x80 | GDT_DPL(3) | 0x0C, 0);
    gate_put(&big_gdt[SEL_GATE_NULL >> 3], 0, 0, 0x80 | GDT_DPL(3) | 0x0C, 0);
    gdt_put(SEL_R1CS, 0, 0xFFFFF, GDT_CODE_RX | GDT_DPL(1), GDT_FLAGS_32_4K);
    gate_put(&big_gdt[SEL_GATE_R1 >> 3], SEL_R1CS | 1, (uint32_t)r1_target, 0x80 | GDT_DPL(3) | 0x0C, 0);
    gate_put(&big_gdt[SEL_GATE_CONF >> 3], SEL_CONF0, (uint32_t)conf_target, 0x80 | GDT_DPL(3) | 0x0C, 0);
    gdt_put(SEL_U16SS, (uint32_t)0, 0, 0, 0); /* set per test */
    gdt_put(SEL_U3CODE, (uint32_t)r3_g16_seg, 0xFFF, GDT_CODE_RX | GDT_DPL(3), GDT_FLAGS_32_BYTE);
    tss[T_SS1] = KERNEL_DS; /* DPL 0: unusable as the ring-1 stack (#TS) */
    tss[T_ESP1] = 0x1000;
}

static uint8_t u16stack[4096] __attribute__((aligned(16)));

static void gate32_from_ring3(void) {
    memset((void *)g_frame, 0, sizeof g_frame);
    uint32_t r = run_user(r3_gate32);
    expect_eq("gate32 ring 3: returned", r, 0);
    /* The stack switch: SS0:ESP0 of the TSS (ring3_run sets ESP0), 7 dwords pushed. */
    expect_eq("gate32 ring 3: target CS", g_cs & 0xFFFF, KERNEL_CS);
    expect_eq("gate32 ring 3: inner SS from TSS.SS0", g_ss & 0xFFFF, KERNEL_DS);
    expect_eq("gate32 ring 3: inner ESP = ESP0 - 28", g_esp, tss[T_ESP0] - 28);
    expect_eq("gate32 ring 3: pushed EIP", g_frame[0], (uint32_t)r3_gate32_ret);
    expect_eq("gate32 ring 3: pushed CS", g_frame[1] & 0xFFFF, USER_CS);
    expect_eq("gate32 ring 3: parameter 1 copied", g_frame[2], 0x11111111);
    expect_eq("gate32 ring 3: parameter 2 copied", g_frame[3], 0x22222222);
    expect_eq("gate32 ring 3: parameter 3 copied", g_frame[4], 0x33333333);
    expect_eq("gate32 ring 3: pushed ESP", g_frame[5], r3_esp_before - 12);
    expect_eq("gate32 ring 3: pushed SS", g_frame[6] & 0xFFFF, USER_DS);
    /* RETF 12 to ring 3: the outer SS:ESP back, the parameters released on it too. */
    expect_eq("retf outward: ESP restored past the parameters", r3_esp_after, r3_esp_before);
    expect_eq("retf outward: CS", r3_cs & 0xFFFF, USER_CS);
    expect_eq("retf outward: DS (DPL 0 data) made null", r3_ds & 0xFFFF, 0);
    expect_eq("retf outward: ES (DPL 0 data) made null", r3_es & 0xFFFF, 0);
    expect_eq("retf outward: FS (DPL 3 data) kept", r3_fs & 0xFFFF, USER_DS);
}

static void gate16_from_ring3(void) {
    gdt_put(SEL_U16SS & ~3, (uint32_t)u16stack, sizeof u16stack - 1, GDT_DATA_RW | GDT_DPL(3), 0);
    memset((void *)g_frame, 0, sizeof g_frame);
    uint32_t r = run_user(r3_gate16);
    expect_eq("gate16 ring 3: returned", r, 0);
    expect_eq("gate16 ring 3: target CS", g_cs & 0xFFFF, SEL_G16CS);
    expect_eq("gate16 ring 3: inner SS", g_ss & 0xFFFF, KERNEL_DS);
    expect_eq("gate16 ring 3: inner ESP = ESP0 - 12", g_esp, tss[T_ESP0] - 12);
    expect_eq("gate16 ring 3: pushed IP", g_frame[0], (uint32_t)(r3_g16_ret - r3_g16_seg));
    expect_eq("gate16 ring 3: pushed CS", g_frame[1], SEL_U3CODE);
    expect_eq("gate16 ring 3: word parameter 1", g_frame[2], 0x1111);
    expect_eq("gate16 ring 3: word parameter 2", g_frame[3], 0x2222);
    expect_eq("gate16 ring 3: pushed SP", g_frame[4], 0xFEC);
    expect_eq("gate16 ring 3: pushed SS", g_frame[5], SEL_U16SS);
    expect_eq("retf16 outward: SP past the parameters", r3_esp_after & 0xFFFF, 0xFF0);
    expect_eq("retf16 outward: CS", r3_cs & 0xFFFF, SEL_U3CODE);
}

static void conforming(void) {
    conf_cs = 0;
    expect_eq("conforming direct: returned", run_user(r3_conf_direct), 0);
    expect_eq("conforming direct: CS.RPL = CPL 3", conf_cs & 0xFFFF, SEL_CONF0 | 3);
    expect_eq("conforming direct: back in", r3_cs & 0xFFFF, USER_CS);
    conf_cs = 0;
    expect_eq("conforming via gate: returned", run_user(r3_conf_gate), 0);
    const char *gap = qemu_gap("QEMU TCG keeps the gate's selector RPL in CS, not CPL, through a call gate");
    expect_eq("conforming via gate: CS.RPL = CPL 3", conf_cs & 0xFFFF, SEL_CONF0 | 3);
    conf_cs = 0;
    r3_cs = 0;
    expect_eq("jmp via gate to conforming: returned", run_user(r3_conf_jmp), 0);
    expect_eq("jmp via gate to conforming: CS.RPL = CPL 3", conf_cs & 0xFFFF, SEL_CONF0 | 3);
    qemu_gap(gap);
    expect_eq("jmp via gate to conforming: back through RETF", r3_cs & 0xFFFF, USER_CS);
}

/* A far CALL (or JMP) from ring 3 through r3_far_ptr that must fault. */
static void user_far(const char *name, int jmp, uint16_t sel, uint32_t vector, uint32_t err) {
    r3_far_ptr[0] = 0;
    r3_far_ptr[1] = sel;
    uint32_t r = run_user(jmp ? (void *)r3_far_jmp : (void *)r3_far);
    expect_eq(cat(name, "aborted"), r, ABORTED);
    expect_user_fault(name, vector, err);
}

static void gate_errors(void) {
    user_far("gate DPL 0 < CPL", 0, SEL_GATE_D0, 13, SEL_GATE_D0);
    user_far("gate not present", 0, SEL_GATE_NP, 11, SEL_GATE_NP);
    user_far("gate to code not present", 0, SEL_GATE_NPCS, 11, SEL_NPCODE);
    user_far("gate to data", 0, SEL_GATE_DATA, 13, KERNEL_DS);
    user_far("gate to null", 0, SEL_GATE_NULL, 13, 0);
    user_far("gate inward, TSS.SS1 DPL 0", 0, SEL_GATE_R1, 10, KERNEL_DS);
    user_far("jmp through gate inward", 1, SEL_GATE32, 13, KERNEL_CS);
    user_far("call to DPL-0 code", 0, KERNEL_CS, 13, KERNEL_CS);
    user_far("call to TSS DPL 0", 0, SEL_TSS_B, 13, SEL_TSS_B);
    user_far("call to task gate DPL 0", 0, SEL_TGATE_B, 13, SEL_TGATE_B);
}

static void ring0_calls(void) {
    /* Through a gate at the same level: no stack switch, only EIP and CS pushed. */
    memset((void *)g_frame, 0, sizeof g_frame);
    r3_gate32();
    __asm__ volatile("mov %0, %%ds\n\tmov %0, %%es" ::"r"(KERNEL_DS));
    expect_eq("gate32 ring 0: same stack", g_ss & 0xFFFF, KERNEL_DS);
    expect_eq("gate32 ring 0: ESP = caller's - 12 - 8", g_esp, r3_esp_before - 20);
    expect_eq("gate32 ring 0: pushed CS", g_frame[1] & 0xFFFF, KERNEL_CS);
    expect_eq("gate32 ring 0: parameter on the same stack", g_frame[2], 0x11111111);
    expect_eq("gate32 ring 0: RETF 12 releases them", r3_esp_after, r3_esp_before);
    expect_eq("gate32 ring 0: DS kept at the same level", r3_ds & 0xFFFF, KERNEL_DS);
    /* Conforming code of DPL 3 is out of reach of CPL 0 (DPL > CPL). */
    trap_arm();
    __asm__ volatile(TRY("lcall $" STR(SEL_CONF3) ", $conf_target") ::: "memory");
    expect_kernel_fault("call conforming DPL 3 from CPL 0", 13, SEL_CONF3);
}

void gates_tests(void) {
    setup();
    if (deprivileged) {
        printf_s("SKIP call gates and far RET across rings (deprivileged kernel)\n");
        return;
    }
    gate32_from_ring3();
    gate16_from_ring3();
    conforming();
    gate_errors();
    ring0_calls();
}
