"""Load for bench/budget.py: wrk (closed model, for the peak) with a Lua script that cycles through a list of
paths and counts every status code, and curl for the file transfers. Both run pinned to the load core."""

import re
import shutil
import subprocess  # noqa: S404 - wrk and curl with fixed argument lists
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  paths = {}
  for line in io.lines(args[1]) do table.insert(paths, line) end
  once = args[2] == "once"
  statuses = {}
  sent = 0
  wrapped = 0
end
function request()
  sent = sent + 1
  if sent > #paths then
    if once then wrk.thread:stop() end
    wrapped = wrapped + 1
  end
  return wrk.format(nil, paths[(sent - 1) % #paths + 1])
end
function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    for status, count in pairs(counted) do io.write("STATUS " .. status .. " " .. count .. "\n") end
    io.write("WRAPPED " .. thread:get("wrapped") .. "\n")
  end
  io.write(string.format("LATENCY p50 %d p99 %d\n", latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class WrkResult:
    seconds: float  # the run's duration as wrk reports it
    statuses: dict[int, int]
    wrapped: int  # requests that reused a path (0 when each path was used once)
    p50_ms: float
    p99_ms: float
    socket_errors: int

    def counted(self, expected: int) -> int:
        return self.statuses.get(expected, 0)

    def rate(self, expected: int) -> float:
        return self.counted(expected) / self.seconds if self.seconds else 0.0


def parse_wrk(output: str) -> WrkResult:
    """Parse wrk's summary plus the lines the Lua script's done() writes."""
    statuses: dict[int, int] = {}
    for status, count in re.findall(r"^STATUS (\d+) (\d+)$", output, re.MULTILINE):
        statuses[int(status)] = statuses.get(int(status), 0) + int(count)
    wrapped = sum(int(count) for count in re.findall(r"^WRAPPED (\d+)$", output, re.MULTILINE))
    latency = re.search(r"^LATENCY p50 (\d+) p99 (\d+)$", output, re.MULTILINE)
    duration = re.search(r"requests in ([\d.]+)(us|ms|s|m)\b", output)
    seconds = float(duration.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[duration.group(2)]
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(seconds=seconds, statuses=statuses, wrapped=wrapped,
                     p50_ms=int(latency.group(1)) / 1000 if latency else 0.0,
                     p99_ms=int(latency.group(2)) / 1000 if latency else 0.0,
                     socket_errors=sum(map(int, sockets.groups())) if sockets else 0)


def wrk(base_url: str, paths: list[str], headers: dict[str, str], duration: float, *, once: bool, core: int,
        connections: int = 16) -> WrkResult:
    """wrk -t1 -cN for `duration` s cycling through `paths` (with `once`, each at most once: the thread stops)."""
    with tempfile.TemporaryDirectory(prefix="sbbudget-wrk-") as tmp:
        script, listing = Path(tmp) / "cycle.lua", Path(tmp) / "paths.txt"
        script.write_text(LUA)
        listing.write_text("\n".join(paths) + "\n")
        command = ["taskset", "-c", str(core), shutil.which("wrk"), "-t1", f"-c{connections}",
                   f"-d{max(1, round(duration))}s", "--timeout", "10s", "-s", str(script)]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        command += [base_url + paths[0], "--", str(listing), "once" if once else "cycle"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)  # noqa: S603
    if result.returncode:
        raise RuntimeError(f"wrk failed: {result.stderr}{result.stdout}")
    return parse_wrk(result.stdout)


def curl(args: list[str], core: int, output: str = "/dev/null") -> tuple[int, float, float]:
    """curl -o OUTPUT pinned to `core`; return (HTTP status, seconds, bytes moved)."""
    result = subprocess.run(["taskset", "-c", str(core), "curl", "-sS", "-o", output, "-w",  # noqa: S603,S607
                             "%{http_code} %{time_total} %{size_upload} %{size_download}", *args],
                            capture_output=True, text=True, check=False, timeout=600)
    if result.returncode:
        raise RuntimeError(f"curl failed: {result.stderr}")
    status, total, uploaded, downloaded = result.stdout.split()
    return int(status), float(total), max(float(uploaded), float(downloaded))


def incompressible_pdf(path: Path, size: int) -> None:
    """A file of `size` bytes that passes the PDF check (signature, %%EOF at the end), random inside."""
    import os

    block = os.urandom(1024 * 1024)
    head, tail = b"%PDF-1.7\n", b"\n%%EOF\n"
    with path.open("wb") as out:
        out.write(head)
        left = size - len(head) - len(tail)
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= min(left, len(block))
        out.write(tail)
