"""Run text extraction in a child process with memory, CPU-time and wall-clock limits.

Parsers (pypdf above all) can be made to loop, recurse or allocate without bound by a hostile file. The child
is `python -m strongbox.documents.extract`, which applies RLIMIT_AS and RLIMIT_CPU to itself before it opens
the file. The limits are applied by the child rather than through subprocess's preexec_fn because preexec_fn
is unsafe in threaded programs, and the task worker that calls this runs threads.

The child gets a minimal environment: no Django settings, no secrets, only what Python needs to find this
package.
"""

import json
import math
import os
import signal
import subprocess  # runs our own extractor module, never a shell  # nosec B404
import sys
from pathlib import Path

import strongbox
from strongbox.documents.extract import SUPPORTED_EXTENSIONS, OcrOptions

__all__ = ["ExtractionFailed", "run_document_extraction", "run_extraction", "run_render", "time_limit"]

_CHILD_MODULE = "strongbox.documents.extract"
_EXIT_DAMAGED = 2  # strongbox.documents.extract.__main__.EXIT_DAMAGED
_EXIT_OUT_OF_MEMORY = 3  # strongbox.documents.extract.__main__.EXIT_OUT_OF_MEMORY
_EXIT_TIMED_OUT = 4  # strongbox.documents.extract.__main__.EXIT_TIMED_OUT


class ExtractionFailed(Exception):
    """Text could not be extracted. str(exc) is a short reason fit to store and show, e.g. "timed out",
    "ran out of memory" or "the file is damaged: <parser's reason>"."""


def time_limit(size: int, *, minimum: float, per_mb: float, maximum: float) -> float:
    """Return the seconds an extraction of a `size`-byte file may take: `minimum` plus `per_mb` for each MB, at
    most `maximum`.

    Honest files cost time in proportion to their size (pypdf reads a text-heavy PDF at a few seconds per MB);
    a hostile one costs it out of all proportion, so the limit follows the size rather than being the same
    `maximum` for a 5 KB file as for a 50 MB one.
    """
    return min(maximum, minimum + per_mb * size / (1024 * 1024))


def run_extraction(path: str, extension: str, *, timeout: float = 60, memory_bytes: int = 512 * 1024 * 1024,
                   max_chars: int = 2_000_000, max_pages: int | None = None) -> str:
    """Return the text of the file at `path` (canonical `extension`), at most `max_chars` characters long, of
    at most `max_pages` pages of a PDF.

    The child may use `memory_bytes` of address space and `timeout` seconds, both of wall-clock time and
    (rounded up) of CPU time. Raises ExtractionFailed when it fails, ValueError for an unsupported extension.
    """
    if extension not in SUPPORTED_EXTENSIONS:
        raise ValueError(f"no text extractor for {extension!r}")
    options = ["--max-chars", str(max_chars), *(("--max-pages", str(max_pages)) if max_pages is not None else ())]
    return _run_child(path, extension, options, timeout=timeout, memory_bytes=memory_bytes)[:max_chars]


def run_document_extraction(path: str, extension: str, *, timeout: float = 60,
                            memory_bytes: int = 512 * 1024 * 1024, max_chars: int = 2_000_000,
                            max_pages: int | None = None, ocr: OcrOptions | None = None) -> dict:
    """Return {"text", "source", "ocr_pages"} (extract_document) for the file, read in a limited child as
    run_extraction does. Reading the text layer may take `timeout` seconds; with `ocr`, recognising text where
    there is none may take ocr.seconds more. Raises ExtractionFailed, ValueError like run_extraction."""
    if extension not in SUPPORTED_EXTENSIONS:
        raise ValueError(f"no text extractor for {extension!r}")
    options = ["--json", "--max-chars", str(max_chars), "--layer-seconds", str(timeout),
               *(("--max-pages", str(max_pages)) if max_pages is not None else ())]
    total = timeout
    if ocr is not None:
        options += ["--ocr-languages", ocr.languages, "--tesseract", ocr.tesseract, "--ocr-seconds",
                    str(ocr.seconds), "--ocr-max-pages", str(ocr.max_pages), "--max-pixels", str(ocr.max_pixels)]
        total += ocr.seconds + 2  # the child's start and its JSON
    output = _run_child(path, extension, options, timeout=total, memory_bytes=memory_bytes)
    try:
        result = json.loads(output)
    except ValueError:
        raise ExtractionFailed("the extractor's output was cut off") from None
    result["text"] = result["text"][:max_chars]
    return result


def run_render(path: str, extension: str, out_dir: str, *, timeout: float = 60,
               memory_bytes: int = 512 * 1024 * 1024, max_pages: int = 50, max_pixels: int = 50_000_000) -> dict:
    """Write the file's preview images into `out_dir` (render.py) in a limited child; return {"pages",
    "page_count"}. Page images stop being added after half of `timeout`. Raises ExtractionFailed when the file
    cannot be rendered."""
    options = ["--render-to", out_dir, "--max-pages", str(max_pages), "--max-pixels", str(max_pixels),
               "--render-seconds", str(timeout / 2)]
    output = _run_child(path, extension, options, timeout=timeout, memory_bytes=memory_bytes)
    try:
        return json.loads(output)
    except ValueError:
        raise ExtractionFailed("the renderer's output was cut off") from None


def _run_child(path: str, extension: str, options: list[str], *, timeout: float, memory_bytes: int) -> str:
    command = [
        sys.executable, "-m", _CHILD_MODULE,
        "--memory-bytes", str(memory_bytes),
        "--cpu-seconds", str(max(1, math.ceil(timeout))),
        *options,
        # The calling thread waits in subprocess.run until the child ends, so the kernel's parent-death signal
        # (which follows the thread that started the child) fires only when the whole worker process dies.
        "--parent", str(os.getpid()),
        "--", extension, path,
    ]
    try:
        # No shell, and the path is a single argument after "--": nothing in it is ever interpreted.
        completed = subprocess.run(  # noqa: S603  # fixed command: our own module, sys.executable  # nosec B603
            command, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, env=_child_environment(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        # subprocess.run has already killed the child.
        raise ExtractionFailed("timed out") from None
    if completed.returncode != 0:
        raise ExtractionFailed(_failure_reason(completed.returncode, completed.stderr))
    return completed.stdout.decode("utf-8", errors="replace")


def _child_environment() -> dict[str, str]:
    package_parent = Path(strongbox.__file__).resolve().parent.parent
    environment = {
        "PYTHONPATH": str(package_parent),
        # Do not put the worker's current directory on sys.path, where a stray module could shadow ours.
        "PYTHONSAFEPATH": "1",
        "PYTHONUTF8": "1",
    }
    # The operator's choice about writing bytecode caches holds for the child too.
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        environment["PYTHONDONTWRITEBYTECODE"] = os.environ["PYTHONDONTWRITEBYTECODE"]
    return environment


def _failure_reason(returncode: int, stderr: bytes) -> str:
    message = stderr.decode("utf-8", errors="replace")
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if returncode == _EXIT_DAMAGED:
        return f"the file is damaged: {lines[-1] if lines else 'unknown error'}"
    if returncode == _EXIT_TIMED_OUT:
        return "timed out"
    if returncode == _EXIT_OUT_OF_MEMORY or "MemoryError" in message:
        return "ran out of memory"
    if returncode == -signal.SIGXCPU:
        return "timed out"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the extractor was killed by {name}"
    return f"the extractor failed with exit status {returncode}"
