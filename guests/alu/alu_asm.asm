; Helpers of the alu guest that need full control of the registers or the stack.

section .bss
cc_bytes:       resb 16
global pusha_image, pusha_esp, popa_regs, enter_out
pusha_image:    resd 8          ; the 8 dwords PUSHAD stored, lowest address first
pusha_esp:      resd 1          ; ESP just before PUSHAD
popa_regs:      resd 9          ; eax ecx edx ebx esp ebp esi edi after POPAD
enter_out:      resd 16
saved_esp:      resd 1

section .text

; uint32_t setcc_all(uint32_t eflags): bit cc of the result is what SETcc gives for
; condition code cc (0 = O ... 15 = G) with the given flags.
global setcc_all
setcc_all:
    push dword [esp + 4]
    popfd
    seto  [cc_bytes + 0]
    setno [cc_bytes + 1]
    setb  [cc_bytes + 2]
    setae [cc_bytes + 3]
    sete  [cc_bytes + 4]
    setne [cc_bytes + 5]
    setbe [cc_bytes + 6]
    seta  [cc_bytes + 7]
    sets  [cc_bytes + 8]
    setns [cc_bytes + 9]
    setp  [cc_bytes + 10]
    setnp [cc_bytes + 11]
    setl  [cc_bytes + 12]
    setge [cc_bytes + 13]
    setle [cc_bytes + 14]
    setg  [cc_bytes + 15]
    jmp pack_cc

; uint32_t cmov_all(uint32_t eflags): the same through CMOVcc (register source for even
; codes, memory source for odd ones); a false condition must leave the destination alone.
%macro CMOV 2
    mov eax, 0
    cmov%1 eax, %2
    mov [cc_bytes + %[cc]], al
%assign cc cc+1
%endmacro
global cmov_all
cmov_all:
    push dword [esp + 4]
    popfd
    mov ecx, 1
%assign cc 0
    CMOV o,  ecx
    CMOV no, [one]
    CMOV b,  ecx
    CMOV ae, [one]
    CMOV e,  ecx
    CMOV ne, [one]
    CMOV be, ecx
    CMOV a,  [one]
    CMOV s,  ecx
    CMOV ns, [one]
    CMOV p,  ecx
    CMOV np, [one]
    CMOV l,  ecx
    CMOV ge, [one]
    CMOV le, ecx
    CMOV g,  [one]
    ; fall through
pack_cc:                        ; eax = sum of cc_bytes[i] << i
    xor eax, eax
    mov ecx, 15
.next:
    shl eax, 1
    or al, [cc_bytes + ecx]
    dec ecx
    jns .next
    ret

; void pusha_popa_test(void): PUSHAD with known registers, then POPAD of a corrupted image.
global pusha_popa_test
pusha_popa_test:
    pushad                      ; keep the caller's registers
    mov [saved_esp], esp
    mov eax, 0x11111111
    mov ecx, 0x22222222
    mov edx, 0x33333333
    mov ebx, 0x44444444
    mov ebp, 0x66666666
    mov esi, 0x77777777
    mov edi, 0x88888888
    mov [pusha_esp], esp
    pushad
    mov esi, esp                ; copy the image out (DF = 0)
    mov edi, pusha_image
    mov ecx, 8
    rep movsd
    mov dword [esp + 12], 0xDEADBEEF  ; POPAD must skip the saved ESP
    mov dword [esp + 28], 0xAAAAAAAA  ; and load the rest: new EAX
    xor eax, eax
    xor ebx, ebx
    mov ecx, eax
    mov edx, eax
    mov ebp, eax
    mov esi, eax
    mov edi, eax
    popad
    mov [popa_regs + 0], eax
    mov [popa_regs + 4], ecx
    mov [popa_regs + 8], edx
    mov [popa_regs + 12], ebx
    mov [popa_regs + 16], esp
    mov [popa_regs + 20], ebp
    mov [popa_regs + 24], esi
    mov [popa_regs + 28], edi
    mov esp, [saved_esp]
    popad
    ret

; void enter_leave_test(void): ENTER with nesting levels 0 and 2, then LEAVE.
;   enter_out[0] ESP before ENTER 16,0    [1] EBP after    [2] ESP after   [3] dword at [EBP]
;   enter_out[4] ESP after LEAVE          [5] EBP after LEAVE
;   enter_out[6] ESP before ENTER 8,2     [7] EBP after    [8] ESP after
;   enter_out[9..11] dwords at EBP, EBP-4, EBP-8           [12] the outer frame's EBP
;   enter_out[13] EBP after LEAVE                          [14] ESP after LEAVE
global enter_leave_test
enter_leave_test:
    pushad
    mov ebp, 0x5A5A5A5A
    mov [enter_out + 0], esp
    enter 16, 0
    mov [enter_out + 4], ebp
    mov [enter_out + 8], esp
    mov eax, [ebp]
    mov [enter_out + 12], eax
    leave
    mov [enter_out + 16], esp
    mov [enter_out + 20], ebp
    ; a fake outer frame whose display entry [EBP-4] is 0xCAFEBABE
    push dword 0xCAFEBABE
    push dword 0
    lea ebp, [esp + 8]          ; [ebp-4] = 0xCAFEBABE, [ebp-8] = 0
    mov [enter_out + 48], ebp
    mov [enter_out + 24], esp
    enter 8, 2
    mov [enter_out + 28], ebp
    mov [enter_out + 32], esp
    mov eax, [ebp]
    mov [enter_out + 36], eax
    mov eax, [ebp - 4]
    mov [enter_out + 40], eax
    mov eax, [ebp - 8]
    mov [enter_out + 44], eax
    leave
    mov [enter_out + 52], ebp
    mov [enter_out + 56], esp
    add esp, 8
    popad
    ret

section .rodata
one: dd 1

section .note.GNU-stack noalloc noexec nowrite progbits
