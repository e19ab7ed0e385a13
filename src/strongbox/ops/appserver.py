"""Run granian (arguments as for `python -m granian`) so that none of its processes outlives its parent.

`strongbox serve` starts the app server in a process group of its own, so that a SIGTERM to serve's group reaches
serve alone and serve can drain before it stops granian (ops/serve.py). The price is that killing
serve's group no longer kills the app server with it; the kernel does it instead: serve asks for SIGKILL to its
children when it dies, and this entry point asks the same for every worker granian forks, when granian dies. So
`kill -9` of serve ends all of it at once, as it did when they shared a group.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when `parent` (its parent now) dies, even by SIGKILL."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above: nobody would send the signal
        os.kill(os.getpid(), signal.SIGKILL)


_forking = {"parent": os.getpid()}


def _before_fork() -> None:
    _forking["parent"] = os.getpid()


def _after_fork_in_child() -> None:
    die_with_parent(_forking["parent"])


def main() -> None:
    # granian forks its workers (multiprocessing's default start method on Linux).
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
    from granian.cli import entrypoint

    entrypoint()


if __name__ == "__main__":
    main()
