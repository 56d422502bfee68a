; Code of the tasks guest that must control its registers, stack or code segment: call-gate
; targets, the ring-3 callers, and the bodies of the 16-bit task and the exception task.
; Data is reached through SS (flat in every caller) unless said otherwise.
extern tss

KERNEL_DS   equ 0x10
USER_DS     equ 0x23
SEL_GATE32  equ 0x30
SEL_GATE16  equ 0x38
SEL_CONF0   equ 0x48
SEL_GATE_CONF equ 0x98
SEL_U16SS   equ 0x103
SEL_U3CODE  equ 0x10B

global gate32_target, gate16_target, gate16_end, conf_target, r1_target
global r3_gate32, r3_gate32_ret, r3_gate16, r3_g16_seg, r3_g16_ret, r3_conf_direct, r3_conf_gate
global r3_far, r3_far_jmp, r3_far_ptr, r3_conf_jmp
global task_c_entry, task_c_after_iret, task_c_end, exc_task_entry
global g_frame, g_esp, g_ss, g_cs, r3_esp_before, r3_esp_after, r3_ds, r3_es, r3_fs, r3_cs
global conf_cs, c_flags, c_ran, exc_err, exc_flags, exc_count, exc_resume, exc_saved_eip

section .bss
g_frame:       resd 8
g_esp:         resd 1
g_ss:          resd 1
g_cs:          resd 1
r3_esp_before: resd 1
r3_esp_after:  resd 1
r3_ds:         resd 1
r3_es:         resd 1
r3_fs:         resd 1
r3_cs:         resd 1
conf_cs:       resd 1
c_flags:       resd 1
c_ran:         resd 1
exc_err:       resd 1
exc_flags:     resd 1
exc_count:     resd 1
exc_resume:    resd 1
exc_saved_eip: resd 1
saved_ss:      resd 1

section .data
r3_far_ptr:    dd 0, 0

section .text

; Ring 0 through the 32-bit gate (3 dword parameters): records where it runs and the frame
; (EIP, CS, 3 parameters, and from an outer level ESP, SS), loads DPL-0 data into DS and ES
; (a return to ring 3 must make them null), and returns releasing the parameters.
gate32_target:
    mov [ss:g_esp], esp
    mov [ss:g_ss], ss
    mov [ss:g_cs], cs
    mov ecx, 7
.copy:
    mov eax, [ss:esp + ecx * 4 - 4]
    mov [ss:g_frame + ecx * 4 - 4], eax
    loop .copy
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    retf 12

; Ring 0 through the 16-bit gate (2 word parameters), in a code segment based here: records
; the six words of the frame (IP, CS, 2 parameters, SP, SS) and returns with a 16-bit RETF 4.
gate16_target:
    mov [ss:g_esp], esp
    mov [ss:g_ss], ss
    mov [ss:g_cs], cs
    xor ecx, ecx
.copy16:
    movzx eax, word [ss:esp + ecx * 2]
    mov [ss:g_frame + ecx * 4], eax
    inc ecx
    cmp ecx, 6
    jne .copy16
    o16 retf 4
gate16_end:

; Conforming code: runs at the caller's CPL; records CS.
conf_target:
    mov [ss:conf_cs], cs
    retf

; Ring 1 (never reached: the gate's stack from TSS.SS1 is unusable).
r1_target:
    ud2

; uint32_t r3_gate32(void): pushes 3 parameters and calls through the 32-bit gate; records ESP
; before and after, DS, ES, FS and CS after the return; restores DS and ES.
r3_gate32:
    mov [ss:r3_esp_before], esp
    push dword 0x33333333
    push dword 0x22222222
    push dword 0x11111111
    call SEL_GATE32:0
r3_gate32_ret:
    mov [ss:r3_esp_after], esp
    mov [ss:r3_ds], ds
    mov [ss:r3_es], es
    mov [ss:r3_fs], fs
    mov [ss:r3_cs], cs
    mov ax, ss            ; the caller's data segment is its stack segment
    mov ds, ax
    mov es, ax
    xor eax, eax
    ret

; uint32_t r3_gate16(void): a 16-bit gate returns to a 16-bit IP, so the caller runs in a ring-3
; code segment based at r3_g16_seg, on a 16-bit stack (SEL_U16SS, SP 0xff0).
r3_gate16:
    mov [ss:r3_esp_before], esp
    mov [ss:saved_ss], ss
    jmp SEL_U3CODE:(r3_g16_in - r3_g16_seg)
r3_g16_seg:
r3_g16_in:
    mov ax, SEL_U16SS
    mov ss, ax
    mov esp, 0xff0
    push word 0x2222
    push word 0x1111
    call SEL_GATE16:0
r3_g16_ret:
    mov [r3_esp_after], esp
    mov [r3_cs], cs
    mov ss, [saved_ss]
    mov esp, [r3_esp_before]
    jmp dword 0x1B:r3_g16_back
r3_g16_back:
    xor eax, eax
    ret

; uint32_t r3_conf_direct(void), r3_conf_gate(void): far calls into conforming code, directly
; (selector RPL 0) and through a DPL-3 call gate.
r3_conf_direct:
    call SEL_CONF0:conf_target
    mov [ss:r3_cs], cs
    xor eax, eax
    ret
r3_conf_gate:
    call SEL_GATE_CONF:0
    mov [ss:r3_cs], cs
    xor eax, eax
    ret

; uint32_t r3_conf_jmp(void): JMP through the call gate to conforming code, whose RETF comes
; back here through the CS:EIP pushed first (a JMP pushes nothing).
r3_conf_jmp:
    push cs
    push dword .back
    jmp SEL_GATE_CONF:0
.back:
    mov [ss:r3_cs], cs
    xor eax, eax
    ret

; uint32_t r3_far(void), r3_far_jmp(void): far CALL / JMP through r3_far_ptr (offset, selector);
; they are expected to fault (the fault ends the ring-3 run).
r3_far:
    call far [ss:r3_far_ptr]
    xor eax, eax
    ret
r3_far_jmp:
    jmp far [ss:r3_far_ptr]

; The 16-bit task (16-bit TSS, code segment based here, 16-bit stack, DS flat): records its
; EFLAGS and returns to the task that called it with IRET (NT is set); the next switch to it
; resumes after the IRET.
task_c_entry:
    pushfd
    pop eax
    mov [c_flags], eax
    inc dword [c_ran]
    iretd
task_c_after_iret:
    jmp short task_c_entry
task_c_end:

; The exception task (entered through a task gate in the IDT, DS flat): pops the error code,
; records it, its EFLAGS and the EIP saved in the interrupted task's TSS (the library's), sends
; that task on to exc_resume and returns to it with IRET.
exc_task_entry:
    pop eax
    mov [exc_err], eax
    pushfd
    pop eax
    mov [exc_flags], eax
    inc dword [exc_count]
    mov eax, [tss + 0x20]
    mov [exc_saved_eip], eax
    mov eax, [exc_resume]
    mov [tss + 0x20], eax
    iretd
    jmp exc_task_entry

section .note.GNU-stack noalloc noexec nowrite progbits
