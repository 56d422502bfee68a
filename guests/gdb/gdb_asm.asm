; gdb_probe: returns 7 in EAX. gdb_probe_ret labels the RET so that gdb can stop there and
; change EAX before the caller reads it.
bits 32
section .text
global gdb_probe, gdb_probe_ret
gdb_probe:
    mov eax, 7
gdb_probe_ret:
    ret
