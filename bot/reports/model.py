"""Channel mood reports, the pure part: period parsing and the maths from daily counts.

Everything here is a pure function of counts; :mod:`bot.reports.views` renders a report and
:mod:`bot.reports.usecases` reads its counts from the store.

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
import math
from dataclasses import dataclass
from typing import Any, Mapping

from bot.blocks import echo
from service.labels import LABELS, NEGATIVE, NEUTRAL, POSITIVE

PERIODS: dict[str, int] = {"hoje": 1, "7d": 7, "30d": 30}
DEFAULT_PERIOD = "7d"


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
        raise PeriodError(f"Período inválido: “{echo(text)}”. Use `hoje`, `7d` ou `30d` "
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
class ModelSpan:
    """A model version that classified messages of a report's period, and the first and last
    day it did."""

    version: str
    first: dt.date
    last: dt.date


def model_spans(daily: Mapping[str, Any], start: dt.date, end: dt.date) -> tuple[ModelSpan, ...]:
    """The model versions of the days in ``[start, end]`` (a Tally's ``models``), in the order
    they first answered (then by name). Days counted before versions were recorded name none."""
    seen: dict[str, list[dt.date]] = {}
    for day, value in daily.items():
        date = dt.date.fromisoformat(day)
        if start <= date <= end:
            for version in getattr(value, "models", None) or ():
                seen.setdefault(version, []).append(date)
    spans = [ModelSpan(version, min(days), max(days)) for version, days in seen.items()]
    return tuple(sorted(spans, key=lambda span: (span.first, span.last, span.version)))


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
    dropped: int = 0  # messages received in the period that could not be analysed
    models: tuple[ModelSpan, ...] = ()  # the model versions that classified the period

    @property
    def model_changed(self) -> bool:
        """More than one model version classified this period's messages."""
        return len(self.models) > 1

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
    """A report from per-day counts (``{"2026-11-20": Tally or {label: n}}``, missing days = 0);
    a Tally's ``dropped`` messages in the period are summed into :attr:`Report.dropped`, and its
    ``models`` give :attr:`Report.models`."""
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

    dropped = sum(int(getattr(value, "dropped", 0) or 0) for day, value in daily.items()
                  if start <= dt.date.fromisoformat(day) <= end)
    return Report(team_id, channel_id, period, start, end, rows,
                  total_between(start, end), total_between(prev_start, prev_end), dropped,
                  model_spans(daily, start, end))


def iso_week(day: dt.date) -> str:
    """The ISO week of a date, e.g. ``2026-W48`` (the digest's once-per-week key)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_week(today: dt.date) -> tuple[str, dt.date]:
    """The week a digest sent ``today`` covers: its ISO key and its Sunday (pass as ``today``
    to :func:`build_report` with the 7d period for Monday..Sunday)."""
    sunday = today - dt.timedelta(days=today.isoweekday())
    return iso_week(sunday), sunday
