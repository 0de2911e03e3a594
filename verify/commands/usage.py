"""What the command handlers share: usage errors, exit codes, checks before any work.

A handler checks what it can before it computes or writes anything (the device, the
output paths, the sample sizes), so that bad usage costs nothing and leaves nothing
behind: :class:`UsageError` carries the message, and :func:`verify.cli.main` turns it into
exit status :data:`EXIT_USAGE`.
"""

from __future__ import annotations

__all__ = [
    "EXIT_FAIL",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "check_device",
    "check_json_path",
    "check_ns",
    "write_atomic",
]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments that argparse itself cannot detect."""


def check_device(device):
    """Refuse, before any run, a ``--device`` that this machine does not have."""
    from ..device import DeviceUnavailableError
    from ..device import check_device as check

    try:
        check(device)
    except DeviceUnavailableError as exc:
        raise UsageError(f"--device {device}: {exc}") from None


def check_json_path(path):
    """Refuse, before any run, a ``--json`` path that cannot be written."""
    from ..report.writer import check_writable_file

    return None if path is None else check_writable_file(path, what="--json")


def check_ns(ns):
    """``--N`` values, checked before any work: finite and >= 1."""
    for n in ns or []:
        if not n >= 1:
            raise UsageError(f"--N: N must be >= 1, got {n:g}")


def write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary sibling (its folder must exist)."""
    from ..report.writer import write_text_atomic

    write_text_atomic(path, text)
