; The ROM guest: a 64 KiB BIOS image (nasm -f bin) that runs from the reset vector on an
; IA-32 PC and checks real mode and the ways into and out of protected mode, reporting on COM1
; and ending through the debug exit port (0x10: PASS, status 33; 0x11: FAIL, status 35).
;
;   qemu-system-i386 -bios rom.bin -cpu pentium2 ... -device isa-debug-exit,iobase=0xf4,iosize=0x04
;   btvm -bios rom.bin
;
; The image is mapped at 0xFFFF0000 and (QEMU's isa-bios alias) at 0xF0000, so it is written
; for CS = 0xF000 with offsets from 0: the first instruction, at F000:FFF0 with CS.base
; 0xFFFF0000, jumps to `start`. Protected-mode code runs in a code segment based at 0xF0000 too,
; so the same labels serve every mode. Where QEMU departs from the SDM, the check prints GAP.
;
; Physical memory used (all RAM):
;   0x00000 IVT            0x00500 the reset state      0x00800 GDT       0x01000 moved IVT
;   0x00580 PAM results    0x07000 the PAM routine (run from RAM)
;   0x03000 IDT            0x004a0.. scratch            0x10000 DS/ES tests
;   0x20000 16-bit stack segment (protected mode)       0x70000 flat stack
;   0x80000 real-mode stack (SS 0x8000)                 0x200000 data for unreal mode

bits 16
org 0

kState  equ 0x500          ; registers at reset (see capture_reset_state)
kScratch equ 0x4a0
kVars   equ 0x4c0          ; values handlers leave for the checks
kSavedSp equ 0x4e8
kTicks  equ 0x4e0
kGdt    equ 0x800
kIdt    equ 0x3000
kSelCode32 equ 0x08
kSelFlat   equ 0x10
kSelCode16 equ 0x18
kSelData16 equ 0x20
kSelStack16 equ 0x28

%include "report.inc"
REPORT_LIB 16, 0

start:
  call capture_reset_state
  mov ax, 0x8000            ; the stack: SS 0x8000, SP 0 (the first push wraps to 0xFFFE)
  mov ss, ax
  xor sp, sp
  mov dword [kFails], 0
  SAY "rom: from the reset vector, real mode and back"
  call install_ivt
  call pic_init_masked
  call check_reset_state
  call check_rom
  call check_pam
  call check_arith_addressing
  call check_stack
  call check_far_transfers
  call check_int_iret
  call check_exceptions
  call check_moved_ivt
  call check_strings
  call check_a20
  call check_fpu_reset
  call check_protected_mode
  call check_after_return
  call check_irq0
  call check_lmsw
  jmp finish

finish:
  cli
  mov eax, [kFails]
  test eax, eax
  jnz .failed
  SAY "PASS: rom"
  mov al, 0x10
  out 0xf4, al
.failed:
  SAY "FAIL: rom"
  mov al, 0x11
  out 0xf4, al
.stop:
  hlt
  jmp .stop

%include "real.inc"
%include "pmode.inc"

; The IVT and IDT handlers for anything unexpected: they name the vector and fail the run.
%assign v 0
%rep 32
unexp16_%[v]:
  push word v
  jmp unexpected16
%assign v v + 1
%endrep
unexp16_other:
  push word 0xffff
  jmp unexpected16
unexp16_table:
%assign v 0
%rep 32
  dw unexp16_%[v]
%assign v v + 1
%endrep

unexpected16:               ; [sp] vector (0xffff: >= 32), [sp+2] IP, [sp+4] CS
  mov bp, sp
  SAY "FAIL unexpected interrupt in real mode (vector, CS:IP):"
  movzx eax, word [bp]
  call puthex16
  movzx eax, word [bp + 4]
  call puthex16
  movzx eax, word [bp + 2]
  call puthex16
  mov al, 10
  call putc16
  xor ax, ax
  mov ds, ax
  inc dword [kFails]
  jmp finish

; GDT, copied to kGdt; code segments are based at 0xF0000, where the ROM is.
gdt:
  dq 0
  dw 0xffff, 0x0000
  db 0x0f, 0x9a, 0x40, 0x00 ; 0x08: 32-bit code, base 0xF0000, limit 64 KiB
  dw 0xffff, 0x0000
  db 0x00, 0x92, 0xcf, 0x00 ; 0x10: flat data, 4 GiB, B=1
  dw 0xffff, 0x0000
  db 0x0f, 0x9a, 0x00, 0x00 ; 0x18: 16-bit code, base 0xF0000, limit 64 KiB
  dw 0xffff, 0x0000
  db 0x00, 0x92, 0x00, 0x00 ; 0x20: 16-bit data, base 0, limit 64 KiB (real-mode like)
  dw 0xffff, 0x0000
  db 0x02, 0x92, 0x00, 0x00 ; 0x28: 16-bit stack (B=0), base 0x20000, limit 64 KiB
gdt_end:

gdt_ptr:      dw gdt_end - gdt - 1
              dd kGdt
pm_idt_ptr:   dw 0x41 * 8 - 1
              dd kIdt
rm_idt_ptr:   dw 0x3ff
              dd 0
moved_idt_ptr: dw 0x3ff
              dd 0x1000

rom_marker:   dd 0xa5c3e10f

  times 0xfff0 - ($ - $$) db 0xff
reset_vector:               ; F000:FFF0, CS.base 0xFFFF0000
  jmp 0xf000:start
  times 0x10000 - ($ - $$) db 0xff
