"""The team's workplace evaluation set (eval/workplace-pt.jsonl) keeps its shape."""

import json
from collections import Counter
from pathlib import Path

from service.dataset import read_labelled
from service.labels import LABELS

EVAL_SET = Path(__file__).resolve().parents[2] / "eval" / "workplace-pt.jsonl"


def test_every_row_parses_with_a_canonical_label():
    """Every line is a {"text", "label"} object with an English canonical label; none is skipped."""
    rows, skipped = read_labelled(EVAL_SET)
    assert not skipped
    for line in EVAL_SET.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        assert set(item) == {"text", "label"} and item["label"] in LABELS, line
    assert len(rows) == len(EVAL_SET.read_text(encoding="utf-8").splitlines())


def test_at_least_300_messages_balanced_within_30_and_40_percent():
    """>= 300 messages; each label holds between 30% and 40% of them."""
    rows, _ = read_labelled(EVAL_SET)
    assert len(rows) >= 300
    counts = Counter(row.label for row in rows)
    for label in LABELS:
        assert 0.30 <= counts[label] / len(rows) <= 0.40, (label, counts)


def test_no_duplicate_messages():
    """No message appears twice (ignoring case and surrounding spaces)."""
    rows, _ = read_labelled(EVAL_SET)
    texts = Counter(row.text.strip().lower() for row in rows)
    assert [text for text, count in texts.items() if count > 1] == []


def test_the_guideline_and_licence_sit_next_to_the_set():
    """The labelling guideline, with its licence note, is in the same folder."""
    guideline = (EVAL_SET.parent / "GUIDELINES.md").read_text(encoding="utf-8")
    assert "Irony" in guideline and "Licence" in guideline
