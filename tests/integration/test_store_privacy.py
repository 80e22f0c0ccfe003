"""No message text is stored: classify distinctive messages, record them, read everything back."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.counting.model import Observation
from bot.store import open_store
from service.backends.lexicon import LexiconBackend
from tests.support.firestore_support import dump_firestore, dump_sqlite, find_strings, sqlite_file_bytes

MESSAGES = [
    "Adorei o resultado xylofone-azul-7731, ficou ótimo!",
    "Que desastre horrível no deploy quimera-roxa-4410",
    "Reunião às 15h sobre o orçamento pinguim-verde-9902",
]
NEEDLES = ["xylofone-azul-7731", "quimera-roxa-4410", "pinguim-verde-9902", "Adorei", "desastre",
           "orçamento"]
TEAM, CHANNEL = "T0PRIVACY42", "C0PRIVACY42"


def record_messages(store) -> list[str]:
    """Classify the messages for real (LeIA) and record them as a Slack handler would."""
    results = LexiconBackend().predict(MESSAGES)
    day = dt.date(2026, 11, 20).isoformat()
    store.claim_event("Ev0PRIVACY42")
    store.record([Observation(TEAM, CHANNEL, day, r.label, r.scores) for r in results])
    store.set_paused(TEAM, CHANNEL, False)
    store.set_digest(TEAM, CHANNEL, True)
    store.claim_digest(TEAM, CHANNEL, "2026-W47")
    store.close()
    return [r.label for r in results]


def test_firestore_keeps_no_text(firestore_env):
    """Firestore keeps no text."""
    labels = record_messages(open_store(firestore_env))
    dump = dump_firestore(firestore_env["FIRESTORE_EMULATOR_HOST"])
    assert find_strings(dump, NEEDLES) == []
    # The scan does see what is stored: ids and counts.
    assert find_strings(dump, [TEAM, CHANNEL, "Ev0PRIVACY42"]) == [TEAM, CHANNEL, "Ev0PRIVACY42"]
    assert labels == ["positive", "negative", "neutral"]


@pytest.mark.parametrize("flush_interval", ["0", "60"])
def test_sqlite_keeps_no_text(sqlite_env, flush_interval):
    """Sqlite keeps no text."""
    record_messages(open_store({**sqlite_env, "FLUSH_INTERVAL": flush_interval}))
    rows = dump_sqlite(sqlite_env["SQLITE_PATH"])
    assert find_strings(rows, NEEDLES) == []
    assert find_strings(rows, [TEAM, CHANNEL]) == [TEAM, CHANNEL]
    raw = sqlite_file_bytes(sqlite_env["SQLITE_PATH"]).decode("utf-8", "replace").lower()
    assert [needle for needle in NEEDLES if needle.lower() in raw] == []
    assert TEAM.lower() in raw
