"""Every Block Kit surface stays within Slack's documented limits, whatever the data: extreme
data rendered by hypothesis and checked by one validator, plus the exact edges where a list
starts saying "… e mais N"."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import (
    ActionsBlock, ButtonElement, ContextBlock, HeaderBlock, SectionBlock,
)
from slack_sdk.models.views import View

from bot import limits
from bot.blocks import notice
from bot.classify import views as classify_views
from bot.classify.port import ModelInfo
from bot.command import BUILTIN_HELP, SubcommandHelp, help_message
from bot.counting.model import ChannelActivity, Tally
from bot.feedback import views as feedback_views
from bot.feedback.rules import (
    FeedbackCount, Vote, evaluation_figures, suggest_threshold, summarise, valid_version,
)
from bot.home.views import home_view
from bot.moderation import views as moderation_views
from bot.moderation.rules import (
    MAX_PENDING_ALERTS, Alert, ModerationRule, ModerationSettings, RuleError, parse_channel,
    parse_group, parse_rule, parse_threshold,
)
from bot.reports import views as report_views
from bot.reports.model import PeriodError, build_report, parse_period
from service.labels import LABELS, Classification
from tests.support.block_kit import block_texts, check_blocks
from tests.support.fuzz import fuzz_settings

FUZZ = fuzz_settings(0.5)  # 100 examples in CI; FUZZ_EXAMPLES scales it
TODAY = dt.date(2026, 11, 20)
NOW = 1_800_000_000.0
LONGEST_ID = "C" + "Z" * 63  # bot.ids accepts up to 64 characters

# -- strategies --------------------------------------------------------------------------------

# The extremes are drawn often on purpose: hypothesis alone favours small, short values.
ids = st.sampled_from([LONGEST_ID, "C1"]) | st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=63).map(
        lambda tail: "C" + tail)
counts = st.sampled_from([0, 1, 10**15]) | st.integers(min_value=0, max_value=10**15)
MARKUP = "<>&*_~`>|#@!^:\n 🟩ção"
# user text up to 40,000 characters, with Slack markup, emoji and newlines
user_text = st.builds(lambda piece, times: piece * times,
                      st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
                              | st.sampled_from(MARKUP), min_size=1, max_size=40),
                      st.integers(min_value=1, max_value=1000)).map(lambda text: text[:40_000])
permalinks = st.none() | st.builds(
    lambda channel, digits: f"https://espaco-de-trabalho.slack.com/archives/{channel}/p{digits}",
    ids, st.sampled_from([16, 3000]).map(lambda n: "9" * n) | st.text(
        alphabet="0123456789abcdef?=&", min_size=1, max_size=100))


def lists_of(elements, most: int):
    """Lists of ``elements``, often empty, single, or as long as ``most``."""
    sizes = st.sampled_from([0, 1, 15, most]) | st.integers(min_value=0, max_value=most)
    return sizes.flatmap(lambda n: st.lists(elements, min_size=n, max_size=n))


@st.composite
def reports(draw):
    """A report of any period, with any counts (zeros and huge ones) on any of its days."""
    period = parse_period(draw(st.sampled_from(["hoje", "7d", "30d"])))
    days = [(TODAY - dt.timedelta(days=n)).isoformat() for n in range(2 * period.days)]
    daily = draw(st.dictionaries(st.sampled_from(days),
                                 st.fixed_dictionaries({label: counts for label in LABELS})))
    return build_report(draw(ids), draw(ids), period, TODAY, daily)


@st.composite
def alerts(draw):
    """A stored alert with the longest ids, any figures, a long permalink or none, any state."""
    state = draw(st.sampled_from(["open", "acknowledged", "false_alarm"]))
    return Alert(draw(ids), draw(ids), draw(ids), "1800000000.000100",
                 draw(st.integers(0, 10**9)), draw(st.floats(0, 10**9)),
                 draw(st.floats(0, 4 * 10**9)), manual=draw(st.booleans()),
                 flagged_by=draw(ids), permalink=draw(permalinks), state=state,
                 by=None if state == "open" else draw(ids),
                 at=None if state == "open" else draw(st.floats(0, 4 * 10**9)))


activities = st.builds(lambda channel, figures: ChannelActivity(channel, Tally(counts=figures)),
                       ids, st.fixed_dictionaries({label: counts for label in LABELS}))
subcommands = st.builds(SubcommandHelp, st.text(min_size=1, max_size=200),
                        st.text(min_size=1, max_size=500))


def assert_within(kind, payload):
    """The payload is within every limit (all problems listed when not)."""
    problems = check_blocks(kind, payload)
    assert not problems, problems


# -- the limits themselves ---------------------------------------------------------------------

def test_limits_agree_with_slack_sdk():
    """The numbers in bot.limits are the ones slack_sdk's models enforce."""
    assert limits.SECTION_TEXT == SectionBlock.text_max_length
    assert limits.SECTION_FIELDS == SectionBlock.fields_max_length
    assert limits.HEADER_TEXT == HeaderBlock.text_max_length
    assert limits.CONTEXT_ELEMENTS == ContextBlock.elements_max_length
    assert limits.ACTIONS_ELEMENTS == ActionsBlock.elements_max_length
    assert limits.BUTTON_TEXT == ButtonElement.text_max_length
    assert limits.BUTTON_VALUE == ButtonElement.value_max_length
    assert limits.BUTTON_URL == ButtonElement.url_max_length
    assert limits.ACTION_ID == ButtonElement.action_id_max_length
    assert limits.BLOCK_ID == SectionBlock.block_id_max_length
    assert limits.VIEW_BLOCKS == View.blocks_max_length


def test_validator_catches_what_slack_refuses():
    """The validator is not vacuous: the measured bug and other breaches are reported."""
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert check_blocks("home", {"type": "home", "blocks": [too_long]})
    assert check_blocks("message", {"text": "t", "blocks": [{"type": "divider"}] * 51})
    assert check_blocks("message", {"blocks": [{"type": "divider"}]})  # no top-level text
    assert check_blocks("message", {"text": "t", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "🟩" * 76}}]})  # 152 units
    assert check_blocks("message", {"text": "t", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x" * 76}}]}]})
    assert not check_blocks("message", notice("ok"))


def test_truncate_counts_emoji_as_two_and_never_breaks_markup():
    """Cut text ends with "…", fits, and does not leave half a mention or link."""
    assert limits.truncate("curto", 10) == "curto"
    assert limits.size("🟩") == 2 and limits.size(limits.truncate("🟩" * 10, 7)) <= 7
    cut = limits.truncate("veja <#C0GERAL|geral> agora", 14)
    assert cut == "veja…"
    assert limits.truncate("a" * 50, 10) == "a" * 9 + "…"


def test_fit_lines_keeps_whole_lines_and_counts_the_rest():
    """Lines are never cut; what is left out is counted; with room kept for that line."""
    lines = [f"linha {n:02d}" for n in range(10)]  # 8 characters each
    assert limits.fit_lines(lines[:3], 40) == "\n".join(lines[:3])
    assert limits.fit_lines(lines[:4], 40) == "\n".join(lines[:3]) + "\n… e mais 1"
    assert limits.fit_lines(lines, 40) == "\n".join(lines[:3]) + "\n… e mais 7"
    assert limits.fit_lines([], 40, head="*Título*") == "*Título*"


def test_split_sections_fills_parts_in_order_and_counts_what_is_left():
    """Several parts before cutting; the last one says how many lines did not fit."""
    lines = [f"{n:03d}" + "x" * 6 for n in range(12)]  # 9 characters each, 10 with a newline
    parts = limits.split_sections(lines, 30, 3, head="T")
    assert parts[0] == "T\n" + "\n".join(lines[:2])
    assert parts[1] == "\n".join(lines[2:5])
    assert parts[2] == "\n".join(lines[5:7]) + "\n… e mais 5"
    assert all(len(part) <= 30 for part in parts)
    assert limits.split_sections(lines[:4], 30, 3) == ["\n".join(lines[:3]), lines[3]]
    assert not limits.split_sections([], 30, 3)


# -- every surface, from extreme data ----------------------------------------------------------

@FUZZ
@given(report=reports(), paused=st.booleans(), user=ids, week=st.text(max_size=300))
def test_reports_and_digest_stay_within_limits(report, paused, user, week):
    """The ephemeral report, the shared one, its confirmation and the digest."""
    assert_within("message", report_views.report_message(report, paused=paused))
    assert_within("message", report_views.shared_report_message(report, user))
    assert_within("message", report_views.shared_confirmation(report))
    assert_within("message", report_views.digest_message(report, week))
    shown = block_texts(report_views.report_message(report))
    days = len(re.findall(r"`\w+ \d\d/\d\d`", shown))
    hidden = re.search(r"e mais (\d+) dias?", shown)
    assert report.total == 0 or days + (int(hidden.group(1)) if hidden else 0) == len(report.rows)


@FUZZ
@given(channels=lists_of(activities, 100), paused_share=st.booleans(),
       pending=lists_of(alerts(), MAX_PENDING_ALERTS), hidden=st.integers(0, 10**6),
       extra_help=lists_of(subcommands, 30), moderators=st.none() | ids)
def test_app_home_stays_within_limits(channels, paused_share, pending, hidden, extra_help,
                                      moderators):
    """The whole App Home: 100 channels, 50 alerts with long permalinks, many subcommands."""
    paused = [a.channel_id for a in channels] if paused_share else []
    sections = [*report_views.home_channels_blocks(channels, paused),
                *moderation_views.home_blocks(ModerationSettings(channel_id=moderators),
                                              pending, hidden)]
    assert_within("home", home_view(extra_blocks=sections, extra_help=extra_help))


@FUZZ
@given(alert=alerts(), pending=st.integers(0, 10**9), user=ids, channel=ids, group=ids,
       sent=st.integers(0, 10**9), failed=st.booleans(), false_alarms=st.integers(0, 10**9))
def test_moderation_messages_stay_within_limits(alert, pending, user, channel, group, sent,
                                                failed, false_alarms):
    """The alert (open and resolved), status, and every moderation answer."""
    assert_within("message", moderation_views.alert_message(alert))
    settings_ = ModerationSettings(channel_id=None if sent % 2 else channel, group_id=group,
                                   rule=ModerationRule(), false_alarms=false_alarms)
    assert_within("message", moderation_views.status_message(settings_, pending))
    assert_within("message", moderation_views.channel_set_message(user, channel, sent, failed))
    assert_within("message", moderation_views.group_set_message(group))
    assert_within("message", moderation_views.rule_set_message(settings_))
    assert_within("message", moderation_views.flag_answer(failed))


@FUZZ
@given(typed=user_text)
def test_messages_that_repeat_what_the_user_typed_stay_short(typed):
    """Period, switch, channel, group, threshold and rule errors repeat at most a short,
    one-line piece of what was typed."""
    answers = [report_views.digest_usage_message(typed)]
    for parse in (parse_period, parse_channel, parse_group, parse_threshold,
                  lambda text: parse_rule(text, ModerationRule())):
        try:
            parse(typed)
        except (PeriodError, RuleError) as exc:
            answers.append(notice(str(exc)) if isinstance(exc, PeriodError)
                           else moderation_views.usage_message(str(exc)))
    for answer in answers:
        assert_within("message", answer)
        assert limits.size(answer["text"]) < 500


@FUZZ
@given(typed=user_text, reason=user_text, backend=st.text(max_size=5000),
       fallback=st.booleans(), scores=st.fixed_dictionaries(
           {label: st.floats(0, 1) for label in LABELS}).filter(lambda s: sum(s.values()) > 0))
def test_classification_answers_stay_within_limits(typed, reason, backend, fallback, scores):
    """The result with a quote of a 40,000-character text, and every failure notice."""
    result = Classification.from_scores(scores)
    answer = classify_views.result_message(result, backend, fallback, text=typed)
    assert_within("message", answer)
    assert limits.size(answer["blocks"][0]["text"]["text"]) <= classify_views.QUOTE_CHARS + 2
    assert_within("message", classify_views.unavailable_message(reason))
    assert_within("message", classify_views.input_error_message(reason))


@FUZZ
@given(extra=lists_of(subcommands, 200), user=ids, error=st.text(max_size=5000),
       subcommand=st.text(min_size=1, max_size=5000), flags=st.tuples(st.booleans(), st.booleans()))
def test_help_and_channel_answers_stay_within_limits(extra, user, error, subcommand, flags):
    """The help with up to 200 subcommands, and the answers about pausing, digest, sharing."""
    assert_within("message", help_message(extra))
    for answer in (report_views.pause_message(user, *flags),
                   report_views.digest_changed_message(user, *flags),
                   report_views.digest_status_message(flags[0]),
                   report_views.share_failed_message(error),
                   report_views.not_a_channel_message(subcommand)):
        assert_within("message", answer)


# -- the measured bug, and the exact edges -----------------------------------------------------

def pending_alert(number: int, permalink_chars: int = 60) -> Alert:
    """A pending alert like the store keeps them (``permalink_chars`` long link)."""
    channel = f"C0CANAL{number:03d}"
    link = f"https://teste.slack.com/archives/{channel}/p"
    return Alert(f"{number:020d}", "T1", channel, "1800000000.000100", 3,
                 125.0, NOW + number, permalink=link + "1" * (permalink_chars - len(link)))


def admin_home(alerts_: list[Alert]) -> dict:
    """The App Home of an admin who is in every channel, before a moderators' channel is set."""
    return home_view(extra_blocks=moderation_views.home_blocks(ModerationSettings(), alerts_, 0))


def listed(view: dict) -> tuple[int, int]:
    """(alerts listed, alerts counted in "… e mais N alertas") in an App Home."""
    text = block_texts(view)
    more = re.search(r"… e mais (\d+) alertas?", text)
    return text.count("• <#C0CANAL"), int(more.group(1)) if more else 0


@pytest.mark.parametrize("count", [15, 50])
def test_admin_home_with_many_pending_alerts_is_published_within_limits(count):
    """Regression: 15 pending alerts made one 3,807-character section and Slack refused the
    whole Home (invalid_blocks). Now every limit holds and each alert is listed or counted."""
    view = admin_home([pending_alert(n) for n in range(count)])
    assert_within("home", view)
    shown, more = listed(view)
    assert shown + more == count and shown >= 15
    assert "Nenhum canal de moderadores configurado" in block_texts(view)


def test_admin_home_with_the_longest_alerts_lists_what_fits_and_counts_the_rest():
    """50 alerts with 1,000-character permalinks: as many as fit, then "… e mais N alertas"."""
    view = admin_home([pending_alert(n, permalink_chars=1000) for n in range(50)])
    assert_within("home", view)
    shown, more = listed(view)
    assert more > 0 and shown + more == 50
    assert block_texts(view).count("e mais") == 1


def most_without_more(render, lines_of) -> int:
    """The largest count whose rendering says no "e mais" (searching upwards, up to 1,000)."""
    count = 1
    while "e mais" not in lines_of(render(count + 1)):
        count += 1
        assert count < 1000, "the list never says how many were left out"
    return count


@pytest.mark.parametrize("permalink_chars", [60, 400, 1500])
def test_alerts_exactly_at_the_limit(permalink_chars):
    """The most alerts that fit are all listed; one more shows "… e mais 1 alerta"."""
    def render(count):
        return admin_home([pending_alert(n, permalink_chars) for n in range(count)])

    most = most_without_more(render, block_texts)
    assert listed(render(most)) == (most, 0)
    assert_within("home", render(most))
    assert listed(render(most + 1)) == (most, 1)
    assert "… e mais 1 alerta" in block_texts(render(most + 1))
    assert listed(render(most + 2)) == (most, 2)


def test_channels_exactly_at_the_limit():
    """The App Home's channel list: all that fit, then "… e mais 1 canal"."""
    def render(count):
        return report_views.home_channels_blocks(
            [ChannelActivity(f"{LONGEST_ID[:-3]}{n:03d}", Tally(counts=dict.fromkeys(LABELS, 10**9)))
             for n in range(count)])

    def text(blocks):
        return block_texts({"blocks": blocks})

    most = most_without_more(render, text)
    assert text(render(most)).count("<#C") == most
    assert_within("home", home_view(extra_blocks=render(most)))
    assert text(render(most + 1)).count("<#C") == most
    assert "… e mais 1 canal\n" in text(render(most + 1)) + "\n"
    assert_within("home", home_view(extra_blocks=render(100)))
    assert "… e mais " in text(render(100))


def test_help_with_many_subcommands_splits_then_counts():
    """A long help fills several sections before it cuts; each subcommand is listed or counted."""
    def render(count):
        return help_message([SubcommandHelp(f"comando{n:03d} <argumentos>", "x" * 400)
                             for n in range(count)])

    assert_within("message", render(20))
    assert sum(block["type"] == "section" for block in render(20)["blocks"]) > 1
    assert "e mais" not in block_texts(render(20))
    most = most_without_more(render, block_texts)
    assert_within("message", render(most))
    assert "… e mais 1 comando" in block_texts(render(most + 1))
    crowded = render(500)
    assert_within("message", crowded)
    more = int(re.search(r"e mais (\d+) comandos", block_texts(crowded)).group(1))
    assert block_texts(crowded).count("`/sentimento comando") + more == 500
    assert len(BUILTIN_HELP) == 2


def test_thirty_days_with_huge_counts_list_every_day():
    """A 30-day report with the largest counts still lists each day (no day left out)."""
    huge = dict.fromkeys(LABELS, 10**15)
    daily = {(TODAY - dt.timedelta(days=n)).isoformat(): huge for n in range(60)}
    report = build_report(LONGEST_ID, LONGEST_ID, parse_period("30d"), TODAY, daily)
    message = report_views.report_message(report, paused=True)
    assert_within("message", message)
    assert "e mais" not in block_texts(message)
    assert len(re.findall(r"`\w+ \d\d/\d\d`", block_texts(message))) == 30


def test_home_view_keeps_to_100_blocks_and_says_so():
    """More feature blocks than a view holds: the Home is still published, with a note."""
    many = [{"type": "section", "text": {"type": "mrkdwn", "text": f"bloco {n}"}} for n in range(150)]
    view = home_view(extra_blocks=many)
    assert_within("home", view)
    assert "parte do conteúdo não coube" in block_texts(view)


versions = st.sampled_from(["m" * 200, "LeIA@lexicon-0.0.1"]) | st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(MARKUP),
    min_size=1, max_size=200).filter(valid_version)  # the versions the bot makes buttons for


@FUZZ
@given(version=versions, predicted=st.sampled_from(LABELS), actual=st.sampled_from(LABELS),
       model=st.text(max_size=5000), revision=st.text(max_size=5000), votes=counts,
       evaluation=st.fixed_dictionaries({"accuracy": st.floats(0, 1), "macro_f1": st.floats(0, 1),
                                         "n": counts, "revision": st.text(max_size=5000)}))
def test_feedback_messages_stay_within_limits(version, predicted, actual, model, revision, votes,
                                              evaluation):
    """The answer's vote buttons (any version kept: 1 to 200 characters), the picker, the
    thanks, and ``modelo`` with ids, revisions and counts of any size."""
    answer = classify_views.result_message(Classification.from_scores({predicted: 1.0}), "lexicon")
    answer["blocks"].append(feedback_views.vote_buttons(predicted, version))
    assert_within("message", answer)
    assert_within("message", feedback_views.picker_message(Vote(predicted, version)))
    assert_within("message", feedback_views.thanks_message(Vote(predicted, version, actual)))
    info = ModelInfo(model or "m", revision, "transformers", "onnx-int8", evaluation)
    tally = [FeedbackCount(info.version, predicted, actual, votes)]
    assert_within("message", feedback_views.model_message(
        info, evaluation_figures(evaluation), summarise(tally, info.version), summarise(tally),
        suggest_threshold(0.8, votes, votes + 10)))


def test_a_report_with_many_model_versions_names_four_and_counts_the_rest():
    """Thirty days, one version a day, the longest ids: four named, "e mais 26"."""
    period = parse_period("30d")
    daily = {(TODAY - dt.timedelta(days=n)).isoformat(): Tally(
        counts={"positive": 1, "neutral": 0, "negative": 0}, models={f"{'o' * 150}/m{n}@{'f' * 49}"})
        for n in range(30)}
    message = {"text": "x", "blocks": report_views.render_blocks(
        build_report(LONGEST_ID, LONGEST_ID, period, TODAY, daily))}
    assert_within("message", message)
    assert "e mais 26." in block_texts(message)
