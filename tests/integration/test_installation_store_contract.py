"""One contract for the installation and OAuth state stores of both backends: the real Firestore
emulator (:mod:`bot.store.installations_firestore`) and slack_sdk's SQLite stores on a real file.
The cases follow slack_sdk's own SQLite store tests (tests/slack_sdk/oauth/installation_store/
test_sqlite3.py), plus what the bot relies on: the latest installation wins, a rotated bot token
is what ``find_installation`` answers, and each workspace is found only under its own ids."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import time

import pytest
from slack_sdk.oauth.installation_store import Installation

from bot.store.installations import open_installation_store, open_state_store
from bot.store.settings import StoreSettings

CLIENT_ID = "111.222"


@pytest.fixture(params=["sqlite", "firestore"])
def settings(request) -> StoreSettings:
    """Store settings of each backend, on fresh data."""
    env = request.getfixturevalue(f"{request.param}_env")
    return StoreSettings.from_env(env)


@pytest.fixture
def store(settings):
    """An installation store for app ``CLIENT_ID``."""
    return open_installation_store(settings, CLIENT_ID)


def installation(team: str | None = "T111", enterprise: str | None = "E111", user: str = "U111",
                 token: str = "xoxb-111", **extra) -> Installation:
    """An installation as Bolt builds it from ``oauth.v2.access``."""
    return Installation(app_id="A111", enterprise_id=enterprise, team_id=team, user_id=user,
                        bot_id="B111", bot_token=token, bot_scopes=["chat:write"],
                        bot_user_id="U222", **extra)


def test_save_find_and_delete(store):
    """slack_sdk's ``test_save_and_find``: found under its own ids only; deleting one user's
    installation leaves the workspace without one; ``delete_all`` removes bot and installations."""
    store.save(installation())
    assert store.find_bot(enterprise_id="E111", team_id="T111").bot_token == "xoxb-111"
    assert store.find_bot(enterprise_id="E111", team_id="T222") is None
    assert store.find_bot(enterprise_id=None, team_id="T111") is None
    store.delete_bot(enterprise_id="E111", team_id="T222")
    assert store.find_bot(enterprise_id="E111", team_id="T111") is not None

    assert store.find_installation(enterprise_id="E111", team_id="T111").user_id == "U111"
    assert store.find_installation(enterprise_id="E111", team_id="T222") is None
    assert store.find_installation(enterprise_id=None, team_id="T111") is None
    assert store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111") is not None
    assert store.find_installation(enterprise_id="E111", team_id="T111", user_id="U222") is None
    assert store.find_installation(enterprise_id="E111", team_id="T222", user_id="U111") is None

    store.delete_installation(enterprise_id="E111", team_id="T111", user_id="U111")
    assert store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111") is None
    assert store.find_installation(enterprise_id="E111", team_id="T111") is None

    store.save(installation())
    store.delete_all(enterprise_id="E111", team_id="T111")
    assert store.find_installation(enterprise_id="E111", team_id="T111") is None
    assert store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111") is None
    assert store.find_bot(enterprise_id="E111", team_id="T111") is None


def test_org_wide_installation(store):
    """slack_sdk's ``test_org_installation``: an org-wide install answers for any team of the
    organisation when asked as an enterprise install, and only then."""
    store.save(installation(team=None, enterprise="EO111", user="UO111", token="xoxb-O111",
                            is_enterprise_install=True))
    assert store.find_bot(enterprise_id="EO111", team_id=None).bot_token == "xoxb-O111"
    assert store.find_bot(enterprise_id="EO111", team_id="TO222",
                          is_enterprise_install=True) is not None
    assert store.find_bot(enterprise_id="EO111", team_id="TO222") is None
    assert store.find_bot(enterprise_id=None, team_id="TO111") is None
    found = store.find_installation(enterprise_id="EO111", team_id="T111", is_enterprise_install=True)
    assert found is not None and found.is_enterprise_install
    assert store.find_installation(enterprise_id="EO111", team_id="T222") is None
    assert store.find_installation(enterprise_id="EO111", team_id=None, user_id="UO111") is not None

    store.delete_bot(enterprise_id="EO111", team_id="TO222")
    assert store.find_bot(enterprise_id="EO111", team_id=None) is not None
    store.delete_bot(enterprise_id="EO111", team_id=None)
    assert store.find_bot(enterprise_id="EO111", team_id=None) is None
    # The bot's token revoked alone: the user's installation is still found.
    assert store.find_installation(enterprise_id="EO111", team_id=None,
                                   user_id="UO111") is not None
    store.delete_all(enterprise_id="EO111", team_id=None)
    assert store.find_installation(enterprise_id="EO111", team_id=None) is None


def test_bot_token_rotation_and_the_latest_installation_wins(store):
    """slack_sdk's ``test_save_and_find_token_rotation``: a refreshed token (with its refresh
    token and expiry) replaces the old one for both finds; a reinstall by another user is the
    workspace's installation from then on, while each user's own stays theirs."""
    store.save(installation(token="xoxe.xoxb-1-initial", bot_refresh_token="xoxe-1-initial",
                            bot_token_expires_in=43200))
    store.save(installation(token="xoxe.xoxb-1-refreshed", bot_refresh_token="xoxe-1-refreshed",
                            bot_token_expires_in=43200))
    bot = store.find_bot(enterprise_id="E111", team_id="T111")
    assert (bot.bot_token, bot.bot_refresh_token) == ("xoxe.xoxb-1-refreshed", "xoxe-1-refreshed")
    assert bot.bot_token_expires_at >= int(time.time()) + 43200 - 60
    assert store.find_installation(enterprise_id="E111", team_id="T111").bot_token == \
        "xoxe.xoxb-1-refreshed"

    # A bot-only save (Bolt's token rotation of a bot token) is seen through find_installation.
    rotated = store.find_bot(enterprise_id="E111", team_id="T111")
    rotated.bot_token, rotated.bot_refresh_token = "xoxe.xoxb-1-rotated", "xoxe-1-rotated"
    rotated.bot_token_expires_at = bot.bot_token_expires_at + 43200
    store.save_bot(rotated)
    # All of the rotated token: with the old refresh token, the next refresh would fail.
    found = store.find_installation(enterprise_id="E111", team_id="T111")
    assert (found.bot_token, found.bot_refresh_token, found.bot_token_expires_at) == \
        ("xoxe.xoxb-1-rotated", "xoxe-1-rotated", bot.bot_token_expires_at + 43200)
    assert (found.bot_id, found.bot_user_id, found.bot_scopes) == \
        (bot.bot_id, bot.bot_user_id, bot.bot_scopes)

    store.save(installation(user="U333", token="xoxb-reinstalled", user_token="xoxp-333"))
    latest = store.find_installation(enterprise_id="E111", team_id="T111")
    assert (latest.user_id, latest.bot_token) == ("U333", "xoxb-reinstalled")
    assert store.find_installation(enterprise_id="E111", team_id="T111",
                                   user_id="U333").user_token == "xoxp-333"
    assert store.find_installation(enterprise_id="E111", team_id="T111",
                                   user_id="U111").user_id == "U111"


def test_workspaces_are_kept_apart(store):
    """Two workspaces: each finds its own token; removing one leaves the other whole."""
    store.save(installation(team="TA", enterprise=None, token="xoxb-a"))
    store.save(installation(team="TB", enterprise=None, token="xoxb-b"))
    assert store.find_bot(enterprise_id=None, team_id="TA").bot_token == "xoxb-a"
    assert store.find_bot(enterprise_id=None, team_id="TB").bot_token == "xoxb-b"
    store.delete_all(enterprise_id=None, team_id="TA")
    assert store.find_bot(enterprise_id=None, team_id="TA") is None
    assert store.find_installation(enterprise_id=None, team_id="TA") is None
    assert store.find_bot(enterprise_id=None, team_id="TB").bot_token == "xoxb-b"
    assert store.find_installation(enterprise_id=None, team_id="TB").bot_token == "xoxb-b"


def test_custom_values_and_user_tokens_survive_a_round_trip(store):
    """What Bolt stores comes back as it went in: user token and scopes, custom values."""
    original = installation(user_token="xoxp-111", user_scopes=["search:read"],
                            team_name="Empresa A")
    original.set_custom_value("plan", "pro")
    store.save(original)
    found = store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111")
    assert (found.user_token, found.user_scopes, found.team_name) == (
        "xoxp-111", ["search:read"], "Empresa A")


def test_an_oauth_state_is_valid_once_and_only_before_it_expires(settings):
    """A state is consumed once; an unknown one never; an expired one is refused."""
    states = open_state_store(settings)
    state = states.issue()
    assert states.consume(state) is True
    assert states.consume(state) is False
    assert states.consume("nunca-emitido") is False
    short = open_state_store(settings, expiration_s=1)
    old = short.issue()
    time.sleep(2.1)
    assert short.consume(old) is False


def test_a_signed_state_needs_no_store(settings):
    """With ``SLACK_STATE_SECRET``: a state signed by one instance is valid on another; a state
    signed with another secret is not."""
    secret = "s" * 32
    state = open_state_store(settings, secret).issue()
    assert open_state_store(settings, secret).consume(state) is True
    assert open_state_store(settings, "x" * 32).consume(state) is False
