"""Command line: python -m strongbox.documents.extract [options] [--] EXTENSION PATH

Prints the file's text as UTF-8 on stdout and exits 0. When the file cannot be parsed it prints a one-line
reason on stderr and exits 2; when it runs out of memory it exits 3. (argparse also uses 2, for usage errors,
which run_extraction never makes.)

--memory-bytes and --cpu-seconds make the process limit itself (RLIMIT_AS, RLIMIT_CPU) before the file is
opened, so everything that touches the file's content is bounded. --max-pages bounds the work per file further
(see pdf.py). --max-chars truncates the output, so a huge text never has to cross the pipe.

--json prints {"text", "source", "ocr_pages"} instead (extract_document); with --ocr-languages the child also
recognises text with Tesseract (ocr.py) within --ocr-seconds, after reading the text layer within --layer-seconds
(a timer, so a hostile PDF is stopped as soon as without OCR; exit 4, "timed out").

--render-to DIR writes preview images into DIR instead (render.py) and prints {"pages", "page_count"}.
"""

import argparse
import json
import logging
import resource
import signal
import sys

from strongbox.documents.extract import OcrOptions, extract_document, extract_text
from strongbox.ops.appserver import die_with_parent

EXIT_DAMAGED = 2
EXIT_OUT_OF_MEMORY = 3
EXIT_TIMED_OUT = 4
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
    parser.add_argument("--json", action="store_true", help="print the text and its source as JSON")
    parser.add_argument("--layer-seconds", type=float, help="time allowed for reading the text layer")
    parser.add_argument("--ocr-languages", help="recognise text with Tesseract in these languages (eng+deu)")
    parser.add_argument("--tesseract", default="tesseract", help="the tesseract binary")
    parser.add_argument("--ocr-seconds", type=float, default=60, help="time allowed for OCR")
    parser.add_argument("--ocr-max-pages", type=int, default=20, help="recognise at most this many PDF pages")
    parser.add_argument("--max-pixels", type=int, default=50_000_000, help="refuse larger images")
    parser.add_argument("--render-to", help="write preview images into this directory instead")
    parser.add_argument("--render-seconds", type=float, default=30, help="stop adding page images after this")
    args = parser.parse_args(argv)

    if args.parent:
        # A task worker killed mid-extraction must not leave its child parsing on (the job runs again elsewhere).
        die_with_parent(args.parent)
    limit_resources(args.memory_bytes, args.cpu_seconds)
    # pypdf logs a warning for every flaw it works around; the outcome is all the caller needs.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        output = _run(args)
    except _TimedOut:
        print("timed out", file=sys.stderr)
        return EXIT_TIMED_OUT
    except MemoryError:
        print("ran out of memory", file=sys.stderr)
        return EXIT_OUT_OF_MEMORY
    except Exception as exc:
        print(_one_line(exc), file=sys.stderr)
        return EXIT_DAMAGED
    # Lone surrogates from odd PDF encodings cannot be encoded; replacing them beats failing the whole file.
    sys.stdout.buffer.write(output.encode("utf-8", errors="replace"))
    sys.stdout.flush()
    return 0


class _TimedOut(Exception):
    pass


def _alarm(signum, frame):
    raise _TimedOut()


def _run(args) -> str:
    """Do what the arguments ask; return what to print."""
    if args.render_to:
        from strongbox.documents.extract.render import main_render

        return main_render(args.path, args.extension, args.render_to, max_pages=args.max_pages or 1,
                           max_pixels=args.max_pixels, seconds=args.render_seconds)
    if not args.json:
        text = extract_text(args.path, args.extension, max_pages=args.max_pages)
        return text[: args.max_chars] if args.max_chars is not None else text
    ocr = None
    if args.ocr_languages:
        ocr = OcrOptions(tesseract=args.tesseract, languages=args.ocr_languages, seconds=args.ocr_seconds,
                         max_pages=args.ocr_max_pages, max_pixels=args.max_pixels)
    if args.layer_seconds:
        # The text layer gets the time it would have without OCR; OCR's own budget starts after it.
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, args.layer_seconds)
    result = _extract(args, ocr)
    if args.max_chars is not None:
        result["text"] = result["text"][: args.max_chars]
    return json.dumps(result, ensure_ascii=False)


def _extract(args, ocr: OcrOptions | None) -> dict:
    def layer_read() -> None:
        # The timer covers the text layer only: OcrBudget bounds what follows.
        signal.setitimer(signal.ITIMER_REAL, 0)

    try:
        return extract_document(args.path, args.extension, max_pages=args.max_pages, ocr=ocr, layer_read=layer_read)
    finally:
        layer_read()


if __name__ == "__main__":
    sys.exit(main())
