#!/bin/sh
# Runs a ROM guest from the reset vector on QEMU's Pentium II, for run_guest.py in place of
# btvm: qemu_bios.sh ROM. The exit status is 33 when the guest passed.
exec qemu-system-i386 -cpu "${QEMU_CPU:-pentium2}" -bios "$1" -display none -no-reboot \
  -serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04
