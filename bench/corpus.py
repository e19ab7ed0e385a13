"""The benchmark corpus: deterministic documents, loaded in bulk, or written out as files for another system.

N documents of 80 words each, drawn with a fixed seed from a fixed vocabulary of 1,000 made-up words (two to four
syllables of SYLLABLES, none of them a real word of the queries below), plus:

- `invoice` in every tenth document (10 %: 1,000 hits in 10,000), at a fixed position of its text;
- `zeppelin` in exactly 5 documents, whatever N is (a rare term);
- titles "Document 000001 <word> <word>", unique; category by position (8 categories in turn);
  two tags each from 20 (`tag00`…`tag19`).

The same N always gives the same documents, byte for byte, so the corpus can be loaded into another document
manager for a side-by-side comparison (`export`). Loading writes the rows and the search index directly (one
transaction, executemany), not through the upload service: a corpus of 100,000 loads in well under a minute.

    .venv/bin/python bench/corpus.py export DIR --count 10000    # DIR/000001.txt ... for another system
"""

import argparse
import datetime
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SEED = 2026
WORDS_PER_DOCUMENT = 80
COMMON, RARE = "invoice", "zeppelin"
RARE_COUNT = 5
TAGS = [f"tag{n:02d}" for n in range(20)]
CATEGORIES = ["invoice", "receipt", "contract", "letter", "report", "manual", "personal", "other"]
SYLLABLES = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "we", "xa", "yo", "zu", "be", "do", "fi",
             "gu", "ha", "ji", "ko"]
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def vocabulary() -> list[str]:
    rng = random.Random(SEED)  # noqa: S311 - a fixed corpus, not a secret
    words: set[str] = set()
    while len(words) < 1000:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


@dataclass(frozen=True)
class CorpusDocument:
    number: int  # 1-based
    title: str
    category: str
    tags: tuple[str, str]
    body: str
    created_at: datetime.datetime

    @property
    def filename(self) -> str:
        return f"{self.number:06d}.txt"


def rare_numbers(count: int) -> set[int]:
    """The documents that contain the rare term: RARE_COUNT of them, spread over the corpus."""
    return {1 + (count * k) // RARE_COUNT + 3 for k in range(RARE_COUNT)} if count >= 50 else set()


def documents(count: int) -> Iterator[CorpusDocument]:
    words = vocabulary()
    rng = random.Random(SEED + count)  # noqa: S311 - a fixed corpus, not a secret
    rare = rare_numbers(count)
    for number in range(1, count + 1):
        body = rng.choices(words, k=WORDS_PER_DOCUMENT)
        if number % 10 == 0:
            body[7] = COMMON
        if number in rare:
            body[23] = RARE
        title = f"Document {number:06d} {body[0]} {body[1]}"
        tags = (TAGS[number % 20], TAGS[(number * 7 + 3) % 20])
        if tags[0] == tags[1]:
            tags = (tags[0], TAGS[(number + 1) % 20])
        yield CorpusDocument(number=number, title=title, category=CATEGORIES[number % len(CATEGORIES)], tags=tags,
                             body=" ".join(body), created_at=START + datetime.timedelta(minutes=number))


def load(owner, count: int, *, batch: int = 5000) -> None:
    """Give `owner` the corpus of `count` documents (rows, tags, extracted text and search index), in bulk.

    The documents' files are not written (lists, pages and search never read them); downloads are measured on
    files uploaded through the app."""
    from django.db import connections, router, transaction

    from strongbox.documents import cache
    from strongbox.documents.models import Document, DocumentText, Tag
    from strongbox.documents.search import get_backend
    from strongbox.documents.search.base import IndexEntry

    database = router.db_for_write(Document)
    with transaction.atomic(using=database):
        tags = {tag.name: tag for tag in Tag.objects.using(database).bulk_create(
            [Tag(owner=owner, name=name) for name in TAGS])}
        through = Document.tags.through
        pending: list[CorpusDocument] = []

        def flush() -> None:
            Document.objects.using(database).bulk_create([Document(
                owner=owner, title=d.title, category=d.category, file=f"corpus/{d.filename}",
                original_filename=d.filename, extension="txt", content_type="text/plain",
                size=len(d.body.encode()), sha256=hashlib.sha256(d.body.encode()).hexdigest(),
                text_status="ready") for d in pending])
            by_title = dict(Document.objects.using(database).filter(
                owner=owner, title__in=[d.title for d in pending]).values_list("title", "id"))
            pairs = [(d, by_title[d.title]) for d in pending]
            # created_at is auto_now_add: spread the documents over time afterwards, as a real archive is.
            with connections[database].cursor() as cursor:
                cursor.executemany(f"UPDATE {Document._meta.db_table} SET created_at = %s, updated_at = %s "  # noqa: S608
                                   "WHERE id = %s", [(d.created_at, d.created_at, pk) for d, pk in pairs])
            DocumentText.objects.using(database).bulk_create([DocumentText(document_id=pk, body=d.body)
                                                              for d, pk in pairs])
            through.objects.using(database).bulk_create(
                [through(document_id=pk, tag_id=tags[name].pk) for d, pk in pairs for name in d.tags])
            get_backend().index_many([IndexEntry(document_id=pk, owner_id=owner.pk, title=d.title,
                                                 tags=" ".join(d.tags), description="", body=d.body)
                                      for d, pk in pairs])
            pending.clear()

        for document in documents(count):
            pending.append(document)
            if len(pending) == batch:
                flush()
        if pending:
            flush()
        cache.bump(owner.pk)


def export(directory: Path, count: int) -> None:
    """Write the corpus as text files (the body) plus index.tsv (file, title, category, tags)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "index.tsv").open("w") as index:
        index.write("file\ttitle\tcategory\ttags\n")
        for document in documents(count):
            (directory / document.filename).write_text(document.body + "\n")
            index.write(f"{document.filename}\t{document.title}\t{document.category}\t{','.join(document.tags)}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("export", help="write the corpus as text files for another system")
    out.add_argument("directory", type=Path)
    out.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    export(args.directory, args.count)
    print(f"wrote {args.count} documents to {args.directory}")


if __name__ == "__main__":
    main()
