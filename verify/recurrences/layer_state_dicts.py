"""Loading minGRU, minLSTM, RG-LRU and Mamba layers from the state dicts people have.

A state dict is read from an ``.npz`` (``np.savez(f, **{k: v.numpy() for k, v in
module.state_dict().items()})``) or from a ``.safetensors`` file (what ``save_pretrained``
of ``transformers`` writes), without torch.  Key names are those of the modules:
``minGRU_pytorch``'s ``minGRU``/``minLSTM``, ``transformers``' ``RecurrentGemmaRglru`` and
``MambaMixer``.  A layer inside a whole model is selected by its key prefix (e.g.
``backbone.layers.0.mixer.`` or ``model.layers.0.temporal_block.rg_lru.``).

Loading is strict: a missing key, or a key under the prefix that the module does not
define, is an error naming it; where the file holds another architecture, or the layer
sits under a prefix, the error says so.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import numpy as np

from .mamba import Mamba
from .minimal import MinGRU, MinLSTM
from .rglru import RGLRU

__all__ = [
    "ARCHITECTURES",
    "KEYS",
    "file_keys",
    "load_state_dict",
    "read_arrays",
    "read_safetensors",
]

#: Architecture name -> cell class.
ARCHITECTURES = {"mingru": MinGRU, "minlstm": MinLSTM, "rglru": RGLRU, "mamba": Mamba}

#: Architecture name -> (required keys, optional keys) of its module's state dict.
KEYS = {
    "mingru": ((MinGRU.weight_key,), ("to_out.weight",)),
    "minlstm": ((MinLSTM.weight_key,), ("to_out.weight",)),
    "rglru": (RGLRU.KEYS, ()),
    "mamba": (Mamba.REQUIRED, Mamba.OPTIONAL),
}
#: The PyTorch GRU/LSTM layout read by :class:`~verify.recurrences.torch_layout.TorchLayout`.
TORCH_RNN_KEYS = ("weight_ih", "weight_hh")

_SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def _safetensors_header(path: Path) -> tuple[dict, int]:
    """The JSON header of a ``.safetensors`` file and the offset of its data."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError(f"{path.name}: too short for a .safetensors file")
        (n,) = struct.unpack("<Q", head)
        if n > size - 8:
            raise ValueError(f"{path.name}: not a .safetensors file (header length {n})")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path.name}: not a .safetensors file ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path.name}: not a .safetensors file (header is not a table)")
    header.pop("__metadata__", None)
    return header, 8 + n


def read_safetensors(path, names=None) -> dict:
    """The tensors of a ``.safetensors`` file as float64 NumPy arrays (BF16 widened exactly).

    The format: an 8-byte little-endian header length, a JSON header of
    ``name -> {dtype, shape, data_offsets}``, then the raw little-endian data.  Only the
    tensors in ``names`` (all by default) are read from the disk.
    """
    path = Path(path)
    header, start = _safetensors_header(path)
    out = {}
    for name, info in header.items():
        if names is not None and name not in names:
            continue
        lo, hi = info["data_offsets"]
        with open(path, "rb") as fh:
            fh.seek(start + lo)
            buf = fh.read(hi - lo)
        kind = info["dtype"]
        if kind == "BF16":  # the high half of a float32
            arr = (np.frombuffer(buf, "<u2").astype(np.uint32) << 16).view("<f4")
        elif kind in _SAFETENSORS_DTYPES:
            arr = np.frombuffer(buf, _SAFETENSORS_DTYPES[kind])
        else:
            raise ValueError(f"{path.name}: tensor {name!r} has dtype {kind}, not a real number")
        out[name] = arr.astype(np.float64).reshape(info["shape"])
    return out


def file_keys(path) -> list[str]:
    """The array names of an ``.npz`` or ``.safetensors`` file, without reading the arrays."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such file {str(path)!r}")
    if zipfile.is_zipfile(path):
        with np.load(path, allow_pickle=False) as data:
            return list(data.files)
    return list(_safetensors_header(path)[0])


def read_arrays(path, names=None) -> dict:
    """The arrays of an ``.npz`` or ``.safetensors`` file (those in ``names``), as float64."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such file {str(path)!r}")
    if not zipfile.is_zipfile(path):
        return read_safetensors(path, names)
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: np.array(data[k]) for k in data.files if names is None or k in names}
    bad = [k for k, v in arrays.items() if v.dtype.kind not in "biuf"]
    if bad:
        raise ValueError(f"{path.name}: arrays {bad} are not real numbers")
    return {k: v.astype(np.float64) for k, v in arrays.items()}


def _prefixes(keys, required) -> list[str]:
    """Prefixes under which every one of ``required`` is present."""
    first = required[0]
    cands = [k[: -len(first)] for k in keys if k.endswith(first)]
    return sorted(p for p in cands if all(p + r in keys for r in required))


def _what_else(keys, arch) -> str:
    """A sentence naming what the keys hold instead of ``arch``, or ''."""
    if any(k.endswith(TORCH_RNN_KEYS[1]) or k.endswith(TORCH_RNN_KEYS[1] + "_l0") for k in keys):
        return (" The file holds PyTorch GRU/LSTM-layout weights (weight_ih, weight_hh): "
                "use --arch gru or --arch lstm.")  # fmt: skip
    for other, (req, _) in KEYS.items():
        if other != arch and _prefixes(keys, req):
            return f" The file holds {other} weights: use --arch {other}."
    return ""


def load_state_dict(arch: str, source, prefix: str = ""):
    """Build the cell of ``arch`` from a state dict.

    Parameters
    ----------
    arch : {"mingru", "minlstm", "rglru", "mamba"}
    source : path or mapping
        An ``.npz``/``.safetensors`` file, or a mapping of key -> array.
    prefix : str
        Key prefix of the layer inside a larger state dict (``""``: the layer's own).

    Raises
    ------
    ValueError
        For an unknown ``arch``, a missing or unexpected key (named), a file of another
        architecture (named), or arrays of the wrong shapes.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {sorted(ARCHITECTURES)}, got {arch!r}")
    if not isinstance(prefix, str):
        raise ValueError(f"prefix must be a string, got {prefix!r}")
    if isinstance(source, dict):
        keys = set(source)
        where = "the state dict"
    else:
        keys = set(file_keys(source))
        where = Path(source).name
    required, optional = KEYS[arch]
    missing = [prefix + k for k in required if prefix + k not in keys]
    if missing:
        msg = f"{where} holds no {arch} layer at prefix {prefix!r}: missing {missing}."
        found = _prefixes(keys, required)
        if found:
            msg += f" {arch} layers are at the prefixes {found[:8]}: pass one as the prefix."
        else:
            msg += _what_else(keys, arch)
        raise ValueError(msg)
    names = {k for k in keys if k.startswith(prefix)}
    if isinstance(source, dict):
        arrays = {k: np.asarray(source[k], dtype=np.float64) for k in names}
    else:
        arrays = read_arrays(source, names)
    own = {k[len(prefix) :]: v for k, v in arrays.items()}
    unexpected = sorted(set(own) - set(required) - set(optional))
    if unexpected:
        raise ValueError(
            f"{where}: keys under prefix {prefix!r} that a {arch} layer does not define: "
            f"{[prefix + k for k in unexpected][:8]} (expected {list(required + optional)})"
        )
    return ARCHITECTURES[arch].from_state_dict(own)
