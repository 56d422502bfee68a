#!/bin/sh
# Boots a guest kernel on QEMU's Pentium II (-cpu pentium2: PAE, PSE-36, PAT), for run_guest.py
# in place of btvm: qemu_p2.sh ELF [QEMU ARGS...]. The exit status is 33 when the guest passed.
elf=$1
shift
exec qemu-system-i386 -cpu "${QEMU_CPU:-pentium2}" -kernel "$elf" -display none -no-reboot \
  -serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 32 "$@"
