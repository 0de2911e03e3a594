"""Strict reading of PyTorch state dicts saved as ``.npz``: keys, prefixes and layers.

A state dict saved as ``.npz`` (``np.savez(path, **{k: v.numpy() for k, v in
model.state_dict().items()})``) holds the arrays of a whole model; ``prefix`` names the
module of the recurrent cell inside it (``"rnn."``, ``"decoder.rnn."``).  The module's own
keys (``prefix + name`` with no further ``.`` in ``name``) must be exactly the keys its
architecture expects: a missing or unknown key is an error that names the keys and, where
another prefix would match, suggests it; a stack's layer must be named.  The helpers
(:func:`own_keys`, :func:`check_known_keys`, :func:`missing_key_error`) serve every loader
of :mod:`verify.recurrences.loading`; :func:`torch_stack` reads PyTorch's GRU/LSTM layout.
"""

from __future__ import annotations

import difflib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "LoadError",
    "TorchStack",
    "check_known_keys",
    "missing_key_error",
    "own_keys",
    "read_npz",
    "suggest_prefixes",
    "torch_stack",
]


class LoadError(ValueError):
    """Weights that cannot be loaded as asked (missing, unknown or ambiguous keys)."""


def read_npz(path) -> dict:
    """All arrays of an ``.npz`` archive, read eagerly (the file is closed on return)."""
    p = Path(path)
    if not p.is_file():
        raise LoadError(f"no such file {str(path)!r}")
    if not zipfile.is_zipfile(p):
        raise LoadError(f"{str(path)!r} is not an .npz archive")
    try:
        with np.load(p, allow_pickle=False) as data:
            return {k: np.array(data[k]) for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        what = f"{type(exc).__name__}: {exc}"
        raise LoadError(f"{str(path)!r}: not a readable .npz ({what})") from None


def own_keys(arrays: dict, prefix: str) -> dict:
    """``{name: array}`` for the keys ``prefix + name`` whose ``name`` has no ``.``.

    Keys of sub-modules (``prefix + "sub.weight"``) and of other modules are left out.
    """
    n = len(prefix)
    return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix) and "." not in k[n:]}


def suggest_prefixes(keys, pattern: str) -> list:
    """Prefixes ``p`` such that some key is ``p + name`` with ``name`` matching ``pattern``."""
    rx = re.compile(f"(?:^|(?<=\\.))(?:{pattern})$")
    found = set()
    for k in keys:
        m = rx.search(k)
        if m:
            found.add(k[: m.start()])
    return sorted(found)


def _prefix_hint(keys, pattern, prefix) -> str:
    cands = [p for p in suggest_prefixes(keys, pattern) if p != prefix]
    if not cands:
        return ""
    shown = ", ".join(repr(p) for p in cands[:5])
    return f"; the keys match with prefix {shown} (--prefix {cands[0]})"


def missing_key_error(missing, prefix, keys, pattern) -> LoadError:
    """The error for expected keys that are absent, with a prefix that would match."""
    names = ", ".join(prefix + m for m in missing)
    shown = sorted(keys)
    listing = ", ".join(shown[:12]) + (f", ... ({len(shown)} keys)" if len(shown) > 12 else "")
    return LoadError(f"missing key(s) {names} (prefix {prefix!r}); the file has: {listing}"
                     + _prefix_hint(keys, pattern, prefix))  # fmt: skip


def check_known_keys(own: dict, prefix: str, valid, expected_names) -> None:
    """Refuse own keys that ``valid(name)`` rejects, suggesting the nearest expected names."""
    bad = sorted(k for k in own if not valid(k))
    if not bad:
        return
    parts = []
    for k in bad:
        close = difflib.get_close_matches(k, expected_names, n=1, cutoff=0.6)
        hint = f" (did you mean {prefix + close[0]!r}?)" if close else ""
        parts.append(f"{prefix + k!r}{hint}")
    raise LoadError(
        "unknown key(s) " + ", ".join(parts) + f"; expected {', '.join(expected_names)} "
        "(a torch.nn.GRUCell/LSTMCell) or the same with _l0, _l1, ... (a torch.nn.GRU/LSTM)"
    )


_TORCH_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_TORCH_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)(?:_l(\d+))?(_reverse)?$")


def _torch_layers(own: dict, prefix: str) -> dict:
    """``{layer: {name: array}}`` of a PyTorch GRU/LSTM state dict (cell: layer ``None``)."""
    check_known_keys(own, prefix, lambda k: _TORCH_KEY.match(k) is not None, _TORCH_NAMES)
    layers: dict = {}
    for k, v in own.items():
        name, num, rev = _TORCH_KEY.match(k).groups()
        if rev:
            raise LoadError(f"{prefix + k!r}: bidirectional layers are not supported (the "
                            "reverse direction reads time backwards)")  # fmt: skip
        layers.setdefault(None if num is None else int(num), {})[name] = v
    if None in layers and len(layers) > 1:
        raise LoadError(f"prefix {prefix!r} mixes cell keys (weight_ih) and layer keys "
                        "(weight_ih_l0): give the prefix of one module")  # fmt: skip
    nums = sorted(k for k in layers if k is not None)
    if nums and nums != list(range(len(nums))):
        raise LoadError(f"layers {nums} under prefix {prefix!r}: expected 0..{len(nums) - 1}")
    return layers


@dataclass(frozen=True)
class TorchStack:
    """The PyTorch-layout arrays of a cell or a stack, read strictly.

    Attributes
    ----------
    layers : tuple of dict
        Per layer (0 first): ``weight_ih``, ``weight_hh`` and, when present, the biases.
    layer : int
        The chosen layer.
    keys : tuple of str
        The file keys of the chosen layer.
    notes : tuple of str
        What the file left open (no biases: zero).
    """

    layers: tuple
    layer: int
    keys: tuple
    notes: tuple


def torch_stack(path, prefix: str = "", kind: str = "rnn", layer=None) -> TorchStack:
    """Read a PyTorch GRU/LSTM (``*Cell`` or ``nn.GRU``/``nn.LSTM``) from an ``.npz``.

    Raises
    ------
    LoadError
        On a missing or unknown key, a bidirectional layer, or an unnamed layer of a stack.
    """
    if not isinstance(prefix, str):
        raise LoadError(f"prefix must be a string, got {prefix!r}")
    arrays = read_npz(path)
    own = own_keys(arrays, prefix)
    pattern = r"weight_hh(?:_l\d+)?"
    layers = _torch_layers(own, prefix) if own else {}
    if not layers:
        raise missing_key_error(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], prefix,
                                arrays, pattern)  # fmt: skip
    stack = sorted(layers, key=lambda k: -1 if k is None else k)
    if layer is None:
        if len(stack) > 1:
            raise LoadError(
                f"the file holds a {len(stack)}-layer {kind.upper()} stack under prefix "
                f"{prefix!r} (weight_hh_l0 .. weight_hh_l{len(stack) - 1}): name the layer "
                f"(--layer K, K in 0..{len(stack) - 1}); no layer is chosen silently"
            )
        layer = 0
    elif not 0 <= layer < len(stack):
        raise LoadError(f"layer {layer} is out of range: the file holds {len(stack)} "
                        f"layer(s), 0..{len(stack) - 1}")  # fmt: skip
    out, notes, keys = [], [], ()
    for i, num in enumerate(stack):
        suffix = "" if num is None else f"_l{num}"
        arr = layers[num]
        names = [n + suffix for n in _TORCH_NAMES]
        missing = [n for n, base in zip(names, _TORCH_NAMES, strict=True)
                   if base not in arr and base.startswith("weight")]  # fmt: skip
        if missing:
            raise missing_key_error(missing, prefix, arrays, pattern)
        has = [b for b in ("bias_ih", "bias_hh") if b in arr]
        if len(has) == 1:
            other = ({"bias_ih", "bias_hh"} - set(has)).pop()
            raise missing_key_error([other + suffix], prefix, arrays, pattern)
        if not has:
            notes.append(f"layer {i}: no bias_ih{suffix}/bias_hh{suffix} in the file "
                         "(a module built with bias=False): biases taken as zero")  # fmt: skip
        out.append(dict(arr))
        if i == layer:
            keys = tuple(prefix + n for n, b in zip(names, _TORCH_NAMES, strict=True)
                         if b in arr)  # fmt: skip
    return TorchStack(layers=tuple(out), layer=layer, keys=keys, notes=tuple(notes))
