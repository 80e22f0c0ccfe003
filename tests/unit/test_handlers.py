"""The listeners' ack callbacks, called directly with ``Mock(Ack)`` as Bolt would: the help
is answered in the ack itself, everything else is acked empty at once."""

from __future__ import annotations

from unittest.mock import Mock
from zoneinfo import ZoneInfo

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.command import Subcommand, SubcommandHelp
from bot.counting.usecases import IGNORED, take_message
from bot.home.views import Retention
from bot.slack import RetryingRespond
from handlers import ack_now
from handlers.command import ack_command, never_busy, run_command
from handlers.home import publish

REPORT_HELP = SubcommandHelp("relatorio [hoje|7d|30d]", "o humor deste canal")
NAMES = ["relatorio"]


def test_help_is_answered_in_the_ack_with_every_subcommand():
    """``/sentimento`` alone and ``/sentimento ajuda`` get the help in the ack (no wait)."""
    for text in ("", "ajuda", "  Ajuda ", "help", "?"):
        ack = Mock(Ack)
        ack_command(NAMES, [REPORT_HELP], never_busy, ack, {"text": text})
        ack.assert_called_once()
        kwargs = ack.call_args.kwargs
        assert kwargs["response_type"] == "ephemeral"
        assert "/sentimento relatorio [hoje|7d|30d]" in kwargs["text"]
        assert "/sentimento ajuda" in kwargs["text"]


def test_everything_else_is_acked_empty():
    """Texts to classify and subcommands are acked with nothing: the answer comes later."""
    for text in ("Adorei o resultado!", "relatorio 7d", "ajuda com o deploy"):
        ack = Mock(Ack)
        ack_command(NAMES, [REPORT_HELP], never_busy, ack, {"text": text})
        ack.assert_called_once_with()
    ack = Mock(Ack)
    ack_now(ack)
    ack.assert_called_once_with()


def test_the_lazy_part_of_the_help_does_nothing_more():
    """The help was the whole answer: the lazy listener neither responds nor classifies."""
    respond, classifier = Mock(Respond), Mock()
    run_command(classifier, {}, {"text": "ajuda"}, respond, Mock(WebClient), {})
    respond.assert_not_called()
    classifier.classify_detailed.assert_not_called()


def test_a_subcommand_gets_its_arguments_and_a_failure_becomes_a_portuguese_message():
    """The subcommand named by the first word runs with the rest; if it raises, the user reads
    a Portuguese message, never a stack trace."""
    calls = []

    def run(**kwargs):
        calls.append(kwargs["args"])
        raise RuntimeError("boom")

    respond = Mock(Respond)
    run_command(Mock(), {"relatorio": Subcommand("relatorio", REPORT_HELP, run)},
                {"text": "Relatório  30d"}, respond, Mock(WebClient), {})
    assert calls == ["30d"]
    answer = respond.call_args.kwargs
    assert answer["response_type"] == "ephemeral"
    assert "Algo deu errado" in answer["text"]
    assert "boom" not in answer["text"]


def test_the_home_is_published_only_for_the_home_tab():
    """Opening the Messages tab publishes nothing; the Home tab publishes the view for its user."""
    client = Mock(WebClient)
    publish(None, [], Retention(), {"team_id": "T1"}, {"user": "U1", "tab": "messages"}, client)
    client.views_publish.assert_not_called()
    publish(None, [REPORT_HELP], Retention(), {"team_id": "T1"}, {"user": "U1", "tab": "home"}, client)
    view = client.views_publish.call_args.kwargs["view"]
    assert client.views_publish.call_args.kwargs["user_id"] == "U1"
    assert view["type"] == "home"
    assert "relatorio [hoje|7d|30d]" in str(view["blocks"])


def test_a_command_acked_while_the_bot_is_full_says_to_try_again_but_the_help_still_answers():
    """When the work after the ack has no room, the ack itself says so in Portuguese; the
    help, whose answer is the ack, is never refused."""
    ack = Mock(Ack)
    ack_command(NAMES, [REPORT_HELP], lambda: True, ack, {"text": "Adorei o resultado!"})
    assert "muitos pedidos" in ack.call_args.kwargs["text"]
    assert ack.call_args.kwargs["response_type"] == "ephemeral"
    ack = Mock(Ack)
    ack_command(NAMES, [REPORT_HELP], lambda: True, ack, {"text": "ajuda"})
    assert "Como usar" in ack.call_args.kwargs["text"]


def test_an_answer_rate_limited_by_slack_is_sent_again_after_retry_after():
    """``response_url`` answered 429 (Bolt's ``respond`` does not retry it): the answer is sent
    again after ``Retry-After``, until Slack takes it; past the budget it is given up."""
    limited = Mock(status_code=429, headers={"Retry-After": "2"})
    delivered = Mock(status_code=200, headers={})
    soon = Mock(status_code=429, headers={"retry-after": "0"})
    respond = Mock(Respond, side_effect=[soon, delivered])
    classifier = Mock()
    classifier.classify_detailed.side_effect = RuntimeError("sem modelo")
    run_command(classifier, {}, {"text": "Adorei o resultado!"}, respond, Mock(WebClient), {})
    assert respond.call_count == 2  # the command's answer went again after the 429
    assert "Algo deu errado" in respond.call_args.kwargs["text"]
    respond, sleeps = Mock(Respond, side_effect=[limited, limited, delivered]), []
    assert RetryingRespond(respond, sleep=sleeps.append)(text="oi") is delivered
    assert respond.call_count == 3 and sleeps == [2.0, 2.0]
    assert respond.call_args.kwargs == {"text": "oi"}
    now = [0.0]
    respond = Mock(Respond, return_value=limited)
    gave_up = RetryingRespond(respond, budget_s=5, sleep=lambda s: now.__setitem__(0, now[0] + s),
                              clock=lambda: now[0])(text="oi")
    assert gave_up is limited and respond.call_count == 3  # at 0, 2 and 4 s; 6 s is past 5


def test_a_message_with_a_ts_no_calendar_holds_is_ignored_not_a_500():
    """A ts of 12 digits (year 33658) passes the id checks but has no date: ignored (200),
    before the counter is reached (there is none here)."""
    event = {"type": "message", "channel": "C0GERAL", "user": "U0USER1", "channel_type": "channel",
             "text": "Adorei o resultado!", "ts": "999999999999.000001"}
    assert take_message(None, {"team_id": "T0001"}, event, None, ZoneInfo("UTC")) == IGNORED
