r"""Branch-free elementary functions (sin, cos, log, exp, expm1, tanh, sigmoid) for numba.

Why
---
numba lowers ``math.sin`` and friends to calls into the C library, and without Intel's SVML
(not shipped with the PyPI ``llvmlite``) LLVM cannot vectorise a loop that contains such a
call. The functions here are written with nothing but IEEE ``+ - * /``, comparisons that
select between two values, and integer operations on the bits of a double, so a loop over
them (the CMS transform of :mod:`verify.noise.cms`) compiles to SIMD code.

One source, two evaluators
--------------------------
Every function takes a float64 scalar inside numba-compiled code *or* a NumPy float64 array
from plain Python, and gives bit-identical results either way: the only primitives are the
three helpers :func:`_select` (``np.where`` in NumPy, an LLVM ``select`` in numba),
:func:`_f2i` and :func:`_i2f` (a reinterpretation of the 64 bits, ``ndarray.view`` in
NumPy, an LLVM ``bitcast`` in numba), and IEEE arithmetic, which NumPy's element-wise
ufuncs and numba (compiled without ``fastmath``, so no fused multiply-add contraction) both
round identically. This is what lets :func:`verify.noise.stable.sample_reference` reproduce the
kernels' numbers exactly.

Algorithms and accuracy
-----------------------
The polynomials, reduction constants and error-compensated evaluation orders are those of
the freely distributable fdlibm (Sun Microsystems, 1993; the FreeBSD ``msun`` versions of
``k_sin.c``, ``k_cos.c``, ``e_log.c`` and ``e_exp.c``), each documented there to be
accurate to < 1 ulp. The branches of fdlibm are replaced by computing both sides and
selecting. ``tests/test_elementary.py`` compares every function with the ``math`` module
(the C library) densely over its domain and asserts at most 2 ulp difference (3 ulp for
:func:`tanh`, a quotient of two rounded values).

:func:`expm1` reuses ``exp``'s reduction ``x = k ln 2 + r``: fdlibm's ``exp`` forms
``exp(r) = 1 + e(r)`` with ``e(r) = r + r c / (2 - c)``, which keeps its relative
accuracy as ``r -> 0`` (the tests measure <= 2 ulp), so ``expm1(x) = 2^k e + (2^k - 1)``,
exact ``e`` when ``k = 0`` (``|x| < ln 2 / 2``: no cancellation) and free of cancellation
otherwise.  :func:`tanh` is fdlibm's ``-t / (t + 2)`` with ``t = expm1(-2 |x|)``, and
:func:`sigmoid` is ``1 / (1 + e)`` or ``e / (1 + e)`` with ``e = exp(-|x|)`` (never
overflows) -- the forms the gated recurrences' forward kernels use, so that their loop
over units vectorises.

Domains: :func:`sin` and :func:`cos` need ``|x| <= 5 pi / 4`` (the argument is reduced by a
multiple ``k`` of ``pi/2`` with ``|k| <= 2``; larger arguments give wrong results);
:func:`log`, :func:`exp`, :func:`expm1`, :func:`tanh` and :func:`sigmoid` accept every
double, including subnormals, signed zeros, infinities and NaN, with the C library's
special values (``sigmoid``: 0 and 1 at the infinities).

The kernels that inline these functions are cached under a stamp of the whole package
(:mod:`verify._jit`), so editing this module recompiles them.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

__all__ = ["cos", "exp", "expm1", "log", "sigmoid", "sin", "tanh"]


# ----------------------------------------------------------------------------------------
# the three primitives: NumPy definitions, numba overloads
# ----------------------------------------------------------------------------------------
def _select(cond, a, b):
    """Element-wise ``a if cond else b`` (``np.where``)."""
    return np.where(cond, a, b)


def _f2i(x):
    """The bits of float64 ``x`` as int64."""
    return np.asarray(x, dtype=np.float64).view(np.int64)


def _i2f(i):
    """The float64 whose bits are int64 ``i``."""
    return np.asarray(i, dtype=np.int64).view(np.float64)


@intrinsic
def _select_llvm(typingctx, cond, a, b):
    if not isinstance(cond, types.Boolean):
        return None
    ty = typingctx.unify_types(a, b)
    if not isinstance(ty, types.Float | types.Integer):
        return None

    def codegen(context, builder, signature, args):
        c, x, y = args
        x = context.cast(builder, x, signature.args[1], ty)
        y = context.cast(builder, y, signature.args[2], ty)
        return builder.select(c, x, y)

    return ty(cond, a, b), codegen


@overload(_select)
def _select_nb(cond, a, b):
    return lambda cond, a, b: _select_llvm(cond, a, b)


@intrinsic
def _bitcast_f2i(typingctx, x):
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bitcast_i2f(typingctx, i):
    if i != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@overload(_f2i)
def _f2i_nb(x):
    if isinstance(x, types.Float):
        return lambda x: _bitcast_f2i(x)
    return None


@overload(_i2f)
def _i2f_nb(i):
    if isinstance(i, types.Integer):
        return lambda i: _bitcast_i2f(i)
    return None


# ----------------------------------------------------------------------------------------
# constants
# ----------------------------------------------------------------------------------------
#: 1.5 * 2^52: ``(x + _SHIFTER) - _SHIFTER`` rounds ``|x| < 2^51`` to the nearest integer,
#: and the low bits of ``x + _SHIFTER`` hold that integer in two's complement.
_SHIFTER = 6755399441055744.0
_SHIFTER_BITS = 0x4338000000000000
_INF = float("inf")
_NAN = float("nan")

# pi/2 = _PIO2_1 + _PIO2_2 + _PIO2_3 to ~160 bits; _PIO2_1 is the double nearest pi/2, so
# k * _PIO2_1 is exact for |k| <= 2
_TWO_OVER_PI = 0.6366197723675814
_PIO2_1 = 1.5707963267948966
_PIO2_2 = 6.123233995736766e-17
_PIO2_3 = -1.4973849048591698e-33

# fdlibm k_sin.c / k_cos.c
_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11

# fdlibm e_log.c / e_exp.c (ln2_hi has 32 significant bits: k * ln2_hi is exact)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_TWO54 = 1.80143985094819840000e16
_MIN_NORMAL = 2.2250738585072014e-308
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_INVLN2 = 1.44269504088896338700e00
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08
#: |x| of exp is clamped here: exp(+-1400) is already inf / 0 and 2^(+-1010) is normal
_EXP_CLAMP = 1400.0


# ----------------------------------------------------------------------------------------
# sin and cos
# ----------------------------------------------------------------------------------------
@register_jitable(inline="always")
def _sin_kernel(x, y):
    """sin(x + y) for |x| <= pi/4, |y| tiny (fdlibm ``__kernel_sin`` with a tail)."""
    z = x * x
    w = z * z
    r = _S2 + z * (_S3 + z * _S4) + z * w * (_S5 + z * _S6)
    v = z * x
    return x - ((z * (0.5 * y - v * r) - y) - v * _S1)


@register_jitable(inline="always")
def _cos_kernel(x, y):
    """cos(x + y) for |x| <= pi/4, |y| tiny (fdlibm ``__kernel_cos``)."""
    z = x * x
    w = z * z
    r = z * (_C1 + z * (_C2 + z * _C3)) + w * w * (_C4 + z * (_C5 + z * _C6))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + (z * r - x * y))


@register_jitable(inline="always")
def _reduce(x):
    """Return ``(n, hi, lo)`` with ``x = k pi/2 + hi + lo``, ``n = k mod 4``, ``|k| <= 2``."""
    y = x * _TWO_OVER_PI + _SHIFTER
    n = _f2i(y) & 3
    k = y - _SHIFTER
    a = x - k * _PIO2_1  # exact: k * _PIO2_1 is exact and a cancels (Sterbenz)
    hi = a - k * _PIO2_2
    lo = ((a - hi) - k * _PIO2_2) - k * _PIO2_3  # the rounding error of hi, then pi/2's tail
    return n, hi, lo


@register_jitable(inline="always")
def sin(x):
    """``math.sin(x)`` to < 2 ulp for ``|x| <= 5 pi / 4``, without branches."""
    n, hi, lo = _reduce(x)
    s = _sin_kernel(hi, lo)
    c = _cos_kernel(hi, lo)
    r = _select((n & 1) != 0, c, s)
    return _select((n & 2) != 0, -r, r)


@register_jitable(inline="always")
def cos(x):
    """``math.cos(x)`` to < 2 ulp for ``|x| <= 5 pi / 4``, without branches."""
    n, hi, lo = _reduce(x)
    s = _sin_kernel(hi, lo)
    c = _cos_kernel(hi, lo)
    r = _select((n & 1) != 0, s, c)
    return _select(((n + 1) & 2) != 0, -r, r)


# ----------------------------------------------------------------------------------------
# log and exp
# ----------------------------------------------------------------------------------------
@register_jitable(inline="always")
def log(x):
    """``math.log(x)`` to < 2 ulp for every double (``-inf`` at 0, NaN below), without branches."""
    tiny = x < _MIN_NORMAL  # subnormal (or zero / negative): scale up by 2^54 first
    xs = x * _select(tiny, _TWO54, 1.0)
    bits = _f2i(xs)
    m = bits & 0x000FFFFFFFFFFFFF
    # normalise the mantissa to [sqrt(2)/2, sqrt(2)): i = 2^52 when it is >= sqrt(2)
    i = (m + 0x00095F6400000000) & 0x0010000000000000
    f = _i2f(m | (i ^ 0x3FF0000000000000)) - 1.0
    k = ((bits >> 52) & 0x7FF) - 1023 + (i >> 52) + _select(tiny, -54, 0)
    dk = _i2f(k + _SHIFTER_BITS) - _SHIFTER  # k as a double, exactly
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    y = dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f)
    y = _select(x < _INF, y, x)  # +inf -> +inf, NaN -> NaN
    return _select(x > 0.0, y, _select(x == 0.0, -_INF, _NAN))


@register_jitable(inline="always")
def _pow2(k):
    """2^k for an integer-valued double ``-1022 <= k <= 1023``."""
    return _i2f(((_f2i(k + _SHIFTER) + 1023) & 0x7FF) << 52)


@register_jitable(inline="always")
def _exp_reduced(x):
    """``(k, e)`` with ``exp(x) = 2^k (1 + e)``; ``k`` an integer-valued double, ``|e| < 0.42``."""
    x = _select(x > _EXP_CLAMP, _EXP_CLAMP, x)
    x = _select(x < -_EXP_CLAMP, -_EXP_CLAMP, x)
    k = (x * _INVLN2 + _SHIFTER) - _SHIFTER
    hi = x - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    return k, hi - (lo - (r * c) / (2.0 - c))


@register_jitable(inline="always")
def exp(x):
    """``math.exp(x)`` to < 2 ulp for every double (overflow to inf), without branches."""
    k, e = _exp_reduced(x)  # NaN passes the clamps
    # 2^k in two normal factors, so that subnormal results are rounded once
    k1 = (k * 0.5 + _SHIFTER) - _SHIFTER
    return (1.0 + e) * _pow2(k1) * _pow2(k - k1)


@register_jitable(inline="always")
def expm1(x):
    """``math.expm1(x)`` to <= 2 ulp for every double (overflow to inf), without branches."""
    k, e = _exp_reduced(x)
    # k <= 56: 2^k e + (2^k - 1), the form without cancellation; above, the 1 is below
    # half an ulp of exp(x) and exp's own two-factor scaling avoids a spurious overflow
    ks = _select(k > 56.0, 56.0, k)
    ks1 = (ks * 0.5 + _SHIFTER) - _SHIFTER
    ps = _pow2(ks1) * _pow2(ks - ks1)  # 0 far below
    k1 = (k * 0.5 + _SHIFTER) - _SHIFTER
    big = ((1.0 + e) * _pow2(k1)) * _pow2(k - k1) - 1.0
    y = _select(k > 56.0, big, ps * e + (ps - 1.0))
    return _select(x == 0.0, x, _select(x == x, y, x))  # +-0 and NaN returned as given


@register_jitable(inline="always")
def tanh(x):
    """``math.tanh(x)`` to <= 3 ulp for every double, without branches."""
    t = expm1(-2.0 * _select(x < 0.0, -x, x))
    y = (0.0 - t) / (t + 2.0)
    return _select(x < 0.0, -y, _select(x == 0.0, x, y))  # tanh(-0.0) = -0.0


@register_jitable(inline="always")
def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))`` to <= 2 ulp, without branches."""
    e = exp(_select(x < 0.0, x, -x))
    return _select(x < 0.0, e, 1.0) / (1.0 + e)
