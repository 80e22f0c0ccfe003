"""Moderation: when does a thread turn negative, and when are moderators told. Pure functions.

A thread (team, channel, root ts) keeps only the timestamps of its recent messages and whether
each was *strongly negative* (the probability of ``negative`` at or above the workspace's
threshold: the probability, not the top label). It is flagged when, among its last
``window_messages`` messages or those of the last ``window_minutes``, at least
``min_negatives`` are strongly negative. One alert per thread per ``COOLDOWN_S``; after that, a
new alert only if the thread got worse (more negatives than the last alert counted).

Nothing here talks to Slack or the store; :mod:`bot.moderation.alerts` does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from bot.blocks import echo
from service.labels import NEGATIVE

COOLDOWN_S = 6 * 3600
MAX_ENTRIES = 200  # hard bound on a thread's stored entries, whatever the window
MAX_PENDING_ALERTS = 50
# A thread untouched this long is forgotten: longer than the widest window (24 h) plus the
# cool-down (6 h), so a quiet thread is never judged on a partial memory of its last day.
THREAD_TTL_S = 3 * 86_400
ALERT_STATES = ("open", "acknowledged", "false_alarm")


class RuleError(ValueError):
    """A setting typed by a user is not valid; the message is Portuguese and shown as is."""


@dataclass(frozen=True)
class ModerationRule:
    """The workspace's rule: ``min_negatives`` strongly negative messages (probability of
    negative >= ``threshold``) among the last ``window_messages`` or ``window_minutes``."""

    threshold: float = 0.80
    min_negatives: int = 3
    window_messages: int = 10
    window_minutes: int = 30

    def __post_init__(self) -> None:
        check_rule(self.min_negatives, self.window_messages, self.window_minutes)
        parse_threshold(str(self.threshold))


@dataclass(frozen=True)
class ModerationSettings:
    """Per workspace: where alerts go, who may change settings, the rule, false alarms so far.

    ``channel_set_by``: the Slack user id of whoever last set the moderators' channel (told by
    DM, once, when that channel becomes unreachable); ``channel_warned``: that DM was sent and
    no alert has been posted since (reset by the next successful post or a new channel)."""

    channel_id: str | None = None
    group_id: str | None = None
    rule: ModerationRule = field(default_factory=ModerationRule)
    false_alarms: int = 0
    channel_set_by: str | None = None
    channel_warned: bool = False


@dataclass(frozen=True)
class ThreadEntry:
    """One message of a thread: its Slack ts (seconds) and whether it was strongly negative."""

    ts: float
    negative: bool


@dataclass(frozen=True)
class ThreadState:
    """What is kept of a thread: recent entries, oldest first, and its last alert."""

    entries: tuple[ThreadEntry, ...] = ()
    last_alert_at: float | None = None
    last_alert_negatives: int = 0


@dataclass(frozen=True)
class Flag:
    """A thread that turned negative: how many strongly negative messages over what span."""

    negatives: int
    span_s: float


@dataclass(frozen=True)
class Alert:  # pylint: disable=too-many-instance-attributes  # one stored record, flat on purpose
    """An alert about a thread. ``posted_ts`` is None while it waits for a moderators' channel."""

    alert_id: str
    team_id: str
    channel_id: str
    message_ts: str  # what the permalink points at (the thread's root; the flagged message for a manual flag)
    negatives: int
    span_s: float
    created_at: float
    manual: bool = False
    flagged_by: str | None = None
    permalink: str | None = None
    state: str = "open"
    by: str | None = None
    at: float | None = None
    posted_channel: str | None = None
    posted_ts: str | None = None
    post_error: str | None = None  # Slack's error code of the last failed post, while pending

    @property
    def pending(self) -> bool:
        """Not yet posted in a moderators' channel."""
        return self.posted_ts is None

    @property
    def resolved(self) -> bool:
        """A moderator gave a verdict (the first one stands)."""
        return self.state != "open"


def new_alert_id() -> str:
    """A fresh alert id (safe as a document id and a button value)."""
    return uuid.uuid4().hex[:20]


# -- the rule ------------------------------------------------------------------------------

def is_strongly_negative(scores: Mapping[str, float], threshold: float) -> bool:
    """True when the probability of ``negative`` is at least ``threshold`` (whatever the top
    label: 0.45 negative / 0.55 neutral is not strong; 0.85 negative is)."""
    return float(scores.get(NEGATIVE, 0.0) or 0.0) >= threshold


def in_window(entries: Sequence[ThreadEntry], now: float,
              rule: ModerationRule) -> list[ThreadEntry]:
    """The entries the rule looks at: the last ``window_messages`` and any of the last
    ``window_minutes`` (sorted by ts, at most :data:`MAX_ENTRIES`)."""
    ordered = sorted(entries, key=lambda e: e.ts)
    since = now - rule.window_minutes * 60
    last = len(ordered) - rule.window_messages
    kept = [e for i, e in enumerate(ordered) if i >= last or e.ts >= since]
    return kept[-MAX_ENTRIES:]


def thread_turns_negative(entries: Sequence[ThreadEntry], now: float,
                          rule: ModerationRule) -> Flag | None:
    """A :class:`Flag` when at least ``min_negatives`` of the window's entries are strongly
    negative (span: first to last of them), else None."""
    negatives = [e.ts for e in in_window(entries, now, rule) if e.negative]
    if len(negatives) < rule.min_negatives:
        return None
    return Flag(len(negatives), max(negatives) - min(negatives))


def should_alert(previous: ThreadState | None, now: float, negatives: int,
                 cooldown_s: float = COOLDOWN_S) -> bool:
    """One alert per thread per ``cooldown_s``; after it, a new one only if it got worse."""
    if previous is None or previous.last_alert_at is None:
        return True
    if now - previous.last_alert_at < cooldown_s:
        return False
    return negatives > previous.last_alert_negatives


def observe(state: ThreadState, entry: ThreadEntry, now: float,
            rule: ModerationRule) -> tuple[ThreadState, Flag | None]:
    """Add one message to a thread: the new state to store and, when an alert is due, its
    :class:`Flag` (the new state then records the alert for the cool-down)."""
    if any(e.ts == entry.ts for e in state.entries):  # a redelivered message counts once
        return state, None
    entries = tuple(in_window([*state.entries, entry], now, rule))
    updated = replace(state, entries=entries)
    flag = thread_turns_negative(entries, now, rule)
    if flag is None or not should_alert(state, now, flag.negatives):
        return updated, None
    return replace(updated, last_alert_at=now, last_alert_negatives=flag.negatives), flag


def observe_all(state: ThreadState, entries: Sequence[ThreadEntry], now: float,
                rule: ModerationRule) -> tuple[ThreadState, Flag | None]:
    """:func:`observe` each entry in turn (a batch's replies to one thread, one store write):
    the final state and the alert's :class:`Flag`, if one became due (at most one: the
    cool-down holds the rest)."""
    raised = None
    for entry in entries:
        state, flag = observe(state, entry, now, rule)
        raised = raised or flag
    return state, raised


def manual_flag(state: ThreadState, now: float, rule: ModerationRule) -> Flag:
    """What a manual flag reports: the thread's strongly negative messages in the window
    (possibly none)."""
    negatives = [e.ts for e in in_window(state.entries, now, rule) if e.negative]
    return Flag(len(negatives), (max(negatives) - min(negatives)) if negatives else 0.0)


# -- parsing what users type ----------------------------------------------------------------

_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]{2,30})(?:\|[^>]*)?>$")
_GROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]{2,30})(?:\|[^>]*)?>$")


def parse_channel(text: str) -> str:
    """The channel id of ``<#C123|canal>`` or ``<#C123>`` (how Slack escapes ``#canal``)."""
    match = _CHANNEL.match(text.strip())
    if not match:
        raise RuleError(f"Não reconheci o canal “{echo(text)}”. Escreva `#canal` (escolha o "
                        "canal na lista que o Slack mostra ao digitar #).")
    return match.group(1)


def parse_group(text: str) -> str:
    """The user group id of ``<!subteam^S123|@mods>`` or ``<!subteam^S123>``."""
    match = _GROUP.match(text.strip())
    if not match:
        raise RuleError(f"Não reconheci o grupo “{echo(text)}”. Escreva `@grupo` (escolha o "
                        "grupo de usuários na lista que o Slack mostra ao digitar @).")
    return match.group(1)


def parse_threshold(text: str) -> float:
    """A threshold greater than 0 and at most 1 (``0,85`` or ``0.85``; ``85%`` too). 0 is refused:
    every message would count as strongly negative."""
    raw = text.strip().replace(",", ".")
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise RuleError(f"Limiar inválido: “{echo(text)}”. Use um número maior que 0 e até 1, "
                        "ex.: `limiar 0,85`.") from None
    if percent:
        value /= 100
    if not 0.0 < value <= 1.0:  # also refuses nan and inf
        raise RuleError(f"Limiar inválido: “{echo(text)}”. O limiar deve ser maior que 0 e no "
                        "máximo 1 (ex.: `limiar 0,85`).")
    return value


def check_rule(min_negatives: int, window_messages: int, window_minutes: int) -> None:
    """RuleError unless 2 <= min_negatives <= 50, min_negatives <= window_messages <= 100 and
    1 <= window_minutes <= 1440."""
    if not 2 <= min_negatives <= 50:
        raise RuleError("O mínimo de mensagens negativas deve estar entre 2 e 50.")
    if not min_negatives <= window_messages <= 100:
        raise RuleError("A janela de mensagens deve estar entre o mínimo de negativas e 100.")
    if not 1 <= window_minutes <= 1440:
        raise RuleError("A janela de tempo deve estar entre 1 e 1440 minutos (24 h).")


def parse_rule(text: str, current: ModerationRule) -> ModerationRule:
    """``regra N M T``: at least N strongly negative among the last M messages or T minutes."""
    words = text.split()
    try:
        numbers = [int(word) for word in words]
    except ValueError:
        numbers = []
    if len(numbers) != 3:
        raise RuleError(f"Regra inválida: “{echo(text)}”. Use `regra N M T`: alerta quando "
                        "N mensagens muito negativas aparecem entre as últimas M mensagens ou "
                        "nos últimos T minutos de uma thread (ex.: `regra 3 10 30`).")
    return replace(current, min_negatives=numbers[0], window_messages=numbers[1],
                   window_minutes=numbers[2])


def describe_span(seconds: float) -> str:
    """A span in Portuguese: ``"40 s"``, ``"12 min"``, ``"2 h 5 min"``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
