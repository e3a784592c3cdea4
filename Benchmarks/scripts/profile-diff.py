#!/usr/bin/env python3
"""Per-operation instructions by function: the difference of two callgrind profiles (runs of N and
2N operations) divided by N, so start-up cost cancels out. Self cost, largest first.

    profile-diff.py SMALL.callgrind LARGE.callgrind N [TOP [inclusive]]
"""
import re
import subprocess
import sys


def self_costs(path):
    out = subprocess.run(["callgrind_annotate", "--inclusive=" + ("yes" if len(sys.argv) > 5 else "no"), "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in out.splitlines():
        match = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", line)
        if match and "PROGRAM TOTALS" not in line:
            name = re.sub(r" \[[^]]*\]$", "", match.group(2))
            costs[name] = costs.get(name, 0) + int(match.group(1).replace(",", ""))
    return costs


def main():
    small, large, count = self_costs(sys.argv[1]), self_costs(sys.argv[2]), int(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 60
    diff = {name: (large.get(name, 0) - small.get(name, 0)) / count for name in set(small) | set(large)}
    total = sum(diff.values())
    print(f"{total:10.0f}  total per operation")
    for name, cost in sorted(diff.items(), key=lambda item: -item[1])[:top]:
        demangled = subprocess.run(["swift", "demangle", "--simplified", name.split(":", 1)[-1]],
                                   capture_output=True, text=True).stdout.strip() if "$s" in name else name
        print(f"{cost:10.0f}  {demangled[:150]}")


if __name__ == "__main__":
    main()
