"""The claims compare against theory's own functions: none recomputes a closed form.

ARCHITECTURE.md: every number the claims compare against comes from ``theory``.  A claim
that writes ``n ** (1 / kappa)`` or ``alpha / (alpha - 1)`` itself would keep passing when
the theory's function is wrong (planting the Gaussian exponent in ``theory.mean_scale``
once left every claim passing).  This test reads the code of every claim module (strings
and comments removed) and fails on such a recomputation.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

import verify.claims

CLAIMS_DIR = Path(verify.claims.__file__).parent

#: Closed forms that theory exports, as they would be rewritten by hand: the name of the
#: theory function to call instead, and a pattern of the recomputation.
CLOSED_FORMS = {
    "theory.mean_scale / theory.kappa (N^(-1/kappa))": re.compile(
        r"\*\*\s*\(?\s*-?\s*1(?:\.0*)?\s*/\s*(?:(?:theory|noise)\s*\.\s*)?kappa\b"
    ),
    "theory.kappa (alpha / (alpha - 1))": re.compile(
        r"\b(alpha|a|alph)\s*/\s*\(\s*\1\s*-\s*1(?:\.0*)?\s*\)"
    ),
    "theory.mean_scale (N^(1/kappa) spelled with the exponent)": re.compile(
        r"\*\*\s*\(\s*-?\s*\(\s*(alpha|a|alph)\s*-\s*1(?:\.0*)?\s*\)\s*/\s*\1\s*\)"
    ),
}


def code_only(source: str) -> str:
    """``source`` with its strings (docstrings included) and comments removed."""
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            continue
        if tok.type == getattr(tokenize, "FSTRING_START", -1):
            out.append("''")
            continue
        out.append(tok.string)
    return " ".join(out)


def recomputations(source: str) -> list[str]:
    """The closed forms that ``source``'s code recomputes (names of the theory functions)."""
    code = code_only(source)
    return [name for name, pattern in CLOSED_FORMS.items() if pattern.search(code)]


@pytest.mark.parametrize("path", sorted(CLAIMS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_claim_recomputes_a_closed_form_of_theory(path):
    found = recomputations(path.read_text())
    assert not found, f"{path.name} recomputes what theory exports: call {found} instead"


@pytest.mark.parametrize(
    "snippet",
    [
        "right = means * n ** (1.0 / theory.kappa(a))",  # C1 as it once was
        "scale = sigma * n ** (-1 / kappa)",
        "rate = a / (a - 1.0)",
        "k = alpha/(alpha-1)",
        "x = n ** (-(alpha - 1) / alpha)",
    ],
)
def test_the_walk_catches_a_recomputation(snippet):
    assert recomputations(snippet)


def test_the_walk_ignores_strings_comments_and_theory_calls():
    ok = (
        "s_hi = s_lo * (n / (n - 1.0)) ** (1.0 / rate)\n"  # the ceiling's band, not kappa
        '"""The mean scales as N^(-1/kappa) = n ** (1 / kappa)."""\n'
        "right = means / theory.mean_scale(a, 1.0, n)  # not n ** (1 / kappa)\n"
        "label = f'slope {a / (a - 1)}'\n"
        "k = theory.kappa(alpha)\n"
    )
    assert recomputations(ok) == []
