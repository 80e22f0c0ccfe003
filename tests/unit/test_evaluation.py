"""The evaluation's figures, the labelled file reader and the deploy gate, on hand-computed cases."""

import pytest

from service.dataset import DatasetError, parse_csv, parse_jsonl, read_labelled
from service.evaluation import (EvaluationError, evaluate, expected_calibration_error,
                                figures_json, figures_table, threshold_shares)
from service.gate import GateInputError, GatePolicy, judge, load_figures
from service.labels import Classification

NEG, NEU, POS = "negative", "neutral", "positive"


def predicted(label: str, score: float = 0.8) -> Classification:
    """A prediction of ``label`` with probability ``score``, the rest split evenly."""
    rest = (1 - score) / 2
    return Classification.from_scores({name: score if name == label else rest
                                       for name in (NEG, NEU, POS)})


# truth:     neg neg neg neu neu pos
# predicted: neg neg neu neu pos pos
TRUTH = [NEG, NEG, NEG, NEU, NEU, POS]
PREDICTED = [predicted(label) for label in (NEG, NEG, NEU, NEU, POS, POS)]


def test_confusion_rows_are_the_true_labels():
    """The confusion matrix counts each (true, predicted) pair, rows being the truth."""
    figures = evaluate(TRUTH, PREDICTED)
    assert figures.confusion == {NEG: {NEG: 2, NEU: 1, POS: 0},
                                 NEU: {NEG: 0, NEU: 1, POS: 1},
                                 POS: {NEG: 0, NEU: 0, POS: 1}}
    assert figures.n == 6
    assert figures.accuracy == pytest.approx(4 / 6)


def test_precision_recall_f1_and_macro_f1_by_hand():
    """negative P=2/2 R=2/3 F1=0.8; neutral 1/2, 1/2, 0.5; positive 1/2, 1/1, 2/3; macro the mean."""
    figures = evaluate(TRUTH, PREDICTED)
    neg, neu, pos = (figures.per_class[label] for label in (NEG, NEU, POS))
    assert (neg.precision, neg.recall, neg.f1, neg.support) == pytest.approx((1.0, 2 / 3, 0.8, 3))
    assert (neu.precision, neu.recall, neu.f1, neu.support) == pytest.approx((0.5, 0.5, 0.5, 2))
    assert (pos.precision, pos.recall, pos.f1, pos.support) == pytest.approx((0.5, 1.0, 2 / 3, 1))
    assert figures.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_a_label_never_predicted_has_zero_precision_not_an_error():
    """0/0 is 0.0 (scikit-learn's zero_division=0): a model that never says neutral."""
    figures = evaluate([NEG, NEU, POS], [predicted(NEG), predicted(POS), predicted(POS)])
    assert figures.per_class[NEU].precision == 0.0
    assert figures.per_class[NEU].f1 == 0.0
    assert figures.macro_f1 == pytest.approx((1.0 + 0.0 + 2 / 3) / 3)


def test_ece_over_ten_equal_width_bins_by_hand():
    """Two texts at 0.95 (one right): |0.5-0.95| x 2/4; two at 0.65 (both right): |1-0.65| x 2/4."""
    assert expected_calibration_error([0.95, 0.95, 0.65, 0.65],
                                      [True, False, True, True]) == pytest.approx(0.225 + 0.175)


def test_ece_puts_a_bin_edge_in_the_lower_bin():
    """0.7 falls in (0.6, 0.7] and 0.71 in (0.7, 0.8]: two bins, not one."""
    assert expected_calibration_error([0.7, 0.71], [True, False]) == pytest.approx(
        0.5 * 0.3 + 0.5 * 0.71)


def test_a_perfectly_calibrated_model_has_zero_ece():
    """Right exactly as often as it says, in every bin."""
    assert expected_calibration_error([0.5, 0.5, 1.0], [True, False, True]) == pytest.approx(0.0)


def test_threshold_shares_among_negatives_and_others():
    """P(negative) >= t, inclusive, among the true negatives and among the rest."""
    shares = threshold_shares([NEG, NEG, NEU, POS], [0.9, 0.55, 0.6, 0.1], (0.5, 0.6, 0.7, 0.9))
    assert [(s.threshold, s.negatives, s.others) for s in shares] == [
        (0.5, 1.0, 0.5), (0.6, 0.5, 0.5), (0.7, 0.5, 0.0), (0.9, 0.5, 0.0)]


def test_nothing_to_evaluate_is_an_error():
    """No valid text: an error, not a division by zero."""
    with pytest.raises(EvaluationError):
        evaluate([], [])


def test_json_has_the_agreed_keys_and_the_table_shows_them():
    """The JSON keys the service and the deploy gate read, and a table with the same numbers."""
    report = figures_json(evaluate(TRUTH, PREDICTED), model="m", revision="sha256:abc",
                          backend="transformers", runtime="torch", messages_per_second=12.34,
                          skipped=[(3, "texto vazio")])
    assert set(report) == {"accuracy", "macro_f1", "per_class", "confusion", "ece", "n", "model",
                           "revision", "backend", "runtime", "thresholds", "messages_per_second",
                           "skipped"}
    assert set(report["per_class"][NEG]) == {"precision", "recall", "f1", "support"}
    assert set(report["thresholds"]) == {"0.5", "0.6", "0.7", "0.8", "0.9"}
    assert report["skipped"] == [{"line": 3, "reason": "texto vazio"}]
    table = figures_table(report)
    assert "| F1 macro | 0.656 |" in table
    assert "| negative | 2 | 1 | 0 |" in table


def test_jsonl_rows_with_portuguese_labels_and_bad_rows_by_line():
    """Good rows are kept (Portuguese labels too); each bad one is reported with its line."""
    rows, skipped = parse_jsonl([
        '{"text": "Que ótimo", "label": "Positivo"}',
        "",
        "não é json",
        '["text", "label"]',
        '{"text": "   ", "label": "neutral"}',
        '{"text": "ok", "label": "talvez"}',
        '{"label": "neutral"}',
        '{"text": "ok", "label": "LABEL_0"}',
        '{"text": "Reunião às 15h", "label": "neutro"}',
    ])
    assert [(row.line, row.label) for row in rows] == [(1, POS), (9, NEU)]
    assert [row.line for row in skipped] == [3, 4, 5, 6, 7, 8]
    assert "vazio" in skipped[2].reason and "talvez" in skipped[3].reason


def test_csv_rows_keep_the_file_line_numbers():
    """The header is line 1; a quoted text over two lines is numbered by its first line."""
    rows, skipped = parse_csv('text,label\n"Deploy ok,\nvaleu",positive\n,negative\nA call,neutral\n')
    assert [(row.line, row.label, row.text) for row in rows] == [
        (2, POS, "Deploy ok,\nvaleu"), (5, NEU, "A call")]
    assert [(row.line, row.reason) for row in skipped] == [(4, "texto vazio")]


def test_csv_without_the_columns_and_unreadable_files_are_errors(tmp_path):
    """Missing columns, a missing file, a directory and non-UTF-8 bytes: DatasetError."""
    with pytest.raises(DatasetError, match="text e label"):
        parse_csv("frase,rotulo\noi,neutro\n")
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"text": "reunião", "label": "neutral"}'.encode("latin-1"))
    for path in (tmp_path / "nada.jsonl", tmp_path, latin1):
        with pytest.raises(DatasetError):
            read_labelled(path)


def test_gate_passes_within_the_floor_and_the_drop():
    """0.80 against 0.81 with a 0.02 allowed drop and a 0.65 floor: passed."""
    verdict = judge({"macro_f1": 0.80, "n": 331}, {"macro_f1": 0.81, "n": 331},
                    GatePolicy(0.65, 0.02))
    assert verdict.passed
    assert verdict.message.startswith("APROVADO")


def test_gate_refuses_below_the_floor_and_says_which_variable():
    """Below MODEL_MIN_MACRO_F1 is refused even without a baseline."""
    verdict = judge({"macro_f1": 0.60, "model": "m", "revision": "r"}, None, GatePolicy(0.65, 0.02))
    assert not verdict.passed
    assert verdict.message.startswith("RECUSADO") and "MODEL_MIN_MACRO_F1" in verdict.message
    assert "só o mínimo" in verdict.message


def test_gate_refuses_a_drop_larger_than_allowed():
    """0.78 after 0.81 is a drop of 0.03 > 0.02: refused, naming MODEL_MAX_F1_DROP."""
    verdict = judge({"macro_f1": 0.78, "n": 331}, {"macro_f1": 0.81, "n": 300}, GatePolicy(0.65, 0.02))
    assert not verdict.passed
    assert "MODEL_MAX_F1_DROP" in verdict.lines[0]
    assert "conjunto mudou" in verdict.message


def test_gate_accepts_a_drop_exactly_at_the_limit():
    """The limit is inclusive: a drop of exactly 0.02 passes."""
    assert judge({"macro_f1": 0.79}, {"macro_f1": 0.81}, GatePolicy(0.65, 0.02)).passed


def test_gate_inputs_are_checked():
    """Limits outside [0, 1] and files without macro_f1 are input errors, not verdicts."""
    with pytest.raises(GateInputError):
        GatePolicy(1.5, 0.02)
    with pytest.raises(GateInputError):
        GatePolicy(0.5, float("nan"))
    for text in ("{", "[]", '{"accuracy": 0.9}', '{"macro_f1": "0.9"}', '{"macro_f1": 2}'):
        with pytest.raises(GateInputError):
            load_figures(text, "x.json")
