"""``python -m bot forget --team T [--enterprise E]``: delete a workspace's data now (tallies,
channel switches, moderation settings, threads, alerts, claims, its scheduled deletion) and, in
OAuth mode (``SLACK_CLIENT_ID`` set), its installation. Reads the store configured by the
environment (``STORE``, ``SQLITE_PATH``, ``GOOGLE_CLOUD_PROJECT``...); prints the records
deleted by kind as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from bot.ids import valid_id
from service.settings import SettingsError


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors with exit status 2 and no traceback."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"erro: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bot forget",
                     description="Apaga agora todos os dados de um workspace (e a instalação, "
                                 "no modo OAuth).")
    parser.add_argument("--team", required=True, help="id do workspace (T...)")
    parser.add_argument("--enterprise", default=None,
                        help="id da organização Enterprise Grid (E...), se houver")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Forget one workspace; 0 on success, 2 on bad arguments or settings."""
    # pylint: disable=import-outside-toplevel  # the store's libraries load only when used
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    from bot.store import StoreSettings, open_store
    from bot.store.installations import open_installation_store
    from bot.workspaces.usecases import forget_now

    settings: StoreSettings | None = None
    if not valid_id(args.team) or (args.enterprise is not None and not valid_id(args.enterprise)):
        problem = "erro: --team (e --enterprise) devem ser ids do Slack, ex.: T0123ABCD"
    else:
        try:
            settings, problem = StoreSettings.from_env(), ""
        except SettingsError as exc:
            problem = str(exc)
    if settings is None:
        print(problem, file=sys.stderr)
        return 2
    client_id = os.environ.get("SLACK_CLIENT_ID") or None
    installations = open_installation_store(settings, client_id) if client_id else None
    store = open_store(settings=settings)
    try:
        deleted = forget_now(store, installations, args.team, args.enterprise)
    finally:
        store.close()
    print(json.dumps({"team": args.team, "deleted": deleted,
                      "installation_deleted": installations is not None}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
