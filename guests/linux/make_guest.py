#!/usr/bin/env python3
"""Builds the Debian i386 guest: Debian 12's 686 and 686-pae kernels and an initramfs holding
busybox-static, all from Debian's archive, cached outside the build tree.

    make_guest.py [--cache DIR] [--print-env]

Prints the paths (or shell assignments with --print-env). Exit status 77 (meson's "skip") with a
one-line reason when the archive cannot be reached or i386 packages cannot be fetched here.
The initramfs is written here as a newc cpio (device nodes included, no root needed)."""
import argparse, gzip, io, os, shutil, subprocess, sys

SKIP = 77
PACKAGES = {"686": "linux-image-686", "686-pae": "linux-image-686-pae"}
INITTAB = """::sysinit:/etc/rcS
ttyS0::respawn:-/bin/sh
::shutdown:/bin/umount -a -r
"""
RCS = """#!/bin/sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "btvm-guest: userspace up ($(uname -r))"
"""
PROFILE = 'export PS1="\\w # "\nexport PATH=/bin:/sbin:/usr/bin:/usr/sbin\n'


def skip(why):
    print(f"make_guest: skipped: {why}", file=sys.stderr)
    sys.exit(SKIP)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def ensure_i386():
    if "i386" in run(["dpkg", "--print-foreign-architectures"]).split():
        return
    if os.geteuid() != 0:
        skip("dpkg has no i386 architecture and adding it needs root (dpkg --add-architecture i386)")
    run(["dpkg", "--add-architecture", "i386"])
    try:
        run(["apt-get", "update", "-qq"])
    except subprocess.CalledProcessError as e:
        skip(f"apt-get update failed: {e.stderr.strip()[:200]}")


def resolve(meta):
    """The concrete package a metapackage names, e.g. linux-image-6.1.0-57-686."""
    try:
        out = run(["apt-cache", "depends", f"{meta}:i386"])
    except subprocess.CalledProcessError:
        try:
            run(["apt-get", "update", "-qq"])
            out = run(["apt-cache", "depends", f"{meta}:i386"])
        except subprocess.CalledProcessError as e:
            skip(f"{meta}:i386 not known to apt: {e.stderr.strip()[:200]}")
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            return line.split()[1].split(":")[0]
    skip(f"cannot resolve {meta}:i386")


def download(pkg, cache):
    """Extracted package tree, fetched once per exact version."""
    version = run(["apt-cache", "policy", f"{pkg}:i386"]).split("Candidate:")[1].split()[0]
    dest = os.path.join(cache, f"{pkg}_{version.replace(':', '%3a')}")
    if os.path.isdir(dest):
        return dest
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        run(["apt-get", "download", "-qq", f"{pkg}:i386"], cwd=tmp)
    except subprocess.CalledProcessError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        skip(f"cannot download {pkg}:i386 from Debian's archive: {e.stderr.strip()[:200]}")
    deb = [f for f in os.listdir(tmp) if f.endswith(".deb")][0]
    run(["dpkg-deb", "-x", os.path.join(tmp, deb), os.path.join(tmp, "root")])
    os.rename(tmp, dest)
    return dest


def cpio_newc(entries):
    """entries: (path, mode, data or None, rdev (major, minor) or None)."""
    out = io.BytesIO()
    def pad():
        out.write(b"\0" * (-out.tell() % 4))
    for ino, (path, mode, data, rdev) in enumerate(entries + [("TRAILER!!!", 0, b"", None)], 1):
        data = data or b""
        name = path.encode() + b"\0"
        major, minor = rdev or (0, 0)
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, major, minor, len(name), 0]
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
        out.write(name)
        pad()
        out.write(data)
        pad()
    return out.getvalue()


def make_initrd(busybox, path):
    d, f, c = 0o040755, 0o100755, 0o020600
    entries = [(p, d, None, None) for p in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys",
                                            "dev", "tmp", "root")]
    entries += [("dev/console", c, None, (5, 1)), ("dev/ttyS0", c | 0o066, None, (4, 64)),
                ("dev/null", c | 0o066, None, (1, 3))]
    entries.append(("bin/busybox", f, open(busybox, "rb").read(), None))
    # The applets are links made at boot by `busybox --install`; init and sh must exist first.
    for name in ("bin/sh", "sbin/init", "init"):
        entries.append((name, 0o120777, b"/bin/busybox", None))
    entries += [("etc/inittab", 0o100644, INITTAB.encode(), None), ("etc/rcS", f,
                RCS.encode(), None),
                ("etc/profile", 0o100644, PROFILE.encode(), None)]
    with open(path + ".tmp", "wb") as fh:
        fh.write(gzip.compress(cpio_newc(entries), 9, mtime=0))
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.environ.get("BTVM_GUEST_CACHE",
                                                      os.path.expanduser("~/.cache/btvm/debian-i386")))
    ap.add_argument("--print-env", action="store_true", help="print KERNEL_686=... shell assignments")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    ensure_i386()
    out = {}
    for flavour, meta in PACKAGES.items():
        pkg = resolve(meta)
        root = os.path.join(download(pkg, a.cache), "root")
        boot = os.path.join(root, "boot")
        out[flavour] = os.path.join(boot, [n for n in os.listdir(boot) if n.startswith("vmlinuz-")][0])
    bb = os.path.join(download("busybox-static", a.cache), "root", "bin", "busybox")
    initrd = os.path.join(a.cache, "initrd.gz")
    make_initrd(bb, initrd)
    if a.print_env:
        print(f"KERNEL_686={out['686']}\nKERNEL_686_PAE={out['686-pae']}\nINITRD={initrd}")
    else:
        for k, v in out.items():
            print(f"kernel {k}: {v}")
        print(f"initrd: {initrd}")


if __name__ == "__main__":
    main()
