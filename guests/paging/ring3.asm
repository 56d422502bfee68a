; Entering ring 3 and coming back: see pg.h.
extern tss
extern ring3_sregs
global ring3_run
global ring3_resume

USER_CS   equ 0x1B
USER_DS   equ 0x23
KERNEL_DS equ 0x10
VEC_EXIT  equ 0x81

section .bss
saved_esp: resd 1

section .text
; uint32_t ring3_run(void *entry, uint32_t user_esp, uint32_t eflags)
ring3_run:
    pushfd
    push ebp
    push ebx
    push esi
    push edi
    mov [saved_esp], esp
    mov [tss + 4], esp                  ; ESP0: traps from ring 3 build their frames below here
    mov eax, [esp + 24]                 ; entry
    mov ecx, [esp + 28]                 ; user ESP
    mov edx, [esp + 32]                 ; EFLAGS
    sub ecx, 4
    mov dword [ecx], ring3_exit_stub    ; entry's return address
    push dword USER_DS                  ; IRET frame to an outer level: SS, ESP, EFLAGS, CS, EIP
    push ecx
    push edx
    push dword USER_CS
    push eax
    mov ax, [ring3_sregs + 6]
    mov gs, ax
    mov ax, [ring3_sregs + 4]
    mov fs, ax
    mov ax, [ring3_sregs + 2]
    mov es, ax
    mov ax, [ring3_sregs]               ; DS last: the loads above go through it
    mov ds, ax
    xor eax, eax
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor edi, edi
    xor ebp, ebp
    iretd

ring3_exit_stub:                        ; ring 3: entry returned its result in EAX
    int VEC_EXIT
    jmp ring3_exit_stub

ring3_resume:                           ; ring 0, from ring3_abort: EAX = result
    mov esp, [ss:saved_esp]             ; DS may be anything here; SS is KERNEL_DS
    mov cx, KERNEL_DS
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    pop edi
    pop esi
    pop ebx
    pop ebp
    popfd
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
