"""A PNG chart of a report's daily mood (matplotlib, headless; imported only when drawn)."""

from __future__ import annotations

import io

from bot.reports.model import Report
from service.labels import NEGATIVE, NEUTRAL, POSITIVE

COLOURS = {POSITIVE: "#2eb67d", NEUTRAL: "#b0b0b0", NEGATIVE: "#e01e5a"}


def mood_chart_png(report: Report, *, dpi: int = 100) -> bytes:
    """The daily mood index (line, gaps on days without messages) over the daily message
    counts per label (stacked bars), as PNG bytes. Thread-safe: no pyplot global state."""
    # pylint: disable=import-outside-toplevel  # matplotlib is heavy; only load it to draw
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.6), dpi=dpi)
    counts_axis = figure.add_subplot(1, 1, 1)
    _draw_counts(counts_axis, report)
    _draw_mood(counts_axis.twinx(), report)
    figure.suptitle(f"Humor diário — {report.period.label_pt}")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _draw_counts(axis, report: Report) -> None:
    """Stacked bars of the messages per label and day, with the dates on the x axis."""
    positions = list(range(len(report.rows)))
    bottom = [0] * len(report.rows)
    for label, name in ((POSITIVE, "positivas"), (NEUTRAL, "neutras"), (NEGATIVE, "negativas")):
        heights = [row.counts[label] for row in report.rows]
        axis.bar(positions, heights, bottom=bottom, color=COLOURS[label], alpha=0.35,
                 label=name, width=0.8)
        bottom = [b + h for b, h in zip(bottom, heights)]
    axis.set_ylabel("mensagens")
    step = max(1, len(positions) // 10)
    axis.set_xticks(positions[::step], [f"{row.day:%d/%m}" for row in report.rows][::step])
    axis.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)


def _draw_mood(axis, report: Report) -> None:
    """The mood index per day as a line from -100 to 100 (gaps where there were no messages)."""
    moods = [row.mood if row.mood is not None else float("nan") for row in report.rows]
    axis.plot(range(len(moods)), moods, color="#1d1c1d", marker="o", linewidth=2, label="humor")
    axis.axhline(0, color="#888888", linewidth=0.8, linestyle="--")
    axis.set_ylim(-105, 105)
    axis.set_ylabel("índice de humor")
