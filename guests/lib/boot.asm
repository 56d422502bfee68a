; Multiboot v1 entry point shared by every guest kernel.
; The loader (btvm or QEMU -kernel) enters _start in 32-bit protected mode, paging off,
; with EAX = 0x2BADB002 and EBX = physical address of the multiboot info structure.

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 3                  ; bit 0: page-align modules, bit 1: give us memory info

section .multiboot              ; linker.ld puts this first so it sits in the first 8 KiB
align 4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)   ; checksum: the three fields sum to zero

section .bss
align 16
stack_bottom:
    resb 65536
stack_top:

section .text
global _start
extern kmain
extern guest_exit
_start:
    mov esp, stack_top
    ; Known EFLAGS: IF=0 (no IDT yet) and DF=0 (gcc assumes it). The loader promises neither.
    push 0
    popfd
    push ebx                    ; kmain(magic, mbi)
    push eax
    call kmain
    push 1                      ; kmain must not return: report it as a distinct status (3)
    call guest_exit
.hang:
    cli
    hlt
    jmp .hang

section .note.GNU-stack noalloc noexec nowrite progbits
