#!/bin/sh
# Run one guest kernel under QEMU, the reference CPU: ./guests/run-in-qemu.sh NAME [BUILD_DIR] [QEMU ARGS]
# Serial output goes to stdout; the exit status is 33 when the guest passed, 35 when it failed
# (0 for acpi, which passes by powering the machine off).
# Arguments after BUILD_DIR go to QEMU (e.g. -append and -initrd for mbinfo).
name=${1:?usage: run-in-qemu.sh NAME [BUILD_DIR] [QEMU ARGS...]}
build=${2:-$(dirname "$0")/../build}
shift; [ $# -gt 0 ] && shift
exec qemu-system-i386 -kernel "$build/guests/$name.elf" -display none -no-reboot \
  -serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 32 "$@"
