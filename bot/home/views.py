"""The App Home tab as Block Kit: what the bot does, how to use it, and what it stores. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bot import limits
from bot.blocks import context, header, section
from bot.classify.views import SHORTCUT_NAME
from bot.command import SubcommandHelp, more_commands, usage_items
from bot.moderation.rules import THREAD_TTL_S

USAGE_SECTIONS = 3  # sections "Como usar" may take
TOO_LONG = ("{ellipsis} Esta página ficou longa demais: parte do conteúdo não coube. Use "
            "`/sentimento relatorio` em um canal para ver o humor dele.")


@dataclass(frozen=True)
class Retention:
    """How long each kind of record is kept (the store's settings; defaults as documented)."""

    tally_days: int = 400          # TALLY_RETENTION_DAYS
    alert_days: int = 90           # ALERT_RETENTION_DAYS
    event_claim_s: int = 86_400    # EVENT_CLAIM_TTL
    digest_claim_days: int = 60
    write_marker_days: int = 7
    workspace_grace_days: int = 30  # WORKSPACE_GRACE_DAYS


STORED_INTRO = ("*O que guardo*\nNada do texto das mensagens: nem no banco de dados, nem em logs, "
                "nem em métricas. Guardo só isto, e apago sozinho quando o prazo acaba:")


def stored_records(retention: Retention = Retention()) -> dict[str, str]:
    """Every kind of record the store keeps (the keys are ``bot.store.base.RECORD_KINDS``),
    described in Portuguese: what, what for, and for how long. The README's "What is stored"
    and manifest.yaml's long description say the same (checked by a test)."""
    hours = max(1, round(retention.event_claim_s / 3600))
    return {
        "tallies": "*Contagens por canal e por dia*: quantas mensagens positivas, neutras e "
                   "negativas, a soma das confianças, quantas não puderam ser analisadas e "
                   "a versão do modelo que as analisou, para os relatórios e o resumo semanal. "
                   f"Por {retention.tally_days} dias.",
        "switches": "*Os interruptores de cada canal*: pausado, resumo semanal ligado. Enquanto "
                    "o app estiver instalado.",
        "moderation_settings": "*A configuração da moderação*: canal e grupo dos moderadores, "
                               "limiar, regra, número de falsos alarmes e o ID de quem escolheu "
                               "o canal dos moderadores (para avisá-lo se o canal parar de "
                               "funcionar). Enquanto o app estiver instalado.",
        "threads": "*As threads que a moderação acompanha*: o horário (ts) de cada mensagem "
                   "recente, se era muito negativa e o último alerta; o horário serve à janela "
                   "de tempo da regra e a não contar a mesma mensagem duas vezes. Por "
                   f"{THREAD_TTL_S // 86_400} dias depois da última mensagem.",
        "alerts": "*Os alertas de moderação*: canal, horário (ts) e link da mensagem, quantas "
                  "mensagens muito negativas e em quanto tempo, o ID de quem sinalizou (alerta "
                  "manual), de quem tratou e quando, e onde o alerta foi publicado. Por "
                  f"{retention.alert_days} dias.",
        "event_claims": "*IDs dos eventos do Slack já contados*, para contar cada mensagem uma "
                        f"vez só. Por {hours} h.",
        "digest_claims": "*Os resumos semanais já publicados* (canal e semana), para não "
                         f"publicar duas vezes. Por {retention.digest_claim_days} dias.",
        "write_markers": "*Marcas de gravação* (IDs aleatórios), para não somar duas vezes uma "
                         f"gravação repetida. Por {retention.write_marker_days} dias.",
        "feedback": "*Os votos Concordo/Discordo*, só como contagens por versão do modelo, "
                    "rótulo do modelo e rótulo escolhido (sem o texto e sem quem votou), para "
                    "medir o modelo. Enquanto o app estiver instalado.",
        "installations": "*A instalação do app em cada espaço de trabalho* (só no modo OAuth): "
                         "IDs e nomes do espaço de trabalho, tokens do bot e o ID de quem "
                         "instalou. Enquanto o app estiver instalado.",
        "oauth_states": "*Links de instalação* (só no modo OAuth), para que cada link sirva uma "
                        "vez só. Por 10 minutos.",
        "scheduled_deletions": "*A data em que apago tudo de um espaço de trabalho que "
                               "desinstalou o app*. Por "
                               f"{retention.workspace_grace_days} dias depois da desinstalação, "
                               "quando tudo é apagado (ou até uma nova instalação).",
    }


def stored_text(retention: Retention = Retention()) -> str:
    """The App Home's "O que guardo" section: the intro and one bullet per kind of record."""
    return STORED_INTRO + "".join(f"\n• {line}" for line in stored_records(retention).values())


def home_view(extra_blocks: Sequence[dict] = (), extra_help: Sequence[SubcommandHelp] = (),
              retention: Retention = Retention()) -> dict:
    """The App Home tab: what the bot does, how to use it, and what it stores (for how long:
    ``retention``); then each feature's ``extra_blocks``, as many as Slack's 100 blocks per
    view allow (a note says when some did not fit)."""
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
        section(stored_text(retention)),
    ]
    if extra_blocks:
        room = limits.VIEW_BLOCKS - len(blocks) - 1  # the divider
        extra = list(extra_blocks)
        if len(extra) > room:
            extra = extra[:room - 1] + [context(TOO_LONG.format(ellipsis=limits.ELLIPSIS))]
        blocks.append({"type": "divider"})
        blocks.extend(extra)
    return {"type": "home", "blocks": blocks}
