"""What a user reads about one classified text: the answer to ``/sentimento <texto>`` and to the
"Analisar sentimento" shortcut, and every way it can fail, in Portuguese. Pure Block Kit.
"""

from __future__ import annotations

from bot import limits
from bot.blocks import context, fields_section, message_text, notice, section
from service.labels import NEGATIVE, NEUTRAL, POSITIVE, Classification

SHORTCUT_NAME = "Analisar sentimento"
LABEL_EMOJI = {POSITIVE: ":smiley:", NEUTRAL: ":neutral_face:", NEGATIVE: ":disappointed:"}
BACKEND_NAMES = {"lexicon": "léxico LeIA (menos preciso que o modelo)",
                 "transformers": "modelo XLM-RoBERTa"}
QUOTE_CHARS = 200


def format_confidence_br(score: float) -> str:
    """Confidence in Brazilian format with one decimal: ``0.9891`` -> ``"98,9%"``."""
    return f"{score * 100:.1f}".replace(".", ",") + "%"


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A short mrkdwn quote of ``text`` for the asker's eyes only: on one line, cut with "…"
    (never inside a mention or a link)."""
    return "> " + limits.truncate(" ".join(text.split()), limit)


def result_message(result: Classification, backend: str, fallback: bool = False,
                   text: str | None = None) -> dict:
    """The ephemeral answer to ``/sentimento <texto>`` or the shortcut: text plus blocks.

    Shows Classificação (with emoji) and Confiança (``98,9%``); says which backend answered
    when it is not the transformer, and flags a fallback answer.
    """
    confidence = format_confidence_br(result.score)
    emoji = LABEL_EMOJI[result.label]
    blocks: list[dict] = []
    if text:
        blocks.append(section(quote(text)))
    blocks.append(fields_section(f"*Classificação*\n{emoji} {result.label_pt}",
                                 f"*Confiança*\n{confidence}"))
    notes = []
    if fallback:
        notes.append(":warning: O serviço do modelo está indisponível: esta resposta veio do "
                     f"{BACKEND_NAMES['lexicon']}.")
    elif backend != "transformers":
        notes.append(f"Analisado pelo {BACKEND_NAMES.get(backend, backend)}.")
    if notes:
        blocks.append(context(*notes))
    text_line = f"Classificação: {result.label_pt} · Confiança: {confidence}"
    return {"text": message_text(text_line), "blocks": blocks}


def unavailable_message(reason: str | None = None) -> dict:
    """The model could not answer: say so, without any technical detail beyond ``reason``."""
    text = (":warning: O serviço de análise de sentimento está indisponível no momento. "
            "Tente novamente em alguns minutos.")
    if reason:
        text += f"\n_{reason}_"
    return notice(text)


def input_error_message(reason: str) -> dict:
    """The text cannot be analysed as given (too long, rejected)."""
    return notice(f":no_entry: Não foi possível analisar este texto. {reason}")


def empty_text_message() -> dict:
    """Nothing left to analyse (only links, code or mentions, or an attachment-only message)."""
    return notice("Não há texto para analisar nesta mensagem (só links, código, menções ou anexos).")


def internal_error_message() -> dict:
    """Something unexpected went wrong (details only in the server log)."""
    return notice(":warning: Algo deu errado ao analisar o texto. Tente novamente mais tarde.")
