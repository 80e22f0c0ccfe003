"""The App Home tab as Block Kit: what the bot does, how to use it, and what it stores. Pure."""

from __future__ import annotations

from typing import Sequence

from bot import limits
from bot.blocks import context, header, section
from bot.classify.views import SHORTCUT_NAME
from bot.command import SubcommandHelp, more_commands, usage_items

USAGE_SECTIONS = 3  # sections "Como usar" may take
TOO_LONG = ("{ellipsis} Esta página ficou longa demais: parte do conteúdo não coube. Use "
            "`/sentimento relatorio` em um canal para ver o humor dele.")


def home_view(extra_blocks: Sequence[dict] = (), extra_help: Sequence[SubcommandHelp] = ()) -> dict:
    """The App Home tab: what the bot does, how to use it, and what it stores; then each
    feature's ``extra_blocks``, as many as Slack's 100 blocks per view allow (a note says when
    some did not fit)."""
    usage = [*usage_items(extra_help),
             f"• Atalho de mensagem *{SHORTCUT_NAME}* (menu ⋮ de qualquer mensagem): a análise "
             "aparece só para você.",
             "• Para contar um canal, me convide: `/invite @Sentimento`."]
    blocks: list[dict] = [
        header("Sentimento"),
        section(
            "*O que faço*\nLeio o clima das conversas em português: classifico mensagens como "
            ":smiley: *Positivo*, :neutral_face: *Neutro* ou :disappointed: *Negativo*, com a "
            "confiança da análise. Nos canais em que estou, conto o sentimento das mensagens "
            "para mostrar como o canal se sente ao longo do tempo."),
        *(section(part) for part in limits.split_sections(
            usage, limits.SECTION_TEXT, USAGE_SECTIONS, more_commands, head="*Como usar*")),
        section(
            "*O que guardo*\nNada do texto das mensagens: nem no banco de dados, nem em logs. "
            "Guardo apenas contagens por canal e por dia (quantas mensagens positivas, neutras e "
            "negativas e a soma das confianças, e a versão do modelo que as analisou), os votos "
            "Concordo/Discordo só como contagens por versão do modelo (sem o texto e sem quem "
            "votou) e os IDs do Slack necessários para isso."),
    ]
    if extra_blocks:
        room = limits.VIEW_BLOCKS - len(blocks) - 1  # the divider
        extra = list(extra_blocks)
        if len(extra) > room:
            extra = extra[:room - 1] + [context(TOO_LONG.format(ellipsis=limits.ELLIPSIS))]
        blocks.append({"type": "divider"})
        blocks.extend(extra)
    return {"type": "home", "blocks": blocks}
