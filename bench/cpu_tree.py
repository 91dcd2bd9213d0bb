#!/usr/bin/python3
"""CPU milliseconds (user+system, reaped children included) used so far by the given PIDs
and all their live descendants. Two readings around a run give the CPU a server (with its
helper processes, as Postfix's) spent on it. usage: cpu_tree.py PID [PID...]"""
import os
import sys

tick = os.sysconf("SC_CLK_TCK")
procs = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            stat = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()
        procs[int(d)] = (int(f[1]), sum(int(x) for x in f[11:15]))  # ppid; utime stime cutime cstime
children = {}
for pid, (ppid, _) in procs.items():
    children.setdefault(ppid, []).append(pid)
total, seen, stack = 0, set(), [int(p) for p in sys.argv[1:]]
while stack:
    p = stack.pop()
    if p in seen or p not in procs:
        continue
    seen.add(p)
    total += procs[p][1]
    stack.extend(children.get(p, []))
print(total * 1000 // tick)
