"""Report maths and rendering, as pure functions (no Slack, no store)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.counting.model import Tally
from bot.reports.chart import mood_chart_png
from bot.reports.model import (
    PeriodError, apportion, build_report, iso_week, last_week, mood_index, parse_period,
    report_range, shares,
)
from bot.reports.export import to_csv
from bot.reports.views import (
    OFF_WORDS, ON_WORDS, day_line, digest_message, digest_status_message, emoji_bar,
    parse_share_value, render_blocks, render_text, week_pt,
)

TODAY = dt.date(2026, 11, 20)  # a Friday


def counts(pos=0, neu=0, neg=0):
    """A counts mapping."""
    return {"positive": pos, "neutral": neu, "negative": neg}


@pytest.mark.parametrize("text,key,days", [
    (None, "7d", 7), ("", "7d", 7), ("  ", "7d", 7), ("hoje", "hoje", 1), ("HOJE ", "hoje", 1),
    ("7d", "7d", 7), ("30D", "30d", 30)])
def test_parse_period(text, key, days):
    """Parse period."""
    period = parse_period(text)
    assert (period.key, period.days) == (key, days)


@pytest.mark.parametrize("text", ["ontem", "14d", "7", "30 dias", "-1d"])
def test_parse_period_rejects_others_in_portuguese(text):
    """Parse period rejects others in portuguese."""
    with pytest.raises(PeriodError) as error:
        parse_period(text)
    message = str(error.value)
    assert "Período inválido" in message and "`hoje`, `7d` ou `30d`" in message


def test_windows():
    """Windows."""
    period = parse_period("7d")
    assert period.window(TODAY) == (dt.date(2026, 11, 14), TODAY)
    assert period.previous_window(TODAY) == (dt.date(2026, 11, 7), dt.date(2026, 11, 13))
    today = parse_period("hoje")
    assert today.window(TODAY) == (TODAY, TODAY)
    assert today.previous_window(TODAY) == (dt.date(2026, 11, 19),) * 2


@pytest.mark.parametrize("given,expected", [
    (counts(1, 1, 1), counts(34, 33, 33)),
    (counts(2, 1, 0), counts(67, 33, 0)),
    (counts(1, 0, 0), counts(100, 0, 0)),
    (counts(1, 5, 1), counts(14, 72, 14)),
    (counts(0, 0, 0), counts(0, 0, 0)),
    (counts(199, 1, 0), counts(100, 0, 0)),  # tie on .5: the larger count gets it
    (counts(197, 3, 0), counts(99, 1, 0)),
    (counts(1, 1, 0), counts(50, 50, 0)),
])
def test_shares_add_up_to_100(given, expected):
    """Shares add up to 100."""
    result = shares(given)
    assert result == expected
    assert sum(result.values()) in (0, 100)


def test_shares_add_up_for_many_mixes():
    """Shares add up for many mixes."""
    for pos in range(0, 12):
        for neu in range(0, 12):
            for neg in range(0, 12):
                total = sum(shares(counts(pos, neu, neg)).values())
                assert total == (100 if pos + neu + neg else 0)


@pytest.mark.parametrize("given,expected", [
    (counts(10, 0, 0), 100), (counts(0, 3, 0), 0), (counts(0, 0, 4), -100), (counts(3, 4, 1), 25),
    (counts(1, 1, 1), 0), (counts(2, 0, 1), 33), (counts(1, 0, 2), -33), (counts(1, 6, 0), 14),
    (counts(1, 0, 7), -75), (counts(0, 0, 0), None)])
def test_mood_index(given, expected):
    """Mood index."""
    assert mood_index(given) == expected


def test_emoji_bar_is_proportional_and_fixed_width():
    """Emoji bar is proportional and fixed width."""
    assert emoji_bar(counts(5, 3, 2)) == "🟩" * 5 + "⬜" * 3 + "🟥" * 2
    assert emoji_bar(counts(1, 0, 0)) == "🟩" * 10
    assert emoji_bar(counts(0, 0, 0)) == "▫️" * 10
    assert sum(apportion(counts(1, 1, 1), 10).values()) == 10


def test_report_totals_missing_days_and_trend():
    """Report totals missing days and trend."""
    daily = {
        "2026-11-20": counts(3, 1, 0), "2026-11-18": counts(0, 0, 2), "2026-11-14": counts(1, 0, 0),
        "2026-11-10": counts(1, 1, 2),  # previous period
        "2026-11-01": counts(50, 0, 0),  # before both: ignored
    }
    report = build_report("T1", "C1", parse_period("7d"), TODAY, daily)
    assert [row.day.isoformat() for row in report.rows] == [
        f"2026-11-{d}" for d in range(14, 21)]
    assert [row.total for row in report.rows] == [1, 0, 0, 0, 2, 0, 4]
    assert report.totals == counts(4, 1, 2) and report.total == 7
    assert report.shares == counts(57, 14, 29)
    assert report.mood_index == 29  # 100 * (4 - 2) / 7
    assert report.previous_totals == counts(1, 1, 2) and report.previous_mood_index == -25
    assert report.mood_change == 54
    assert report.volume_change_pct == 75
    assert report.rows[1].mood is None


def test_empty_periods():
    """Empty periods."""
    report = build_report("T1", "C1", parse_period("30d"), TODAY, {})
    assert len(report.rows) == 30 and report.total == 0
    assert report.mood_index is None and report.mood_change is None
    assert report.volume_change_pct is None
    assert report.shares == counts(0, 0, 0)
    text = json.dumps(render_blocks(report), ensure_ascii=False)
    assert "Nenhuma mensagem analisada" in text
    only_previous = build_report("T1", "C1", parse_period("hoje"), TODAY,
                                 {"2026-11-19": counts(1, 0, 0)})
    assert only_previous.mood_change is None and only_previous.volume_change_pct == -100


def test_blocks_show_the_figures_in_portuguese_with_a_share_button():
    """Blocks show the figures in portuguese with a share button."""
    report = build_report("T1", "C1", parse_period("7d"), TODAY,
                          {"2026-11-20": counts(3, 1, 0), "2026-11-18": counts(0, 0, 2),
                           "2026-11-10": counts(1, 1, 2)})
    blocks = render_blocks(report)
    text = json.dumps(blocks, ensure_ascii=False)
    assert "últimos 7 dias" in text and "<#C1>" in text and "14/11 a 20/11/2026" in text
    assert "*Mensagens analisadas*\\n6" in text
    assert "Positivo: 50% (3)" in text and "Neutro: 17% (1)" in text and "Negativo: 33% (2)" in text
    assert "+17 (neutro" in text  # 100 * (3 - 2) / 6
    assert "▲ +42 pontos no humor em relação aos 7 dias anteriores" in text
    assert "+50% de mensagens" in text
    assert "sem mensagens" in text  # days without messages are listed
    assert text.count("`sex 20/11`") == 1 and "`sáb 14/11`" in text
    button = blocks[-1]["elements"][0]
    assert button["action_id"] == "report_share" and button["text"]["text"] == "Compartilhar no canal"
    assert json.loads(button["value"]) == {"team": "T1", "channel": "C1", "period": "7d"}
    team, channel, period = parse_share_value(button["value"])
    assert (team, channel, period.key) == ("T1", "C1", "7d")
    assert all(block["type"] != "actions" for block in render_blocks(report, share_button=False))
    assert "6 mensagens" in render_text(report)
    for block in blocks:  # Slack's limits: section text 3000, header 150
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000


def test_thirty_day_blocks_stay_within_slack_limits():
    """Thirty day blocks stay within slack limits."""
    daily = {(TODAY - dt.timedelta(days=n)).isoformat(): counts(n, 2 * n, 3) for n in range(30)}
    report = build_report("T1", "C1", parse_period("30d"), TODAY, daily)
    blocks = render_blocks(report)
    assert len(blocks) <= 50
    per_day = next(b for b in blocks if "Por dia" in b.get("text", {}).get("text", ""))
    assert per_day["text"]["text"].count("\n") == 30 and len(per_day["text"]["text"]) <= 3000


def test_share_value_rejects_garbage():
    """Share value rejects garbage."""
    for value in ("", "{}", "[1]", '{"team":"T","channel":"C","period":"ano"}'):
        with pytest.raises(ValueError):
            parse_share_value(value)


def test_day_line():
    """Day line: "mensagem"/"mensagens" written out, as everywhere else."""
    report = build_report("T1", "C1", parse_period("hoje"), TODAY, {"2026-11-20": counts(1, 0, 0)})
    assert day_line(report.rows[0]) == "`sex 20/11` " + "🟩" * 10 + "  1 mensagem · humor +100"
    report = build_report("T1", "C1", parse_period("hoje"), TODAY, {"2026-11-20": counts(2, 1, 0)})
    assert "  3 mensagens · humor" in day_line(report.rows[0])


def test_the_digest_names_its_week_as_people_do():
    """The digest's header: "semana de 23 a 29 de novembro de 2026", not "2026-W48"; a week
    across two months or two years names both."""
    assert week_pt(dt.date(2026, 11, 23), dt.date(2026, 11, 29)) == \
        "semana de 23 a 29 de novembro de 2026"
    assert week_pt(dt.date(2026, 11, 30), dt.date(2026, 12, 6)) == \
        "semana de 30 de novembro a 6 de dezembro de 2026"
    assert week_pt(dt.date(2026, 12, 28), dt.date(2027, 1, 3)) == \
        "semana de 28 de dezembro de 2026 a 3 de janeiro de 2027"
    report = build_report("T1", "C1", parse_period("7d"), dt.date(2026, 11, 29),
                          {"2026-11-25": counts(1, 0, 0)})
    shown = json.dumps(digest_message(report, "2026-W48"), ensure_ascii=False)
    assert "Resumo semanal do humor — semana de 23 a 29 de novembro de 2026" in shown
    assert "W48" not in shown and "`/sentimento resumo desativar`" in shown


def test_resumo_offers_ativar_and_still_takes_on_and_off():
    """ativar/desativar come first in the words and in the answers; on/off still work."""
    assert (ON_WORDS[0], OFF_WORDS[0]) == ("ativar", "desativar")
    assert {"on", "ligar"} <= set(ON_WORDS) and {"off", "desligar"} <= set(OFF_WORDS)
    assert "resumo ativar" in json.dumps(digest_status_message(False), ensure_ascii=False)


def test_weeks_for_the_digest():
    """Weeks for the digest."""
    assert iso_week(dt.date(2026, 11, 20)) == "2026-W47"
    assert last_week(dt.date(2026, 11, 23)) == ("2026-W47", dt.date(2026, 11, 22))  # Monday
    assert last_week(dt.date(2026, 11, 29)) == ("2026-W47", dt.date(2026, 11, 22))  # Sunday
    assert last_week(dt.date(2027, 1, 4)) == ("2026-W53", dt.date(2027, 1, 3))


def test_chart_is_a_png():
    """Chart is a png."""
    daily = {(TODAY - dt.timedelta(days=n)).isoformat(): counts(n % 4, 2, n % 3) for n in range(0, 30, 2)}
    png = mood_chart_png(build_report("T1", "C1", parse_period("30d"), TODAY, daily))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 10_000
    empty = mood_chart_png(build_report("T1", "C1", parse_period("7d"), TODAY, {}))
    assert empty[:8] == b"\x89PNG\r\n\x1a\n"


def test_trend_without_a_previous_period():
    """Trend without a previous period."""
    report = build_report("T1", "C1", parse_period("hoje"), TODAY, {"2026-11-20": counts(1, 0, 0)})
    text = json.dumps(render_blocks(report), ensure_ascii=False)
    assert "Sem mensagens ontem para comparar." in text
    falling = build_report("T1", "C1", parse_period("hoje"), TODAY,
                           {"2026-11-20": counts(0, 0, 1), "2026-11-19": counts(1, 0, 0)})
    assert "▼ −200 pontos no humor em relação a ontem" in json.dumps(render_blocks(falling),
                                                                      ensure_ascii=False)


def test_a_report_says_how_many_messages_of_its_period_could_not_be_analysed():
    """Dropped messages of the period (not of the period before) are summed and shown in
    Portuguese with the right plural; a period without any shows nothing about it."""
    today = dt.date(2026, 11, 20)
    inside, before = Tally(), Tally()
    inside.counts["positive"], inside.dropped = 3, 2
    before.dropped = 5
    report = build_report("T", "C", parse_period("7d"), today,
                          {"2026-11-19": inside, "2026-11-10": before})
    assert report.dropped == 2
    shown = json.dumps(render_blocks(report), ensure_ascii=False)
    assert "2 mensagens recebidas neste período não puderam ser analisadas" in shown
    inside.dropped = 1
    one = build_report("T", "C", parse_period("7d"), today, {"2026-11-19": inside})
    assert "1 mensagem recebida neste período não pôde ser analisada" in json.dumps(
        render_blocks(one), ensure_ascii=False)
    inside.dropped = 0
    none = build_report("T", "C", parse_period("7d"), today, {"2026-11-19": inside})
    assert "não puderam" not in json.dumps(render_blocks(none), ensure_ascii=False)
    assert "não pôde" not in json.dumps(render_blocks(none), ensure_ascii=False)


def tally(pos=0, neu=0, neg=0, models=()):
    """A stored day's tally with the model versions that classified it."""
    return Tally(counts(pos, neu, neg), models=set(models))


def test_a_report_spanning_a_model_change_names_both_versions_and_their_days():
    """Two versions in the period: the report says so, naming each briefly with its days; the
    previous period's versions do not count."""
    hub = "cardiffnlp/twitter-xlm-roberta-base-sentiment@f2f1202b1bdeb07342385c3f807f9c07cd8f5cf8"
    daily = {"2026-11-10": tally(1, models=["org/velho@0000000aaaa"]),
             "2026-11-14": tally(2, models=["LeIA@lexicon-0.0.1"]),
             "2026-11-16": tally(1, 1, models=["LeIA@lexicon-0.0.1", hub]),
             "2026-11-20": tally(0, 3, models=[hub]),
             "2026-11-18": tally(4)}  # counted before versions were kept: names none
    report = build_report("T1", "C1", parse_period("7d"), TODAY, daily)
    assert report.model_changed
    text = json.dumps(render_blocks(report), ensure_ascii=False)
    assert ("O modelo de análise mudou neste período: `LeIA@lexicon-0.0.1` (14/11 a 16/11), "
            "`twitter-xlm-roberta-base-sentiment@f2f1202` (16/11 a 20/11).") in text
    assert "velho" not in text


def test_a_report_of_one_model_version_says_nothing_about_models():
    """One version (or none recorded): no note."""
    for models in (["LeIA@lexicon-0.0.1"], []):
        report = build_report("T1", "C1", parse_period("7d"), TODAY,
                              {"2026-11-19": tally(1, models=models),
                               "2026-11-20": tally(2, models=models)})
        assert not report.model_changed
        assert "modelo de análise mudou" not in json.dumps(render_blocks(report), ensure_ascii=False)


@pytest.mark.parametrize("pos, neu, neg, index, shown", [
    (1, 39, 0, 3, "+3"),  # 100 * 1 / 40 = 2.5
    (0, 39, 1, -3, "−3"),  # -2.5 (reports show a real minus sign)
    (1, 7, 0, 13, "+13"),  # 12.5
    (0, 7, 1, -13, "−13"),  # -12.5
])
def test_a_mood_index_half_way_between_two_points_rounds_away_from_zero(pos, neu, neg, index, shown):
    """A mood index of 2.5 shows 3 (and -2.5 shows -3), as people round, not Python's
    round-half-to-even, which would show 2 and 12 for 2.5 and 12.5."""
    report = build_report("T1", "C1", parse_period("hoje"), TODAY,
                          {TODAY.isoformat(): counts(pos, neu, neg)})
    assert report.mood_index == index
    assert f"índice {shown} " in render_text(report)


def test_a_volume_change_half_way_between_two_percents_rounds_away_from_zero():
    """8 messages last week and 9 this week is +12.5%: shown as +13%, not +12%; 8 then 7 is -13%."""
    up = build_report("T1", "C1", parse_period("hoje"), TODAY,
                      {"2026-11-19": counts(8, 0, 0), "2026-11-20": counts(9, 0, 0)})
    down = build_report("T1", "C1", parse_period("hoje"), TODAY,
                        {"2026-11-19": counts(8, 0, 0), "2026-11-20": counts(7, 0, 0)})
    assert (up.volume_change_pct, down.volume_change_pct) == (13, -13)


def test_labels_missing_from_a_days_counts_count_as_none_of_them():
    """A day stored with only some labels (``{"positive": 2}``) has none of the others: its
    shares, bar, mood index and report show zeros for them, not one message each."""
    assert shares({"positive": 2}) == counts(100, 0, 0)
    assert shares({"positive": 1, "neutral": 1}) == counts(50, 50, 0)
    assert emoji_bar({"negative": 3}) == "🟥" * 10
    assert mood_index({"positive": 1}) == 100
    assert mood_index({"positive": 1, "neutral": 1}) == 50
    assert mood_index({"negative": 1, "neutral": 1}) == -50
    report = build_report("T1", "C1", parse_period("hoje"), TODAY,
                          {TODAY.isoformat(): {"neutral": 2}})
    assert report.totals == counts(0, 2, 0) and report.mood_index == 0


def test_a_share_tied_on_the_rounding_goes_to_the_label_with_more_messages():
    """1 positive and 199 neutral are 0.5% and 99.5%: the neutral messages, the many, show
    100%, as the one positive message alone cannot be worth a whole point more than them."""
    assert shares(counts(1, 199, 0)) == counts(0, 100, 0)
    assert shares(counts(0, 199, 1)) == counts(0, 100, 0)
    assert shares(counts(0, 1, 199)) == counts(0, 0, 100)


def test_only_the_periods_own_first_and_last_days_add_their_unanalysed_messages():
    """Messages that could not be analysed on the period's first and last days are reported;
    a day of plain counts (no record of failures) adds none."""
    first, last, plain = Tally(), Tally(), counts(2, 0, 0)
    first.dropped, last.dropped = 1, 2
    report = build_report("T", "C", parse_period("7d"), TODAY,
                          {"2026-11-14": first, "2026-11-20": last, "2026-11-17": plain})
    assert report.dropped == 3
    assert build_report("T", "C", parse_period("7d"), TODAY, {"2026-11-17": plain}).dropped == 0


def test_a_report_reads_its_period_and_the_whole_period_before():
    """A 7-day report to Friday 20 reads from Saturday 7 (the 7 days before included)."""
    assert report_range(parse_period("7d"), TODAY) == (dt.date(2026, 11, 7), TODAY)
    assert report_range(parse_period("hoje"), TODAY) == (dt.date(2026, 11, 19), TODAY)


def test_the_export_names_team_channel_dates_every_day_and_totals():
    """``python -m bot report`` prints these fields (JSON) or these rows (CSV)."""
    report = build_report("T1", "C1", parse_period("hoje"), TODAY,
                          {"2026-11-20": counts(3, 1, 0), "2026-11-19": counts(0, 0, 5)})
    assert report.to_dict() == {
        "team": "T1", "channel": "C1", "start": "2026-11-20", "end": "2026-11-20",
        "days": [{"date": "2026-11-20", "positive": 3, "neutral": 1, "negative": 0}],
        "totals": {"positive": 3, "neutral": 1, "negative": 0}, "mood_index": 75,
    }
    assert to_csv(report.to_dict()) == ("date,positive,neutral,negative,total\n"
                                        "2026-11-20,3,1,0,4\ntotal,3,1,0,4\n")
