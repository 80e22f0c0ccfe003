"""``/sentimento``: how its text splits into a subcommand and the rest, the subcommands each
feature adds, and the help that lists them all. Pure: the listener is in :mod:`handlers.command`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from bot import limits
from bot.blocks import COMMAND, context, fold, message_text, notice, plural, section
from bot.classify.views import SHORTCUT_NAME

HELP_WORDS = ("", "ajuda", "help", "?")
HELP_SECTIONS = 10  # sections the help may take (of Slack's 50 blocks per message)


@dataclass(frozen=True)
class SubcommandHelp:
    """One line of the help: ``/sentimento <usage>`` and what it does."""

    usage: str
    summary: str


@dataclass(frozen=True)
class Subcommand:
    """A ``/sentimento <name> ...`` subcommand added by a feature (reports, moderation...).

    ``run(args=..., command=..., respond=..., client=..., context=...)`` is called after the ack,
    in a lazy listener; ``help`` is its line in the help text.
    """

    name: str  # lower case, no accents: what the first word must fold to
    help: SubcommandHelp
    run: Callable[..., None]


# What works without any feature, in the order the help lists it; features add theirs after.
BUILTIN_HELP = (
    SubcommandHelp("<texto>", "analisa o sentimento do texto (só você vê a resposta)"),
    SubcommandHelp("ajuda", "mostra esta ajuda"),
)


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


def usage_items(extra: Sequence[SubcommandHelp] = ()) -> list[str]:
    """One ``• `/sentimento usage`: summary`` line per subcommand, built-in ones first."""
    return [f"• `{COMMAND} {item.usage}`: {item.summary}" for item in (*BUILTIN_HELP, *extra)]


def usage_lines(extra: Sequence[SubcommandHelp] = ()) -> str:
    """:func:`usage_items` as one text."""
    return "\n".join(usage_items(extra))


def more_commands(hidden: int) -> str:
    """The line that ends the help when some subcommands do not fit."""
    return f"{limits.ELLIPSIS} e mais {plural(hidden, 'comando', 'comandos')}"


def help_message(extra: Sequence[SubcommandHelp] = ()) -> dict:
    """The Portuguese help for ``/sentimento`` and ``/sentimento ajuda``: every subcommand (in
    several sections when one cannot hold them all)."""
    parts = limits.split_sections(usage_items(extra), limits.SECTION_TEXT, HELP_SECTIONS,
                                  more_commands, head="*Como usar o Sentimento* :bar_chart:")
    return {
        "text": message_text(f"Como usar {COMMAND}:\n{usage_lines(extra)}"),
        "blocks": [
            *(section(part) for part in parts),
            context(f"Você também pode usar o atalho de mensagem *{SHORTCUT_NAME}* (menu ⋮ de "
                    "uma mensagem). O texto analisado nunca é guardado; os botões *Concordo* / "
                    "*Discordo* das respostas ajudam a avaliar o modelo (só contamos os votos)."),
        ],
    }


def busy_message() -> dict:
    """The ack when the bot has no room for more work right now (the request is not run)."""
    return notice(":hourglass_flowing_sand: Estou com muitos pedidos agora e não consegui "
                  f"atender este. Tente de novo em alguns segundos (`{COMMAND} ajuda` sempre "
                  "responde).")
