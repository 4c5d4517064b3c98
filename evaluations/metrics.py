"""The scores, as the field computes them: jiwer for error rates, one-to-one matching for frames, points and
entities. Each file's score is made of counts (errors and reference length, or true and false positives and
misses) so that the aggregate over files, and each bootstrap resample of the A/B, adds counts up rather than
averaging ratios: a long file weighs what its words weigh.

Pure functions of parsed gold and predictions: no database, so they are tested with numbers worked out by hand.
"""

import random
import string
from collections import defaultdict
from collections.abc import Iterable

import jiwer

from evaluations.gold import Entity, Frame, Point

# What jiwer compares: words, or characters (spaces included), after runs of spaces are made one.
_WORDS = jiwer.Compose([jiwer.RemoveMultipleSpaces(), jiwer.Strip(), jiwer.ReduceToListOfListOfWords()])
_CHARS = jiwer.Compose([jiwer.RemoveMultipleSpaces(), jiwer.Strip(), jiwer.ReduceToListOfListOfChars()])


def normalised(text: str) -> str:
    """What the normalisation switch compares: lower case, no punctuation, single spaces."""
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return " ".join(text.split())


def error_counts(reference: str, hypothesis: str, *, unit: str = "word", normalise: bool = False) -> dict:
    """Edits (substitutions, deletions, insertions) against the reference's length, in words or characters.

    The reference (the gold) comes first, as jiwer's signature has it: aapb-evaluations' common/metrics.py
    passes them the other way round, which divides by the app's length instead of the gold's.
    """
    if normalise:
        reference, hypothesis = normalised(reference), normalised(hypothesis)
    if not hypothesis.strip():  # the app said nothing: every word (or character) of the gold was deleted
        length = len(" ".join(reference.split())) if unit == "char" else len(reference.split())
        return {"errors": length, "reference": length}
    if unit == "char":
        out = jiwer.process_characters(reference, hypothesis, reference_transform=_CHARS, hypothesis_transform=_CHARS)
    else:
        out = jiwer.process_words(reference, hypothesis, reference_transform=_WORDS, hypothesis_transform=_WORDS)
    return {
        "errors": out.substitutions + out.deletions + out.insertions,
        "reference": out.substitutions + out.deletions + out.hits,
    }


def error_rate(counts: dict) -> float | None:
    return counts["errors"] / counts["reference"] if counts.get("reference") else None


def prf(tp: int, fp: int, fn: int) -> dict:
    """Precision, recall and F1; each None where it divides by nothing (no prediction, no gold)."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {"precision": precision, "recall": recall, "f1": f1}


def _one_to_one(pairs: Iterable[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of (cost, gold index, predicted index) candidates, cheapest first."""
    used_gold, used_predicted, matched = set(), set(), []
    for _cost, gold, predicted in sorted(pairs):
        if gold not in used_gold and predicted not in used_predicted:
            used_gold.add(gold)
            used_predicted.add(predicted)
            matched.append((gold, predicted))
    return matched


def _by_label(gold: list, predicted: list, matched: list[tuple[int, int]]) -> dict[str, dict]:
    counts: dict[str, dict] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    hit_gold = {g for g, _ in matched}
    hit_predicted = {p for _, p in matched}
    for index, item in enumerate(gold):
        counts[item.label]["tp" if index in hit_gold else "fn"] += 1
    for index, item in enumerate(predicted):
        if index not in hit_predicted:
            counts[item.label]["fp"] += 1
    return dict(counts)


def iou(a: Frame, b: Frame) -> float:
    """Intersection over union of two frames' times (0 when they do not overlap)."""
    overlap = min(a.end, b.end) - max(a.start, b.start)
    union = max(a.end, b.end) - min(a.start, b.start)
    return overlap / union if overlap > 0 and union > 0 else 0.0


def frame_counts(gold: list[Frame], predicted: list[Frame], *, min_overlap: float = 0.5) -> dict[str, dict]:
    """True positives, false positives and misses per label: a predicted frame matches a gold frame of the same
    label when their intersection over union is at least ``min_overlap``; each frame is matched once, the
    best-overlapping pairs first."""
    candidates = [
        (-overlap, g, p)
        for g, gold_frame in enumerate(gold)
        for p, predicted_frame in enumerate(predicted)
        if gold_frame.label == predicted_frame.label
        for overlap in [iou(gold_frame, predicted_frame)]
        if overlap >= min_overlap and overlap > 0
    ]
    return _by_label(gold, predicted, _one_to_one(candidates))


def point_counts(gold: list[Point], predicted: list[Point], *, tolerance_ms: float = 500) -> dict[str, dict]:
    """Per label, as ``frame_counts``: a predicted point matches the nearest gold point of its label within the
    tolerance, each gold point used once."""
    tolerance = tolerance_ms / 1000
    candidates = [
        (distance, g, p)
        for g, gold_point in enumerate(gold)
        for p, predicted_point in enumerate(predicted)
        if gold_point.label == predicted_point.label
        for distance in [abs(gold_point.at - predicted_point.at)]
        if distance <= tolerance
    ]
    return _by_label(gold, predicted, _one_to_one(candidates))


def entity_counts(gold: list[Entity], predicted: list[Entity]) -> dict[str, dict]:
    """Per entity type: an entity is found when one of the app's has the same type and exactly the same span,
    as seqeval and CoNLL score entities."""
    candidates = [
        (0, g, p)
        for g, gold_entity in enumerate(gold)
        for p, predicted_entity in enumerate(predicted)
        if gold_entity == predicted_entity
    ]
    relabelled_gold = [Point(0, e.type) for e in gold]
    relabelled_predicted = [Point(0, e.type) for e in predicted]
    return _by_label(relabelled_gold, relabelled_predicted, _one_to_one(candidates))


def ocr_counts(
    gold: list[tuple[Frame, str]], predicted: list[tuple[Frame, str]], *, tolerance_ms: float = 500, normalise=False
) -> tuple[dict, int, int]:
    """Character edits against the gold text, over the gold frames an app's text matches in time (overlapping
    frames, or points within the tolerance; each used once, closest first); and how many gold frames were
    matched and how many were not (those are counted apart, not as errors)."""
    tolerance = tolerance_ms / 1000
    candidates = []
    for g, (gold_frame, _) in enumerate(gold):
        for p, (predicted_frame, _) in enumerate(predicted):
            overlap = iou(gold_frame, predicted_frame)
            gap = max(gold_frame.start - predicted_frame.end, predicted_frame.start - gold_frame.end, 0)
            if overlap > 0:
                candidates.append((-overlap, g, p))
            elif gap <= tolerance:
                candidates.append((gap, g, p))
    matched = _one_to_one(candidates)
    total = {"errors": 0, "reference": 0}
    for g, p in matched:
        counts = error_counts(gold[g][1], predicted[p][1], unit="char", normalise=normalise)
        total["errors"] += counts["errors"]
        total["reference"] += counts["reference"]
    return total, len(matched), len(gold) - len(matched)


def add_up(per_file: Iterable[dict]) -> dict:
    """Counts of several files (or labels) added up, key by key."""
    total: dict = defaultdict(int)
    for counts in per_file:
        for key, value in counts.items():
            total[key] += value
    return dict(total)


def headline(metric: str, counts: dict) -> float | None:
    """The metric's one number from added-up counts: an error rate, or F1."""
    if "reference" in counts:
        return error_rate(counts)
    return prf(counts.get("tp", 0), counts.get("fp", 0), counts.get("fn", 0))["f1"]


def label_table(per_file_labels: Iterable[dict[str, dict]]) -> list[dict]:
    """One row per label over all files: gold and predicted counts, matches, precision, recall, F1."""
    total: dict[str, dict] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    for labels in per_file_labels:
        for label, counts in labels.items():
            for key in ("tp", "fp", "fn"):
                total[label][key] += counts.get(key, 0)
    return [
        {
            "label": label,
            "gold": c["tp"] + c["fn"],
            "predicted": c["tp"] + c["fp"],
            **c,
            **prf(c["tp"], c["fp"], c["fn"]),
        }
        for label, c in sorted(total.items())
    ]


BOOTSTRAP_ROUNDS = 2000
BOOTSTRAP_SEED = 24


def bootstrap_difference(
    metric: str, pairs: list[tuple[dict, dict]], *, rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED
) -> tuple[float | None, float | None]:
    """A 95 % percentile bootstrap interval of (B's score - A's) over files both scored: ``pairs`` holds each
    file's counts in A and in B; each round draws as many files with replacement and scores both sides on them.
    Seeded, so the same evaluations always give the same interval."""
    if not pairs:
        return None, None
    draw = random.Random(seed)
    differences = []
    for _ in range(rounds):
        sample = [pairs[draw.randrange(len(pairs))] for _ in pairs]
        a, b = headline(metric, add_up(p[0] for p in sample)), headline(metric, add_up(p[1] for p in sample))
        if a is not None and b is not None:
            differences.append(b - a)
    if not differences:
        return None, None
    differences.sort()
    low = differences[round(0.025 * (len(differences) - 1))]
    high = differences[round(0.975 * (len(differences) - 1))]
    return low, high
