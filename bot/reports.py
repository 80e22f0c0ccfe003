"""Channel mood reports: period parsing, the maths from daily counts, and Block Kit rendering.

Everything here is a pure function of counts, except :func:`fetch_report` (one store read).

Definitions
- Share of a label: its percentage of the messages analysed, rounded so that the three add up
  to exactly 100 (largest remainder).
- Mood index: ``100 * (positive - negative) / total``, rounded, from -100 (all negative) to
  100 (all positive); ``None`` when nothing was analysed. Counts rather than score sums, so
  that it matches the shares the report shows ("% positivas - % negativas").
- Change: the mood index minus that of the previous period of the same length (points), and
  the change in the number of messages (percent).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from service.labels import LABELS, LABELS_PT, NEGATIVE, NEUTRAL, POSITIVE

PERIODS: dict[str, int] = {"hoje": 1, "7d": 7, "30d": 30}
DEFAULT_PERIOD = "7d"
SHARE_ACTION_ID = "report_share"
BAR_WIDTH = 10
BAR_CELLS = {POSITIVE: "🟩", NEUTRAL: "⬜", NEGATIVE: "🟥"}
LABEL_DOTS = {POSITIVE: "🟢", NEUTRAL: "⚪", NEGATIVE: "🔴"}
WEEKDAYS_PT = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")


class PeriodError(ValueError):
    """A report period other than ``hoje``, ``7d`` or ``30d``; the message is for the user."""


@dataclass(frozen=True)
class Period:
    """A report period ending today: ``hoje`` (1 day), ``7d`` or ``30d``."""

    key: str
    days: int

    @property
    def label_pt(self) -> str:
        """How the report names the period."""
        return "hoje" if self.days == 1 else f"últimos {self.days} dias"

    @property
    def versus_pt(self) -> str:
        """"Compared with the previous period", in Portuguese."""
        return "em relação a ontem" if self.days == 1 else f"em relação aos {self.days} dias anteriores"

    @property
    def previous_empty_pt(self) -> str:
        """What the report says when the previous period had no messages."""
        where = "ontem" if self.days == 1 else f"nos {self.days} dias anteriores"
        return f"Sem mensagens {where} para comparar."

    def window(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The inclusive dates covered, ending ``today``."""
        return today - dt.timedelta(days=self.days - 1), today

    def previous_window(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The period of the same length just before."""
        start, _ = self.window(today)
        return start - dt.timedelta(days=self.days), start - dt.timedelta(days=1)


def parse_period(text: str | None) -> Period:
    """``hoje``, ``7d`` or ``30d`` (case and spaces ignored; empty means 7d); else :class:`PeriodError`."""
    key = (text or "").strip().lower() or DEFAULT_PERIOD
    if key not in PERIODS:
        raise PeriodError(f"Período inválido: “{text.strip()}”. Use `hoje`, `7d` ou `30d` "
                          f"(padrão: {DEFAULT_PERIOD}), por exemplo `/sentimento relatorio 30d`.")
    return Period(key, PERIODS[key])


def counts_of(value: Any) -> dict[str, int]:
    """The per-label counts of a store :class:`~bot.store.Tally` or a ``{label: n}`` mapping."""
    counts = getattr(value, "counts", value) or {}
    return {label: int(counts.get(label, 0)) for label in LABELS}


def _round_half_away(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def mood_index(counts: Mapping[str, int]) -> int | None:
    """``100 * (positive - negative) / total``, rounded; None when there is nothing."""
    total = sum(counts.get(label, 0) for label in LABELS)
    if total == 0:
        return None
    return _round_half_away(100 * (counts.get(POSITIVE, 0) - counts.get(NEGATIVE, 0)) / total)


def apportion(counts: Mapping[str, int], width: int) -> dict[str, int]:
    """Split ``width`` units across labels in proportion to counts (largest remainder, exact sum)."""
    total = sum(counts.get(label, 0) for label in LABELS)
    if total == 0:
        return dict.fromkeys(LABELS, 0)
    exact = {label: counts.get(label, 0) * width / total for label in LABELS}
    parts = {label: math.floor(value) for label, value in exact.items()}
    # Largest remainders first; ties broken by the larger count, then positive > neutral > negative.
    order = sorted(LABELS, key=lambda l: (exact[l] - parts[l], counts.get(l, 0), LABELS.index(l)),
                   reverse=True)
    for label in order[:width - sum(parts.values())]:
        parts[label] += 1
    return parts


def shares(counts: Mapping[str, int]) -> dict[str, int]:
    """Whole percentages per label that add up to 100 (all zero when there is nothing)."""
    return apportion(counts, 100)


def emoji_bar(counts: Mapping[str, int], width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` squares, green / white / red in proportion; dots when empty."""
    parts = apportion(counts, width)
    if not any(parts.values()):
        return "▫️" * width
    return "".join(BAR_CELLS[label] * parts[label] for label in (POSITIVE, NEUTRAL, NEGATIVE))


@dataclass(frozen=True)
class DayRow:
    """One day of a report (days without messages included)."""

    day: dt.date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """Messages analysed that day."""
        return sum(self.counts.values())

    @property
    def mood(self) -> int | None:
        """That day's mood index."""
        return mood_index(self.counts)


@dataclass(frozen=True)
class Report:
    """The figures of one channel over one period, and of the period before."""

    team_id: str
    channel_id: str
    period: Period
    start: dt.date
    end: dt.date
    rows: list[DayRow]
    totals: dict[str, int]
    previous_totals: dict[str, int]

    @property
    def total(self) -> int:
        """Messages analysed in the period."""
        return sum(self.totals.values())

    @property
    def previous_total(self) -> int:
        """Messages analysed in the previous period."""
        return sum(self.previous_totals.values())

    @property
    def shares(self) -> dict[str, int]:
        """Percent per label (sums to 100 when there were messages)."""
        return shares(self.totals)

    @property
    def mood_index(self) -> int | None:
        """The period's mood index, -100..100, None when empty."""
        return mood_index(self.totals)

    @property
    def previous_mood_index(self) -> int | None:
        """The previous period's mood index."""
        return mood_index(self.previous_totals)

    @property
    def mood_change(self) -> int | None:
        """Mood index points gained (+) or lost (-) against the previous period."""
        if self.mood_index is None or self.previous_mood_index is None:
            return None
        return self.mood_index - self.previous_mood_index

    @property
    def volume_change_pct(self) -> int | None:
        """Percent change in messages analysed; None when the previous period had none."""
        if self.previous_total == 0:
            return None
        return _round_half_away(100 * (self.total - self.previous_total) / self.previous_total)

    def to_dict(self) -> dict[str, Any]:
        """The export shape: team, channel, days (every day), totals, mood_index."""
        return {
            "team": self.team_id, "channel": self.channel_id,
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "days": [{"date": row.day.isoformat(), **{label: row.counts[label] for label in
                                                      (POSITIVE, NEUTRAL, NEGATIVE)}}
                     for row in self.rows],
            "totals": {label: self.totals[label] for label in (POSITIVE, NEUTRAL, NEGATIVE)},
            "mood_index": self.mood_index,
        }


def report_range(period: Period, today: dt.date) -> tuple[dt.date, dt.date]:
    """The dates to read for a report: the previous period and this one."""
    return period.previous_window(today)[0], today


def build_report(team_id: str, channel_id: str, period: Period, today: dt.date,
                 daily: Mapping[str, Any]) -> Report:
    """A report from per-day counts (``{"2026-11-20": Tally or {label: n}}``, missing days = 0)."""
    start, end = period.window(today)
    prev_start, prev_end = period.previous_window(today)
    by_day = {dt.date.fromisoformat(day): counts_of(value) for day, value in daily.items()}
    empty = dict.fromkeys(LABELS, 0)
    rows = [DayRow(start + dt.timedelta(days=n), by_day.get(start + dt.timedelta(days=n), empty))
            for n in range(period.days)]

    def total_between(first: dt.date, last: dt.date) -> dict[str, int]:
        out = dict.fromkeys(LABELS, 0)
        for day, counts in by_day.items():
            if first <= day <= last:
                for label in LABELS:
                    out[label] += counts[label]
        return out

    return Report(team_id, channel_id, period, start, end, rows,
                  total_between(start, end), total_between(prev_start, prev_end))


def fetch_report(store: Any, team_id: str, channel_id: str, period: Period,
                 today: dt.date) -> Report:
    """Read the counts a report needs from the store (one ranged read) and build it."""
    first, last = report_range(period, today)
    return build_report(team_id, channel_id, period, today,
                        store.daily_counts(team_id, channel_id, first, last))


# -- rendering ---------------------------------------------------------------------------------
def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else ("0" if value == 0 else f"−{abs(value)}")


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
    lines = [f"{arrow} {_signed(change)} {points} no humor {report.period.versus_pt}"]
    if report.volume_change_pct is not None:
        lines.append(f"{_signed(report.volume_change_pct)}% de mensagens")
    return "\n".join(lines)


def day_line(row: DayRow) -> str:
    """One per-day line: weekday and date, emoji bar, messages and mood."""
    date = f"`{WEEKDAYS_PT[row.day.weekday()]} {row.day:%d/%m}`"
    if row.total == 0:
        return f"{date} {emoji_bar(row.counts)}  sem mensagens"
    unit = "msg" if row.total == 1 else "msgs"
    return f"{date} {emoji_bar(row.counts)}  {row.total} {unit} · humor {_signed(row.mood or 0)}"


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
        return f"Humor de <#{report.channel_id}> ({report.period.label_pt}): nenhuma mensagem analisada."
    parts = ", ".join(f"{LABELS_PT[label]} {report.shares[label]}%"
                      for label in (POSITIVE, NEUTRAL, NEGATIVE))
    return (f"Humor de <#{report.channel_id}> ({report.period.label_pt}): {report.total} mensagens, "
            f"índice {_signed(report.mood_index or 0)} ({parts}).")


def render_blocks(report: Report, *, share_button: bool = True) -> list[dict[str, Any]]:
    """The report as Block Kit blocks, in Portuguese (with a share button unless already shared)."""
    period_dates = (f"{report.start:%d/%m/%Y}" if report.start == report.end
                    else f"{report.start:%d/%m} a {report.end:%d/%m/%Y}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": f"📊 Humor do canal — {report.period.label_pt}"}},
        {"type": "context", "elements": [{"type": "mrkdwn",
                                          "text": f"<#{report.channel_id}> · {period_dates}"}]},
    ]
    if report.total == 0:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            "Nenhuma mensagem analisada neste período. O bot precisa estar no canal, e a análise "
            "não pode estar pausada (`/sentimento retomar`).")}})
    else:
        distribution = "\n".join(
            f"{LABEL_DOTS[label]} {LABELS_PT[label]}: {report.shares[label]}% ({report.totals[label]})"
            for label in (POSITIVE, NEUTRAL, NEGATIVE))
        blocks += [
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": f"*Mensagens analisadas*\n{report.total}"},
                {"type": "mrkdwn", "text": (f"*Índice de humor*\n{_signed(report.mood_index or 0)} "
                                            f"({mood_word(report.mood_index)})")},
                {"type": "mrkdwn", "text": f"*Distribuição*\n{distribution}"},
                {"type": "mrkdwn", "text": f"*Tendência*\n{trend_text(report)}"},
            ]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Por dia*\n" + "\n".join(
                day_line(row) for row in report.rows)}},
        ]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "Índice de humor = % positivas − % negativas (de −100 a 100). "
        "Só guardamos contagens, nunca o texto das mensagens.")}]})
    if share_button:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "action_id": SHARE_ACTION_ID, "value": share_value(report),
            "text": {"type": "plain_text", "text": "Compartilhar no canal", "emoji": True}}]})
    return blocks


def iso_week(day: dt.date) -> str:
    """The ISO week of a date, e.g. ``2026-W48`` (the digest's once-per-week key)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_week(today: dt.date) -> tuple[str, dt.date]:
    """The week a digest sent ``today`` covers: its ISO key and its Sunday (pass as ``today``
    to :func:`build_report` with the 7d period for Monday..Sunday)."""
    sunday = today - dt.timedelta(days=today.isoweekday())
    return iso_week(sunday), sunday
