; SYSENTER/SYSEXIT round trip (Intel SDM vol. 2B): SYSEXIT to ring 3 with CS = SYSENTER_CS + 16
; and SS = SYSENTER_CS + 24 (RPL 3), ESP = ECX, EIP = EDX; SYSENTER back with CS = SYSENTER_CS,
; SS = SYSENTER_CS + 8, ESP/EIP from the MSRs and IF cleared. The GDT of pg.h has kernel code
; and data at 0x08/0x10 and user code and data at 0x18/0x20, the layout the instructions assume.
global sysenter_roundtrip
global kstack_top
global ustack_top

section .bss
align 16
kstack: resb 512
kstack_top:
ustack: resb 512
ustack_top:
saved_esp: resd 1
out_ptr: resd 1

section .text
; void sysenter_roundtrip(uint32_t out[7]): user CS, user SS, kernel CS, kernel SS, kernel
; EFLAGS, kernel ESP, user ESP.
sysenter_roundtrip:
    pushfd
    push ebp
    push ebx
    push esi
    push edi
    mov [saved_esp], esp
    mov eax, [esp + 24]
    mov [out_ptr], eax
    mov ecx, 0x174                      ; IA32_SYSENTER_CS
    mov eax, 0x08
    xor edx, edx
    wrmsr
    mov ecx, 0x175                      ; IA32_SYSENTER_ESP
    mov eax, kstack_top
    wrmsr
    mov ecx, 0x176                      ; IA32_SYSENTER_EIP
    mov eax, kernel_entry
    wrmsr
    pushfd                              ; IF = 1 in ring 3 (the PICs are masked): SYSENTER
    or dword [esp], 0x200               ; must clear it
    popfd
    mov ecx, ustack_top
    mov edx, user_code
    sysexit

user_code:                              ; ring 3
    xor ebx, ebx
    mov bx, cs
    xor esi, esi
    mov si, ss
    mov ebp, esp
    sysenter

kernel_entry:                           ; ring 0 again
    mov edi, [ss:out_ptr]
    mov [ss:edi], ebx
    mov [ss:edi + 4], esi
    xor eax, eax
    mov ax, cs
    mov [ss:edi + 8], eax
    mov ax, ss
    mov [ss:edi + 12], eax
    pushfd
    pop eax
    mov [ss:edi + 16], eax
    mov [ss:edi + 20], esp
    mov [ss:edi + 24], ebp
    mov esp, [ss:saved_esp]
    pop edi
    pop esi
    pop ebx
    pop ebp
    popfd
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
