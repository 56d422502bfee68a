#!/bin/sh
# Boots a guest kernel on QEMU's Pentium II (-cpu pentium2: PAE, PSE-36, PAT), for run_guest.py
# in place of btvm: qemu_p2.sh [OPTIONS...] ELF, as qemu_pc.sh. The exit status is 33 when the
# guest passed. QEMU_CPU names another CPU model.
QEMU_CPU=${QEMU_CPU:-pentium2} exec "$(dirname "$0")/qemu_pc.sh" "$@"
