"""What users read in Slack: Portuguese text and Block Kit, built by small pure functions.

Nothing here talks to Slack or the model; handlers call these and send the result.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Sequence

from service.labels import NEGATIVE, NEUTRAL, POSITIVE, Classification

COMMAND = "/sentimento"
SHORTCUT_NAME = "Analisar sentimento"
LABEL_EMOJI = {POSITIVE: ":smiley:", NEUTRAL: ":neutral_face:", NEGATIVE: ":disappointed:"}
BACKEND_NAMES = {"lexicon": "léxico LeIA (menos preciso que o modelo)",
                 "transformers": "modelo XLM-RoBERTa"}
HELP_WORDS = ("", "ajuda", "help", "?")
QUOTE_CHARS = 200


@dataclass(frozen=True)
class SubcommandHelp:
    """One line of the help: ``/sentimento <usage>`` and what it does."""

    usage: str
    summary: str


# The subcommands that work today, in the order the help lists them. Later features add theirs
# through :func:`help_blocks`'s ``extra`` argument (see handlers.commands.Subcommand).
BUILTIN_HELP = (
    SubcommandHelp("<texto>", "analisa o sentimento do texto (só você vê a resposta)"),
    SubcommandHelp("ajuda", "mostra esta ajuda"),
)


def format_confidence_br(score: float) -> str:
    """Confidence in Brazilian format with one decimal: ``0.9891`` -> ``"98,9%"``."""
    return f"{score * 100:.1f}".replace(".", ",") + "%"


def fold(word: str) -> str:
    """Lower-case without accents, for matching subcommands (``Relatório`` == ``relatorio``)."""
    decomposed = unicodedata.normalize("NFKD", word.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def parse_command(text: str, subcommands: Sequence[str]) -> tuple[str | None, str]:
    """Split ``/sentimento`` text into (subcommand, rest).

    Empty text or ``ajuda`` gives ``("ajuda", "")``; a first word that names one of
    ``subcommands`` gives that name and the rest; anything else is text to classify:
    ``(None, text)``.
    """
    stripped = (text or "").strip()
    first, _, rest = stripped.partition(" ")
    key = fold(first)
    if key in HELP_WORDS:
        if not rest.strip():
            return "ajuda", ""
    elif key in subcommands:
        return key, rest.strip()
    return None, stripped


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A short mrkdwn quote of ``text`` for the asker's eyes only."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[:limit - 1].rstrip() + "…"
    return "> " + flat


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
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": quote(text)}})
    blocks.append({"type": "section", "fields": [
        {"type": "mrkdwn", "text": f"*Classificação*\n{emoji} {result.label_pt}"},
        {"type": "mrkdwn", "text": f"*Confiança*\n{confidence}"},
    ]})
    notes = []
    if fallback:
        notes.append(":warning: O serviço do modelo está indisponível: esta resposta veio do "
                     f"{BACKEND_NAMES['lexicon']}.")
    elif backend != "transformers":
        notes.append(f"Analisado pelo {BACKEND_NAMES.get(backend, backend)}.")
    if notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": n} for n in notes]})
    fallback_text = f"Classificação: {result.label_pt} · Confiança: {confidence}"
    return {"text": fallback_text, "blocks": blocks}


def help_message(extra: Sequence[SubcommandHelp] = ()) -> dict:
    """The Portuguese help for ``/sentimento`` and ``/sentimento ajuda``: every subcommand."""
    lines = [f"• `{COMMAND} {item.usage}`: {item.summary}" for item in (*BUILTIN_HELP, *extra)]
    body = "\n".join(lines)
    return {
        "text": f"Como usar {COMMAND}:\n{body}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"*Como usar o Sentimento* :bar_chart:\n{body}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": (
                f"Você também pode usar o atalho de mensagem *{SHORTCUT_NAME}* (menu ⋮ de uma "
                "mensagem). O texto analisado nunca é guardado.")}]},
        ],
    }


def notice(text: str) -> dict:
    """A plain ephemeral notice (errors, nothing to analyse)."""
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


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


def home_view(extra_blocks: Sequence[dict] = (), extra_help: Sequence[SubcommandHelp] = ()) -> dict:
    """The App Home tab: what the bot does, how to use it, and what it stores."""
    usage = "\n".join(f"• `{COMMAND} {item.usage}`: {item.summary}"
                      for item in (*BUILTIN_HELP, *extra_help))
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Sentimento", "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "*O que faço*\nLeio o clima das conversas em português: classifico mensagens como "
            ":smiley: *Positivo*, :neutral_face: *Neutro* ou :disappointed: *Negativo*, com a "
            "confiança da análise. Nos canais em que estou, conto o sentimento das mensagens "
            "para mostrar como o canal se sente ao longo do tempo.")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            f"*Como usar*\n{usage}\n• Atalho de mensagem *{SHORTCUT_NAME}* (menu ⋮ de qualquer "
            "mensagem): a análise aparece só para você.\n• Para contar um canal, me convide: "
            "`/invite @Sentimento`.")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "*O que guardo*\nNada do texto das mensagens: nem no banco de dados, nem em logs. "
            "Guardo apenas contagens por canal e por dia (quantas mensagens positivas, neutras e "
            "negativas e a soma das confianças) e os IDs do Slack necessários para isso.")}},
    ]
    if extra_blocks:
        blocks.append({"type": "divider"})
        blocks.extend(extra_blocks)
    return {"type": "home", "blocks": blocks}
