"""Trained weights in, cells out: the registry of loaders, architecture -> loader.

:data:`LOADERS` maps an architecture name to its loader, ``(path, prefix="", layer=None)
-> Loaded``; a new architecture adds its entry here, built on the strict-key helpers of
:mod:`verify.recurrences.state_dict` (unknown and missing keys are errors that suggest a
matching prefix; a stack's layer is never chosen silently; what the file leaves open is
recorded in :attr:`Loaded.notes`).  The inputs of layer ``k`` of a stack are the outputs of
layers ``0..k-1`` (:meth:`Loaded.layer_inputs`).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

import numpy as np

from .gru import GRU
from .layer_state_dicts import ARCHITECTURES, load_state_dict
from .lstm import LSTM
from .state_dict import LoadError, torch_stack

__all__ = ["LOADERS", "LoadError", "Loaded", "load"]


@dataclass(frozen=True)
class Loaded:
    """Cells read from a file: the stack, the chosen layer and what was assumed.

    Attributes
    ----------
    cells : tuple of Cell
        The stack, layer 0 first (one cell for a single-cell file).
    layer : int
        The layer whose window is asked for.
    keys : tuple of str
        The file keys read for that layer.
    notes : tuple of str
        What the file left open and the loader assumed.
    """

    cells: tuple
    layer: int
    keys: tuple
    notes: tuple = ()

    @property
    def cell(self):
        """The chosen layer's cell."""
        return self.cells[self.layer]

    @property
    def layers(self) -> int:
        """Number of layers in the stack."""
        return len(self.cells)

    def layer_inputs(self, x) -> np.ndarray:
        """The inputs of the chosen layer for stack inputs ``x`` (B, T, D of layer 0)."""
        x = self.cells[0].check_inputs(x)
        for cell in self.cells[: self.layer]:
            x = np.ascontiguousarray(cell.forward(x).h[:, 1:])
        return x


def _torch_loader(cls):
    def load_torch(path, prefix="", layer=None) -> Loaded:
        st = torch_stack(path, prefix, cls.kind, layer)
        cells = []
        for i, arr in enumerate(st.layers):
            try:
                cells.append(cls(arr["weight_ih"], arr["weight_hh"], arr.get("bias_ih"),
                                 arr.get("bias_hh")))  # fmt: skip
            except ValueError as exc:
                raise LoadError(f"prefix {prefix!r}, layer {i}: not {cls.kind.upper()} "
                                f"weights ({exc})") from None  # fmt: skip
        for i in range(1, len(cells)):
            if cells[i].inputs != cells[i - 1].hidden:
                raise LoadError(f"layer {i} takes {cells[i].inputs} inputs but layer {i - 1} "
                                f"has {cells[i - 1].hidden} units")  # fmt: skip
        return Loaded(cells=tuple(cells), layer=st.layer, keys=st.keys, notes=st.notes)

    load_torch.__doc__ = (
        f"Load a PyTorch {cls.kind.upper()} (cell or stack) from an ``.npz`` state dict."
    )
    return load_torch


def _layer_loader(arch):
    def load_layer(path, prefix="", layer=None) -> Loaded:
        if layer is not None:
            raise LoadError(f"a {arch} file holds one layer: select it with the prefix "
                            f"(e.g. 'layers.{layer}.'), not a layer index")  # fmt: skip
        try:
            cell = load_state_dict(arch, path, prefix=prefix)
        except (OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise LoadError(f"not a readable state dict ({type(exc).__name__}: {exc})") from None
        except ValueError as exc:
            raise LoadError(str(exc)) from None
        return Loaded(cells=(cell,), layer=0, keys=())

    load_layer.__doc__ = (
        f"Load a {arch} layer from its module's state dict (``.npz`` or ``.safetensors``; "
        ":func:`verify.recurrences.layer_state_dicts.load_state_dict`)."
    )
    return load_layer


#: Architecture name -> loader ``(path, prefix="", layer=None) -> Loaded``.
LOADERS = {
    "gru": _torch_loader(GRU),
    "lstm": _torch_loader(LSTM),
    **{arch: _layer_loader(arch) for arch in ARCHITECTURES},
}


def load(arch: str, path, prefix: str = "", layer=None) -> Loaded:
    """Load trained weights of architecture ``arch`` (a key of :data:`LOADERS`).

    Raises
    ------
    LoadError
        On a missing, unknown or ambiguous key, an unnamed layer of a stack, or arrays of
        the wrong shapes; the message names the keys and suggests a prefix that matches.
    """
    if arch not in LOADERS:
        raise LoadError(f"arch must be one of {sorted(LOADERS)}, got {arch!r}")
    if not isinstance(prefix, str):
        raise LoadError(f"prefix must be a string, got {prefix!r}")
    return LOADERS[arch](path, prefix=prefix, layer=layer)
