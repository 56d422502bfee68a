; Self-modifying code. Each routine is called at least twice with different values, so the
; second call finds the code already translated and must see the new bytes.
; (Without paging .text is writable; the patched instructions use fixed 32-bit immediates.)

section .text

; uint32_t smc_same_block(uint32_t v): stores v into the very next instruction.
global smc_same_block
smc_same_block:
    mov eax, [esp + 4]
    mov [.insn + 1], eax
.insn:
    mov eax, strict dword 0         ; B8 imm32
    ret

; uint32_t smc_later_block(uint32_t v): stores v into an instruction behind a jump.
global smc_later_block
smc_later_block:
    mov eax, [esp + 4]
    mov [.insn + 1], eax
    xor eax, eax
    jmp .next
.next:
    add eax, 1
.insn:
    mov eax, strict dword 0
    ret

; uint32_t smc_loop(uint32_t n): sum n + (n-1) + ... + 1, by patching the immediate of an
; ADD inside the loop body on every iteration.
global smc_loop
smc_loop:
    mov ecx, [esp + 4]
    xor edx, edx
.top:
    mov [.add + 2], ecx
.add:
    add edx, strict dword 0         ; 81 C2 imm32
    dec ecx
    jnz .top
    mov eax, edx
    ret

; uint32_t smc_opcode_flip(void): six passes of a loop whose first instruction is rewritten
; on every pass, alternating NOP (0x90) and INC EAX (0x40), each pass adding 10 after it:
; 6 * 10 + 3 incs = 63 (60 if the rewrites were never seen, 66 if the first one stuck).
global smc_opcode_flip
smc_opcode_flip:
    xor eax, eax
    mov ecx, 6
.top:
    mov byte [.op], 0x90            ; nop on even passes
    test cl, 1
    jz .op
    mov byte [.op], 0x40            ; inc eax on odd passes
.op:
    nop
    add eax, 10
    dec ecx
    jnz .top
    ret

; uint32_t smc_victim(void): returns 1 until C copies smc_replacement over it.
global smc_victim, smc_replacement, smc_replacement_end
align 16
smc_victim:
    mov eax, 1
    ret
    times 16 db 0x90
smc_replacement:                    ; position-independent, at most 16 bytes
    mov eax, 2
    add eax, eax
    ret
smc_replacement_end:

; uint32_t smc_seg_target(void) / smc_alias_target(void): patched from C through an alias.
global smc_seg_target, smc_alias_target
align 16
smc_seg_target:
    mov eax, strict dword 0x11111111
    ret
align 16
smc_alias_target:
    mov eax, strict dword 0x22222222
    ret

; uint32_t smc_data_in_code(uint32_t n): increments a counter kept in the code page n times.
; Writes near code but not to instructions must not disturb the running loop.
global smc_data_in_code
smc_data_in_code:
    mov ecx, [esp + 4]
    mov dword [.counter], 0
.top:
    inc dword [.counter]
    dec ecx
    jnz .top
    mov eax, [.counter]
    ret
align 4
.counter: dd 0

section .note.GNU-stack noalloc noexec nowrite progbits
