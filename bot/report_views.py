"""What users read about channel reports in Slack: Portuguese text and Block Kit.

Pure functions of figures and Slack ids (the report maths and the report itself are in
:mod:`bot.reports`); the handlers in :mod:`handlers.reports` send what these build.
"""

from __future__ import annotations

from typing import Any, Sequence

from bot.messages import fold
from bot.reports import Report, emoji_bar, mood_index, mood_word, render_blocks, render_text
from bot.store.base import ChannelActivity
from service.labels import LABELS

COMMAND = "/sentimento"
ON_WORDS = ("on", "ligar", "ligado", "ativar", "sim")
OFF_WORDS = ("off", "desligar", "desligado", "desativar", "nao")


def _notice(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else ("0" if value == 0 else f"−{abs(value)}")


def not_a_channel_message(subcommand: str) -> dict[str, Any]:
    """The subcommand was used outside a channel (a DM, the App Home)."""
    return _notice(f"Use `{COMMAND} {subcommand}` dentro de um canal: o relatório e as opções "
                   "valem só para o canal onde o comando é usado.")


def report_message(report: Report, *, paused: bool = False) -> dict[str, Any]:
    """The ephemeral report: blocks with the share button, and a note when the channel is paused."""
    blocks = render_blocks(report, share_button=True)
    if paused:
        blocks.insert(2, {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"⏸️ A análise deste canal está pausada: mensagens novas não são contadas. "
            f"Use `{COMMAND} retomar` para voltar a contar.")}]})
    return {"text": render_text(report), "blocks": blocks}


def shared_report_message(report: Report, user_id: str) -> dict[str, Any]:
    """The report as posted in the channel by the share button (no button, who shared it)."""
    blocks = render_blocks(report, share_button=False)
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"Compartilhado por <@{user_id}> com `{COMMAND} relatorio`."}]})
    return {"text": render_text(report), "blocks": blocks}


def shared_confirmation(report: Report) -> dict[str, Any]:
    """What replaces the caller's ephemeral report once it was shared."""
    blocks = render_blocks(report, share_button=False)
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": "✅ Relatório compartilhado no canal."}]})
    return {"text": render_text(report), "blocks": blocks, "replace_original": True}


def share_failed_message(error: str) -> dict[str, Any]:
    """The report could not be posted in the channel."""
    if error in ("not_in_channel", "channel_not_found"):
        return _notice("Não consegui publicar no canal: eu não sou membro dele. Me convide com "
                       "`/invite @Sentimento` e tente de novo.")
    if error == "is_archived":
        return _notice("Não consegui publicar: este canal está arquivado.")
    return _notice(":warning: Não consegui publicar o relatório no canal agora. Tente novamente "
                   "em alguns minutos.")


def wrong_channel_message() -> dict[str, Any]:
    """A share button used in a channel other than the one its report is about."""
    return _notice("Este relatório é de outro canal: um relatório só pode ser compartilhado no "
                   f"canal em que foi pedido. Use `{COMMAND} relatorio` aqui.")


def bad_share_message() -> dict[str, Any]:
    """A share button whose value cannot be read."""
    return _notice(f"Não entendi este botão. Peça o relatório de novo com `{COMMAND} relatorio`.")


def pause_message(user_id: str, paused: bool, changed: bool) -> dict[str, Any]:
    """The answer to ``pausar`` / ``retomar``: public when it changed something (the channel's
    members should know), ephemeral when it was already so."""
    if not changed:
        text = ("A análise deste canal já está pausada." if paused
                else "A análise deste canal já está ativa.")
        return {"response_type": "ephemeral", **_notice(text)}
    if paused:
        text = (f"⏸️ <@{user_id}> pausou a análise de sentimento deste canal: a partir de agora "
                "as mensagens não são analisadas nem contadas. Qualquer membro pode retomar com "
                f"`{COMMAND} retomar`.")
    else:
        text = (f"▶️ <@{user_id}> retomou a análise de sentimento deste canal: as mensagens novas "
                f"voltam a ser contadas (só contagens, nunca o texto). Para parar: "
                f"`{COMMAND} pausar`.")
    return {"response_type": "in_channel", **_notice(text)}


def parse_switch(word: str) -> bool | None:
    """``on``/``off`` (and Portuguese synonyms) -> True/False; anything else -> None."""
    key = fold(word)
    if key in ON_WORDS:
        return True
    if key in OFF_WORDS:
        return False
    return None


def digest_status_message(enabled: bool) -> dict[str, Any]:
    """``resumo`` without on/off: the current state and how to change it."""
    state = "ligado" if enabled else "desligado"
    return {"response_type": "ephemeral", **_notice(
        f"O resumo semanal deste canal está *{state}*. Use `{COMMAND} resumo on` para receber "
        f"toda segunda-feira o relatório da semana anterior aqui, ou `{COMMAND} resumo off`.")}


def digest_usage_message(word: str) -> dict[str, Any]:
    """``resumo`` with something other than on/off."""
    return {"response_type": "ephemeral", **_notice(
        f"Opção inválida: “{word}”. Use `{COMMAND} resumo on` ou `{COMMAND} resumo off`.")}


def digest_changed_message(user_id: str, enabled: bool, changed: bool = True) -> dict[str, Any]:
    """``resumo on|off`` done: said in the channel, whose members will see the weekly post
    (ephemeral when it was already so)."""
    if not changed:
        state = "ligado" if enabled else "desligado"
        return {"response_type": "ephemeral",
                **_notice(f"O resumo semanal deste canal já está {state}.")}
    if enabled:
        text = (f"🗓️ <@{user_id}> ligou o resumo semanal: toda semana publico aqui o humor do "
                f"canal na semana anterior. Para desligar: `{COMMAND} resumo off`.")
    else:
        text = f"🗓️ <@{user_id}> desligou o resumo semanal deste canal."
    return {"response_type": "in_channel", **_notice(text)}


def digest_message(report: Report, week: str) -> dict[str, Any]:
    """The weekly digest posted in a channel: last week's report, no share button."""
    blocks = render_blocks(report, share_button=False)
    blocks[0] = {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                            "text": f"🗓️ Resumo semanal do humor — {week}"}}
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        f"Resumo semanal ligado com `{COMMAND} resumo on`; para desligar: "
        f"`{COMMAND} resumo off`.")}]})
    return {"text": f"Resumo semanal ({week}): {render_text(report)}", "blocks": blocks}


def chart_title(report: Report) -> str:
    """The title of the chart image posted with a shared report or a digest."""
    return f"Humor diário de {report.start:%d/%m} a {report.end:%d/%m/%Y}"


def home_channels_blocks(channels: Sequence[ChannelActivity], paused: Sequence[str] = (),
                         *, days: int = 7) -> list[dict[str, Any]]:
    """The App Home section: the viewer's most active channels with their mood over ``days``."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": f"Seus canais mais ativos — últimos {days} dias"}}]
    if not channels:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            "Ainda não há mensagens contadas nos canais de que você participa nestes dias. "
            "Me convide para um canal com `/invite @Sentimento`.")}})
        return blocks
    lines = []
    for activity in channels:
        counts = {label: activity.tally.counts[label] for label in LABELS}
        total = sum(counts.values())
        index = mood_index(counts)
        unit = "mensagem" if total == 1 else "mensagens"
        line = (f"<#{activity.channel_id}>  {emoji_bar(counts)}\n      {total} {unit} · humor "
                f"{_signed(index or 0)} ({mood_word(index)})")
        if activity.channel_id in paused:
            line += " · ⏸️ pausado"
        lines.append(line)
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "Só canais de que você participa. Humor = % positivas − % negativas (de −100 a 100). "
        f"Detalhes: `{COMMAND} relatorio` no canal.")}]})
    return blocks


def home_channels_unavailable() -> list[dict[str, Any]]:
    """The App Home section when the viewer's channels cannot be listed."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": (
        "Não consegui listar os canais de que você participa agora (o app precisa dos escopos "
        "`channels:read` e `groups:read`). Use `/sentimento relatorio` em um canal.")}}]


def home_moods_unavailable() -> list[dict[str, Any]]:
    """The App Home section when the counts cannot be read (the store is unavailable)."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": (
        ":warning: O humor dos canais está indisponível no momento. Tente novamente em alguns "
        "minutos.")}}]
