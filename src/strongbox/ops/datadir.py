"""The data directory is private to the user Strongbox runs as: checked, and repaired, at every start.

New files are private through the umask (cli.py, wsgi.py). Installations made before that have a 0755 directory
with 0644 files; their owner evidently meant them for Strongbox alone, so start-up takes away the group's and other
users' access, logging each path it changes, and refuses to start when it cannot (the directory belongs to
another user). Only the directory and what is directly inside it are checked: with the directory at 0700, nobody
else reaches anything below it, and a file store of a million documents is not walked at every start.
"""

import logging
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)
SHARED_BITS = 0o077


def data_dir_make_private(root: Path) -> list[Path]:
    """Remove group and other permissions from `root` and its entries; return the paths changed."""
    changed = []
    for path in [root, *root.iterdir()]:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:  # removed meanwhile, e.g. SQLite's -shm file by another process
            continue
        if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & SHARED_BITS:
            continue
        private = stat.S_IMODE(mode) & ~SHARED_BITS
        try:
            path.chmod(private)
        except OSError as error:
            raise ImproperlyConfigured(
                f"{path} is open to other users (mode {stat.S_IMODE(mode):o}) and Strongbox cannot make it private: "
                f"{error.strerror}. As its owner run: chmod go= {path} (or give STRONGBOX_DATA_DIR to the user "
                "Strongbox runs as).") from None
        logger.warning("%s was open to other users (mode %o); it is now private to its owner (mode %o).",
                       path, stat.S_IMODE(mode), private)
        changed.append(path)
    return changed
