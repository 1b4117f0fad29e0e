"""Agreement metrics against hand-computed values, and their edge cases."""

from __future__ import annotations

from fractions import Fraction

import pytest

from arize_skills.evals.agreement import (
    RELIABLE_COUNT,
    LabelAgreement,
    accuracy,
    agreement,
    cohens_kappa,
    confusion_matrix,
    label_order,
    per_label,
    sample_warning,
)


def pairs(table: dict[tuple[str, str], int]) -> tuple[list[str], list[str]]:
    """Reference and predicted labels spelling out a table of (human, judge) counts."""
    reference: list[str] = []
    predicted: list[str] = []
    for (human, judge), count in table.items():
        reference += [human] * count
        predicted += [judge] * count
    return reference, predicted


def test_a_two_by_two_table_gives_the_hand_computed_kappa_accuracy_and_rates() -> None:
    # humans yes/no (rows) vs judge yes/no: 4 1 / 2 3 over 10 examples.
    reference, predicted = pairs({("yes", "yes"): 4, ("yes", "no"): 1, ("no", "yes"): 2, ("no", "no"): 3})
    observed = Fraction(7, 10)
    chance = Fraction(5 * 6 + 5 * 4, 100)  # humans 5 yes / 5 no, judge 6 yes / 4 no
    kappa = (observed - chance) / (1 - chance)
    assert kappa == Fraction(2, 5)

    result = agreement(reference, predicted, ["yes", "no"])

    assert result.kappa == float(kappa)
    assert result.accuracy == float(observed)
    assert result.expected_agreement == float(chance)
    assert (result.count, result.agreed) == (10, 7)
    assert result.matrix == ((4, 1), (2, 3))
    assert result.kappa_note is None
    yes, no = result.per_label
    assert yes == LabelAgreement("yes", support=5, predicted=6, agreed=4, precision=4 / 6, recall=4 / 5, f1=8 / 11)
    assert no == LabelAgreement("no", support=5, predicted=4, agreed=3, precision=3 / 4, recall=3 / 5, f1=6 / 9)


def test_three_labels_give_the_hand_computed_kappa() -> None:
    reference, predicted = pairs(
        {
            ("a", "a"): 2,
            ("a", "b"): 1,
            ("b", "b"): 3,
            ("b", "c"): 1,
            ("c", "a"): 1,
            ("c", "c"): 2,
        }
    )
    # observed 7/10; humans a3 b4 c3, judge a3 b4 c3: chance (9 + 16 + 9) / 100.
    expected = (Fraction(7, 10) - Fraction(34, 100)) / (1 - Fraction(34, 100))
    assert expected == Fraction(6, 11)
    assert cohens_kappa(reference, predicted) == float(expected)
    assert confusion_matrix(reference, predicted, ["a", "b", "c"]) == [[2, 1, 0], [0, 3, 1], [1, 0, 2]]


def test_perfect_agreement_on_two_labels_is_kappa_one() -> None:
    reference = ["pass", "fail", "pass", "fail"]
    assert cohens_kappa(reference, list(reference)) == 1.0
    assert accuracy(reference, list(reference)) == 1.0


def test_no_agreement_on_two_balanced_labels_is_kappa_minus_one() -> None:
    reference = ["a", "b", "a", "b"]
    predicted = ["b", "a", "b", "a"]
    result = agreement(reference, predicted)
    assert result.accuracy == 0.0
    assert result.kappa == -1.0
    assert result.matrix == ((0, 2), (2, 0))
    assert all(row.precision == 0.0 and row.recall == 0.0 and row.f1 == 0.0 for row in result.per_label)


def test_one_label_used_by_both_raters_leaves_kappa_undefined_and_says_why() -> None:
    result = agreement(["ok"] * 5, ["ok"] * 5)
    assert result.accuracy == 1.0
    assert result.kappa is None
    assert result.kappa_note is not None and "'ok'" in result.kappa_note and "undefined" in result.kappa_note
    assert cohens_kappa(["ok"] * 5, ["ok"] * 5) is None


def test_one_human_label_against_a_judge_that_varies_is_kappa_zero() -> None:
    # chance agreement = 1 * 2/4 = observed agreement, so kappa is exactly 0.
    assert cohens_kappa(["a"] * 4, ["a", "a", "b", "b"]) == 0.0


def test_rates_with_a_zero_denominator_are_undefined_not_zero() -> None:
    rows = {row.label: row for row in per_label(["a", "a", "b"], ["a", "a", "a"], ["a", "b", "c"])}
    assert rows["b"].precision is None  # the judge never said b
    assert rows["b"].recall == 0.0 and rows["b"].f1 == 0.0
    assert rows["a"].precision == 2 / 3 and rows["a"].recall == 1.0
    assert rows["c"] == LabelAgreement("c", 0, 0, 0, None, None, None)


def test_labels_default_to_the_order_they_first_appear_in() -> None:
    assert label_order(["b", "a"], ["c", "a"]) == ["b", "a", "c"]
    assert agreement(["b", "a"], ["c", "a"]).labels == ("b", "a", "c")


@pytest.mark.parametrize(
    ("reference", "predicted", "message"),
    [
        ([], [], "no label pairs to compare"),
        (["a"], ["a", "b"], "1 reference and 2 predicted"),
    ],
)
def test_empty_or_unpaired_labels_are_refused_with_a_clear_error(
    reference: list[str], predicted: list[str], message: str
) -> None:
    for fn in (accuracy, cohens_kappa, confusion_matrix, per_label, agreement):
        with pytest.raises(ValueError, match=message):
            fn(reference, predicted)


def test_a_label_list_that_misses_or_repeats_a_label_is_refused() -> None:
    with pytest.raises(ValueError, match="missing: 'b'"):
        confusion_matrix(["a", "b"], ["a", "a"], ["a"])
    with pytest.raises(ValueError, match="repeated: 'a'"):
        agreement(["a"], ["a"], ["a", "a"])


def test_fewer_than_fifty_pairs_get_a_warning_that_says_how_rough_the_figures_are() -> None:
    assert RELIABLE_COUNT == 50
    warning = sample_warning(10)
    assert warning is not None
    assert "only 10 labelled examples compared, fewer than 50" in warning
    assert "one example moves accuracy by 10 points" in warning
    assert sample_warning(1) is not None and "1 labelled example compared" in str(sample_warning(1))
    assert sample_warning(49) is not None
    assert sample_warning(50) is None
