#!/bin/sh
# Boots a guest kernel on QEMU's pc machine (default CPU, SeaBIOS), for run_guest.py in place of
# btvm: qemu_pc.sh [OPTIONS...] ELF. The options before the ELF (-append, -initrd) mean the same
# to QEMU as to btvm. The exit status is 33 when the guest passed (0 for acpi: power-off).
# QEMU_CPU, when set, names the CPU model (qemu_p2.sh sets pentium2); QEMU_BOOT=-bios makes the
# last argument a ROM started from the reset vector (qemu_bios.sh).
i=0; n=$#; elf=
for a; do  # split off the last argument; the loop walks a copy of the list
  i=$((i + 1))
  if [ "$i" -eq "$n" ]; then elf=$a; else set -- "$@" "$a"; fi
done
shift "$n"
exec qemu-system-i386 -M pc ${QEMU_CPU:+-cpu "$QEMU_CPU"} "${QEMU_BOOT:--kernel}" "$elf" -display none -no-reboot -serial stdio -monitor none \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 32 "$@"
