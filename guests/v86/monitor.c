/* The v8086 monitor of the v86 guest: see monitor.h. */
#include "monitor.h"

extern uint8_t v86_blob[], v86_blob_end[];
void v86_run(struct v86_regs *r); /* v86_code.asm */
void v86_resume(void);

volatile struct v86_trap v86_log[V86_TRAPS];
uint32_t *v86_esp0 = &tss[1];
volatile uint32_t v86_traps, v86_exit_eflags, v86_vif, v86_emulated;
struct v86_regs v86_out;
int (*volatile v86_hook)(struct v86_frame *f);
static volatile int ended_by_hlt;

uint16_t v86_off(const void *label) { return (uint16_t)((uint32_t)label - (uint32_t)v86_blob); }

static inline uint16_t read_fs(void) { uint16_t v; __asm__ volatile("mov %%fs, %0" : "=r"(v)); return v; }
static inline uint16_t read_gs(void) { uint16_t v; __asm__ volatile("mov %%gs, %0" : "=r"(v)); return v; }

static uint8_t *linear(uint32_t seg, uint32_t off) { return (uint8_t *)((seg & 0xFFFF) * 16 + (off & 0xFFFF)); }

/* Back to v86_go's caller: the IRET goes to v86_resume at ring 0 (VM = 0 in the frame). */
static void leave_v86(struct v86_frame *f) {
    struct trap_frame *t = &f->t;
    v86_out = (struct v86_regs){t->eax, t->ecx, t->edx, t->ebx, t->user_esp, t->ebp, t->esi, t->edi,
                                t->eip, t->eflags, t->cs & 0xFFFF, t->user_ss & 0xFFFF,
                                f->ds & 0xFFFF, f->es & 0xFFFF, f->fs & 0xFFFF, f->gs & 0xFFFF};
    v86_exit_eflags = t->eflags;
    t->eip = (uint32_t)v86_resume;
    t->cs = KERNEL_CS;
    t->eflags = 0x2;
}

static void v86_trap_handler(struct trap_frame *t) {
    struct v86_frame *f = (struct v86_frame *)t;
    uint16_t fs = read_fs(), gs = read_gs();
    if (!(t->eflags & FL_VM)) {
        printf_s("FAIL: trap %u at %08x not from v8086 mode\n", t->vector, t->eip);
        guest_exit(0x11);
    }
    if (t->vector == 13 && *linear(t->cs, t->eip) == 0xF4) { /* the program's HLT */
        ended_by_hlt = 1;
        leave_v86(f);
        return;
    }
    uint32_t n = v86_traps++;
    if (n >= 32) {
        printf_s("FAIL: runaway trap %u at %04x:%04x\n", t->vector, t->cs, t->eip);
        guest_exit(0x11);
    }
    volatile struct v86_trap *r = &v86_log[n < V86_TRAPS ? n : V86_TRAPS - 1];
    *r = (struct v86_trap){t->vector, t->error_code, t->eip, t->cs & 0xFFFF, t->eflags, t->user_esp,
                           t->user_ss & 0xFFFF, f->es & 0xFFFF, f->ds & 0xFFFF, f->fs & 0xFFFF, f->gs & 0xFFFF,
                           t->ds & 0xFFFF, t->es & 0xFFFF, fs, gs, read_eflags() & FL_IF,
                           (uint32_t)(&f->gs + 1), read_cr2()};
    if (!(v86_hook && v86_hook(f)))
        leave_v86(f);
}

int v86_go(const void *prog, uint32_t eflags, uint16_t ds, uint16_t es, uint16_t fs, uint16_t gs,
           const struct v86_regs *in) {
    struct v86_regs r = in ? *in : (struct v86_regs){0};
    r.eip = (r.eip & 0xFFFF0000u) | v86_off(prog);
    r.eflags = eflags | FL_VM | 2;
    r.cs = V86_CODE_SEG;
    r.ss = V86_STACK_SEG;
    r.esp = V86_STACK_TOP;
    r.ds = ds;
    r.es = es;
    r.fs = fs;
    r.gs = gs;
    v86_traps = 0;
    ended_by_hlt = 0;
    memset((void *)v86_log, 0, sizeof v86_log);
    memset(&v86_out, 0, sizeof v86_out);
    v86_run(&r);
    return ended_by_hlt;
}

/* A program whose instruction at `insn` traps once: vector, error code, and the fault's frame. */
void v86_expect_fault(const char *name, const void *prog, const void *insn, uint32_t eflags,
                      uint32_t vector, uint32_t err) {
    v86_hook = 0;
    int hlt = v86_go(prog, eflags, 0x2000, 0x2000, 0x2000, 0x2000, 0);
    expect(cat(name, "stopped before its HLT"), !hlt);
    expect_eq(cat(name, "one trap"), v86_traps, 1);
    expect_eq(cat(name, "vector"), v86_log[0].vector, vector);
    expect_eq(cat(name, "error code"), v86_log[0].error_code, err);
    expect_eq(cat(name, "saved ip: the instruction"), v86_log[0].eip, v86_off(insn));
    expect_eq(cat(name, "saved cs"), v86_log[0].cs, V86_CODE_SEG);
    expect_eq(cat(name, "saved eflags: VM, IOPL"), v86_log[0].eflags & ~FL_RF, eflags | FL_VM | 2);
}

/* The v8086 program's stack, as the monitor pushes and pops it (SP wraps at 64 KiB). */
static void v86_push(struct trap_frame *t, uint16_t v) {
    t->user_esp = (t->user_esp & 0xFFFF0000u) | ((t->user_esp - 2) & 0xFFFF);
    *(uint16_t *)linear(t->user_ss, t->user_esp) = v;
}
static uint16_t v86_pop(struct trap_frame *t) {
    uint16_t v = *(uint16_t *)linear(t->user_ss, t->user_esp);
    t->user_esp = (t->user_esp & 0xFFFF0000u) | ((t->user_esp + 2) & 0xFFFF);
    return v;
}

int v86_reflect_hook(struct v86_frame *f) {
    struct trap_frame *t = &f->t;
    if (t->vector != 13 || t->error_code != 0)
        return 0;
    uint8_t *ip = linear(t->cs, t->eip);
    switch (ip[0]) {
    case 0xCD: { /* INT n: what an 8086 does, on the program's own stack and IVT */
        uint32_t vec = *(uint32_t *)(ip[1] * 4);
        v86_push(t, (uint16_t)((t->eflags & ~FL_IF) | (v86_vif ? FL_IF : 0)));
        v86_push(t, (uint16_t)t->cs);
        v86_push(t, (uint16_t)(t->eip + 2));
        v86_vif = 0;
        t->eflags &= ~FL_TF;
        t->cs = vec >> 16;
        t->eip = vec & 0xFFFF;
        break;
    }
    case 0xCF: { /* IRET (16-bit): IOPL and VM are the monitor's */
        t->eip = v86_pop(t);
        t->cs = v86_pop(t);
        uint16_t fl = v86_pop(t);
        v86_vif = fl & FL_IF;
        t->eflags = (t->eflags & ~0xFFFFu) | (fl & ~(FL_IOPL3 | FL_IF)) | (t->eflags & (FL_IOPL3 | FL_IF));
        break;
    }
    case 0xFA: v86_vif = 0; t->eip += 1; break; /* CLI */
    case 0xFB: v86_vif = FL_IF; t->eip += 1; break; /* STI */
    default: return 0;
    }
    v86_emulated++;
    return 1;
}

void v86_monitor_install(void) {
    memcpy((void *)(V86_CODE_SEG * 16), v86_blob, (size_t)(v86_blob_end - v86_blob));
    for (int v = 0; v < 32; v++)
        idt_set_handler(v, v86_trap_handler);
    for (int v = 0x30; v <= 0x32; v++)
        idt_set_handler(v, v86_trap_handler);
    idt_set_handler(V86_IRQ0_VECTOR, v86_trap_handler);
}
