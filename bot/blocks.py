"""Small pieces every Slack surface of the bot shares: the command's name, a plain notice,
signed numbers and plurals in Portuguese, and word folding for typed options. Pure.
"""

from __future__ import annotations

import unicodedata
from typing import Any

COMMAND = "/sentimento"


def notice(text: str) -> dict[str, Any]:
    """A plain message: ``text`` for notifications and one mrkdwn section with the same text."""
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def signed(value: int) -> str:
    """``+3``, ``0`` or ``−3`` (a real minus sign, as the reports show it)."""
    return f"+{value}" if value > 0 else ("0" if value == 0 else f"−{abs(value)}")


def plural(count: int, one: str, many: str) -> str:
    """``1 alerta`` / ``2 alertas``: the count and the right form."""
    return f"{count} {one if count == 1 else many}"


def fold(word: str) -> str:
    """Lower-case without accents, for matching typed words (``Relatório`` == ``relatorio``)."""
    decomposed = unicodedata.normalize("NFKD", word.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
