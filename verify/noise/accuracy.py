"""Accuracy table of the tail-index estimators on synthetic symmetric stable samples.

``python -m verify.noise.accuracy --out FILE`` writes a markdown table of the mean absolute
error of ``alpha`` per true ``alpha`` and method; :func:`accuracy_table` returns the same
numbers as data and :func:`render_markdown` turns them into text.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from theory._validate import check_int

from . import stable, tail

__all__ = ["AccuracyTable", "accuracy_table", "main", "render_markdown"]

DEFAULT_ALPHAS = tuple(round(1.1 + 0.1 * i, 1) for i in range(10))


@dataclass(frozen=True)
class AccuracyTable:
    """Mean absolute errors of ``alpha`` (``mae[i, j]``: alpha ``i``, method ``j``).

    Attributes
    ----------
    alphas : tuple of float
        True tail indices.
    methods : tuple of str
        Estimator names.
    mae : numpy.ndarray
        Mean absolute error of ``alpha`` over the repetitions.
    mae_sigma : numpy.ndarray
        Mean absolute error of ``sigma`` (true value 1).
    n, reps, seed : int
        Sample size, repetitions per ``alpha`` and root seed.
    """

    alphas: tuple
    methods: tuple
    mae: np.ndarray
    mae_sigma: np.ndarray
    n: int
    reps: int
    seed: int

    def overall(self) -> dict:
        """Return the grid-averaged MAE of ``alpha`` per method."""
        return {m: float(self.mae[:, j].mean()) for j, m in enumerate(self.methods)}

    def plot_data(self) -> dict:
        """Plain lists for the report figure: alphas and the MAE of alpha per method."""
        return {
            "alphas": [float(a) for a in self.alphas],
            "mae": {m: self.mae[:, j].tolist() for j, m in enumerate(self.methods)},
            "n": int(self.n),
            "reps": int(self.reps),
        }

    def best(self) -> str:
        """Return the method with the smallest grid-averaged MAE of ``alpha``."""
        o = self.overall()
        return min(o, key=o.get)


def accuracy_table(alphas=DEFAULT_ALPHAS, methods=tail.METHODS, *, n=200_000, reps=5, seed=0):
    """Estimate ``alpha`` and ``sigma`` on ``reps`` samples of ``n`` SaS(1) values per alpha.

    Repetition ``r`` at ``alphas[i]`` uses ``seed`` spawned at ``(i, r)``, so the table is
    reproducible and every method sees the same samples.

    Returns
    -------
    AccuracyTable
    """
    n = check_int("n", n, lo=16)
    reps = check_int("reps", reps, lo=1)
    seed = check_int("seed", seed, lo=0)
    for m in methods:
        if m not in tail.METHODS:
            raise ValueError(f"methods must be drawn from {tail.METHODS}, got {m!r}")
    err_a = np.zeros((len(alphas), len(methods)))
    err_s = np.zeros_like(err_a)
    for i, a in enumerate(alphas):
        for r in range(reps):
            ss = np.random.SeedSequence(seed, spawn_key=(i, r))
            x = stable.sample(a, size=n, seed=ss)
            for j, m in enumerate(methods):
                est = tail.estimate(x, m)
                err_a[i, j] += abs(est.alpha - a) / reps
                err_s[i, j] += abs(est.sigma - 1.0) / reps
    return AccuracyTable(tuple(alphas), tuple(methods), err_a, err_s, n, reps, seed)


def render_markdown(table: AccuracyTable) -> str:
    """Render ``table`` as a markdown table (alpha MAE, sigma MAE in parentheses)."""
    head = "| alpha | " + " | ".join(table.methods) + " |"
    rule = "|---" * (len(table.methods) + 1) + "|"
    rows = [
        f"| {a:.1f} | "
        + " | ".join(
            f"{table.mae[i, j]:.4f} ({table.mae_sigma[i, j]:.4f})"
            for j in range(len(table.methods))
        )
        + " |"
        for i, a in enumerate(table.alphas)
    ]
    overall = table.overall()
    rows.append("| **mean** | " + " | ".join(f"**{overall[m]:.4f}**" for m in table.methods) + " |")
    intro = (
        f"Mean absolute error of alpha (of sigma in parentheses), SaS(1) samples, "
        f"n = {table.n}, {table.reps} repetitions per alpha, seed {table.seed}. "
        f"Best: {table.best()}."
    )
    return "\n".join([intro, "", head, rule, *rows]) + "\n"


def main(argv=None) -> int:
    """Command-line entry: write the accuracy table as markdown."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="markdown file to write (default: print)")
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    text = render_markdown(accuracy_table(n=args.n, reps=args.reps, seed=args.seed))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
