"""Tests of the branch-free elementary functions of verify.noise.elementary.

Each function is evaluated on NumPy arrays and, compiled by numba, on scalars; the two must
agree bit for bit, and both must lie within 2 ulp of the ``math`` module (the C library)
densely over the function's domain and at its edge points.
"""

import math

import numba
import numpy as np
import pytest

from verify.noise import cms
from verify.noise import elementary as el

MAX_ULP = 2
PI = math.pi


def _ordered(x):
    """Map doubles to int64 so that adjacent doubles differ by 1 (and +0 == -0)."""
    i = np.asarray(x, dtype=np.float64).view(np.int64)
    return np.where(i < 0, np.int64(-(2**63)) - i, i)


def ulp_distance(a, b):
    """Number of doubles between ``a`` and ``b`` (0 where both are NaN)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.abs(_ordered(a) - _ordered(b))
    return np.where(both_nan, 0, np.where(np.isnan(a) | np.isnan(b), 2**62, d))


def test_ulp_distance_counts_doubles():
    assert ulp_distance(1.0, np.nextafter(1.0, 2.0)) == 1
    assert ulp_distance(-0.0, 0.0) == 0
    assert ulp_distance(-5e-324, 5e-324) == 2
    assert ulp_distance(np.nan, 1.0) > MAX_ULP


@numba.njit(cache=False)
def _apply_numba(code, x):
    out = np.empty_like(x)
    for i in range(x.size):
        if code == 0:
            out[i] = el.sin(x[i])
        elif code == 1:
            out[i] = el.cos(x[i])
        elif code == 2:
            out[i] = el.log(x[i])
        elif code == 3:
            out[i] = el.exp(x[i])
        elif code == 4:
            out[i] = el.expm1(x[i])
        elif code == 5:
            out[i] = el.tanh(x[i])
        else:
            out[i] = el.sigmoid(x[i])
    return out


FUNCS = {
    "sin": (0, el.sin, math.sin),
    "cos": (1, el.cos, math.cos),
    "log": (2, el.log, math.log),
    "exp": (3, el.exp, math.exp),
    "expm1": (4, el.expm1, math.expm1),
    "tanh": (5, el.tanh, math.tanh),
}
#: tanh is a quotient of two rounded values (fdlibm's -t / (t + 2)): one ulp more
ULP_BOUND = {"tanh": 3}


def _neighbours(points, k=3):
    """Each point and its ``k`` nearest doubles on either side."""
    pts = [np.asarray(points, dtype=np.float64)]
    up = down = pts[0]
    with np.errstate(over="ignore"):  # the neighbour of the largest double is inf
        for _ in range(k):
            up = np.nextafter(up, np.inf)
            down = np.nextafter(down, -np.inf)
            pts += [up, down]
    return np.concatenate(pts)


def _trig_domain():
    rng = np.random.default_rng(1)
    lim = 5 * PI / 4
    edges = [0.0, 5e-324, 2.2250738585072014e-308, 1e-300, 1e-20, 2.0**-27, 1e-8, 1e-3]
    edges += [m * PI / 4 for m in range(-5, 6)]
    edges = np.asarray(edges)
    return np.concatenate(
        [
            np.linspace(-lim, lim, 1_000_001),
            rng.uniform(-lim, lim, 500_000),
            # relative accuracy near zero and near the zeros of cos: log-spaced offsets
            np.geomspace(1e-300, lim, 20_000),
            PI / 2 - np.geomspace(1e-17, 1.0, 20_000),
            PI - np.geomspace(1e-17, 1.0, 20_000),
            _neighbours(np.concatenate([edges, -edges]), 8),
        ]
    )


def _log_domain():
    rng = np.random.default_rng(2)
    # positive finite doubles uniform in their bit patterns: every binade, subnormals included
    bits = rng.integers(1, 0x7FF0000000000000, 1_000_000, dtype=np.int64)
    edges = np.asarray(
        [5e-324, 2.2250738585072014e-308, 1.0, 2.0, 0.5, math.sqrt(2), 1.7976931348623157e308]
    )
    return np.concatenate(
        [
            bits.view(np.float64),
            rng.uniform(0.25, 4.0, 500_000),
            1.0 + np.geomspace(1e-16, 0.5, 20_000),
            1.0 - np.geomspace(1e-16, 0.5, 20_000),
            np.geomspace(1e-320, 1e-300, 10_000),  # subnormals
            _neighbours(edges, 8),
        ]
    )


def _exp_domain():
    rng = np.random.default_rng(3)
    hi = 709.782712893384  # largest x with finite exp(x)
    lo = -745.1332191019411  # exp(x) rounds to 0 below
    edges = np.asarray([0.0, 5e-324, 1e-300, 2.0**-28, 1e-8, math.log(2) / 2, math.log(2)])
    return np.concatenate(
        [
            np.linspace(lo, hi, 1_000_001),
            rng.uniform(-2.0, 2.0, 500_000),
            rng.uniform(lo, -708.0, 100_000),  # subnormal results
            np.geomspace(1e-300, 1.0, 10_000),
            -np.geomspace(1e-300, 1.0, 10_000),
            _neighbours(np.concatenate([edges, -edges, [hi, lo, -708.3964185322641]]), 8),
        ]
    )


def _tanh_domain():
    rng = np.random.default_rng(4)
    edges = np.asarray([0.0, 5e-324, 1e-300, 2.0**-28, 1e-8, 0.17, 0.35, 0.55, 1.0, 19.0, 22.0])
    return np.concatenate(
        [
            np.linspace(-40.0, 40.0, 800_001),
            rng.uniform(-3.0, 3.0, 500_000),
            np.geomspace(1e-300, 700.0, 20_000),
            -np.geomspace(1e-300, 700.0, 20_000),
            _neighbours(np.concatenate([edges, -edges]), 8),
        ]
    )


DOMAINS = {
    "sin": _trig_domain,
    "cos": _trig_domain,
    "log": _log_domain,
    "exp": _exp_domain,
    "expm1": _exp_domain,
    "tanh": _tanh_domain,
}


@pytest.mark.parametrize("name", list(FUNCS))
def test_within_two_ulp_of_libm_and_numba_equals_numpy(name):
    code, fn, ref_fn = FUNCS[name]
    x = DOMAINS[name]()
    # the math module raises instead of returning inf / -inf / NaN: special values below
    x = x[x < 709.782712893384] if name in ("exp", "expm1") else x
    x = x[(x > 0) & (x < np.inf)] if name == "log" else x
    ref = np.array([ref_fn(v) for v in x.tolist()])
    with np.errstate(invalid="raise", divide="raise", under="ignore"):
        got = fn(x)
    d = ulp_distance(got, ref)
    worst = int(np.argmax(d))
    msg = f"{name}({x[worst]!r}) = {got[worst]!r}, libm {ref[worst]!r}"
    assert d[worst] <= ULP_BOUND.get(name, MAX_ULP), msg
    # the numba scalar version is the same function, bit for bit
    np.testing.assert_array_equal(_apply_numba(code, x), got)


SPECIAL = {
    "log": [
        (0.0, -math.inf),
        (-0.0, -math.inf),
        (math.inf, math.inf),
        (-1.0, math.nan),
        (-math.inf, math.nan),
        (math.nan, math.nan),
        (1.0, 0.0),
    ],
    "exp": [
        (math.inf, math.inf),
        (-math.inf, 0.0),
        (math.nan, math.nan),
        (709.8, math.inf),
        (1e300, math.inf),
        (-745.2, 0.0),
        (-1e300, 0.0),
        (0.0, 1.0),
    ],
    "expm1": [
        (math.inf, math.inf),
        (-math.inf, -1.0),
        (math.nan, math.nan),
        (710.0, math.inf),
        (-1e300, -1.0),
        (0.0, 0.0),
        (-0.0, -0.0),
    ],
    "tanh": [(math.inf, 1.0), (-math.inf, -1.0), (math.nan, math.nan), (0.0, 0.0), (800.0, 1.0)],
    "sin": [(0.0, 0.0), (math.nan, math.nan)],
    "cos": [(0.0, 1.0), (math.nan, math.nan)],
}


@pytest.mark.parametrize("name", list(SPECIAL))
def test_special_values(name):
    code, fn, _ = FUNCS[name]
    x = np.array([p for p, _ in SPECIAL[name]])
    want = np.array([v for _, v in SPECIAL[name]])
    with np.errstate(over="ignore", under="ignore"):
        got = fn(x)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(_apply_numba(code, x), want)


def test_sigmoid_within_two_ulp_of_high_precision_and_numba_equals_numpy():
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [
            rng.uniform(-40.0, 40.0, 20_000),
            np.geomspace(1e-300, 700.0, 3_000),
            -np.geomspace(1e-300, 744.0, 3_000),  # results down to the subnormals
            [0.0, -0.0, 36.7, 37.0, -708.4],
        ]
    )
    with mpmath.workdps(40):
        ref = np.array([float(1 / (1 + mpmath.exp(-mpmath.mpf(v)))) for v in x.tolist()])
    got = el.sigmoid(x)
    d = ulp_distance(got, ref)
    assert d.max() <= MAX_ULP, f"sigmoid({x[np.argmax(d)]!r})"
    np.testing.assert_array_equal(_apply_numba(6, x), got)
    special = np.array([np.inf, -np.inf, np.nan, -800.0])
    np.testing.assert_array_equal(el.sigmoid(special), [1.0, 0.0, np.nan, 0.0])
    np.testing.assert_array_equal(_apply_numba(6, special), [1.0, 0.0, np.nan, 0.0])


@pytest.mark.parametrize("fn", [el.tanh, el.expm1])
def test_the_sign_of_zero_is_kept(fn):
    # ulp_distance counts -0 and +0 as equal, so the sign is checked here
    assert math.copysign(1.0, fn(np.array(-0.0))) == -1.0
    assert math.copysign(1.0, fn(np.array(0.0))) == 1.0
    code = 5 if fn is el.tanh else 4
    assert math.copysign(1.0, _apply_numba(code, np.array([-0.0]))[0]) == -1.0


def test_cos_near_half_pi_keeps_relative_accuracy():
    # cos(V) at V = -pi/2 (u = 0) is ~6e-17; the reduction must keep all its digits
    x = np.array([-PI / 2, PI / 2, np.nextafter(PI / 2, 0.0)])
    ref = np.array([math.cos(v) for v in x])
    assert np.all(ulp_distance(el.cos(x), ref) <= 1)


@pytest.mark.parametrize(
    "alpha, beta", [(1.5, 0.0), (1.2, 0.5), (0.6, -1.0), (1.9, 1.0), (0.3, 0.5), (2.0, 0.0)]
)
def test_fast_cms_matches_libm_cms(alpha, beta):
    # the vectorisable CMS formula agrees with the libm one up to a few rounding errors
    rng = np.random.default_rng(7)
    u = np.concatenate([rng.random(50_000), [0.0, 0.5, 1 - 2**-53, 2**-53]])
    w = np.concatenate([rng.standard_exponential(50_000), [1.0, 1e-3, 30.0, 1.0]])
    ab, log_s = cms.constants(alpha, beta)
    pairs = zip(u, w, strict=True)
    slow = np.array([cms.transform(a, b, alpha, beta, ab, log_s) for a, b in pairs])
    fast = cms.transform_fast(u, w, alpha, ab, log_s)
    np.testing.assert_allclose(fast, slow, rtol=1e-13, atol=0)


def test_python_scalars_give_the_array_results():
    # the same functions on plain floats (NumPy 0-d arithmetic) round like the array path
    x = np.concatenate([np.linspace(-3.9, 3.9, 101), [PI / 2, -PI / 2, 1e-300]])
    for name, (_, fn, _) in FUNCS.items():
        arg = np.abs(x) if name == "log" else x
        np.testing.assert_array_equal([float(fn(float(v))) for v in arg], fn(arg), err_msg=name)
