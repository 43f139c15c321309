"""Voucher codes: unguessable, typed without ambiguity, and typos caught before any lookup."""

import math
import random

from vouchers.codes import (
    ALPHABET,
    CODE_LENGTH,
    RANDOM_BITS,
    check_character,
    format_code,
    generate_code,
    is_well_formed,
    normalise_code,
)


def test_codes_carry_at_least_80_bits_of_randomness():
    payload_length = CODE_LENGTH - 1
    assert len(set(ALPHABET)) == 32
    assert payload_length * math.log2(len(ALPHABET)) >= 80
    assert RANDOM_BITS >= 80


def test_generated_codes_are_well_formed_and_different():
    codes = {generate_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(is_well_formed(code) for code in codes)


def test_generated_codes_use_every_character_and_only_unambiguous_ones():
    used = set("".join(generate_code()[:-1] for _ in range(500)))
    assert used == set(ALPHABET)
    assert not used & set("ILOU")


def test_the_check_character_catches_every_single_character_typo():
    rng = random.Random(20240101)
    codes = [generate_code() for _ in range(200)]
    # Include a few structured payloads where weak check schemes tend to fail.
    codes += [p + check_character(p) for p in ("0" * 16, "Z" * 16, (ALPHABET[:16]), (ALPHABET[16:]))]
    tried = 0
    for code in codes:
        assert is_well_formed(code)
        for position in range(len(code)):
            for replacement in ALPHABET:
                if replacement == code[position]:
                    continue
                typo = code[:position] + replacement + code[position + 1 :]
                tried += 1
                assert not is_well_formed(typo), f"{code} → {typo} was not caught"
    assert tried == len(codes) * CODE_LENGTH * 31
    # A random handful of other typos people make: a dropped or an extra character.
    for code in rng.sample(codes, 20):
        assert not is_well_formed(code[:-2] + code[-1])
        assert not is_well_formed(code + "0")


def test_codes_are_shown_in_groups_of_four_with_the_check_character_last():
    code = generate_code()
    shown = format_code(code)
    assert shown.count("-") == 4
    assert [len(part) for part in shown.split("-")] == [4, 4, 4, 4, 1]
    assert normalise_code(shown) == code


def test_what_people_type_is_read_as_the_code_they_meant():
    code = "0123456789ABCDEF"
    code += check_character(code)
    typed = f" o123 - 4567-89ab  cdef-{code[-1].lower()} "
    assert normalise_code(typed) == code
    assert is_well_formed(typed)
    assert normalise_code("il") == "11"
    assert normalise_code("IL-O") == "110"


def test_malformed_codes_are_refused():
    code = generate_code()
    assert not is_well_formed("")
    assert not is_well_formed(code[:-1])
    assert not is_well_formed(code[:5] + "U" + code[6:])
    assert not is_well_formed(code[:5] + "*" + code[6:])
    assert not is_well_formed(None)
