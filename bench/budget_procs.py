"""Process accounting for bench/budget.py, from /proc: the serving tree's CPU seconds and each process's RSS.

The parsing is pure (text in, numbers out) so tests/bench/test_budget.py checks it on fixed /proc lines."""

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Stat:
    pid: int
    ppid: int
    name: str
    ticks: int  # utime + stime + cutime + cstime: the process's CPU and that of its reaped children


def parse_stat(text: str) -> Stat:
    """Parse one /proc/PID/stat line; the command name may hold spaces and parentheses, so split at the last ')'."""
    head, _, rest = text.rpartition(")")
    pid, _, name = head.partition(" (")
    fields = rest.split()
    # Fields after the name, from 0: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime(11) stime(12) cutime(13) cstime(14).
    return Stat(pid=int(pid), ppid=int(fields[1]), name=name, ticks=sum(int(value) for value in fields[11:15]))


def descendants(stats: dict[int, Stat], root: int) -> list[int]:
    """`root` and every process below it, root first, then breadth first."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    tree, index = [root] if root in stats else [], 0
    while index < len(tree):
        tree.extend(sorted(children.get(tree[index], [])))
        index += 1
    return tree


def tree_ticks(stats: dict[int, Stat], root: int) -> int:
    return sum(stats[pid].ticks for pid in descendants(stats, root))


def parse_rss_kb(status: str) -> int:
    """VmRSS of a /proc/PID/status text, in kB (0 for a zombie, which has none)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def read_stats() -> dict[int, Stat]:
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue  # it ended while we walked
    return stats


TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    return tree_ticks(read_stats(), root) / TICK


def rss_mb(pid: int) -> float:
    try:
        return parse_rss_kb((PROC / str(pid) / "status").read_text()) / 1024
    except OSError:
        return 0.0


def tree_rss(root: int) -> list[tuple[int, str, float]]:
    """(pid, name, RSS MB) for `root` and each process below it."""
    stats = read_stats()
    return [(pid, stats[pid].name, round(rss_mb(pid), 1)) for pid in descendants(stats, root)]
