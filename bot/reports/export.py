"""``python -m bot report --team T --channel C --days 7 --format json|csv``: a channel's figures.

Reads the store configured by the environment (``STORE``, ``SQLITE_PATH``,
``GOOGLE_CLOUD_PROJECT``...). JSON: ``{"team", "channel", "start", "end", "days": [{"date",
"positive", "neutral", "negative"}], "totals": {...}, "mood_index"}``; CSV: one row per day
and a ``total`` row.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.reports.model import Period
from bot.reports.usecases import fetch_report
from service.settings import EnvReader, SettingsError

MAX_DAYS = 366


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors with exit status 2 and no traceback."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"erro: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bot report",
                     description="Exporta as contagens diárias de sentimento de um canal.")
    parser.add_argument("--team", required=True, help="id do espaço de trabalho (T...)")
    parser.add_argument("--channel", required=True, help="id do canal (C...)")
    parser.add_argument("--days", type=int, default=7, help=f"dias até hoje, 1 a {MAX_DAYS} (padrão 7)")
    parser.add_argument("--until", type=dt.date.fromisoformat, default=None,
                        help="último dia, AAAA-MM-DD (padrão: hoje no fuso TIMEZONE)")
    parser.add_argument("--format", choices=("json", "csv"), default="json", help="json (padrão) ou csv")
    return parser


def to_csv(data: dict) -> str:
    """CSV rows ``date,positive,neutral,negative,total`` plus a ``total`` row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "positive", "neutral", "negative", "total"])
    for day in data["days"]:
        counts = [day["positive"], day["neutral"], day["negative"]]
        writer.writerow([day["date"], *counts, sum(counts)])
    totals = [data["totals"]["positive"], data["totals"]["neutral"], data["totals"]["negative"]]
    writer.writerow(["total", *totals, sum(totals)])
    return out.getvalue()


def report_timezone(environ: Mapping[str, str] | None = None) -> ZoneInfo:
    """``TIMEZONE`` (the bot's, default ``America/Sao_Paulo``): days are counted in it, so
    "today" is too. Raises :class:`SettingsError` for an unknown zone."""
    env = EnvReader(environ)
    name = env.text("TIMEZONE", "America/Sao_Paulo")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        env.problems.append(f"TIMEZONE={name!r} não é um fuso horário IANA, ex.: America/Sao_Paulo")
        zone = ZoneInfo("UTC")
    env.check()
    return zone


def main(argv: Sequence[str] | None = None) -> int:
    """Print a channel's daily counts as JSON or CSV; 0 on success, 2 on bad arguments/settings."""
    # pylint: disable=import-outside-toplevel  # the store's libraries load only when used
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if not 1 <= args.days <= MAX_DAYS:
        print(f"erro: --days deve estar entre 1 e {MAX_DAYS}", file=sys.stderr)
        return 2
    from pathlib import Path

    from bot.store import StoreSettings, open_store

    try:
        settings = StoreSettings.from_env()
        timezone = report_timezone()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if settings.backend == "sqlite" and not Path(settings.sqlite_path).is_file():
        print(f"erro: banco SQLite não encontrado em {settings.sqlite_path} (defina SQLITE_PATH)",
              file=sys.stderr)
        return 2
    store = open_store(settings=settings)
    try:
        today = args.until or dt.datetime.now(timezone).date()
        report = fetch_report(store, args.team, args.channel, Period(f"{args.days}d", args.days), today)
    finally:
        store.close()
    data = report.to_dict()
    if args.format == "csv":
        sys.stdout.write(to_csv(data))
    else:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
