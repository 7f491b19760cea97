#!/usr/bin/env python3
"""Mark version needs of an ELF shared library weak, so the dynamic loader accepts a missing version.

Usage: weak_verneed.py LIBRARY VERSION [VERSION ...]     e.g.  weak_verneed.py libLibTorchSharp.so GLIBCXX_3.4.32

Why: TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13's libstdc++ and so records a need for
GLIBCXX_3.4.32, for one symbol only (std::ios_base_library_init, which GCC 13's <iostream> references to pin the
library version; it is a no-op and nothing calls it: the library has no relocation against it). Debian 12's
libstdc++ stops at GLIBCXX_3.4.30, and the loader refuses the library. A version need flagged VER_FLG_WEAK
that the provider lacks is not an error to glibc's loader (dl-version.c: "weak version ... not found" is
reported only under LD_VERBOSE), so setting that one flag is enough.

The script refuses to patch when a symbol bound to that version is the target of a relocation (then the
symbol would really be called, and the fix would be wrong), and it only touches the 2-byte vna_flags field
of the matching Vernaux entries. Idempotent; pure standard library; prints what it did.
"""
import struct
import sys

SHT_DYNSYM = 11
SHT_RELA = 4
SHT_GNU_VERNEED = 0x6FFFFFFE
SHT_GNU_VERSYM = 0x6FFFFFFF
VER_FLG_WEAK = 0x2


def main(path, versions):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit("weak_verneed: %s is not a little-endian 64-bit ELF file" % path)
    e_shoff, = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = []
    for i in range(e_shnum):
        name, typ, flags, addr, off, size, link, info, align, entsize = struct.unpack_from(
            "<IIQQQQIIQQ", data, e_shoff + i * e_shentsize)
        sections.append({"type": typ, "off": off, "size": size, "link": link, "entsize": entsize})

    def cstr(strtab, offset):
        start = sections[strtab]["off"] + offset
        return data[start:data.index(b"\0", start)].decode()

    # Vernaux entries whose version name is asked for: remember their version index and flags offset.
    targets = {}
    for s in sections:
        if s["type"] != SHT_GNU_VERNEED:
            continue
        vn = s["off"]
        while True:
            vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, vn)
            vna = vn + vn_aux
            for _ in range(vn_cnt):
                vna_hash, vna_flags, vna_other, vna_name, vna_next = struct.unpack_from("<IHHII", data, vna)
                name = cstr(s["link"], vna_name)
                if name in versions:
                    targets[vna_other] = (vna + 4, vna_flags, name, cstr(s["link"], vn_file))
                vna += vna_next
                if vna_next == 0:
                    break
            if vn_next == 0:
                break
            vn += vn_next
    missing = set(versions) - {t[2] for t in targets.values()}
    if missing:
        print("weak_verneed: %s needs no %s (nothing to do for it)" % (path, ", ".join(sorted(missing))))

    # Which dynamic symbols carry those versions, and is any of them relocated against (really used)?
    dynsym = next(i for i, s in enumerate(sections) if s["type"] == SHT_DYNSYM)
    versym = next(s for s in sections if s["type"] == SHT_GNU_VERSYM)
    count = sections[dynsym]["size"] // 24
    bound = {}
    for i in range(count):
        ver, = struct.unpack_from("<H", data, versym["off"] + 2 * i)
        if ver & 0x7FFF in targets:
            st_name, = struct.unpack_from("<I", data, sections[dynsym]["off"] + 24 * i)
            bound[i] = (ver & 0x7FFF, cstr(sections[dynsym]["link"], st_name))
    for s in sections:
        if s["type"] == SHT_RELA and s["link"] == dynsym:
            for r in range(s["size"] // 24):
                r_info, = struct.unpack_from("<Q", data, s["off"] + 24 * r + 8)
                if r_info >> 32 in bound:
                    sys.exit("weak_verneed: %s relocates against %s: the version is really used; not patching"
                             % (path, bound[r_info >> 32][1]))

    changed = False
    for index, (flags_at, flags, name, file) in sorted(targets.items()):
        symbols = ", ".join(name for ver, name in bound.values() if ver == index) or "no symbol"
        if flags & VER_FLG_WEAK:
            print("weak_verneed: %s: %s (%s) already weak" % (path, name, file))
            continue
        struct.pack_into("<H", data, flags_at, flags | VER_FLG_WEAK)
        changed = True
        print("weak_verneed: %s: %s (%s) marked weak; symbols bound to it, none relocated: %s"
              % (path, name, file, symbols))
    if changed:
        with open(path, "r+b") as f:
            f.write(data)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[2])
    main(sys.argv[1], set(sys.argv[2:]))
