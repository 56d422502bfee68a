#!/bin/sh
# Runs a ROM guest from the reset vector on QEMU's Pentium II, for run_guest.py in place of
# btvm: qemu_bios.sh [OPTIONS...] ROM, as qemu_pc.sh. The exit status is 33 when the guest passed.
QEMU_BOOT=-bios QEMU_CPU=${QEMU_CPU:-pentium2} exec "$(dirname "$0")/qemu_pc.sh" "$@"
