"""`strongbox import PATH… --user NAME`: store a folder tree's files as the user's documents (documents/importer.py),
with a progress bar on a terminal, a line per file otherwise, and a summary. Run it again after an interruption:
it imports only what is missing. Exit status 1 when a file was refused, 130 when interrupted."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from strongbox.documents.forms import MAX_TAGS, parse_tags
from strongbox.documents.importer import files_under, import_file
from strongbox.documents.models import Category

BAR_WIDTH = 30


class Command(BaseCommand):
    help = ("Import files and folder trees (recursively) as a user's documents, with the checks of an upload. "
            "Files the user already has (same SHA-256) are skipped, so an interrupted import can simply be run "
            "again.")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders to import")
        parser.add_argument("--user", required=True, help="the username who will own the documents")
        parser.add_argument("--tag", action="append", default=[], help="a tag for every document (repeatable)")
        parser.add_argument("--category", default=Category.OTHER, choices=Category.values,
                            help="the category of every document (default: other)")
        parser.add_argument("--allow-duplicates", action="store_true",
                            help="store files the user already has too (they are skipped by default)")

    def handle(self, *args, paths, user, tag, category, allow_duplicates, **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user named {user!r}.")
        missing = [str(path) for path in paths if not path.exists()]
        if missing:
            raise CommandError(f"No such file or folder: {', '.join(missing)}")
        tags = parse_tags(",".join(tag))
        if len(tags) > MAX_TAGS:
            raise CommandError(f"Use at most {MAX_TAGS} tags.")
        files = list(files_under(paths))
        results = []
        progress = _Progress(self.stderr, len(files))
        try:
            for path in files:
                progress.step(path)
                result = import_file(owner=owner, path=path, category=category, tags=tags,
                                     allow_duplicates=allow_duplicates)
                results.append(result)
                progress.done(result)
        except KeyboardInterrupt:
            progress.close()
            self._summary(results, len(files))
            self.stderr.write("Interrupted. Run the same command again to import the rest.")
            raise SystemExit(130) from None
        progress.close()
        self._summary(results, len(files))
        if any(result.outcome == "refused" for result in results):
            raise SystemExit(1)

    def _summary(self, results, total: int) -> None:
        def of(outcome):
            return [result for result in results if result.outcome == outcome]

        imported, duplicates, refused = of("imported"), of("duplicate"), of("refused")
        self.stdout.write(f"Imported: {len(imported)}")
        self.stdout.write(f"Skipped, already uploaded: {len(duplicates)}")
        for result in duplicates:
            self.stdout.write(f"  {result.path}: {result.message}")
        self.stdout.write(f"Refused: {len(refused)}")
        for result in refused:
            self.stdout.write(f"  {result.path}: {result.message}")
        if len(results) < total:
            self.stdout.write(f"Not yet looked at: {total - len(results)}")


class _Progress:
    """A bar redrawn in place on a terminal; a plain line per file when the output is a file or a pipe."""

    def __init__(self, output, total: int):
        self.output, self.total, self.count = output, total, 0
        self.tty = output.isatty()

    def _write(self, text: str) -> None:
        # Plain (the command's stderr is styled as errors on a terminal), no added newline, at once.
        self.output.write(text, style_func=str, ending="")
        self.output.flush()

    def step(self, path: Path) -> None:
        if self.tty:
            filled = BAR_WIDTH * self.count // max(self.total, 1)
            name = path.name if len(path.name) <= 40 else path.name[:39] + "…"
            self._write(f"\r\033[K[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.count}/{self.total} {name}")

    def done(self, result) -> None:
        self.count += 1
        if not self.tty:
            self._write(f"{self.count}/{self.total} {result.outcome}: {result.path} ({result.message})\n")

    def close(self) -> None:
        if self.tty:
            self._write(f"\r\033[K[{'#' * BAR_WIDTH}] {self.count}/{self.total}\n"
                        if self.count == self.total else "\n")
