"""What users read about channel reports in Slack: Portuguese text and Block Kit. Pure.

Pure functions of a :class:`~bot.reports.model.Report`, figures and Slack ids; the listeners in
:mod:`handlers.reports` and the use cases in :mod:`bot.reports.usecases` send what these build.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping, Sequence

from bot import limits
from bot.blocks import (
    COMMAND, context, echo, fields_section, fold, header, message_text, notice, plural, section,
    signed,
)
from bot.classify.port import short_version
from bot.counting.model import ChannelActivity
from bot.reports.model import DayRow, Period, Report, apportion, mood_index, parse_period
from service.labels import LABELS, LABELS_PT, NEGATIVE, NEUTRAL, POSITIVE

SHARE_ACTION_ID = "report_share"
BAR_WIDTH = 10
BAR_CELLS = {POSITIVE: "🟩", NEUTRAL: "⬜", NEGATIVE: "🟥"}
LABEL_DOTS = {POSITIVE: "🟢", NEUTRAL: "⚪", NEGATIVE: "🔴"}
WEEKDAYS_PT = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")
# ``ativar``/``desativar`` are offered; the rest (``on``/``off`` included) are still accepted.
ON_WORDS = ("ativar", "on", "ligar", "ligado", "sim")
OFF_WORDS = ("desativar", "off", "desligar", "desligado", "nao")
MONTHS_PT = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
             "setembro", "outubro", "novembro", "dezembro")


def emoji_bar(counts: Mapping[str, int], width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` squares, green / white / red in proportion; dots when empty."""
    parts = apportion(counts, width)
    if not any(parts.values()):
        return "▫️" * width
    return "".join(BAR_CELLS[label] * parts[label] for label in (POSITIVE, NEUTRAL, NEGATIVE))


def mood_word(index: int | None) -> str:
    """The mood in words, with a face."""
    if index is None:
        return "sem dados"
    if index >= 20:
        return "positivo 🙂"
    if index <= -20:
        return "negativo 🙁"
    return "neutro 😐"


def trend_text(report: Report) -> str:
    """The change against the previous period, in Portuguese."""
    if report.mood_change is None:
        return report.period.previous_empty_pt
    change = report.mood_change
    arrow = "▲" if change > 0 else ("▼" if change < 0 else "=")
    points = "ponto" if abs(change) == 1 else "pontos"
    lines = [f"{arrow} {signed(change)} {points} no humor {report.period.versus_pt}"]
    if report.volume_change_pct is not None:
        lines.append(f"{signed(report.volume_change_pct)}% de mensagens")
    return "\n".join(lines)


def day_line(row: DayRow) -> str:
    """One per-day line: weekday and date, emoji bar, messages and mood."""
    date = f"`{WEEKDAYS_PT[row.day.weekday()]} {row.day:%d/%m}`"
    if row.total == 0:
        return f"{date} {emoji_bar(row.counts)}  sem mensagens"
    unit = "mensagem" if row.total == 1 else "mensagens"
    return f"{date} {emoji_bar(row.counts)}  {row.total} {unit} · humor {signed(row.mood or 0)}"


def share_value(report: Report) -> str:
    """The share button's value: team, channel and period only."""
    return json.dumps({"team": report.team_id, "channel": report.channel_id,
                       "period": report.period.key}, separators=(",", ":"))


def parse_share_value(value: str) -> tuple[str, str, Period]:
    """``(team, channel, period)`` from a share button value; ValueError when malformed."""
    try:
        data = json.loads(value)
        return str(data["team"]), str(data["channel"]), parse_period(str(data["period"]))
    except (TypeError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError("valor de compartilhamento inválido") from exc


def render_text(report: Report) -> str:
    """A one-paragraph summary (notification text and fallback for clients without blocks)."""
    if report.total == 0:
        return message_text(f"Humor de <#{report.channel_id}> ({report.period.label_pt}): "
                            "nenhuma mensagem analisada.")
    parts = ", ".join(f"{LABELS_PT[label]} {report.shares[label]}%"
                      for label in (POSITIVE, NEUTRAL, NEGATIVE))
    return message_text(f"Humor de <#{report.channel_id}> ({report.period.label_pt}): "
                        f"{report.total} mensagens, índice {signed(report.mood_index or 0)} "
                        f"({parts}).")


def more_days(hidden: int) -> str:
    """The line that ends the per-day list when it does not fit."""
    return f"{limits.ELLIPSIS} e mais {plural(hidden, 'dia', 'dias')}"


def dropped_note(dropped: int) -> str:
    """What a report says when messages of its period were received but could not be analysed."""
    if dropped == 1:
        return (":warning: 1 mensagem recebida neste período não pôde ser analisada (texto "
                "recusado pelo modelo ou bot encerrando) e não entra nestes números.")
    return (f":warning: {dropped} mensagens recebidas neste período não puderam ser analisadas "
            "(texto recusado pelo modelo ou bot encerrando) e não entram nestes números.")


MODEL_SPANS_SHOWN = 4  # model versions a report names (a period rarely sees more than two)


def model_change_note(report: Report) -> str:
    """What a report says when its period was classified by more than one model version: which,
    and on which days, named briefly; its figures mix models."""
    def span(item) -> str:
        days = (f"{item.first:%d/%m}" if item.first == item.last
                else f"{item.first:%d/%m} a {item.last:%d/%m}")
        return f"`{short_version(item.version)}` ({days})"

    shown = ", ".join(span(item) for item in report.models[:MODEL_SPANS_SHOWN])
    hidden = len(report.models) - MODEL_SPANS_SHOWN
    more = f" e mais {hidden}" if hidden > 0 else ""
    return (f":arrows_counterclockwise: O modelo de análise mudou neste período: {shown}{more}. "
            "Os números misturam os dois; compare os dias com cautela.")


def render_blocks(report: Report, *, share_button: bool = True) -> list[dict[str, Any]]:
    """The report as Block Kit blocks, in Portuguese (with a share button unless already shared)."""
    period_dates = (f"{report.start:%d/%m/%Y}" if report.start == report.end
                    else f"{report.start:%d/%m} a {report.end:%d/%m/%Y}")
    blocks: list[dict[str, Any]] = [
        header(f"📊 Humor do canal — {report.period.label_pt}"),
        context(f"<#{report.channel_id}> · {period_dates}"),
    ]
    if report.total == 0:
        blocks.append(section(
            "Nenhuma mensagem analisada neste período. O bot precisa estar no canal, e a análise "
            "não pode estar pausada (`/sentimento retomar`)."))
    else:
        distribution = "\n".join(
            f"{LABEL_DOTS[label]} {LABELS_PT[label]}: {report.shares[label]}% ({report.totals[label]})"
            for label in (POSITIVE, NEUTRAL, NEGATIVE))
        blocks += [
            fields_section(
                f"*Mensagens analisadas*\n{report.total}",
                f"*Índice de humor*\n{signed(report.mood_index or 0)} ({mood_word(report.mood_index)})",
                f"*Distribuição*\n{distribution}",
                f"*Tendência*\n{trend_text(report)}"),
            section(limits.fit_lines([day_line(row) for row in report.rows], limits.SECTION_TEXT,
                                     more_days, head="*Por dia*")),
        ]
    if report.dropped:
        blocks.append(context(dropped_note(report.dropped)))
    if report.model_changed:
        blocks.append(context(model_change_note(report)))
    blocks.append(context("Índice de humor = % positivas − % negativas (de −100 a 100). "
                          "Só guardamos contagens, nunca o texto das mensagens."))
    if share_button:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "action_id": SHARE_ACTION_ID, "value": share_value(report),
            "text": {"type": "plain_text", "text": "Compartilhar no canal", "emoji": True}}]})
    return blocks


def not_a_channel_message(subcommand: str) -> dict[str, Any]:
    """The subcommand was used outside a channel (a DM, the App Home)."""
    return notice(f"Use `{COMMAND} {subcommand}` dentro de um canal: o relatório e as opções "
                   "valem só para o canal onde o comando é usado.")


def report_message(report: Report, *, paused: bool = False) -> dict[str, Any]:
    """The ephemeral report: blocks with the share button, and a note when the channel is paused."""
    blocks = render_blocks(report, share_button=True)
    if paused:
        blocks.insert(2, context("⏸️ A análise deste canal está pausada: mensagens novas não são "
                                 f"contadas. Use `{COMMAND} retomar` para voltar a contar."))
    return {"text": render_text(report), "blocks": blocks}


def shared_report_message(report: Report, user_id: str) -> dict[str, Any]:
    """The report as posted in the channel by the share button (no button, who shared it)."""
    blocks = render_blocks(report, share_button=False)
    blocks.append(context(f"Compartilhado por <@{user_id}> com `{COMMAND} relatorio`."))
    return {"text": render_text(report), "blocks": blocks}


def shared_confirmation(report: Report) -> dict[str, Any]:
    """What replaces the caller's ephemeral report once it was shared."""
    blocks = render_blocks(report, share_button=False)
    blocks.append(context("✅ Relatório compartilhado no canal."))
    return {"text": render_text(report), "blocks": blocks, "replace_original": True}


def share_failed_message(error: str) -> dict[str, Any]:
    """The report could not be posted in the channel."""
    if error in ("not_in_channel", "channel_not_found"):
        return notice("Não consegui publicar no canal: eu não sou membro dele. Me convide com "
                       "`/invite @Sentimento` e tente de novo.")
    if error == "is_archived":
        return notice("Não consegui publicar: este canal está arquivado.")
    return notice(":warning: Não consegui publicar o relatório no canal agora. Tente novamente "
                   "em alguns minutos.")


def wrong_channel_message() -> dict[str, Any]:
    """A share button used in a channel other than the one its report is about."""
    return notice("Este relatório é de outro canal: um relatório só pode ser compartilhado no "
                   f"canal em que foi pedido. Use `{COMMAND} relatorio` aqui.")


def bad_share_message() -> dict[str, Any]:
    """A share button whose value cannot be read."""
    return notice(f"Não entendi este botão. Peça o relatório de novo com `{COMMAND} relatorio`.")


def pause_message(user_id: str, paused: bool, changed: bool) -> dict[str, Any]:
    """The answer to ``pausar`` / ``retomar``: public when it changed something (the channel's
    members should know), ephemeral when it was already so."""
    if not changed:
        text = ("A análise deste canal já está pausada." if paused
                else "A análise deste canal já está ativa.")
        return {"response_type": "ephemeral", **notice(text)}
    if paused:
        text = (f"⏸️ <@{user_id}> pausou a análise de sentimento deste canal: a partir de agora "
                "as mensagens não são analisadas nem contadas. Qualquer membro pode retomar com "
                f"`{COMMAND} retomar`.")
    else:
        text = (f"▶️ <@{user_id}> retomou a análise de sentimento deste canal: as mensagens novas "
                f"voltam a ser contadas (só contagens, nunca o texto). Para parar: "
                f"`{COMMAND} pausar`.")
    return {"response_type": "in_channel", **notice(text)}


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
    return {"response_type": "ephemeral", **notice(
        f"O resumo semanal deste canal está *{state}*. Use `{COMMAND} resumo ativar` para "
        "receber toda segunda-feira o relatório da semana anterior aqui, ou "
        f"`{COMMAND} resumo desativar`.")}


def digest_usage_message(word: str) -> dict[str, Any]:
    """``resumo`` with something other than on/off."""
    return {"response_type": "ephemeral", **notice(
        f"Opção inválida: “{echo(word)}”. Use `{COMMAND} resumo ativar` ou "
        f"`{COMMAND} resumo desativar`.")}


def digest_changed_message(user_id: str, enabled: bool, changed: bool = True) -> dict[str, Any]:
    """``resumo on|off`` done: said in the channel, whose members will see the weekly post
    (ephemeral when it was already so)."""
    if not changed:
        state = "ligado" if enabled else "desligado"
        return {"response_type": "ephemeral",
                **notice(f"O resumo semanal deste canal já está {state}.")}
    if enabled:
        text = (f"🗓️ <@{user_id}> ligou o resumo semanal: toda semana publico aqui o humor do "
                f"canal na semana anterior. Para desligar: `{COMMAND} resumo desativar`.")
    else:
        text = f"🗓️ <@{user_id}> desligou o resumo semanal deste canal."
    return {"response_type": "in_channel", **notice(text)}


def week_pt(start: dt.date, end: dt.date) -> str:
    """A week as people say it: ``semana de 23 a 29 de novembro de 2026``; across months
    ``semana de 30 de novembro a 6 de dezembro de 2026``; across years both years."""
    def day_month(day: dt.date) -> str:
        return f"{day.day} de {MONTHS_PT[day.month - 1]}"

    if start.year != end.year:
        first = f"{day_month(start)} de {start.year}"
    elif start.month != end.month:
        first = day_month(start)
    else:
        first = str(start.day)
    return f"semana de {first} a {day_month(end)} de {end.year}"


def digest_message(report: Report, week: str) -> dict[str, Any]:
    """The weekly digest posted in a channel: last week's report (``week``, its ISO name, is
    not shown: the header says the dates), no share button."""
    del week  # the dates say it to people; the ISO name stays in the job's answer and logs
    readable = week_pt(report.start, report.end)
    blocks = render_blocks(report, share_button=False)
    blocks[0] = header(f"🗓️ Resumo semanal do humor — {readable}")
    blocks.append(context(f"Resumo semanal ligado com `{COMMAND} resumo ativar`; para "
                          f"desligar: `{COMMAND} resumo desativar`."))
    return {"text": message_text(f"Resumo semanal ({readable}): {render_text(report)}"),
            "blocks": blocks}


def chart_title(report: Report) -> str:
    """The title of the chart image posted with a shared report or a digest."""
    return f"Humor diário de {report.start:%d/%m} a {report.end:%d/%m/%Y}"


def home_channels_blocks(channels: Sequence[ChannelActivity], paused: Sequence[str] = (),
                         *, days: int = 7) -> list[dict[str, Any]]:
    """The App Home section: the viewer's most active channels with their mood over ``days``."""
    blocks: list[dict[str, Any]] = [header(f"Seus canais mais ativos — últimos {days} dias")]
    if not channels:
        blocks.append(section(
            "Ainda não há mensagens contadas nos canais de que você participa nestes dias. "
            "Me convide para um canal com `/invite @Sentimento`."))
        return blocks
    lines = []
    for activity in channels:
        counts = {label: activity.tally.counts[label] for label in LABELS}
        total = sum(counts.values())
        index = mood_index(counts)
        unit = "mensagem" if total == 1 else "mensagens"
        line = (f"<#{activity.channel_id}>  {emoji_bar(counts)}\n      {total} {unit} · humor "
                f"{signed(index or 0)} ({mood_word(index)})")
        if activity.channel_id in paused:
            line += " · ⏸️ pausado"
        lines.append(line)
    blocks.append(section(limits.fit_lines(lines, limits.SECTION_TEXT, more_channels)))
    blocks.append(context(
        "Só canais de que você participa. Humor = % positivas − % negativas (de −100 a 100). "
        f"Detalhes: `{COMMAND} relatorio` no canal."))
    return blocks


def more_channels(hidden: int) -> str:
    """The line that ends the App Home's channel list when it does not fit."""
    return f"{limits.ELLIPSIS} e mais {plural(hidden, 'canal', 'canais')}"


def home_channels_unavailable() -> list[dict[str, Any]]:
    """The App Home section when the viewer's channels cannot be listed."""
    return [section("Não consegui listar os canais de que você participa agora (o app precisa dos "
                    "escopos `channels:read` e `groups:read`). Use `/sentimento relatorio` em um "
                    "canal.")]


def home_moods_unavailable() -> list[dict[str, Any]]:
    """The App Home section when the counts cannot be read (the store is unavailable)."""
    return [section(":warning: O humor dos canais está indisponível no momento. Tente novamente "
                    "em alguns minutos.")]
