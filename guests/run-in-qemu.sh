#!/bin/sh
# Run one guest kernel under QEMU as a Pentium II (the CPU btvm models):
#   ./guests/run-in-qemu.sh NAME [BUILD_DIR] [QEMU ARGS...]
# QEMU_CPU picks another CPU model (default pentium2). Arguments after BUILD_DIR go to QEMU
# (e.g. -append and -initrd for mbinfo).
# Serial output goes to stdout and stdin is the serial input (QEMU takes it as soon as the UART
# has room, ready or not: tests/guests/run_serial_guest.py --wait-ready guests/run-in-qemu.sh
# serial pipes it once the guest says it is ready); the exit status is 33 when the guest
# passed, 35 when it failed (0 for acpi, which passes by powering the machine off).
name=${1:?usage: run-in-qemu.sh NAME [BUILD_DIR] [QEMU ARGS...]}
build=${2:-$(dirname "$0")/../build}
shift; [ $# -gt 0 ] && shift
# A ROM guest (build/guests/NAME.bin, e.g. rom) is run from the reset vector with -bios.
if [ -f "$build/guests/$name.bin" ]; then set -- -bios "$build/guests/$name.bin" "$@"
else set -- -kernel "$build/guests/$name.elf" "$@"; fi
exec qemu-system-i386 -cpu "${QEMU_CPU:-pentium2}" -display none -no-reboot \
  -serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 32 "$@"
