#!/usr/bin/env python3
"""Instructions per operation at each machine instruction of one function: the difference of two
callgrind profiles (runs of N and 2N operations, both made with --dump-instr=yes) divided by N,
printed beside the function's disassembly. For when the binary's debug info is unreadable to
valgrind (run it on a `strip -g` copy and point this at the unstripped binary).

    annotate-asm.py BINARY SMALL.callgrind LARGE.callgrind N SYMBOL-SUBSTRING
"""
import re
import subprocess
import sys
from collections import defaultdict


def costs(path, wanted):
    """Self cost per instruction address of functions whose name contains `wanted`."""
    per_address = defaultdict(int)
    names = {}
    current_fn = None
    skip_next = False
    address = 0
    cost_column = 1
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("positions:"):
                cost_column = len(line.split()) - 1
                continue
            if line.startswith("fn="):
                m = re.match(r"fn=\((\d+)\)(?: (.*))?", line)
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                current_fn = names.get(m.group(1), "")
                continue
            if line.startswith("cfn="):
                m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line)
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                continue
            if line.startswith("calls="):
                skip_next = True
                continue
            if not line or not (line[0] in "0+-*" or line[0].isdigit()):
                continue
            parts = line.split()
            pos = parts[0]
            if pos.startswith("0x"):
                address = int(pos, 16)
            elif pos.startswith("+"):
                address += int(pos[1:], 16) if pos[1:].startswith("0x") else int(pos[1:])
            elif pos.startswith("-"):
                address -= int(pos[1:], 16) if pos[1:].startswith("0x") else int(pos[1:])
            if skip_next:
                skip_next = False
                continue
            if wanted in (current_fn or "") and len(parts) > cost_column:
                per_address[address] += int(parts[cost_column])
    return per_address


def main():
    binary, small, large, count, wanted = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    a, b = costs(small, wanted), costs(large, wanted)
    diff = {addr: (b.get(addr, 0) - a.get(addr, 0)) / count for addr in set(a) | set(b)}
    if not diff:
        sys.exit("no instructions found for " + wanted)
    symbols = subprocess.run(["nm", "-C", "--defined-only", binary], capture_output=True, text=True).stdout
    raw = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True).stdout
    lo = min(addr for addr, c in diff.items())
    # Valgrind maps a PIE at a fixed base; find it from the symbol whose name matches.
    candidates = [(int(l.split()[0], 16), l.split()[2]) for l in raw.splitlines() if len(l.split()) == 3 and wanted in l]
    demangled = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(n for _, n in candidates), capture_output=True, text=True).stdout.splitlines()
    start = None
    for (addr, name), pretty in zip(candidates, demangled):
        start = addr
        break
    base = lo - start if start is not None and lo > start else 0
    # Disassemble the function around the profiled addresses.
    hi = max(diff)
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={lo - base:#x}", f"--stop-address={hi - base + 16:#x}", binary],
                         capture_output=True, text=True).stdout
    total = 0
    for line in dis.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if not m:
            continue
        addr = int(m.group(1), 16) + base
        cost = diff.get(addr, 0)
        total += cost
        print(f"{cost:7.1f}  {m.group(1)}  {m.group(2)}")
    print(f"{total:7.1f}  total")


main()
