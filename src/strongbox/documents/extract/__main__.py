"""Command line: python -m strongbox.documents.extract [options] [--] EXTENSION PATH

Prints the file's text as UTF-8 on stdout and exits 0. When the file cannot be parsed it prints a one-line
reason on stderr and exits 2; when it runs out of memory it exits 3. (argparse also uses 2, for usage errors,
which run_extraction never makes.)

--memory-bytes and --cpu-seconds make the process limit itself (RLIMIT_AS, RLIMIT_CPU) before the file is
opened, so everything that touches the file's content is bounded. --max-pages bounds the work per file further
(see pdf.py). --max-chars truncates the output, so a huge text never has to cross the pipe.
"""

import argparse
import logging
import resource
import sys

from strongbox.documents.extract import extract_text
from strongbox.ops.appserver import die_with_parent

EXIT_DAMAGED = 2
EXIT_OUT_OF_MEMORY = 3
_MAX_REASON = 300


def limit_resources(memory_bytes: int | None, cpu_seconds: int | None) -> None:
    """Lower this process's address-space and CPU-time limits; never above an existing hard limit.

    The CPU hard limit is one second past the soft one: the soft limit delivers SIGXCPU, the hard one SIGKILL.
    """
    if memory_bytes is not None:
        _lower(resource.RLIMIT_AS, memory_bytes, memory_bytes)
    if cpu_seconds is not None:
        _lower(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
    # A crash while parsing must not leave a core file holding the document's content.
    _lower(resource.RLIMIT_CORE, 0, 0)


def _lower(which: int, soft: int, hard: int) -> None:
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
        soft = min(soft, hard)
    resource.setrlimit(which, (soft, hard))


def _one_line(exc: BaseException) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return reason[:_MAX_REASON]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m strongbox.documents.extract",
                                     description="Print the text of a document.")
    parser.add_argument("extension", help="canonical extension: pdf, png, jpeg, txt, md, csv, docx or xlsx")
    parser.add_argument("path")
    parser.add_argument("--max-chars", type=int, help="print at most this many characters")
    parser.add_argument("--memory-bytes", type=int, help="address-space limit for this process")
    parser.add_argument("--cpu-seconds", type=int, help="CPU-time limit for this process")
    parser.add_argument("--max-pages", type=int, help="read at most this many pages of a PDF")
    parser.add_argument("--parent", type=int, help="die when this process (the caller) dies")
    args = parser.parse_args(argv)

    if args.parent:
        # A task worker killed mid-extraction must not leave its child parsing on (the job runs again elsewhere).
        die_with_parent(args.parent)
    limit_resources(args.memory_bytes, args.cpu_seconds)
    # pypdf logs a warning for every flaw it works around; the outcome is all the caller needs.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        text = extract_text(args.path, args.extension, max_pages=args.max_pages)
    except MemoryError:
        print("ran out of memory", file=sys.stderr)
        return EXIT_OUT_OF_MEMORY
    except Exception as exc:
        print(_one_line(exc), file=sys.stderr)
        return EXIT_DAMAGED
    if args.max_chars is not None:
        text = text[: args.max_chars]
    # Lone surrogates from odd PDF encodings cannot be encoded; replacing them beats failing the whole file.
    sys.stdout.buffer.write(text.encode("utf-8", errors="replace"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
