"""Special functions NumPy lacks (erf, erfc), accurate to an ulp or two in f32 and f64.

Used by the CPU backend only; the CUDA backend has CuPy's (``cupyx.scipy.special``).
"""

from __future__ import annotations

import numpy as np

# Coefficients of the Sun/FreeBSD msun s_erf.c rational approximations (lowest degree first).
# Their constant terms of the denominators are 1 and are added here explicitly.
_ERX = 8.45062911510467529297e-01  # erf(1) rounded to 24 bits, so erx + P/Q loses nothing
# erf(x) = x + x*P(x^2)/Q(x^2) on |x| < 0.84375; scaled by 8 (exactly) so subnormals stay accurate.
_PP8 = tuple(
    8.0 * c
    for c in (
        1.28379167095512558561e-01,
        -3.25042107247001499370e-01,
        -2.84817495755985104766e-02,
        -5.77027029648944159157e-03,
        -2.37630166566501626084e-05,
    )
)
_QQ = (
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
)
# erf(x) = erx + P(s)/Q(s), s = |x| - 1, on 0.84375 <= |x| < 1.25.
_PA = (
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
)
_QA = (
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
)
# erfc(x) = exp(-x^2 - 0.5625 + R(s)/S(s)) / x, s = 1/x^2, on 1.25 <= x < 1/0.35 ...
_RA = (
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e01,
    -6.23753324503260060396e01,
    -1.62396669462573470355e02,
    -1.84605092906711035994e02,
    -8.12874355063065934246e01,
    -9.81432934416914548592e00,
)
_SA = (
    1.0,
    1.96512716674392571292e01,
    1.37657754143519042600e02,
    4.34565877475229228821e02,
    6.45387271733267880336e02,
    4.29008140027567833386e02,
    1.08635005541779435134e02,
    6.57024977031928170135e00,
    -6.04244152148580987438e-02,
)
# ... and on 1/0.35 <= x < 28.
_RB = (
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e01,
    -1.60636384855821916062e02,
    -6.37566443368389627722e02,
    -1.02509513161107724954e03,
    -4.83519191608651397019e02,
)
_SB = (
    1.0,
    3.03380607434824582924e01,
    3.25792512996573918826e02,
    1.53672958608443695994e03,
    3.19985821950859553908e03,
    2.55305040643316442583e03,
    4.74528541206955367215e02,
    -2.24409524465858183362e01,
)
_TAIL_SPLIT = 1 / 0.35
_HI_WORD = np.uint64(0xFFFFFFFF00000000)


def _poly(t, coeffs):
    """Horner evaluation of sum(c_k t^k) into a fresh array."""
    p = t * coeffs[-1]
    for c in coeffs[-2:0:-1]:
        p += c
        p *= t
    p += coeffs[0]
    return p


def _small(x):
    """erf on |x| < 0.84375 (msun: x + x*P/Q), computed as (8x + x*8P/Q)/8 to survive underflow."""
    z = x * x
    r = _poly(z, _PP8)
    r /= _poly(z, _QQ)
    r *= x
    np.multiply(x, 8.0, out=z)
    r += z
    r *= 0.125
    return r


def _mid(s):
    """P(s)/Q(s) for 0.84375 <= |x| < 1.25, s = |x| - 1."""
    p = _poly(s, _PA)
    p /= _poly(s, _QA)
    return p


def _tail_exponent(a, r_coeffs, s_coeffs):
    """R(1/a^2)/S(1/a^2) and a^2 for the msun erfc form exp(-a^2 - 0.5625 + R/S) / a."""
    sq = a * a
    s = np.divide(1.0, sq)
    q = _poly(s, r_coeffs)
    q /= _poly(s, s_coeffs)
    return q, sq


def _erf_tail(a, r_coeffs, s_coeffs):
    """1 - erfc(a) for a >= 1.25; inf gives 1 and NaN stays NaN."""
    q, sq = _tail_exponent(a, r_coeffs, s_coeffs)
    # erfc <= 0.08 here, so exponentiating one rounded sum (no split a^2) costs < 0.2 ulp of erf.
    q -= sq
    q -= 0.5625
    np.exp(q, out=q)
    q /= a
    np.subtract(1.0, q, out=q)
    return q


def _erfc_tail(a, r_coeffs, s_coeffs):
    """erfc(a) for 1.25 <= a < 28 via msun's exp(-z*z-0.5625)*exp((z-a)(z+a)+R/S)/a."""
    q, sq = _tail_exponent(a, r_coeffs, s_coeffs)
    # z is a with its low 32 bits cleared, so z*z is exact: erfc's relative accuracy needs the
    # large part of the exponent to carry no rounding error.
    z = (a.view(np.uint64) & _HI_WORD).view(np.float64)
    d = z - a
    np.add(z, a, out=sq)
    d *= sq
    d += q
    np.exp(d, out=d)
    np.multiply(z, z, out=sq)
    sq += 0.5625
    np.negative(sq, out=sq)
    np.exp(sq, out=sq)
    d *= sq
    d /= a
    return d


def _erf_f64(x):
    """erf of a 1-D float64 array (W. J. Cody-style rational approximations as in msun s_erf.c)."""
    # Every range's formula is evaluated on |x| and erf is odd, so one copysign at the end
    # restores signs (and -0.0) instead of a gather plus copysign per range.
    ax = np.abs(x)
    out = np.empty_like(x)
    i = np.flatnonzero(ax < 0.84375)
    if i.size:
        out[i] = _small(ax.take(i))
    i = np.flatnonzero((ax >= 0.84375) & (ax < 1.25))
    if i.size:
        v = _mid(ax.take(i) - 1.0)
        v += _ERX
        out[i] = v
    # The last range is open-ended so it also takes |x| >= 6, inf and NaN (all come out right:
    # erfc(6) is below half an ulp of 1), which saves a pass to pre-fill those.
    for mask, r_c, s_c in (
        ((ax >= 1.25) & (ax < _TAIL_SPLIT), _RA, _SA),
        (~(ax < _TAIL_SPLIT), _RB, _SB),
    ):
        i = np.flatnonzero(mask)
        if i.size:
            out[i] = _erf_tail(ax.take(i), r_c, s_c)
    return np.copysign(out, x, out=out)


def _erfc_f64(x):
    """erfc of a 1-D float64 array (msun s_erf.c algorithm, relative accuracy in the tail)."""
    ax = np.abs(x)
    # 1 - sign(x) is the answer for x >= 28, x <= -6 (incl. +-inf) and NaN.
    out = np.sign(x)
    np.subtract(1.0, out, out=out)
    i = np.flatnonzero(ax < 0.84375)
    if i.size:
        xs = x.take(i)
        z = xs * xs
        y = _poly(z, _PP8)
        y /= _poly(z, _QQ)
        y *= 0.125
        y *= xs
        # For x >= 1/4, msun regroups as 0.5 - (x*y + (x - 0.5)) to avoid cancellation.
        big = xs >= 0.25
        np.subtract(1.0, y + xs, out=z)
        y += xs - 0.5
        np.subtract(0.5, y, out=y)
        out[i] = np.where(big, y, z)
    i = np.flatnonzero((ax >= 0.84375) & (ax < 1.25))
    if i.size:
        xs = x.take(i)
        v = _mid(np.abs(xs) - 1.0)
        out[i] = np.where(xs >= 0, (1.0 - _ERX) - v, (1.0 + _ERX) + v)
    tail_b = (ax >= _TAIL_SPLIT) & (x < 28.0) & (x > -6.0)
    for mask, r_c, s_c in (((ax >= 1.25) & (ax < _TAIL_SPLIT), _RA, _SA), (tail_b, _RB, _SB)):
        i = np.flatnonzero(mask)
        if i.size:
            xs = x.take(i)
            v = _erfc_tail(np.abs(xs), r_c, s_c)
            out[i] = np.where(xs < 0, 2.0 - v, v)
    return out


def _apply(f64_fn, x):
    """Run a float64 kernel on any-shaped ``x`` and cast back to its (float) dtype."""
    x = np.asarray(x)
    # Integers and bools have no same-dtype erf; they get float64.
    dtype = np.dtype(np.float64) if x.dtype.kind in "biu" else x.dtype
    # Casts of NaN from ml_dtypes types and exp underflow would otherwise warn; neither is an error.
    with np.errstate(all="ignore"):
        out = f64_fn(np.ravel(x).astype(np.float64, copy=False))
        return out.reshape(x.shape).astype(dtype, copy=False)


def erf(x):
    """The error function of a NumPy array, elementwise, in ``x``'s dtype."""
    return _apply(_erf_f64, x)


def erfc(x):
    """The complementary error function 1 - erf(x) of a NumPy array, in ``x``'s dtype."""
    return _apply(_erfc_f64, x)
