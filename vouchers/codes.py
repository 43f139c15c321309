"""Voucher codes: unguessable, short enough to type, made of unambiguous characters, with a check
character so that a typo is caught before any lookup.

A code is 16 random characters of Crockford's base32 alphabet (16 × 5 = 80 bits from ``secrets``) and one
check character, shown in groups: ``XXXX-XXXX-XXXX-XXXX-C``. The check character is Luhn mod 32: the
"double every second character" step is a permutation of the alphabet, so changing any single character,
the check character included, always changes the check result.
"""

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O or U
BASE = len(ALPHABET)
VALUE = {char: i for i, char in enumerate(ALPHABET)}
PAYLOAD_LENGTH = 16
GROUP = 4
RANDOM_BITS = PAYLOAD_LENGTH * 5
CODE_LENGTH = PAYLOAD_LENGTH + 1

# What people type for what they mean: Crockford's decoding rules.
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.]+")


def _luhn_sum(chars: str, *, double_first: bool) -> int:
    total = 0
    double = double_first
    for char in reversed(chars):
        value = VALUE[char]
        if double:
            value *= 2
            value = value // BASE + value % BASE  # the base-32 "digit sum" of the doubled value
        total += value
        double = not double
    return total


def check_character(payload: str) -> str:
    """The Luhn mod 32 check character for a payload of alphabet characters."""
    # The payload's rightmost character is doubled, because the check character will follow it.
    total = _luhn_sum(payload, double_first=True)
    return ALPHABET[(BASE - total % BASE) % BASE]


def generate_code() -> str:
    """A new code in its compact form (17 characters, no separators)."""
    payload = "".join(secrets.choice(ALPHABET) for _ in range(PAYLOAD_LENGTH))
    return payload + check_character(payload)


def normalise_code(code: str) -> str:
    """The compact form of what somebody typed: upper case, no spaces or dashes, O read as 0, I and L as 1."""
    return _SEPARATORS.sub("", code or "").upper().translate(_LOOK_ALIKES)


def is_well_formed(code: str) -> bool:
    """True if ``code`` (typed in any accepted form) has the right length, alphabet and check character."""
    compact = normalise_code(code)
    if len(compact) != CODE_LENGTH or any(char not in VALUE for char in compact):
        return False
    return _luhn_sum(compact, double_first=False) % BASE == 0


def format_code(code: str) -> str:
    """The grouped form shown to people: ``XXXX-XXXX-XXXX-XXXX-C``."""
    compact = normalise_code(code)
    groups = [compact[i : i + GROUP] for i in range(0, PAYLOAD_LENGTH, GROUP)]
    return "-".join([*groups, compact[PAYLOAD_LENGTH:]])
