; Control-flow routines for the flow guest: returns that do not go back to their call (the
; return-address stack must notice), code rewritten around a call, and a RET in a code segment
; with another base.

section .text

; uint32_t flow_sum(uint32_t n): n + (n-1) + ... + 1 by recursion, n deep.
global flow_sum
flow_sum:
    mov eax, [esp + 4]
    test eax, eax
    jz .done
    dec eax
    push eax
    call flow_sum
    add esp, 4
    add eax, [esp + 4]
.done:
    ret

; uint32_t flow_bump_ret(void): the callee moves its return address past a 2-byte JMP: 1.
global flow_bump_ret
flow_bump_ret:
    call .bump
    jmp short .wrong
    mov eax, 1
    ret
.wrong:
    mov eax, 0xBAD
    ret
.bump:
    add dword [esp], 2
    ret

; uint32_t flow_push_ret(void): PUSH + RET used as a jump to a place no CALL pushed: 2.
global flow_push_ret
flow_push_ret:
    push dword .target
    ret
    ud2
.target:
    mov eax, 2
    ret

; uint32_t flow_unwind(uint32_t depth): calls itself `depth` deep, then the innermost level
; resets ESP to the outermost frame and returns from there, as longjmp does: 3. The return
; stack then holds `depth` entries that no RET will ever match.
global flow_unwind
flow_unwind:
    push ebx
    mov ecx, [esp + 8]
    mov [unwind_esp], esp
    call .nest
    mov eax, 0xBAD
    pop ebx
    ret
.nest:
    dec ecx
    jz .escape
    call .nest
    mov eax, 0xBAD2
    ret
.escape:
    mov esp, [unwind_esp]
    mov eax, 3
    pop ebx
    ret

; uint32_t flow_smc_continuation(uint32_t v): the callee writes v into the instruction the call
; returns to, which already ran (translated, maybe chained from the call's landing): v.
global flow_smc_continuation
flow_smc_continuation:
    mov eax, [esp + 4]
    call .patch
.after:
    mov eax, strict dword 0
    ret
.patch:
    mov [.after + 1], eax
    ret

; uint32_t flow_smc_caller(uint32_t v): the callee rewrites an instruction of the calling block
; itself (before the call): returns v + the v of the previous call (0 the first time).
global flow_smc_caller
flow_smc_caller:
    mov eax, [esp + 4]
.imm:
    mov edx, strict dword 0
    call .patch
    add eax, edx
    ret
.patch:
    mov [.imm + 1], eax
    ret

; uint32_t flow_call_reg(uint32_t target, uint32_t edx_value): CALL target with EDX set, for
; code built at run time (the CR3 test calls through EDX from there).
global flow_call_reg
flow_call_reg:
    push ebx
    mov eax, [esp + 8]
    mov edx, [esp + 12]
    call eax
    pop ebx
    ret

; flow_switch_cr3: loads CR3 from flow_next_cr3 and returns (clobbers ECX only).
global flow_switch_cr3
extern flow_next_cr3
flow_switch_cr3:
    mov ecx, [flow_next_cr3]
    mov cr3, ecx
    ret

; A RET in a code segment with another base. flow_cs_base(call_site, ecx) calls `call_site` (a
; CALL ECX built at run time). With ECX = flow_far_to_based, that far-jumps into selector FLOW_BASED_CS
; (base FLOW_BASE) at the offset of flow_based_ret: that RET pops the flat return address and
; so continues at linear FLOW_BASE + it, where the test placed code that returns through
; flow_far_back. A return-stack entry of the flat CALL must not be taken there.
FLOW_BASED_CS equ 0x18
FLOW_BASE equ 0x100
global flow_cs_base, flow_far_back, flow_far_to_based
flow_cs_base:           ; uint32_t flow_cs_base(uint32_t call_site, uint32_t ecx_value)
    mov edx, [esp + 4]
    mov ecx, [esp + 8]
    call edx
    ret
flow_far_to_based:
    jmp FLOW_BASED_CS:(flow_based_ret - FLOW_BASE)
flow_based_ret:
    ret
flow_far_back:          ; reached by a far JMP from the based segment: back to flat, then RET
    ret

; void flow_step_calls(uint32_t tf): a CALL and a RET, single-stepped when tf is 0x100. The #DB
; handler sees EIP = flow_step_f (after the CALL), flow_step_back (after the RET), then
; flow_step_stop (after the NOP), where it clears TF.
global flow_step_calls, flow_step_f, flow_step_back, flow_step_stop
flow_step_calls:
    pushfd
    mov eax, [esp + 8]
    or [esp], eax
    popfd
    call flow_step_f
flow_step_back:
    nop
flow_step_stop:
    ret
flow_step_f:
    ret

; uint32_t flow_call_pop(void): `call 1f; 1: pop eax`, as position-independent code finds its own
; address: a CALL that never returns. Returns that address; the RET after it pops the return
; address of flow_call_pop's own caller.
global flow_call_pop, flow_call_pop_here
flow_call_pop:
    call flow_call_pop_here
flow_call_pop_here:
    pop eax
    ret

; uint32_t flow_calls_no_return(uint32_t n): n CALLs that never return (each callee drops its
; return address), then an ordinary call and return: n + 7. Far more CALLs than translated
; code's stack holds (dbt/call_stack.h): it must be reset, not grow.
global flow_calls_no_return
flow_calls_no_return:
    mov ecx, [esp + 4]
    xor eax, eax
.loop:
    call .drop
.drop:
    add esp, 4
    inc eax
    dec ecx
    jnz .loop
    call .seven
    ret
.seven:
    add eax, 7
    ret

; uint32_t flow_sum_on_stack(uint32_t n, uint32_t stack_top): flow_sum(n) on the given stack,
; for recursion deeper than the guest's own stack has room for.
global flow_sum_on_stack
flow_sum_on_stack:
    push ebp
    mov ebp, esp
    mov esp, [ebp + 12]
    push dword [ebp + 8]
    call flow_sum
    mov esp, ebp
    pop ebp
    ret

section .bss
unwind_esp: resd 1

section .note.GNU-stack noalloc noexec nowrite progbits
