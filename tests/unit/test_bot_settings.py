"""BotSettings: one typed object from the environment, every problem reported at once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

from bot.settings import BotSettings
from bot.store.settings import StoreSettings
from service.logs import LogSettings
from service.settings import EnvReader, ServiceSettings, SettingsError

TOKEN = "xoxb-111-222-secretvalue"
SECRET = "abc123signingsecretvalue"


def test_defaults_with_only_the_two_secrets():
    """With only the two Slack secrets every other setting has its documented default."""
    settings = BotSettings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET})
    assert settings.port == 3000 and settings.host == "127.0.0.1"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.timezone == "America/Sao_Paulo"
    assert settings.fallback == "none"
    assert settings.embedded_model and not settings.socket_mode
    assert settings.model.backend == "auto"


def test_everything_set():
    """Every variable is read, typed and normalised."""
    settings = BotSettings.from_env({
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": "xapp-1-A1-xyz",
        "SLACK_API_URL": "http://127.0.0.1:9999/api", "MODEL_SERVICE_URL": "https://model.internal",
        "MODEL_SERVICE_TOKEN": "svc-token", "MODEL_SERVICE_TIMEOUT": "2.5", "MODEL_SERVICE_RETRIES": "5",
        "SENTIMENT_FALLBACK": "LEXICON", "PORT": "8080", "HOST": "0.0.0.0", "TIMEZONE": "UTC",
        "SENTIMENT_BACKEND": "lexicon",
    })
    assert settings.socket_mode and not settings.embedded_model
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.model_service_url == "https://model.internal/"
    assert (settings.model_service_timeout, settings.model_service_retries) == (2.5, 5)
    assert settings.fallback == "lexicon" and settings.port == 8080 and settings.timezone == "UTC"
    assert settings.model.backend == "lexicon"


def test_all_problems_in_one_message_with_where_to_get_them():
    """Every missing or malformed variable is listed in one error that says where to get the secrets."""
    with pytest.raises(SettingsError) as caught:
        BotSettings.from_env({"PORT": "abc", "MODEL_SERVICE_URL": "ftp://x", "TIMEZONE": "Marte/Base",
                              "SENTIMENT_FALLBACK": "talvez", "MODEL_SERVICE_TIMEOUT": "-1"})
    message = str(caught.value)
    for expected in ("SLACK_BOT_TOKEN não definido", "SLACK_SIGNING_SECRET não definido",
                     "PORT='abc'", "MODEL_SERVICE_URL='ftp://x'", "TIMEZONE='Marte/Base'",
                     "SENTIMENT_FALLBACK='talvez'", "MODEL_SERVICE_TIMEOUT='-1'"):
        assert expected in message
    assert "https://api.slack.com/apps" in message and "manifest.yaml" in message
    assert len(caught.value.problems) == 7


def test_malformed_tokens_are_reported_without_their_value():
    """A token of the wrong kind is reported without echoing it."""
    with pytest.raises(SettingsError) as caught:
        BotSettings.from_env({"SLACK_BOT_TOKEN": "xoxp-user-token-value", "SLACK_SIGNING_SECRET": SECRET,
                              "SLACK_APP_TOKEN": "xoxb-not-an-app-token"})
    message = str(caught.value)
    assert "SLACK_BOT_TOKEN deve começar com 'xoxb-'" in message
    assert "SLACK_APP_TOKEN deve começar com 'xapp-'" in message
    assert "xoxp-user-token-value" not in message and "xoxb-not-an-app-token" not in message


def test_socket_mode_needs_no_signing_secret():
    """With an app-level token (Socket Mode) the signing secret is optional."""
    settings = BotSettings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": "xapp-1-A1-xyz"})
    assert settings.socket_mode and settings.slack_signing_secret is None


def test_repr_masks_every_secret():
    """repr/str of the settings never show a token or secret."""
    settings = BotSettings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                                     "SLACK_APP_TOKEN": "xapp-1-A1-appsecret",
                                     "MODEL_SERVICE_TOKEN": "svc-secret"})
    for text in (repr(settings), str(settings), f"{settings}"):
        for secret in (TOKEN, SECRET, "xapp-1-A1-appsecret", "svc-secret"):
            assert secret not in text
        assert "slack_bot_token='***'" in text and "port=3000" in text


OAUTH = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "client-secret-value-42",
         "SLACK_SIGNING_SECRET": SECRET}


def test_oauth_mode_needs_no_bot_token_and_has_defaults():
    """With the client id and secret: OAuth mode, no SLACK_BOT_TOKEN needed, the manifest's
    scopes, Bolt's paths, 30 grace days; without them: single workspace, as before."""
    settings = BotSettings.from_env(OAUTH)
    assert settings.multi_workspace and settings.slack_bot_token == ""
    assert settings.oauth.install_path == "/slack/install"
    assert settings.oauth.redirect_uri_path == "/slack/oauth_redirect"
    assert "commands" in settings.oauth.scopes and settings.oauth.state_secret is None
    assert settings.workspace_grace_days == 30
    single = BotSettings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET})
    assert not single.multi_workspace and single.oauth is None


def test_oauth_settings_are_read_and_their_problems_reported_together():
    """Custom scopes and paths are read; a half-set pair, a bad scope list, a path that is the
    events route, a short state secret, Socket Mode with OAuth and a negative grace period are
    all reported at once, secrets never echoed."""
    settings = BotSettings.from_env({**OAUTH, "SLACK_SCOPES": "commands, chat:write",
                                     "SLACK_INSTALL_PATH": "/instalar",
                                     "SLACK_STATE_SECRET": "s" * 32, "WORKSPACE_GRACE_DAYS": "0"})
    assert settings.oauth.scopes == ("commands", "chat:write")
    assert settings.oauth.install_path == "/instalar" and settings.workspace_grace_days == 0
    with pytest.raises(SettingsError) as caught:
        BotSettings.from_env({"SLACK_CLIENT_ID": "1111.2222", "SLACK_SIGNING_SECRET": SECRET})
    assert "SLACK_CLIENT_SECRET não definido" in str(caught.value)
    with pytest.raises(SettingsError) as caught:
        BotSettings.from_env({**OAUTH, "SLACK_SCOPES": "commands;DROP", "SLACK_APP_TOKEN":
                              "xapp-1-A1-xyz", "SLACK_REDIRECT_URI_PATH": "/slack/events",
                              "SLACK_STATE_SECRET": "curto-demais", "WORKSPACE_GRACE_DAYS": "-1"})
    message = str(caught.value)
    for name in ("SLACK_SCOPES", "SLACK_APP_TOKEN", "SLACK_REDIRECT_URI_PATH",
                 "SLACK_STATE_SECRET", "WORKSPACE_GRACE_DAYS"):
        assert name in message
    assert "curto-demais" not in message and "client-secret-value-42" not in message


def test_repr_masks_the_oauth_secrets():
    """The client secret and the state secret never appear in the settings' repr."""
    shown = repr(BotSettings.from_env({**OAUTH, "SLACK_STATE_SECRET": "z" * 40}))
    assert "client-secret-value-42" not in shown and "z" * 40 not in shown
    assert "1111.2222" in shown


# -- the README's Configuration table says what the code does --------------------------------
README = Path(__file__).resolve().parents[2] / "README.md"


def log_settings(environ: dict[str, str]) -> LogSettings:
    """``LOG_LEVEL`` and ``LOG_FORMAT`` as both roles read them."""
    env = EnvReader(environ)
    settings = LogSettings.read(env)
    env.check()
    return settings


Reader = Callable[[dict[str, str]], object]
READERS: dict[str, tuple[Reader, ...]] = {  # what each role reads its variables with
    "bot": (BotSettings.from_env, StoreSettings.from_env, log_settings),
    "service": (ServiceSettings.from_env, log_settings),
}
REQUIRED = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
# Read by google-auth and our metadata client, not by a settings object.
READ_ELSEWHERE = {"GCE_METADATA_HOST"}


def documented_defaults() -> list[tuple[str, str, str]]:
    """(variable, role, default) of every Configuration row of the bot or the service whose default
    is one literal value (optionally with a remark in parentheses, or one value per role)."""
    table = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1]
    table = table.split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not re.fullmatch(r"`[A-Z_]+`", cells[0]):
            continue
        roles = {role.strip() for role in cells[2].split(",")}
        for role in sorted(roles & {"bot", "service"}):
            per_role = re.search(rf"`([^`]+)`(?: \([^)]*\))? {role}\b", cells[1])
            single = re.fullmatch(r"`([^`]+)`(?: \([^)]*\))?", cells[1])
            if per_role or single:
                rows.append((cells[0].strip("`"), role, (per_role or single).group(1)))
    return rows


def read_all(role: str, environ: dict[str, str]) -> list[object]:
    """Every settings object ``role`` reads from ``environ``, or the SettingsError it raises."""
    results: list[object] = []
    for read in READERS[role]:
        try:
            results.append(read(environ))
        except SettingsError as exc:
            results.append(f"SettingsError: {exc}")
    return results


def test_every_documented_default_is_the_one_the_code_uses():
    """Setting a variable to the default the README's Configuration table gives it changes no
    setting: an operator who copies the table gets what they get with the variable unset."""
    rows = documented_defaults()
    assert len(rows) >= 30, "the Configuration table could not be read"
    for variable, role, default in rows:
        assert read_all(role, REQUIRED | {variable: default}) == read_all(role, REQUIRED), \
            f"{variable}: the README's default {default!r} is not the {role}'s"


def test_every_variable_with_a_documented_default_is_read_by_a_settings_object():
    """Each of those variables is really read (an odd value changes a setting or is refused),
    so the check above compares something."""
    for variable, role, _ in documented_defaults():
        if variable not in READ_ELSEWHERE:
            assert read_all(role, REQUIRED | {variable: "☃-42"}) != read_all(role, REQUIRED), \
                f"the {role} never reads {variable}"
