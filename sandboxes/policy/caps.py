"""Caps on C calls that never give the interpreter a chance to interrupt them, for ``inline``.

``local`` and ``docker`` kill a worker whose cell overruns; ``inline`` runs in the host's own
process, where a timeout is an exception raised at the next byte code, so a single C call that
runs for minutes (``10**10**8``, ``math.factorial(10**7)``, ``hashlib.pbkdf2_hmac`` with 10**9
rounds) hangs the host. With caps on (``RestrictedPolicy(cap_c_calls=True)``), such calls whose
cost is cheap to foresee from their arguments are refused above about a second of work; the
rest (see ``sandboxes/inline.py``) are why ``inline`` is for trusted code only.
"""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction
from typing import Any

#: Largest integer result, in bits, of ``**`` and ``pow`` (about 1.3 million digits, ~0.3 s).
MAX_POW_BITS = 2**22
#: ``pow(b, e, m)``: largest product of the bit lengths of ``e`` and ``m`` (4096-bit RSA passes).
MAX_MODPOW_BITS = 2**24
#: Largest result, in bits, of ``math.factorial`` and ``math.perm``, and of ``math.comb`` (its
#: divisions make a bit of result cost more).
MAX_PRODUCT_BITS = 2**21
MAX_COMB_BITS = 2**17
#: ``hashlib.pbkdf2_hmac``: iterations times output blocks; ``scrypt``: ``n * r * p``.
MAX_HASH_ROUNDS = 2 * 10**6
MAX_SCRYPT_COST = 2**20


class CapError(ValueError):
    """A call whose work ``inline`` cannot interrupt, over the cap."""


def _too_much(what: str, how: str) -> CapError:
    return CapError(
        f"{what} is too large for the inline sandbox ({how}), which cannot interrupt it; "
        "use the local sandbox for this"
    )


def _bits(value: Any) -> int:
    """Bits of an integer or of a fraction's larger part; 0 for anything else."""
    if isinstance(value, int):
        return abs(value).bit_length()
    if isinstance(value, Fraction):
        return max(abs(value.numerator).bit_length(), value.denominator.bit_length())
    return 0


def capped_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """``base ** exp`` (``pow(base, exp, mod)``), refused when the integer result (or the
    modular exponentiation) would take the interpreter out of reach for seconds."""
    if mod is None:
        if isinstance(exp, int) and exp > 0:
            bits = max(_bits(base) - 1, 0) * exp
            if bits > MAX_POW_BITS:
                raise _too_much("the power", f"about {bits:,} bits")
        return base**exp
    if isinstance(exp, int) and isinstance(mod, int):
        work = exp.bit_length() * mod.bit_length()
        if work > MAX_MODPOW_BITS:
            raise _too_much("the modular power", f"{exp.bit_length()}-bit exponent and modulus")
    return pow(base, exp, mod)


def capped_ipow(target: Any, exp: Any) -> Any:
    """``target **= exp``: in place where the target does it (numpy arrays), capped as ``**``."""
    if isinstance(exp, int) and exp > 0 and max(_bits(target) - 1, 0) * exp > MAX_POW_BITS:
        raise _too_much("the power", f"about {max(_bits(target) - 1, 0) * exp:,} bits")
    target **= exp
    return target


def _log2_factorial(n: int) -> float:
    return math.lgamma(n + 1) / math.log(2)


def factorial(n: Any, /) -> int:
    """``math.factorial``, refused above ``MAX_PRODUCT_BITS`` bits of result."""
    if isinstance(n, int) and n > 0 and _log2_factorial(n) > MAX_PRODUCT_BITS:
        raise _too_much(f"factorial({n})", f"about {_log2_factorial(n):,.0f} bits")
    return math.factorial(n)


def perm(n: Any, k: Any = None, /) -> int:
    """``math.perm``, refused above ``MAX_PRODUCT_BITS`` bits of result."""
    if isinstance(n, int) and isinstance(k, int) and 0 < k <= n:
        bits = _log2_factorial(n) - _log2_factorial(n - k)
        if bits > MAX_PRODUCT_BITS:
            raise _too_much(f"perm({n}, {k})", f"about {bits:,.0f} bits")
    return math.perm(n) if k is None else math.perm(n, k)


def comb(n: Any, k: Any, /) -> int:
    """``math.comb``, refused above ``MAX_COMB_BITS`` bits of result."""
    if isinstance(n, int) and isinstance(k, int) and 0 < k < n:
        bits = _log2_factorial(n) - _log2_factorial(k) - _log2_factorial(n - k)
        if bits > MAX_COMB_BITS:
            raise _too_much(f"comb({n}, {k})", f"about {bits:,.0f} bits")
    return math.comb(n, k)


def pbkdf2_hmac(
    hash_name: Any, password: Any, salt: Any, iterations: Any, dklen: Any = None
) -> bytes:
    """``hashlib.pbkdf2_hmac``, refused above ``MAX_HASH_ROUNDS`` rounds in all."""
    if isinstance(iterations, int):
        size = hashlib.new(hash_name).digest_size if isinstance(hash_name, str) else 32
        blocks = -(-dklen // size) if isinstance(dklen, int) and dklen > 0 else 1
        if iterations * blocks > MAX_HASH_ROUNDS:
            raise _too_much("pbkdf2_hmac()", f"{iterations:,} iterations of {blocks} blocks")
    return hashlib.pbkdf2_hmac(hash_name, password, salt, iterations, dklen)


def scrypt(password: Any, *, salt: Any, n: Any, r: Any, p: Any, **kwargs: Any) -> bytes:
    """``hashlib.scrypt``, refused above ``MAX_SCRYPT_COST`` for ``n * r * p``."""
    if all(isinstance(v, int) for v in (n, r, p)) and n * r * p > MAX_SCRYPT_COST:
        raise _too_much("scrypt()", f"n * r * p = {n * r * p:,}")
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, **kwargs)
