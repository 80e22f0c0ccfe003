"""The App Home tab as Block Kit: what the bot does, how to use it, and what it stores. Pure."""

from __future__ import annotations

from typing import Sequence

from bot.classify.views import SHORTCUT_NAME
from bot.command import SubcommandHelp, usage_lines


def home_view(extra_blocks: Sequence[dict] = (), extra_help: Sequence[SubcommandHelp] = ()) -> dict:
    """The App Home tab: what the bot does, how to use it, and what it stores."""
    usage = usage_lines(extra_help)
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
