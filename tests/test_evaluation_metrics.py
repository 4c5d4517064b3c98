"""The metrics on small fixtures whose scores are worked out by hand in the comments."""

import pytest

from evaluations import metrics
from evaluations.gold import Entity, Frame, Point


def test_word_error_rate_divides_by_the_reference_not_the_app():
    # Reference "the cat sat", app "the cat sat down": one insertion over three reference words = 1/3.
    # (Swapped, as aapb-evaluations' common/metrics.py does, it would be one deletion over four = 1/4.)
    counts = metrics.error_counts("the cat sat", "the cat sat down")
    assert counts == {"errors": 1, "reference": 3}
    assert metrics.error_rate(counts) == pytest.approx(1 / 3)


def test_character_error_rate_counts_characters_spaces_included():
    # "the cat" (7 characters with the space) against "the bat": one substitution, 1/7.
    counts = metrics.error_counts("the cat", "the bat", unit="char")
    assert metrics.error_rate(counts) == pytest.approx(1 / 7)


def test_the_normalisation_switch_ignores_case_and_punctuation():
    # "The cat, sat." against "the cat sat": 3 substitutions in 3 words as written, none once normalised.
    assert metrics.error_counts("The cat, sat.", "the cat sat") == {"errors": 3, "reference": 3}
    assert metrics.error_counts("The cat, sat.", "the cat sat", normalise=True) == {"errors": 0, "reference": 3}


def test_an_app_that_said_nothing_deleted_every_word():
    assert metrics.error_counts("one two three", "") == {"errors": 3, "reference": 3}


def test_three_gold_frames_two_matched_give_two_thirds():
    gold = [Frame(0, 10, "S"), Frame(20, 30, "S"), Frame(40, 50, "S")]
    # The first two overlap their gold by IoU 9/10 and 9/10; the third (60-70) overlaps nothing.
    predicted = [Frame(1, 10, "S"), Frame(20, 29, "S"), Frame(60, 70, "S")]
    labels = metrics.frame_counts(gold, predicted)
    assert labels == {"S": {"tp": 2, "fp": 1, "fn": 1}}
    # P = 2/(2+1) = 2/3, R = 2/(2+1) = 2/3, F1 = 2/3.
    scores = metrics.prf(**labels["S"])
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)


def test_frames_match_only_their_own_label_and_only_past_the_overlap():
    gold = [Frame(0, 10, "S"), Frame(10, 20, "M")]
    # 0-10 labelled M overlaps the S frame, but labels differ: a miss and an extra. 10-14 is M but IoU 4/10 < 0.5.
    predicted = [Frame(0, 10, "M"), Frame(10, 14, "M")]
    assert metrics.frame_counts(gold, predicted) == {"S": {"tp": 0, "fp": 0, "fn": 1}, "M": {"tp": 0, "fp": 2, "fn": 1}}
    # With a lower bar (0.3) the 10-14 frame matches: M has 1 match, 1 extra.
    assert metrics.frame_counts(gold, predicted, min_overlap=0.3)["M"] == {"tp": 1, "fp": 1, "fn": 0}


def test_each_gold_frame_is_matched_once():
    # Two predictions on one gold frame: one match, one extra. P = 1/2, R = 1/1.
    assert metrics.frame_counts([Frame(0, 10, "S")], [Frame(0, 10, "S"), Frame(0, 9, "S")]) == {
        "S": {"tp": 1, "fp": 1, "fn": 0}
    }


def test_time_points_match_the_nearest_within_the_tolerance_each_gold_used_once():
    gold = [Point(1.0, "bars"), Point(5.0, "bars"), Point(9.0, "slate")]
    # 1.2 and 1.4 both near 1.0: the nearer (0.2 s) takes it, 1.4 is extra. 5.6 is 600 ms off: extra, and 5.0 missed.
    # 9.3 is slate within 500 ms: a match.
    predicted = [Point(1.4, "bars"), Point(1.2, "bars"), Point(5.6, "bars"), Point(9.3, "slate")]
    labels = metrics.point_counts(gold, predicted, tolerance_ms=500)
    assert labels == {"bars": {"tp": 1, "fp": 2, "fn": 1}, "slate": {"tp": 1, "fp": 0, "fn": 0}}
    # bars: P = 1/3, R = 1/2, F1 = 2*1/(2+2+1) = 2/5.
    assert metrics.prf(**labels["bars"])["f1"] == pytest.approx(2 / 5)


def test_entities_count_when_span_and_type_both_match():
    gold = [Entity(0, 4, "PER"), Entity(10, 16, "LOC"), Entity(20, 25, "ORG")]
    # PER exact: found. LOC with the wrong end: an extra and a miss. ORG called PER: an extra PER and a missed ORG.
    predicted = [Entity(0, 4, "PER"), Entity(10, 15, "LOC"), Entity(20, 25, "PER")]
    labels = metrics.entity_counts(gold, predicted)
    assert labels == {
        "PER": {"tp": 1, "fp": 1, "fn": 0},
        "LOC": {"tp": 0, "fp": 1, "fn": 1},
        "ORG": {"tp": 0, "fp": 0, "fn": 1},
    }
    # Over all types: tp 1, fp 2, fn 2: P = R = F1 = 1/3.
    assert metrics.headline("ner_f1", metrics.add_up(labels.values())) == pytest.approx(1 / 3)


def test_ocr_scores_each_matched_frame_and_counts_the_others_apart():
    gold = [(Frame(0, 2, ""), "CHOWDA"), (Frame(5, 6, ""), "NEWS HOUR")]
    # The app read "CHOWDER" over 0.5-1.5 (overlaps the first): CER of CHOWDA→CHOWDER = 1 substitution + 1 insertion
    # = 2/6. Nothing near 5-6: unmatched, not an error.
    counts, matched, missed = metrics.ocr_counts(gold, [(Frame(0.5, 1.5, ""), "CHOWDER")])
    assert (counts, matched, missed) == ({"errors": 2, "reference": 6}, 1, 1)
    assert metrics.error_rate(counts) == pytest.approx(2 / 6)


def test_the_aggregate_adds_counts_so_a_long_file_weighs_more():
    # File 1: 1 error in 3 words; file 2: 0 in 7. Corpus WER = 1/10 (the mean of rates would be 1/6).
    total = metrics.add_up([{"errors": 1, "reference": 3}, {"errors": 0, "reference": 7}])
    assert metrics.headline("wer", total) == pytest.approx(1 / 10)


def test_the_label_table_adds_labels_over_files():
    rows = metrics.label_table([{"S": {"tp": 1, "fp": 0, "fn": 1}}, {"S": {"tp": 1, "fp": 1, "fn": 0}}])
    # S: tp 2, fp 1, fn 1: gold 3, predicted 3, P = R = F1 = 2/3.
    assert rows == [
        {"label": "S", "gold": 3, "predicted": 3, "tp": 2, "fp": 1, "fn": 1}
        | {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3), "f1": pytest.approx(2 / 3)}
    ]


def test_the_bootstrap_interval_is_seeded_and_brackets_a_steady_difference():
    # B is better by exactly one error in ten words on every file: every resample gives B - A = -0.1.
    pairs = [({"errors": 2, "reference": 10}, {"errors": 1, "reference": 10})] * 5
    assert metrics.bootstrap_difference("wer", pairs) == (pytest.approx(-0.1), pytest.approx(-0.1))
    mixed = [
        ({"errors": 3, "reference": 10}, {"errors": 1, "reference": 10}),
        ({"errors": 1, "reference": 10}, {"errors": 2, "reference": 10}),
        ({"errors": 5, "reference": 10}, {"errors": 1, "reference": 10}),
    ]
    low, high = metrics.bootstrap_difference("wer", mixed)
    # The difference over all three files is (4 - 9)/30 = -1/6; the interval holds it and is the same every time.
    assert low <= -1 / 6 <= high
    assert (low, high) == metrics.bootstrap_difference("wer", mixed)
