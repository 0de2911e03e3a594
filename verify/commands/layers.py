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


#: Largest state for ``--order exact`` (full S x S Jacobians per position).
EXACT_MAX_STATE = 512


def load_layer(arch: str, weights, prefix: str = "", order: str = "first"):
    """The cell of ``arch`` from the state dict in ``weights`` (under ``prefix``).

    ``--order exact`` is refused for a state beyond :data:`EXACT_MAX_STATE` units: the
    first order of a diagonal recurrence is its exact transport, without the Jacobians.
    """
    from .. import recurrences as rec

    if not Path(weights).is_file():
        raise UsageError(f"--weights: no such file {str(weights)!r}")
    try:
        net = rec.load_state_dict(arch, weights, prefix=prefix)
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise UsageError(f"--arch {arch} --weights {str(weights)!r}: {exc}") from None
    if order == "exact" and net.hidden > EXACT_MAX_STATE:
        raise UsageError(
            f"--order exact: this {arch} layer has {net.hidden} state units (> "
            f"{EXACT_MAX_STATE}), too many for full Jacobians; its first order is exact "
            "(a diagonal linear recurrence): use --order first"
        )
    return net
