; Interrupt entry stubs: one per vector, all funnelling into isr_common, which saves the
; registers as a struct trap_frame (idt.h) and calls trap_dispatch(frame).

extern trap_dispatch
global isr_table

; Exceptions for which the CPU pushes an error code (Intel SDM vol. 3, table 6-1, i686).
%define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17)

section .text

%assign v 0
%rep 256
isr_ %+ v:
%if !HAS_ERROR_CODE(v)
    push dword 0                ; dummy error code keeps one frame layout for all vectors
%endif
    push dword v
    jmp isr_common
%assign v v+1
%endrep

isr_common:
    pusha
    push ds
    push es
    ; C code needs DS = ES = the flat data segment. The interrupted code may have loaded
    ; anything into DS/ES, but the C stack must be flat, so take SS's selector. Its RPL is
    ; cleared because a kernel run deprivileged (btvm --mode trap) reads SS with RPL 3.
    mov ax, ss
    and ax, 0xfffc
    mov ds, ax
    mov es, ax
    cld                         ; gcc assumes DF = 0; IRET restores the interrupted DF
    push esp                    ; trap_dispatch(struct trap_frame *)
    call trap_dispatch
    add esp, 4
    pop es
    pop ds
    popa
    add esp, 8                  ; vector and error code
    iretd

; void gdt_load_flat(const void *gdtr): lgdt, then reload every segment register.
global gdt_load_flat
gdt_load_flat:
    mov eax, [esp + 4]
    lgdt [eax]
    jmp 0x08:.reload_cs         ; KERNEL_CS: only a far transfer reloads CS
.reload_cs:
    mov ax, 0x10                ; KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    ret

section .rodata
align 4
isr_table:
%assign v 0
%rep 256
    dd isr_ %+ v
%assign v v+1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
