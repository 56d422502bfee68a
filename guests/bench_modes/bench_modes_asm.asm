; The timed loops of bench_modes (see bench_modes.c). Each runs n >= 1 iterations of its event
; followed by "dec ecx / jnz"; loop_empty is that skeleton alone.

global loop_empty, loop_pushf, loop_cli, loop_int80, loop_sgdt, loop_in
global syscall_handler, syscall_count

section .bss
syscall_count: resd 1

section .text

; void loop_empty(uint32_t n)
loop_empty:
    mov ecx, [esp + 4]
.top:
    dec ecx
    jnz .top
    ret

; void loop_pushf(uint32_t n): PUSHFD / POPFD pairs (EFLAGS round trip through the stack)
loop_pushf:
    mov ecx, [esp + 4]
.top:
    pushfd
    popfd
    dec ecx
    jnz .top
    ret

; void loop_cli(uint32_t n): CLI / STI pairs (leaves IF = 1)
loop_cli:
    mov ecx, [esp + 4]
.top:
    cli
    sti
    dec ecx
    jnz .top
    ret

; void loop_int80(uint32_t n): INT 0x80 to syscall_handler, which counts and IRETs
loop_int80:
    mov ecx, [esp + 4]
.top:
    int 0x80
    dec ecx
    jnz .top
    ret

syscall_handler:
    inc dword [syscall_count]
    iretd

; void loop_sgdt(uint32_t n, void *buf): SGDT to a 6-byte buffer
loop_sgdt:
    mov ecx, [esp + 4]
    mov edx, [esp + 8]
.top:
    sgdt [edx]
    dec ecx
    jnz .top
    ret

; uint32_t loop_in(uint32_t n, uint32_t port): IN AL, DX; returns the last byte read
loop_in:
    mov ecx, [esp + 4]
    mov edx, [esp + 8]
    xor eax, eax
.top:
    in al, dx
    dec ecx
    jnz .top
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
