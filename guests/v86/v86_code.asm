; Virtual-8086 side of the v86 guest: v86_run/v86_resume (32-bit, ring 0) and the 16-bit
; programs between v86_blob and v86_blob_end. The blob is copied to V86_CODE_SEG:0 (linear
; 0x10000) and runs there, so it addresses its own bytes as OFF(label), an assemble-time
; constant, and every program ends with HLT: #GP(0) in v8086 mode at any IOPL, which the
; kernel's monitor takes as "program done" (v86.c). Programs start with SS:SP = 0x2000:0x1000.

extern v86_esp0
global v86_run
global v86_resume
global gate16_handler, gate16_handler_end, gate16_frame, gate16_esp

KERNEL_DS equ 0x10
V86_CODE_SEG equ 0x1000

%define OFF(x) ((x) - v86_blob)

section .bss
v86_saved_esp: resd 1
gate16_frame: resw 9                    ; IP, CS, FLAGS, SP, SS, ES, DS, FS, GS
gate16_esp: resd 1

section .text
bits 32
; void v86_run(struct v86_regs *r): IRET to v8086 mode with the registers in *r (eax, ecx, edx,
; ebx, esp, ebp, esi, edi, eip, eflags, cs, ss, ds, es, fs, gs); returns when the monitor calls
; v86_exit. Traps from v8086 mode build their frames below this function's stack (TSS.ESP0).
v86_run:
    push ebp
    push ebx
    push esi
    push edi
    pushfd
    mov [v86_saved_esp], esp
    mov eax, [v86_esp0]                 ; ESP0 of the current TSS
    mov [eax], esp
    mov eax, [esp + 24]
    push dword [eax + 60]               ; GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP
    push dword [eax + 56]
    push dword [eax + 48]
    push dword [eax + 52]
    push dword [eax + 44]
    push dword [eax + 16]
    push dword [eax + 36]
    push dword [eax + 40]
    push dword [eax + 32]
    mov ecx, [eax + 4]
    mov edx, [eax + 8]
    mov ebx, [eax + 12]
    mov ebp, [eax + 20]
    mov esi, [eax + 24]
    mov edi, [eax + 28]
    mov eax, [eax]
    iretd

; Ring 0 through a 16-bit interrupt gate from v8086 mode: the frame is 9 words. Records them
; and ESP, then ends the program (v86_resume). DS, ES, FS, GS are null here: SS only. A 16-bit
; gate holds a 16-bit offset, so the kernel copies this below 64 KiB: absolute addresses only.
gate16_handler:
    mov eax, [ss:esp]
    mov [ss:gate16_frame], eax
    mov eax, [ss:esp + 4]
    mov [ss:gate16_frame + 4], eax
    mov eax, [ss:esp + 8]
    mov [ss:gate16_frame + 8], eax
    mov eax, [ss:esp + 12]
    mov [ss:gate16_frame + 12], eax
    mov ax, [ss:esp + 16]
    mov [ss:gate16_frame + 16], ax
    mov [ss:gate16_esp], esp
    mov eax, v86_resume
    jmp eax
gate16_handler_end:

v86_resume:                             ; ring 0, from v86_exit: back to v86_run's caller
    mov esp, [ss:v86_saved_esp]
    mov cx, KERNEL_DS
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    popfd
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

bits 16
global v86_blob, v86_blob_end
global p_state, p_compute, p_far_sub, p_limit, p_limit_insn
global p_cli, p_sti, p_pushf, p_popf, p_int30, p_iret, p_pushfd, p_popfd, p_iretd
global p_in, p_out, p_int3, p_mov_cr0, p_lgdt, p_sldt, p_lar, p_arpl
global p_iopl3, p_int31, p_int32
global p_div, p_div_insn, p_pf, p_pf_insn
global p_bios, p_bios_next, bios_int10
global p_vme, p_vme_next, p_vme5, vme_int10
global p_irq, p_irq_end, p_int33
align 16
v86_blob:

; Entry state: EAX = EFLAGS as PUSHFD shows it (run at IOPL 3), EBX = SP, ESI + 0x11111111
; (a 32-bit operation), the segment registers untouched for the exit to see.
p_state:
    pushfd
    pop eax
    mov bx, sp
    add esi, 0x11111111
    hlt

; Plain 16-bit code at IOPL 0 (nothing here is IOPL-sensitive). Entered with DS = 0x2000.
p_compute:
    mov word [0x0810], 0xbeef           ; DS:0x810 = linear 0x20810
    mov ax, 0x1fff
    mov es, ax
    mov dx, [es:0x0820]                 ; 0x1fff0 + 0x820: the same byte, DX = 0xbeef
    xor ax, ax
    mov cx, 100
.sum:
    add ax, cx
    loop .sum                           ; AX = 5050
    push ax
    call .near
    pop bx                              ; BX = 5050 + 1
    call V86_CODE_SEG + 1:OFF(p_far_sub) - 0x10 ; the same bytes seen from CS = 0x1001
    mov ax, 0x3000                      ; linear 0x30000: a user page mapped elsewhere
    mov fs, ax
    mov dword [fs:0x0010], 0x12345678
    lds di, [cs:OFF(.farptr)]           ; DS:DI = 0x3000:0x0004
    mov bp, [di + 0x0c]                 ; DS:0x10 -> BP = 0x5678
    pop ax                              ; pushed by p_far_sub: the CS it ran with
    hlt
.near:
    mov bx, sp
    inc word [ss:bx + 2]                ; the word pushed before the call
    ret
.farptr:
    dw 0x0004, 0x3000
p_far_sub:
    pop si                              ; return IP
    pop bp                              ; return CS
    push cs                             ; for the caller's POP AX... under the return address:
    push bp                             ; rebuild IP, CS above it
    push si
    mov si, cs
    retf

; A 32-bit offset beyond the 0xffff limit of v8086 segments: #GP(0).
p_limit:
    mov ebx, 0x10000
p_limit_insn:
    mov ax, [ebx]
    hlt

; IOPL-sensitive and protected-mode-only instructions, each the first of its program.
p_cli:    cli
          hlt
p_sti:    sti
          hlt
p_pushf:  pushf
          hlt
p_popf:   popf
          hlt
p_int30:  int 0x30
          hlt
p_iret:   iret
          hlt
p_pushfd: pushfd
          hlt
p_popfd:  popfd
          hlt
p_iretd:  iretd
          hlt
p_in:     in al, 0x80
          hlt
p_out:    out 0x80, al
          hlt
p_int3:   int3
          hlt
p_mov_cr0: mov eax, cr0
          hlt
p_lgdt:   lgdt [0x0900]
          hlt
p_sldt:   sldt ax
          hlt
p_lar:    lar ax, bx
          hlt
p_arpl:   arpl bx, ax
          hlt

; At IOPL 3 (entered with IF = 1): CLI/STI change IF, POPF and IRET change neither IOPL nor VM,
; PUSHFD shows VM = 0. Results: AX, BX, CX, DX (32-bit), DI, SI as FLAGS images.
p_iopl3:
    cli
    pushf
    pop ax                              ; IF = 0, IOPL = 3
    sti
    pushf
    pop bx                              ; IF = 1
    push word 0                         ; try IOPL 0 (and IF 0)
    popf
    pushf
    pop cx                              ; IOPL still 3, IF 0
    pushfd
    pop edx                             ; VM (and RF) 0 in the image
    push dword 0x00020200               ; try VM = 0 -> stays; IF = 1 -> taken
    popfd
    pushf
    pop di
    push word 0x0001                    ; IRET: FLAGS with CF = 1, IOPL 0, IF 0
    push cs
    push word OFF(.after)
    iret
.after:
    pushf
    pop si                              ; CF = 1, IOPL 3, IF 0
    hlt

p_int31:  int 0x31                      ; a DPL-3 gate to ring 0: taken at IOPL 3
          hlt
p_int32:  int 0x32                      ; a DPL-3 gate to a DPL-3 code segment: #GP(sel)
          hlt
p_int33:  int 0x33                      ; a DPL-3 16-bit interrupt gate: a frame of words
          hlt

; #DE: the monitor emulates the division (AX = 0x4242) and resumes after it.
p_div:
    mov ax, 100
    xor bl, bl
p_div_insn:
    div bl
    mov cx, ax
    hlt

; #PF: a store to a supervisor page; the monitor maps it for user mode and the store restarts.
p_pf:
    mov ax, 0x4000
    mov es, ax
    mov cx, 0x7777
p_pf_insn:
    mov [es:0x0020], cx
    mov dx, [es:0x0020]
    hlt

; A BIOS call as an 8086 program makes it: INT 0x10 through the IVT (at IOPL 0 the monitor
; reflects it), the handler returns with IRET (the monitor again).
p_bios:
    mov ax, 0x0e41
    mov bx, 0x0007
    int 0x10
p_bios_next:
    mov cx, ax
    hlt
bios_int10:                             ; reached through IVT[0x10] = 0x1000:OFF(bios_int10)
    cli                                 ; the monitor keeps a virtual IF
    inc al
    mov dx, sp                          ; FLAGS, CS, IP pushed by the reflected INT
    mov si, [ss:0x0ffa]                 ; the IP it pushed
    iret

; CR4.VME at IOPL 0 (entered with IF = 1, VIF = 1): CLI, STI, PUSHF, POPF work on VIF, PUSHF
; shows IOPL 3, INT 0x10 goes to the IVT (its redirection bit is clear) and IRET comes back.
p_vme:
    cli
    pushf
    pop ax                              ; IF = VIF = 0, IOPL 3
    sti
    pushf
    pop bx                              ; IF = VIF = 1
    push word 0x0001
    popf                                ; CF = 1, VIF = 0
    pushf
    pop cx
    sti
    int 0x10                            ; method 6: FLAGS with IF = VIF, CS, IP; VIF = 0
p_vme_next:
    pushf
    pop di                              ; the handler's IRET put the image's IF in VIF
    hlt

; CR4.VME at IOPL 3 (IF = 1): INT 0x10 to the IVT, clearing IF (method 5).
p_vme5:
    int 0x10
    pushf
    pop di
    hlt

vme_int10:                              ; IVT[0x10] for the VME programs
    pushf
    pop dx                              ; FLAGS inside the handler
    mov si, sp
    mov si, [ss:si + 4]                 ; the FLAGS image the INT pushed
    iret

; Waits at IOPL 0 with IF = 1 until the ring-0 timer handler sets the word at SS:0x0ff0.
p_irq:
    cmp word [ss:0x0ff0], 0
    je p_irq
    hlt
p_irq_end:

v86_blob_end:

section .note.GNU-stack noalloc noexec nowrite progbits
