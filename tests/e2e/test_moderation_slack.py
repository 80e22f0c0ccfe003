"""Moderation through Slack, end to end: signed requests into the real Bolt app, the LeIA
lexicon for real (deterministic) negatives, alerts and settings seen at the fake Slack, on
both stores (a SQLite file and the Firestore emulator) where it matters."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
import yaml

from bot.moderation.views import ACK_ACTION_ID, FALSE_ALARM_ACTION_ID, FLAG_CALLBACK_ID
from tests.support.firestore_support import dump_store, find_strings
from tests.support.slack_harness import (
    blocks_text, bot_env, message_action_body, message_event, wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
# LeIA compounds -0.92, -0.88, -0.92, -0.85: negative probability >= 0.92 each
NEGATIVE = ["Que serviço horrível, estou muito irritado e triste com esse atraso péssimo.",
            "Isso é péssimo, horrível, uma vergonha, estou furioso!",
            "Que raiva, odeio esse lixo de sistema horrível!",
            "Vocês são incompetentes, que desastre terrível e ridículo."]
POSITIVE = ["Que notícia maravilhosa, adorei o resultado! Parabéns, equipe incrível!",
            "Ótimo trabalho, obrigado!", "Adorei, ficou excelente!"]
NEUTRAL = "A reunião é às quinze horas."
ADMIN, MEMBER, MOD = "U0ADMIN", "U0MEMBRO", "U0MOD"
MODS = "C0MODS"
_ts = itertools.count()


def next_ts() -> str:
    """A fresh, increasing Slack ts near now."""
    return f"{time.time() + next(_ts) * 0.001:.6f}"


@pytest.fixture
def start(open_stores, bot_factory, lexicon_classifier, fake_slack, store_env):
    """Start a bot on a new store object over the test's data (again: a restarted bot)."""
    fake_slack.admins.add(ADMIN)
    return lambda: bot_factory(lexicon_classifier, open_stores(store_env), env=bot_env(fake_slack))


_names = itertools.count()


def command(bot, fake_slack, text, user=ADMIN, channel="C0GERAL") -> str:
    """``/sentimento <text>`` by ``user``; what the ephemeral answer shows."""
    name = f"cmd{next(_names)}"
    assert bot.sender.command(text, fake_slack.response_url(name), channel_id=channel,
                              user_id=user).status_code == 200
    [call] = fake_slack.wait_for("response", name)
    assert call.params.get("response_type") == "ephemeral"
    return blocks_text(call.params)


def thread(bot, texts, channel="C0GERAL") -> str:
    """A neutral root message and ``texts`` as replies in its thread; the root's ts."""
    root = next_ts()
    before = bot.counter.listened
    bot.sender.event(message_event(NEUTRAL, channel=channel, ts=root))
    for text in texts:
        reply(bot, root, text, channel=channel, wait=False)
    wait_until(lambda: bot.counter.listened == before + 1 + len(texts), what="thread watched")
    return root


def reply(bot, root, text, channel="C0GERAL", wait=True) -> None:
    """One reply in the thread of ``root``."""
    before = bot.counter.listened
    assert bot.sender.event(message_event(text, channel=channel, ts=next_ts(),
                                          thread_ts=root)).status_code == 200
    if wait:
        wait_until(lambda: bot.counter.listened == before + 1, what="reply watched")


def alerts_posted(fake_slack):
    """The alerts posted in the moderators' channel so far (failed attempts left out)."""
    return [c.params for c in fake_slack.recorded("api", "chat.postMessage")
            if c.params.get("channel") == MODS and c.outcome == "ok"]


def button_value(message, action_id) -> str:
    """The value of a button of a posted message."""
    blocks = message["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return element["value"]
    raise AssertionError(f"no {action_id} button")


def click(bot, fake_slack, action_id, alert, user=MOD, channel=MODS) -> str:
    """A moderator clicks a button of ``alert`` (a posted message) in the moderators' channel;
    the name of the click's ``response_url`` (where an ephemeral answer would go)."""
    name = f"click{next(_names)}"
    assert bot.sender.action(action_id, button_value(alert, action_id),
                             fake_slack.response_url(name), channel_id=channel,
                             user_id=user).status_code == 200
    return name


def answer_to(fake_slack, name) -> str:
    """What the ephemeral answer to a click shows (only the clicker sees it)."""
    [call] = fake_slack.wait_for("response", name)
    assert call.params.get("response_type") == "ephemeral"
    assert call.params.get("replace_original") is False
    return blocks_text(call.params)


def test_three_negative_replies_alert_once_and_a_fourth_does_not(start, fake_slack):
    """Exactly one alert for a thread turning negative, none for a positive thread, none for
    a fourth negative reply within the cool-down; the alert quotes no text."""
    bot = start()
    assert "definiu <#C0MODS>" in command(bot, fake_slack, f"moderacao <#{MODS}|moderacao>")
    happy = thread(bot, POSITIVE)
    root = thread(bot, NEGATIVE[:3])
    [alert] = fake_slack.wait_for("api", "chat.postMessage")
    assert alert.params["channel"] == MODS
    shown = blocks_text(alert.params)
    assert "<#C0GERAL>: 3 mensagens muito negativas em" in shown
    permalink = f"https://teste.slack.com/archives/C0GERAL/p{root.replace('.', '')}"
    assert f"<{permalink}|Abrir a thread>" in shown
    assert "Ciente" in json.dumps(alert.params["blocks"], ensure_ascii=False)
    assert not find_strings([alert.params], ["horrível", "raiva", "péssimo", "atraso"])
    [link] = fake_slack.recorded("api", "chat.getPermalink")
    assert (link.params["channel"], link.params["message_ts"]) == ("C0GERAL", root)
    reply(bot, root, NEGATIVE[3])
    reply(bot, happy, NEGATIVE[0])  # returns once moderation has watched it
    assert len(alerts_posted(fake_slack)) == 1


def test_buttons_update_the_alert_even_after_a_restart(start, fake_slack):
    """"Ciente" says who took it and when; "Falso alarme" is counted in the status. The alert
    posted before a restart still works with the new bot."""
    bot = start()
    command(bot, fake_slack, f"moderacao <#{MODS}>")
    thread(bot, NEGATIVE[:3])
    thread(bot, NEGATIVE[1:])
    wait_until(lambda: len(alerts_posted(fake_slack)) == 2, what="two alerts")
    first, second = alerts_posted(fake_slack)
    bot.close()
    bot = start()  # a new app instance on the same data
    click(bot, fake_slack, ACK_ACTION_ID, first)
    [update] = fake_slack.wait_for("api", "chat.update")
    shown = blocks_text(update.params)
    assert update.params["channel"] == MODS
    assert f"<@{MOD}> está cuidando disso (desde <!date^" in shown
    assert "Falso alarme" not in json.dumps(update.params["blocks"], ensure_ascii=False)
    click(bot, fake_slack, FALSE_ALARM_ACTION_ID, second, user="U0MOD2")
    updates = fake_slack.wait_for("api", "chat.update", 2)
    assert "Marcado como falso alarme por <@U0MOD2>" in blocks_text(updates[1].params)
    assert updates[0].params["ts"] != updates[1].params["ts"]
    double = click(bot, fake_slack, FALSE_ALARM_ACTION_ID, second, user="U0MOD2")  # a double click
    assert "<@U0MOD2> já marcou este alerta como falso alarme" in answer_to(fake_slack, double)
    assert "Falsos alarmes registrados: 1" in command(bot, fake_slack, "moderacao status",
                                                      user=MEMBER)
    # a button from another channel (a copied payload) changes nothing
    copied = click(bot, fake_slack, ACK_ACTION_ID, first, channel="C0GERAL")
    assert "Não encontrei este alerta" in answer_to(fake_slack, copied)
    assert len(fake_slack.recorded("api", "chat.update")) == 2


def test_only_admins_and_the_moderators_group_change_settings(start, fake_slack):
    """A member gets "sem permissão" and nothing changes; the configured group may change."""
    bot = start()
    for text in (f"moderacao <#{MODS}|mods>", "limiar 0.5", "regra 2 5 5",
                 "moderacao grupo <!subteam^S0MODS|@mods>"):
        assert "Sem permissão" in command(bot, fake_slack, text, user=MEMBER)
    status = command(bot, fake_slack, "moderacao status", user=MEMBER)
    assert "Canal dos moderadores: _não configurado_" in status
    assert "Limiar de mensagem muito negativa: 0,80" in status
    assert "com 3 mensagens muito negativas entre as últimas 10 ou nos últimos 30 minutos" \
        in status
    assert "Limiar inválido" in command(bot, fake_slack, "limiar 1.5")
    fake_slack.usergroups["S0MODS"] = [MEMBER]
    assert "Membros de <!subteam^S0MODS>" in command(
        bot, fake_slack, "moderacao grupo <!subteam^S0MODS|@mods>")
    assert "≥ 0,90" in command(bot, fake_slack, "limiar 0,9", user=MEMBER)
    assert "com 4 mensagens" in command(bot, fake_slack, "regra 4 12 45", user=MEMBER)
    status = command(bot, fake_slack, "moderacao", user="U0OUTRO")
    assert "0,90" in status and "entre as últimas 12 ou nos últimos 45 minutos" in status
    assert "Sem permissão" in command(bot, fake_slack, "limiar 0.5", user="U0OUTRO")
    fake_slack.error_next("users.info", "missing_scope")
    assert "Não consegui verificar" in command(bot, fake_slack, "limiar 0.5", user=MEMBER)
    assert "0,90" in command(bot, fake_slack, "moderacao status")


def test_pending_alerts_wait_for_a_channel_across_a_restart(start, fake_slack):
    """Without a moderators' channel the alert waits; after a restart an admin's App Home shows
    it with a prompt (a member's does not); setting the channel posts it there."""
    bot = start()
    thread(bot, NEGATIVE[:3], channel="C0PRIV")  # returns once moderation has watched it
    assert alerts_posted(fake_slack) == []
    bot.close()
    bot = start()
    fake_slack.memberships[ADMIN] = ["C0GERAL", "C0PRIV"]
    bot.sender.home_opened(ADMIN)
    bot.sender.home_opened(MEMBER)
    views = {c.params["user_id"]: blocks_text(c.params["view"])
             for c in fake_slack.wait_for("api", "views.publish", 2)}
    assert "Nenhum canal de moderadores configurado" in views[ADMIN]
    assert "<#C0PRIV>: 3 mensagens muito negativas" in views[ADMIN]
    assert "/sentimento moderacao #canal" in views[ADMIN]
    assert "Moderação" not in views[MEMBER] and "C0PRIV" not in views[MEMBER]
    answer = command(bot, fake_slack, f"moderacao <#{MODS}|mods>")
    assert "1 alerta pendente foi enviado" in answer and "quem configura é responsável" in answer
    [alert] = alerts_posted(fake_slack)
    assert "<#C0PRIV>: 3 mensagens muito negativas" in blocks_text(alert)
    click(bot, fake_slack, ACK_ACTION_ID, alert)
    assert "está cuidando disso" in blocks_text(fake_slack.wait_for("api", "chat.update")[0].params)


def test_pending_alerts_are_shown_only_for_channels_the_admin_is_in(start, fake_slack):
    """An admin who is not in a channel sees only that there are alerts, not which."""
    bot = start()
    thread(bot, NEGATIVE[:3], channel="C0SECRETO")  # returns once moderation has watched it
    fake_slack.memberships[ADMIN] = ["C0GERAL"]
    bot.sender.home_opened(ADMIN)
    shown = blocks_text(fake_slack.wait_for("api", "views.publish")[0].params["view"])
    assert "C0SECRETO" not in shown and "e 1 alerta de canais que você não vê" in shown


def flag(bot, fake_slack, name, message_ts, thread_ts=None, user="U0USER1"):
    """A member uses "Sinalizar para moderação" on a message; the answer only they see."""
    bot.sender.post(message_action_body(NEGATIVE[0], fake_slack.response_url(name),
                                        user_id=user, callback_id=FLAG_CALLBACK_ID,
                                        message_ts=message_ts, thread_ts=thread_ts),
                    bot.sender.FORM)
    [call] = fake_slack.wait_for("response", name)
    return blocks_text(call.params)


def test_manual_flag_raises_an_alert_marked_manual(start, fake_slack):
    """Any member flags a message by hand: the same alert, marked manual; once per 6 h."""
    bot = start()
    command(bot, fake_slack, f"moderacao <#{MODS}>")
    root = thread(bot, [NEGATIVE[0], POSITIVE[0]])
    message_ts = next_ts()
    assert "sinalizada para os moderadores" in flag(bot, fake_slack, "f1", message_ts, root)
    [alert] = alerts_posted(fake_slack)
    shown = blocks_text(alert)
    assert "<@U0USER1> sinalizou uma mensagem para moderação" in shown
    assert "<#C0GERAL>: 1 mensagem muito negativa em 0 s" in shown
    assert "Sinalização manual" in shown and NEGATIVE[0] not in json.dumps(alert)
    link = fake_slack.recorded("api", "chat.getPermalink")[-1]
    assert link.params["message_ts"] == message_ts
    assert "já foi sinalizada" in flag(bot, fake_slack, "f2", next_ts(), root, user="U0OUTRO")
    reply(bot, root, NEGATIVE[1])
    reply(bot, root, NEGATIVE[2])  # 3 negatives now, but within the cool-down
    assert "só é possível" in flag(bot, fake_slack, "f3", "nada").lower()
    assert len(alerts_posted(fake_slack)) == 1  # the replies were watched before reply() returned


NEEDLES = ["xylofone-azul-7731", "quimera-roxa-4410", "pinguim-verde-9902"]


def test_no_message_text_is_stored_by_moderation(start, fake_slack, store_env):
    """Distinctive negative replies, a manual flag, a pending alert: nothing stored or sent to
    the moderators has their text."""
    bot = start()
    texts = [f"{text} {needle}" for text, needle in zip(NEGATIVE, NEEDLES)]
    root = thread(bot, texts)
    flag(bot, fake_slack, "f", next_ts(), root)
    command(bot, fake_slack, f"moderacao <#{MODS}>")
    wait_until(lambda: len(alerts_posted(fake_slack)) == 1, what="the pending alert posted")
    dump, raw = dump_store(store_env)
    assert find_strings(dump, NEEDLES + ["horrível", "furioso", "incompetentes"]) == []
    assert [needle for needle in NEEDLES if needle in raw] == []
    assert find_strings(dump, [root, MODS]) == [root, MODS]  # the scan sees the data
    assert find_strings(alerts_posted(fake_slack), NEEDLES + ["horrível"]) == []


def test_manifest_asks_for_the_moderation_scopes_and_shortcut():
    """users:read and usergroups:read, the shortcut, nothing for chat.getPermalink."""
    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text(encoding="utf-8"))
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert {"users:read", "usergroups:read", "chat:write"} <= set(scopes)
    assert not {"users:read.email", "usergroups:write", "chat:write.public"} & set(scopes)
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert shortcuts[FLAG_CALLBACK_ID]["name"] == "Sinalizar para moderação"
    assert shortcuts[FLAG_CALLBACK_ID]["type"] == "message"
    assert manifest["features"]["slash_commands"][0]["should_escape"] is True


def test_alternating_verdict_clicks_keep_the_first_verdict(start, fake_slack):
    """Clicking "Falso alarme", then "Ciente", then both again on one alert: the first verdict
    stands, each later click only shows its clicker who decided, and the false alarm is
    counted once."""
    bot = start()
    command(bot, fake_slack, f"moderacao <#{MODS}>")
    thread(bot, NEGATIVE[:3])
    [alert] = alerts_posted(fake_slack)
    click(bot, fake_slack, FALSE_ALARM_ACTION_ID, alert, user=MOD)
    [update] = fake_slack.wait_for("api", "chat.update")
    assert f"Marcado como falso alarme por <@{MOD}>" in blocks_text(update.params)
    for action_id in (ACK_ACTION_ID, FALSE_ALARM_ACTION_ID, ACK_ACTION_ID):
        later = click(bot, fake_slack, action_id, alert, user="U0MOD2")
        shown = answer_to(fake_slack, later)
        assert f"<@{MOD}> já marcou este alerta como falso alarme em <!date^" in shown
        assert "A primeira decisão vale" in shown
    assert "Falsos alarmes registrados: 1" in command(bot, fake_slack, "moderacao status")
    assert len(fake_slack.recorded("api", "chat.update")) == 1


def dms_to(fake_slack, user):
    """Messages the bot sent to ``user`` by DM (``chat.postMessage`` to the user id)."""
    return [c.params for c in fake_slack.recorded("api", "chat.postMessage")
            if c.params.get("channel") == user and c.outcome == "ok"]


def test_alerts_the_moderators_channel_refuses_are_shown_told_once_and_retried(start, fake_slack):
    """The bot was removed from the moderators' channel: its alerts stay kept and show in
    ``moderacao status`` and the admin's App Home; whoever set the channel is told once by
    DM; when an alert gets through again, the kept ones follow, and a new breakage is told."""
    bot = start()
    command(bot, fake_slack, f"moderacao <#{MODS}>", user=ADMIN)
    fake_slack.error_next("chat.postMessage", "not_in_channel")
    thread(bot, NEGATIVE[:3])
    [dm] = dms_to(fake_slack, ADMIN)
    shown = blocks_text(dm)
    assert f"Não consigo publicar os alertas de moderação em <#{MODS}>: o app não é membro" in shown
    assert "/invite @Sentimento" in shown and "/sentimento moderacao #canal" in shown
    fake_slack.error_next("chat.postMessage", "not_in_channel")
    thread(bot, NEGATIVE[1:])  # counted: its alert's delivery (and any DM) is over
    assert len(dms_to(fake_slack, ADMIN)) == 1 and alerts_posted(fake_slack) == []
    status = command(bot, fake_slack, "moderacao status", user=MEMBER)
    assert (f"2 alertas não puderam ser publicados em <#{MODS}> (o app não é membro do canal)"
            in status)
    assert "/invite @Sentimento" in status
    fake_slack.memberships[ADMIN] = ["C0GERAL"]
    bot.sender.home_opened(ADMIN)
    home = blocks_text(fake_slack.wait_for("api", "views.publish")[0].params["view"])
    assert f"Os alertas vão para <#{MODS}>" in home and "2 alertas não puderam" in home
    assert home.count("<#C0GERAL>: 3 mensagens muito negativas") == 2

    thread(bot, NEGATIVE[:3])  # the channel works again: this alert, then the two kept
    posted = alerts_posted(fake_slack)
    assert len(posted) == 3 and all("<#C0GERAL>: 3 mensagens" in blocks_text(p) for p in posted)
    assert "não puderam ser publicados" not in command(bot, fake_slack, "moderacao status")
    fake_slack.error_next("chat.postMessage", "is_archived")
    thread(bot, NEGATIVE[:3])
    assert len(dms_to(fake_slack, ADMIN)) == 2
    assert "o canal foi arquivado" in blocks_text(dms_to(fake_slack, ADMIN)[1])
