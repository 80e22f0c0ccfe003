"""What the App Home, the manifest and the README say is stored is what the store keeps: the
same kinds of record, with the same retentions."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.home.views import Retention, home_view, stored_records, stored_text
from bot.moderation.rules import THREAD_TTL_S
from bot.store.base import (
    DEFAULT_ALERT_RETENTION_DAYS, DEFAULT_TALLY_RETENTION_DAYS, DIGEST_CLAIM_TTL_S, RECORD_KINDS,
)
from bot.store.settings import StoreSettings
from tests.support.block_kit import block_texts

ROOT = Path(__file__).resolve().parents[2]


def readme_table() -> dict[str, str]:
    """The README's "What is stored" table: kind -> its "Kept" cell."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n### What is stored\n"):]
    section = section[:section.index("\n### ", 5)]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {re.match(r"\| `([a-z_]+)`", row).group(1): row.rstrip(" |").rsplit("|", 1)[1]
            for row in rows}


def test_the_app_home_lists_every_kind_of_record_the_store_keeps():
    """One line per kind, in the store's order; none missing, none invented."""
    assert tuple(stored_records()) == RECORD_KINDS


def test_the_default_retentions_shown_are_the_stores():
    """The App Home's default figures are the store's defaults."""
    defaults = StoreSettings()
    assert Retention() == Retention(
        tally_days=DEFAULT_TALLY_RETENTION_DAYS, alert_days=DEFAULT_ALERT_RETENTION_DAYS,
        event_claim_s=defaults.claim_ttl_s, digest_claim_days=DIGEST_CLAIM_TTL_S // 86_400,
        write_marker_days=7)
    assert (defaults.tally_retention_days, defaults.alert_retention_days) == (400, 90)
    assert f"Por {THREAD_TTL_S // 86_400} dias" in stored_records()["threads"]


def test_the_app_home_shows_the_configured_retention():
    """An operator's TALLY_RETENTION_DAYS / ALERT_RETENTION_DAYS is what users read."""
    shown = block_texts(home_view(retention=Retention(tally_days=120, alert_days=30)))
    assert "Por 120 dias" in shown and "Por 30 dias" in shown
    assert "Por 400 dias" not in shown and "Por 90 dias" not in shown


def test_the_manifest_says_what_the_app_home_says():
    """manifest.yaml's long description carries the App Home's "O que guardo", word for word."""
    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text(encoding="utf-8"))
    described = manifest["display_information"]["long_description"]
    assert stored_text().replace("*", "") in described
    assert len(described) <= 4000  # Slack's limit


def test_the_readme_table_has_one_row_per_kind_with_the_same_retention():
    """README "What is stored": the same kinds, and each row's retention matches the App Home."""
    table = readme_table()
    assert tuple(table) == RECORD_KINDS
    numbers = {kind: re.findall(r"\d+", line.split("Por ")[-1])[:1]
               for kind, line in stored_records().items()}
    for kind, kept in table.items():
        if numbers[kind]:
            assert numbers[kind][0] in kept, (kind, kept)
        else:
            assert "installed" in kept and "instalado" in stored_records()[kind]
