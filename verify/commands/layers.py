"""Loading a minGRU, minLSTM, RG-LRU or Mamba layer for ``learnwin window``.

A thin shell over :func:`verify.recurrences.load_state_dict`: its errors (a missing key, a
key the module does not define, a file of another architecture, a layer under a prefix)
become usage errors (exit 2), with the flag named.
"""

from __future__ import annotations

from pathlib import Path

from .usage import UsageError

__all__ = ["LAYERS", "load_layer"]

#: The architectures read from a module's state dict (``.npz`` or ``.safetensors``).
LAYERS = ("mingru", "minlstm", "rglru", "mamba")


def load_layer(arch: str, weights, prefix: str = ""):
    """The cell of ``arch`` from the state dict in ``weights`` (under ``prefix``)."""
    from .. import recurrences as rec

    if not Path(weights).is_file():
        raise UsageError(f"--weights: no such file {str(weights)!r}")
    try:
        return rec.load_state_dict(arch, weights, prefix=prefix)
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise UsageError(f"--arch {arch} --weights {str(weights)!r}: {exc}") from None
