"""The moderation rule and the parsing of what users type: pure functions, no Slack."""

from __future__ import annotations

import pytest

from bot.moderation.rules import (
    COOLDOWN_S, MAX_ENTRIES, Alert, Flag, ModerationRule, RuleError, ThreadEntry, ThreadState,
    describe_span, in_window, is_strongly_negative, manual_flag, observe, observe_all, parse_channel,
    parse_group, parse_rule, parse_threshold, should_alert, thread_turns_negative,
)
from bot.moderation.views import alert_message
from service.backends.lexicon import compound_to_scores

NOW = 1_800_000_000.0
RULE = ModerationRule()


def entries(*flags: bool, start: float = NOW, step: float = 60.0) -> list[ThreadEntry]:
    """Thread entries ``step`` seconds apart, negative where the flag is True."""
    return [ThreadEntry(start + i * step, flag) for i, flag in enumerate(flags)]


def test_strongly_negative_uses_the_probability_not_the_top_label():
    """0.80 negative is strong; a negative top label at 0.6 is not; a neutral top label with a
    high negative probability would be."""
    assert is_strongly_negative({"negative": 0.80, "neutral": 0.2}, 0.80)
    assert not is_strongly_negative({"negative": 0.6, "neutral": 0.3, "positive": 0.1}, 0.80)
    assert is_strongly_negative({"negative": 0.45, "neutral": 0.55}, 0.40)
    assert not is_strongly_negative({"positive": 1.0}, 0.80)
    # the lexicon's mapping: compound -0.6 gives a negative probability of 0.80
    assert is_strongly_negative(compound_to_scores(-0.6), 0.80)
    assert not is_strongly_negative(compound_to_scores(-0.55), 0.80)


def test_three_negatives_in_the_last_ten_messages_flag_the_thread():
    """Three strong negatives among the last 10 messages: flagged, with their span."""
    thread = entries(True, False, True, False, False, True, step=600)  # 50 minutes
    flag = thread_turns_negative(thread, NOW + 3000, RULE)
    assert flag is not None and (flag.negatives, flag.span_s) == (3, 3000)
    assert thread_turns_negative(thread[:-1], NOW + 3000, RULE) is None


def test_old_negatives_beyond_both_windows_do_not_count():
    """A negative older than 30 minutes and than the last 10 messages is out of the window."""
    thread = entries(True, *[False] * 10, True, True, step=60)
    assert thread_turns_negative(thread, NOW + 3600, RULE) is None
    # ...but within the last 30 minutes it counts even beyond the last 10 messages
    busy = entries(True, *[False] * 15, True, True, step=10)
    flag = thread_turns_negative(busy, NOW + 200, RULE)
    assert flag is not None and flag.negatives == 3
    assert len(in_window(entries(*[False] * (MAX_ENTRIES + 50), step=1), NOW + 300, RULE)) \
        == MAX_ENTRIES


def test_configured_numbers_change_the_rule():
    """regra 2 3 5: two negatives among the last 3 messages or 5 minutes."""
    rule = ModerationRule(min_negatives=2, window_messages=3, window_minutes=5)
    thread = entries(True, False, False, True, step=600)
    assert thread_turns_negative(thread, NOW + 1800, rule) is None
    assert thread_turns_negative(entries(True, False, True, step=600), NOW + 1200, rule)


def test_cooldown_and_gets_worse():
    """One alert per 6 h; after it, only if worse than the last alert."""
    assert should_alert(None, NOW, 3)
    assert should_alert(ThreadState(), NOW, 3)
    previous = ThreadState(last_alert_at=NOW, last_alert_negatives=3)
    assert not should_alert(previous, NOW + 60, 5)
    assert not should_alert(previous, NOW + COOLDOWN_S - 1, 9)
    assert not should_alert(previous, NOW + COOLDOWN_S, 3)
    assert should_alert(previous, NOW + COOLDOWN_S, 4)


def test_observe_raises_one_flag_then_none_within_the_cooldown():
    """The third negative reply flags the thread; the fourth, and a redelivery, do not."""
    state, flags = ThreadState(), []
    for i, negative in enumerate([False, True, True, True, True]):
        state, flag = observe(state, ThreadEntry(NOW + i, negative), NOW + i, RULE)
        flags.append(flag)
    assert [f.negatives if f else None for f in flags] == [None, None, None, 3, None]
    assert state.last_alert_at == NOW + 3 and state.last_alert_negatives == 3
    again, flag = observe(state, ThreadEntry(NOW + 4, True), NOW + 5, RULE)
    assert flag is None and again == state
    later = NOW + COOLDOWN_S + 10
    state, flag = observe(state, ThreadEntry(later, True), later, RULE)
    assert flag is not None and flag.negatives == 5  # worse than 3, after the cool-down


def test_manual_flag_reports_the_threads_negatives():
    """A manual flag counts what the window holds (possibly nothing)."""
    assert manual_flag(ThreadState(), NOW, RULE).negatives == 0
    state = ThreadState(tuple(entries(True, False, True)))
    flag = manual_flag(state, NOW + 200, RULE)
    assert (flag.negatives, flag.span_s) == (2, 120)


def test_parse_channel_and_group_escapes():
    """``#canal`` arrives as ``<#C123|canal>`` (or ``<#C123>``); groups as ``<!subteam^...>``."""
    assert parse_channel("<#C0MODS123|moderacao>") == "C0MODS123"
    assert parse_channel(" <#G0PRIV> ") == "G0PRIV"
    assert parse_group("<!subteam^S0MODS|@mods>") == "S0MODS"
    for bad in ("#moderacao", "C0MODS", "<@U0USER|maria>", "<#C0X|a> extra", ""):
        with pytest.raises(RuleError, match="Não reconheci o canal"):
            parse_channel(bad)
    with pytest.raises(RuleError, match="Não reconheci o grupo"):
        parse_group("@mods")


def test_parse_threshold_between_0_and_1_in_portuguese():
    """0.85, 0,85 and 85% are accepted; anything outside (0, 1] gets a Portuguese error."""
    assert parse_threshold("0.85") == pytest.approx(0.85)
    assert parse_threshold("0,9") == pytest.approx(0.9)
    assert parse_threshold("85%") == pytest.approx(0.85)
    assert parse_threshold("1") == 1.0
    for bad in ("1.5", "0", "-0.2", "nan", "inf", "alto", ""):
        with pytest.raises(RuleError, match="Limiar inválido"):
            parse_threshold(bad)


def test_parse_rule_numbers():
    """regra N M T; invalid combinations are refused in Portuguese."""
    rule = parse_rule("4 12 45", RULE)
    assert (rule.min_negatives, rule.window_messages, rule.window_minutes) == (4, 12, 45)
    assert rule.threshold == RULE.threshold
    with pytest.raises(RuleError, match="Regra inválida"):
        parse_rule("3 10", RULE)
    with pytest.raises(RuleError, match="Regra inválida"):
        parse_rule("três dez trinta", RULE)
    with pytest.raises(RuleError, match="mínimo de mensagens negativas"):
        parse_rule("1 10 30", RULE)
    with pytest.raises(RuleError, match="janela de mensagens"):
        parse_rule("5 4 30", RULE)
    with pytest.raises(RuleError, match="janela de tempo"):
        parse_rule("3 10 0", RULE)


def test_alert_message_has_no_text_and_buttons_only_while_open():
    """The alert shows channel, link, figures; buttons while open; who took it after."""
    alert = Alert("a1", "T1", "C0GERAL", "1800000000.000100", 3, 125.0,
                  NOW, permalink="https://teste.slack.com/archives/C0GERAL/p1800000000000100")
    shown = str(alert_message(alert))
    assert "<#C0GERAL>" in shown and "3 mensagens muito negativas em 2 min" in shown
    assert "Abrir a thread" in shown and "Ciente" in shown and "Falso alarme" in shown
    done = str(alert_message(Alert(**{**alert.__dict__, "state": "acknowledged", "by": "U0MOD",
                                      "at": NOW + 60})))
    assert "<@U0MOD> está cuidando disso" in done and "Ciente" not in done
    assert describe_span(40) == "40 s" and describe_span(7500) == "2 h 5 min"


def test_rule_and_threshold_edges_are_those_documented():
    """The README's bounds, at their edges: 2 <= N <= 50, N <= M <= 100, 1 <= T <= 1440; a
    threshold greater than 0 and at most 1, the smallest one a user can type accepted, 0
    refused with a message that says why and shows the decimal comma."""
    edges = parse_rule("50 100 1440", RULE)
    assert (edges.min_negatives, edges.window_messages, edges.window_minutes) == (50, 100, 1440)
    assert parse_rule("2 2 1", RULE).min_negatives == 2
    for bad, why in (("51 100 30", "entre 2 e 50"), ("3 101 30", "e 100"),
                     ("3 10 1441", "1440")):
        with pytest.raises(RuleError, match=why):
            parse_rule(bad, RULE)
    assert parse_threshold("0,01") == pytest.approx(0.01)
    with pytest.raises(RuleError) as refused:
        parse_threshold("0")
    assert "maior que 0" in str(refused.value) and "`limiar 0,85`" in str(refused.value)


@pytest.mark.parametrize("seconds, shown", [
    (0, "0 s"), (0.4, "0 s"), (-3, "0 s"), (59.6, "1 min"), (60, "1 min"), (61, "1 min"),
    (3599, "59 min"), (3600, "1 h"), (7200, "2 h"), (7260, "2 h 1 min"),
])
def test_an_alert_says_how_long_the_thread_took_to_turn_negative(seconds, shown):
    """The alert's span in Portuguese, at each unit's edge: seconds under a minute, minutes
    under an hour, hours (and the minutes left, when any)."""
    assert describe_span(seconds) == shown


def test_a_batch_of_replies_raises_at_most_one_alert_and_keeps_every_reply():
    """Five replies of one thread in one batch, four strongly negative: one alert (the third
    negative reply makes it due, the cool-down holds the fourth), and the stored state keeps
    all five replies and the alert's count."""
    replies = [ThreadEntry(NOW + i, negative) for i, negative in
               enumerate([True, False, True, True, True])]
    state, flag = observe_all(ThreadState(), replies, NOW + 10, RULE)
    assert flag == Flag(3, 3.0)
    assert [entry.ts for entry in state.entries] == [NOW + i for i in range(5)]
    assert (state.last_alert_at, state.last_alert_negatives) == (NOW + 10, 3)
    calm, none = observe_all(ThreadState(), replies[:2], NOW + 10, RULE)
    assert none is None and len(calm.entries) == 2


def test_the_time_window_includes_a_message_exactly_window_minutes_old():
    """With ``regra 2 2 30``: the last 2 messages, plus any of the last 30 minutes, the edge
    included (exactly 30 min old is in, 30 min 10 s old is out)."""
    rule = ModerationRule(min_negatives=2, window_messages=2, window_minutes=30)
    old = [ThreadEntry(NOW - 1810, True), ThreadEntry(NOW - 1800, True)]
    recent = [ThreadEntry(NOW - 60, False), ThreadEntry(NOW - 30, False)]
    assert [e.ts for e in in_window(old + recent, NOW, rule)] == [NOW - 1800, NOW - 60, NOW - 30]


def test_a_manual_flag_on_a_calm_thread_reports_no_negatives_over_no_time():
    """Flagging a thread with no strongly negative message: 0 messages over 0 s."""
    assert manual_flag(ThreadState(), NOW, RULE) == Flag(0, 0.0)


def _rule(text: str) -> ModerationRule:
    return parse_rule(text, RULE)


@pytest.mark.parametrize("parse, typed, shown", [
    (parse_channel, "#moderacao", "Não reconheci o canal “#moderacao”. Escreva `#canal` (escolha "
     "o canal na lista que o Slack mostra ao digitar #)."),
    (parse_group, "@mods", "Não reconheci o grupo “@mods”. Escreva `@grupo` (escolha o grupo "
     "de usuários na lista que o Slack mostra ao digitar @)."),
    (parse_threshold, "alto", "Limiar inválido: “alto”. Use um número maior que 0 e até 1, "
     "ex.: `limiar 0,85`."),
    (parse_threshold, "0,8X", "Limiar inválido: “0,8X”. Use um número maior que 0 e até 1, "
     "ex.: `limiar 0,85`."),
    (parse_threshold, "1,5", "Limiar inválido: “1,5”. O limiar deve ser maior que 0 e no "
     "máximo 1 (ex.: `limiar 0,85`)."),
    (_rule, "3 10", "Regra inválida: “3 10”. Use `regra N M T`: alerta quando N mensagens muito "
     "negativas aparecem entre as últimas M mensagens ou nos últimos T minutos de uma thread "
     "(ex.: `regra 3 10 30`)."),
    (_rule, "1 10 30", "O mínimo de mensagens negativas deve estar entre 2 e 50."),
    (_rule, "5 4 30", "A janela de mensagens deve estar entre o mínimo de negativas e 100."),
    (_rule, "3 10 0", "A janela de tempo deve estar entre 1 e 1440 minutos (24 h)."),
])
def test_each_refusal_is_the_portuguese_sentence_the_moderator_reads(parse, typed, shown):
    """What a moderator sees in Slack after a typo, word for word: what was not understood,
    what to type instead and an example (with the decimal comma)."""
    with pytest.raises(RuleError) as refused:
        parse(typed)
    assert str(refused.value) == shown


def test_a_batch_without_new_replies_leaves_the_thread_as_it_was_and_raises_no_alert():
    """``observe_all`` of no entries: the same state and no flag (None, which the watcher tests
    with ``is None`` before building an alert)."""
    state = ThreadState(entries=(ThreadEntry(NOW - 10, True),), last_alert_at=NOW - 5)
    assert observe_all(state, [], NOW, RULE) == (state, None)
