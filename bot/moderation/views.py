"""What users read about moderation in Slack: Portuguese text and Block Kit, pure functions.

An alert shows the channel, a permalink, how many strongly negative messages over what span,
and who took it: never any message text.
"""

from __future__ import annotations

from typing import Any, Sequence

from bot import limits
from bot.blocks import COMMAND, context, message_text, notice, plural, section
from bot.moderation.rules import Alert, ModerationSettings, describe_span

ACK_ACTION_ID = "moderacao_ciente"
FALSE_ALARM_ACTION_ID = "moderacao_falso_alarme"
FLAG_CALLBACK_ID = "sinalizar_moderacao"
HOME_ALERT_SECTIONS = 5  # sections of pending alerts in the App Home (of Slack's 100 blocks)


def slack_date(when: float) -> str:
    """A date Slack shows in the reader's time zone (with a UTC fallback)."""
    return f"<!date^{int(when)}^{{date_short_pretty}} às {{time}}|{int(when)} (UTC)>"


def alert_summary(alert: Alert) -> str:
    """One line: where, how many negative messages over what span (no text)."""
    if alert.negatives == 0:
        figures = "nenhuma mensagem muito negativa detectada na thread"
    else:
        figures = (plural(alert.negatives, "mensagem muito negativa", "mensagens muito negativas")
                   + f" em {describe_span(alert.span_s)}")
    return f"<#{alert.channel_id}>: {figures}"


def alert_message(alert: Alert) -> dict[str, Any]:
    """The alert in the moderators' channel, with "Ciente" / "Falso alarme" while open."""
    if alert.manual:
        title = f":triangular_flag_on_post: <@{alert.flagged_by}> sinalizou uma mensagem para moderação"
    else:
        title = ":rotating_light: Uma thread está ficando negativa"
    link = f"<{alert.permalink}|Abrir a thread>" if alert.permalink else "(link indisponível)"
    blocks: list[dict[str, Any]] = [section(f"*{title}*\n{alert_summary(alert)}\n{link}")]
    when = slack_date(alert.at or 0)
    if alert.state == "acknowledged":
        status = f":white_check_mark: <@{alert.by}> está cuidando disso (desde {when})."
    elif alert.state == "false_alarm":
        status = f":no_entry_sign: Marcado como falso alarme por <@{alert.by}> em {when}."
    else:
        status = ""
        blocks.append({"type": "actions", "block_id": f"alerta-{alert.alert_id}", "elements": [
            {"type": "button", "action_id": ACK_ACTION_ID, "value": alert.alert_id, "style": "primary",
             "text": {"type": "plain_text", "text": "Ciente"}},
            {"type": "button", "action_id": FALSE_ALARM_ACTION_ID, "value": alert.alert_id,
             "text": {"type": "plain_text", "text": "Falso alarme"}},
        ]})
    if status:
        blocks.append(section(status))
    kind = "Sinalização manual" if alert.manual else "Alerta automático"
    blocks.append(context(f"{kind} · {slack_date(alert.created_at)} · o texto das mensagens não é "
                          "guardado nem mostrado aqui."))
    return {"text": message_text(f"{title}: {alert_summary(alert)}"), "blocks": blocks}


_UNREACHABLE_REASONS = {
    "not_in_channel": "o app não é membro do canal",
    "channel_not_found": "o canal não existe mais ou o app não tem acesso a ele",
    "is_archived": "o canal foi arquivado",
}


def unposted_reason(error: str | None) -> str:
    """Why alerts could not be posted, in Portuguese, from Slack's error code."""
    if error in _UNREACHABLE_REASONS:
        return _UNREACHABLE_REASONS[error]
    return "o Slack não aceitou a publicação" + (f" (`{error}`)" if error else "")


def unposted_help(channel_id: str) -> str:
    """What to do when alerts cannot be posted in the moderators' channel."""
    return (f"Para resolver: me convide com `/invite @Sentimento` em <#{channel_id}>, ou escolha "
            f"outro canal com `{COMMAND} moderacao #canal`. Os alertas guardados são enviados ao "
            f"repetir `{COMMAND} moderacao #canal` ou junto com o próximo alerta publicado.")


def unposted_line(channel_id: str, count: int, error: str | None) -> str:
    """Alerts kept because the moderators' channel refused them: how many, why, what to do."""
    kept = plural(count, "alerta não pôde ser publicado", "alertas não puderam ser publicados")
    return (f":warning: {kept} em <#{channel_id}> ({unposted_reason(error)}); continuam "
            f"guardados. {unposted_help(channel_id)}")


def channel_unreachable_dm(channel_id: str, error: str) -> dict[str, Any]:
    """The DM to whoever set the moderators' channel when alerts cannot be posted there."""
    return notice(f":warning: Não consigo publicar os alertas de moderação em <#{channel_id}>: "
                  f"{unposted_reason(error)}. Os alertas ficam guardados (veja "
                  f"`{COMMAND} moderacao status` ou a aba Início do app). "
                  f"{unposted_help(channel_id)}\nEste aviso é enviado uma vez; você será avisado "
                  "de novo só se o canal voltar a funcionar e falhar outra vez.")


def verdict_taken_message(alert: Alert) -> dict[str, Any]:
    """A click on an alert that was already resolved: the first verdict stands."""
    when = slack_date(alert.at or 0)
    if alert.state == "false_alarm":
        who = f"<@{alert.by}> já marcou este alerta como falso alarme em {when}."
    else:
        who = f"<@{alert.by}> já está cuidando deste alerta (desde {when})."
    return notice(f":information_source: {who} A primeira decisão vale; nada foi alterado.")


def status_message(settings: ModerationSettings, pending: int, unposted: int = 0,
                   error: str | None = None) -> dict[str, Any]:
    """``/sentimento moderacao status``: ``pending`` alerts wait for a channel to be set;
    ``unposted`` ones could not be posted in the channel that is set (``error``: why)."""
    rule = settings.rule
    channel = f"<#{settings.channel_id}>" if settings.channel_id else "_não configurado_"
    group = f"<!subteam^{settings.group_id}>" if settings.group_id else "_nenhum_"
    lines = [
        "*Moderação* :shield:",
        f"• Canal dos moderadores: {channel}",
        f"• Grupo que pode mudar as configurações (além de admins): {group}",
        f"• Limiar de mensagem muito negativa: {rule.threshold:.2f}".replace(".", ","),
        f"• Regra: alerta com {rule.min_negatives} mensagens muito negativas entre as últimas "
        f"{rule.window_messages} ou nos últimos {rule.window_minutes} minutos de uma thread "
        "(no máximo um alerta por thread a cada 6 h; depois, só se piorar)",
        f"• Falsos alarmes registrados: {settings.false_alarms}",
    ]
    if not settings.channel_id:
        lines.append(f"• Alertas aguardando um canal: {pending} (configure com "
                     f"`{COMMAND} moderacao #canal`)")
    elif unposted:
        lines.append("• " + unposted_line(settings.channel_id, unposted, error))
    return notice("\n".join(lines))


def no_permission_message() -> dict[str, Any]:
    """A member who is neither admin/owner nor in the moderators' group tried a change."""
    return notice(":lock: Sem permissão: só admins e donos do espaço de trabalho, ou membros do grupo de "
                   "moderadores configurado, podem mudar as configurações de moderação. "
                   "Nada foi alterado.")


def check_failed_message() -> dict[str, Any]:
    """users.info or usergroups.users.list failed: nothing changed."""
    return notice(":warning: Não consegui verificar suas permissões no Slack agora. Nada foi "
                   "alterado; tente novamente em alguns minutos.")


def ext_shared_message(channel_id: str) -> dict[str, Any]:
    """The moderators' channel asked for is shared with another company (Slack Connect)."""
    return notice(f":no_entry: <#{channel_id}> é compartilhado com outra empresa (Slack "
                  "Connect). Os alertas citam threads de canais privados e iriam para fora da "
                  "empresa: escolha um canal só do seu workspace. Nada foi alterado.")


def shared_check_failed_message() -> dict[str, Any]:
    """conversations.info failed: whether the channel is shared is unknown, nothing changed."""
    return notice(":warning: Não consegui verificar no Slack se o canal é compartilhado com "
                  "outra empresa. Nada foi alterado; tente novamente em alguns minutos.")


def channel_set_message(user_id: str, channel_id: str, sent: int, failed: bool) -> dict[str, Any]:
    """The moderators' channel was set (and the pending alerts sent there)."""
    text = (f":shield: <@{user_id}> definiu <#{channel_id}> como canal dos moderadores. "
            "Atenção: todos os membros desse canal verão os alertas de qualquer canal, inclusive "
            "privados; quem configura é responsável por manter só moderadores nele.")
    if sent:
        moved = plural(sent, "alerta pendente foi enviado", "alertas pendentes foram enviados")
        text += f"\n{moved} para lá."
    if failed:
        text += (f"\n:warning: Não consegui publicar em <#{channel_id}>: me convide com "
                 "`/invite @Sentimento` nesse canal. Os alertas continuam guardados.")
    return notice(text)


def group_set_message(group_id: str) -> dict[str, Any]:
    """The moderators' user group was set."""
    return notice(f":shield: Membros de <!subteam^{group_id}> agora podem mudar as "
                   "configurações de moderação (além de admins e donos do espaço de trabalho).")


def rule_set_message(settings: ModerationSettings) -> dict[str, Any]:
    """The threshold or the rule's numbers changed."""
    rule = settings.rule
    return notice(f":shield: Regra de moderação atualizada: alerta com {rule.min_negatives} "
                   f"mensagens com probabilidade de negativo ≥ "
                   f"{f'{rule.threshold:.2f}'.replace('.', ',')} entre as últimas "
                   f"{rule.window_messages} ou nos últimos {rule.window_minutes} minutos de uma "
                   "thread.")


def usage_message(problem: str = "") -> dict[str, Any]:
    """How to use the moderation subcommands."""
    head = f"{problem}\n" if problem else ""
    return notice(head + (
        f"Use `{COMMAND} moderacao #canal` (canal dos alertas), `{COMMAND} moderacao status`, "
        f"`{COMMAND} moderacao grupo @grupo`, `{COMMAND} limiar 0,85` ou "
        f"`{COMMAND} regra 3 10 30`."))


def flag_answer(sent: bool) -> dict[str, Any]:
    """What the member who used "Sinalizar para moderação" sees (only them)."""
    if sent:
        return notice(":triangular_flag_on_post: Obrigado! A mensagem foi sinalizada para os "
                       "moderadores, sem o texto dela.")
    return notice("Esta thread já foi sinalizada aos moderadores nas últimas 6 horas. Obrigado!")


def flag_refused_message() -> dict[str, Any]:
    """The shortcut was used outside a channel."""
    return notice("Só é possível sinalizar mensagens de canais.")


def more_alerts(hidden: int) -> str:
    """The line that ends the App Home's list of pending alerts when they do not all fit."""
    return f"{limits.ELLIPSIS} e mais {plural(hidden, 'alerta', 'alertas')}"


def home_alert_line(alert: Alert) -> str:
    """One pending alert in the App Home: where, how bad, when, and a link."""
    return (f"• {alert_summary(alert)} · {slack_date(alert.created_at)}"
            + (f" · <{alert.permalink}|abrir>" if alert.permalink else "")
            + (" · sinalização manual" if alert.manual else ""))


def home_blocks(settings: ModerationSettings, pending: Sequence[Alert], hidden: int,
                error: str | None = None) -> list[dict[str, Any]]:
    """The App Home section for an admin: where alerts go, and the alerts kept in the store
    (``pending``: those of channels the viewer is in; ``hidden``: how many others), either
    because no channel is set or because the channel set refused them (``error``: why).

    The kept alerts fill up to :data:`HOME_ALERT_SECTIONS` sections; those that do not fit
    are counted in a last line, ``… e mais N alertas``."""
    lines = [home_alert_line(alert) for alert in pending]
    if settings.channel_id:
        intro = f"*Moderação* :shield:\nOs alertas vão para <#{settings.channel_id}>."
        if not lines and not hidden:
            return [section(intro)]
        intro += "\n" + unposted_line(settings.channel_id, len(pending) + hidden, error)
    else:
        intro = (f"*Moderação* :shield:\n:warning: Nenhum canal de moderadores configurado: os "
                 f"alertas aguardam aqui (os últimos 50). Configure com `{COMMAND} moderacao "
                 "#canal` em qualquer canal.")
        if not lines and not hidden:
            lines = ["Nenhum alerta pendente."]
    blocks = [section(text) for text in limits.split_sections(
        lines, limits.SECTION_TEXT, HOME_ALERT_SECTIONS, more_alerts, head=intro)]
    if hidden:
        blocks.append(context(f"• e {plural(hidden, 'alerta', 'alertas')} de canais que você não vê"))
    return blocks
