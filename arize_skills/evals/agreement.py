"""How well a judge agrees with human labels: accuracy, per-label precision / recall / F1, Cohen's kappa and the
confusion matrix.

Every function takes two equally long label sequences: ``reference`` (the human labels, the truth) and
``predicted`` (the judge's labels), paired by position. Arithmetic is exact (``fractions.Fraction``) and the
results are floats, so a hand-computed fraction compares equal to what comes back.

Edge cases are answered, never guessed:

* no pairs at all, or sequences of different lengths: ``ValueError`` saying so;
* a rate whose denominator is zero is ``None`` (undefined), not 0: the precision of a label the judge never
  gave, the recall of a label the humans never gave, the F1 of a label neither gave;
* Cohen's kappa is ``None`` when chance agreement is 1, which happens exactly when the humans and the judge gave
  every example one and the same label (agreement is perfect, but nothing tells it from chance); ``kappa_note``
  says so. With no agreement at all kappa is negative (``-1`` for two balanced labels, always swapped).

In the confusion matrix, row ``i`` is the human label ``labels[i]`` and column ``j`` the judge label
``labels[j]``: ``matrix[i][j]`` counts the examples the humans labelled ``labels[i]`` and the judge ``labels[j]``.

Below ``RELIABLE_COUNT`` pairs the figures swing by chance (one example is two points of accuracy at 50):
``sample_warning`` says so, for every report of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..foundation.repeats import repeated

__all__ = [
    "Agreement",
    "LabelAgreement",
    "accuracy",
    "agreement",
    "cohens_kappa",
    "confusion_matrix",
    "label_order",
    "per_label",
    "RELIABLE_COUNT",
    "sample_warning",
]

RELIABLE_COUNT = 50
"""Fewer label pairs than this give figures that swing by chance: report them with ``sample_warning``."""


@dataclass(frozen=True)
class LabelAgreement:
    """How the judge did on one label.

    ``support``: how many examples the humans gave this label; ``predicted``: how many the judge gave it;
    ``agreed``: how many both gave it. ``precision`` = agreed / predicted, ``recall`` = agreed / support (the
    true-positive rate of this label), ``f1`` = 2·agreed / (predicted + support); each is ``None`` when its
    denominator is zero.
    """

    label: str
    support: int
    predicted: int
    agreed: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class Agreement:
    """Every agreement figure for one set of label pairs.

    ``labels`` orders the matrix and ``per_label``; ``count`` is the number of pairs and ``agreed`` how many
    match. ``expected_agreement`` is the agreement two raters with these label frequencies reach by chance.
    """

    labels: tuple[str, ...]
    count: int
    agreed: int
    accuracy: float
    expected_agreement: float
    kappa: float | None
    kappa_note: str | None
    matrix: tuple[tuple[int, ...], ...]
    per_label: tuple[LabelAgreement, ...]


def _check(reference: Sequence[str], predicted: Sequence[str]) -> None:
    if len(reference) != len(predicted):
        raise ValueError(
            f"reference and predicted labels must pair up one to one: got {len(reference)} reference and "
            f"{len(predicted)} predicted labels"
        )
    if not reference:
        raise ValueError("no label pairs to compare: agreement needs at least one example labelled by both raters")


def label_order(reference: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None) -> list[str]:
    """The labels in matrix order: ``labels`` as given, else every label seen, in order of first appearance
    (reference first, then predicted).

    Raises:
        ValueError: ``labels`` repeats a label, or misses one that the pairs use.
    """
    seen = list(dict.fromkeys([*reference, *predicted]))
    if labels is None:
        return seen
    order = list(labels)
    if twice := repeated(order):
        raise ValueError(f"labels must not repeat a label; repeated: {', '.join(map(repr, twice))}")
    missing = [label for label in seen if label not in order]
    if missing:
        raise ValueError(f"labels must list every label the pairs use; missing: {', '.join(map(repr, missing))}")
    return order


def confusion_matrix(
    reference: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> list[list[int]]:
    """Counts of (human label, judge label) pairs: ``matrix[i][j]`` = human ``labels[i]``, judge ``labels[j]``.

    Raises:
        ValueError: no pairs, unequal lengths, or ``labels`` that repeat or miss a label.
    """
    _check(reference, predicted)
    order = label_order(reference, predicted, labels)
    index = {label: i for i, label in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for human, judge in zip(reference, predicted, strict=True):
        matrix[index[human]][index[judge]] += 1
    return matrix


def _accuracy(reference: Sequence[str], predicted: Sequence[str]) -> Fraction:
    agreed = sum(1 for human, judge in zip(reference, predicted, strict=True) if human == judge)
    return Fraction(agreed, len(reference))


def _expected(reference: Sequence[str], predicted: Sequence[str]) -> Fraction:
    count = len(reference)
    humans, judge = Counter(reference), Counter(predicted)
    return sum((Fraction(humans[label] * judge[label], count * count) for label in humans), Fraction(0))


def accuracy(reference: Sequence[str], predicted: Sequence[str]) -> float:
    """The share of pairs whose labels are equal.

    Raises:
        ValueError: no pairs, or unequal lengths.
    """
    _check(reference, predicted)
    return float(_accuracy(reference, predicted))


def _kappa(reference: Sequence[str], predicted: Sequence[str]) -> tuple[Fraction | None, str | None]:
    observed, expected = _accuracy(reference, predicted), _expected(reference, predicted)
    if expected == 1:
        label = reference[0]
        return None, (
            f"undefined: the humans and the judge gave every example the same label ({label!r}), so agreement by "
            "chance is 1 and kappa is 0/0; label examples of the other classes to measure agreement beyond chance"
        )
    return (observed - expected) / (1 - expected), None


def cohens_kappa(reference: Sequence[str], predicted: Sequence[str]) -> float | None:
    """Cohen's kappa, (observed − expected agreement) / (1 − expected agreement); ``None`` when it is undefined
    (both raters used one and the same label for every example).

    Raises:
        ValueError: no pairs, or unequal lengths.
    """
    _check(reference, predicted)
    kappa, _ = _kappa(reference, predicted)
    return float(kappa) if kappa is not None else None


def _rate(numerator: int, denominator: int) -> float | None:
    return float(Fraction(numerator, denominator)) if denominator else None


def per_label(
    reference: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> list[LabelAgreement]:
    """Support, precision, recall and F1 of each label, in ``labels`` order (see ``label_order``).

    Raises:
        ValueError: no pairs, unequal lengths, or ``labels`` that repeat or miss a label.
    """
    _check(reference, predicted)
    order = label_order(reference, predicted, labels)
    humans, judge = Counter(reference), Counter(predicted)
    both = Counter(human for human, said in zip(reference, predicted, strict=True) if human == said)
    return [
        LabelAgreement(
            label=label,
            support=humans[label],
            predicted=judge[label],
            agreed=both[label],
            precision=_rate(both[label], judge[label]),
            recall=_rate(both[label], humans[label]),
            f1=_rate(2 * both[label], judge[label] + humans[label]),
        )
        for label in order
    ]


def agreement(reference: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None) -> Agreement:
    """Every figure at once: accuracy, chance agreement, Cohen's kappa, the confusion matrix and per-label rates.

    Raises:
        ValueError: no pairs, unequal lengths, or ``labels`` that repeat or miss a label.
    """
    _check(reference, predicted)
    order = label_order(reference, predicted, labels)
    kappa, note = _kappa(reference, predicted)
    observed = _accuracy(reference, predicted)
    return Agreement(
        labels=tuple(order),
        count=len(reference),
        agreed=int(observed * len(reference)),
        accuracy=float(observed),
        expected_agreement=float(_expected(reference, predicted)),
        kappa=float(kappa) if kappa is not None else None,
        kappa_note=note,
        matrix=tuple(tuple(row) for row in confusion_matrix(reference, predicted, order)),
        per_label=tuple(per_label(reference, predicted, order)),
    )


def sample_warning(count: int) -> str | None:
    """Why figures from ``count`` label pairs are rough, when there are fewer than ``RELIABLE_COUNT``; else None."""
    if count >= RELIABLE_COUNT:
        return None
    step = 100 / count if count else 100.0
    return (
        f"only {count} labelled example{'s' if count != 1 else ''} compared, fewer than {RELIABLE_COUNT}: one "
        f"example moves accuracy by {step:.0f} points, so the figures are rough; label more examples before "
        "trusting them"
    )
