"""Posting a report in a channel: the Block Kit message, then the chart image when allowed.

The chart needs the ``files:write`` scope. Without it (``missing_scope``), or when the upload
fails for any other reason (a connection error included), the text report stands alone: the
failure is logged (error code only) and never shown in the channel.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.reports.model import Report
from bot.reports.views import chart_title
from bot.slack import slack_error

log = logging.getLogger(__name__)

CHART_FILENAME = "humor-diario.png"


def post_report(client: WebClient, channel_id: str, message: dict[str, Any], report: Report, *,
                chart: bool = True) -> str:
    """Post ``message`` in the channel, then its chart (when ``chart`` and the report has
    messages). Returns the message's ``ts``; raises :class:`SlackApiError` if the message itself
    could not be posted."""
    posted = client.chat_postMessage(channel=channel_id, unfurl_links=False, **message)
    if chart and report.total > 0:
        upload_chart(client, channel_id, report)
    return str(posted.get("ts", ""))


def upload_chart(client: WebClient, channel_id: str, report: Report) -> bool:
    """Upload the daily mood chart into the channel (``files_upload_v2``); False when it could
    not be (no ``files:write``, or any other failure: the text report stands alone)."""
    # pylint: disable=import-outside-toplevel  # matplotlib loads only when a chart is drawn
    from bot.reports.chart import mood_chart_png

    try:
        png = mood_chart_png(report)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the text report stands alone
        log.error("chart not drawn: %s", exc.__class__.__name__)
        return False
    try:
        client.files_upload_v2(channel=channel_id, file=png, filename=CHART_FILENAME,
                               title=chart_title(report),
                               alt_txt=f"Gráfico do humor diário: {chart_title(report)}")
        return True
    except SlackApiError as exc:
        error = slack_error(exc)
        if error == "missing_scope":
            log.info("chart not posted: the app lacks files:write (text report only)")
        else:
            log.warning("chart not posted: %s", error)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the message is already posted
        # e.g. urllib's URLError after the client's retries: raising here would make the digest
        # release its claim and post the same report twice.
        log.warning("chart not posted: %s", exc.__class__.__name__)
    return False
