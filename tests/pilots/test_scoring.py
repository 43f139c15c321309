"""SUS and NPS scoring against examples computed by hand."""

import math

import pytest

from pilots.scoring import LIKERT5_LABELS, LIKERT7_LABELS, SUS_ITEMS, likert_labels, nps, sus_score


def test_sus_of_all_neutral_answers_is_fifty():
    assert sus_score([3] * 10) == 50.0


def test_sus_of_the_best_possible_answers_is_a_hundred():
    assert sus_score([5, 1, 5, 1, 5, 1, 5, 1, 5, 1]) == 100.0


def test_sus_of_the_worst_possible_answers_is_zero():
    assert sus_score([1, 5, 1, 5, 1, 5, 1, 5, 1, 5]) == 0.0


def test_sus_of_a_mixed_set_of_answers_matches_the_hand_computation():
    # Items 1, 3, 5, 7, 9 answered 4, 4, 5, 4, 3 → (score − 1) = 3 + 3 + 4 + 3 + 2 = 15
    # Items 2, 4, 6, 8, 10 answered 2, 1, 2, 2, 3 → (5 − score) = 3 + 4 + 3 + 3 + 2 = 15
    # (15 + 15) × 2.5 = 75.0
    assert sus_score([4, 2, 4, 1, 5, 2, 4, 2, 3, 3]) == 75.0


def test_sus_where_only_the_odd_items_are_agreed_with_strongly():
    # Odd items 5 → 4 each = 20; even items 5 → 0 each = 0; 20 × 2.5 = 50.0
    assert sus_score([5] * 10) == 50.0


@pytest.mark.parametrize(
    "items",
    [[3] * 9, [3] * 11, [0, 3, 3, 3, 3, 3, 3, 3, 3, 3], [6] + [3] * 9, [3.5] + [3] * 9, [True] + [3] * 9],
)
def test_sus_refuses_anything_but_ten_whole_answers_from_one_to_five(items):
    with pytest.raises(ValueError):
        sus_score(items)


def test_nps_with_five_promoters_two_passives_and_three_detractors_is_twenty():
    # 50 % promoters − 30 % detractors = 20
    assert nps([10, 9, 9, 10, 9, 8, 7, 6, 0, 3]) == 20.0


def test_nps_counts_seven_and_eight_as_passives_and_six_as_a_detractor():
    # 1 promoter (9), 2 passives (7, 8), 1 detractor (6): 25 % − 25 % = 0
    assert nps([9, 7, 8, 6]) == 0.0


def test_nps_ranges_from_minus_a_hundred_to_a_hundred():
    assert nps([0, 1, 6]) == -100.0
    assert nps([9, 10]) == 100.0


def test_nps_leaves_out_missing_answers_and_is_not_a_number_without_any():
    assert nps([10, None, float("nan"), 0]) == 0.0
    assert math.isnan(nps([]))
    assert math.isnan(nps([None]))


def test_sus_statements_and_agreement_labels_are_the_standard_ones():
    assert len(SUS_ITEMS) == 10
    assert str(SUS_ITEMS[0]) == "I think that I would like to use this system frequently."
    assert (
        str(SUS_ITEMS[-1]) == "I needed to learn a lot of things before I could get going with this system."
    )
    assert len(LIKERT5_LABELS) == 5 and len(LIKERT7_LABELS) == 7
    assert str(LIKERT7_LABELS[0]) == "Strongly disagree" and str(LIKERT7_LABELS[-1]) == "Strongly agree"
    assert likert_labels("likert7") is LIKERT7_LABELS and likert_labels("likert5") is LIKERT5_LABELS
