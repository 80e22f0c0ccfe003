"""The feedback part of the store contract, on both stores (a real SQLite file and the Firestore
emulator; same fixtures as tests/integration/test_store_contract.py): users' votes kept as counts
per (workspace, model version, predicted label, user's label), and the moderators' verdicts."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import pytest

from bot.feedback.rules import FeedbackCount, FeedbackError
from bot.moderation.rules import Alert

T, C = "T0STORE", "C0GERAL"
NOW = 1_800_000_000.0
HUB = "cardiffnlp/twitter-xlm-roberta-base-sentiment@f2f1202b1bdeb07342385c3f807f9c07cd8f5cf8"
LEXICON = "LeIA@lexicon-0.0.1"


@pytest.fixture(params=["sqlite", "firestore"])
def store_env(request):
    """The environment of a fresh store of each kind."""
    return request.getfixturevalue(f"{request.param}_env")


@pytest.fixture
def make_store(store_env, open_stores):
    """Opens stores on the same backing data (as separate app instances would)."""
    return lambda **env: open_stores({**store_env, "FLUSH_INTERVAL": "60", **env})


def test_votes_are_counted_per_model_and_label_pair(make_store):
    """Every vote adds one to its (model version, predicted, user's label) count, seen by any
    instance at once (no buffering: a vote is rare and a person waits for the thanks)."""
    store, other = make_store(), make_store()
    for _ in range(3):
        store.record_feedback(T, HUB, "negative", "negative")
    other.record_feedback(T, HUB, "negative", "neutral")
    store.record_feedback(T, HUB, "positive", "neutral")
    store.record_feedback(T, LEXICON, "neutral", "positive")
    store.record_feedback("T0OUTRO", HUB, "negative", "positive")
    assert make_store().feedback_counts(T) == [
        FeedbackCount(LEXICON, "neutral", "positive", 1),
        FeedbackCount(HUB, "negative", "negative", 3),
        FeedbackCount(HUB, "negative", "neutral", 1),
        FeedbackCount(HUB, "positive", "neutral", 1),
    ]
    assert make_store().feedback_counts("T0NINGUEM") == []


@pytest.mark.parametrize("model, predicted, actual", [
    ("", "negative", "neutral"), ("x" * 201, "negative", "neutral"), ("m\nx", "negative", "neutral"),
    (HUB, "bravo", "neutral"), (HUB, "negative", "dropped")])
def test_a_vote_that_could_not_come_from_a_button_is_refused(make_store, model, predicted, actual):
    """Unknown labels and versions that are empty, longer than 200 characters or hold control
    characters are refused before anything is written."""
    store = make_store()
    with pytest.raises(FeedbackError):
        store.record_feedback(T, model, predicted, actual)
    store.record_feedback(T, "x" * 200, "negative", "neutral")  # the edge: 200 is kept
    assert [c.votes for c in store.feedback_counts(T)] == [1]


def test_alert_verdicts_count_the_decided_alerts(make_store):
    """"Ciente" and "Falso alarme" per workspace, over the alerts kept (open ones not counted)."""
    store = make_store()
    assert store.alert_verdicts(T) == {"acknowledged": 0, "false_alarm": 0}
    for n in range(6):
        store.add_alert(Alert(alert_id=f"a{n:04d}", team_id=T, channel_id=C,
                              message_ts=f"{NOW + n:.6f}",
                              negatives=3, span_s=60.0, created_at=NOW + n,
                              posted_channel="C0MODS", posted_ts=f"{NOW + n:.6f}"))
    for n, state in [(0, "false_alarm"), (1, "false_alarm"), (2, "acknowledged")]:
        store.resolve_alert(T, f"a{n:04d}", state, "U0MOD", NOW + 100)
    store.resolve_alert(T, "a0000", "acknowledged", "U0MOD", NOW + 200)  # the first stands
    assert make_store().alert_verdicts(T) == {"acknowledged": 1, "false_alarm": 2}
    assert make_store().alert_verdicts("T0OUTRO") == {"acknowledged": 0, "false_alarm": 0}
