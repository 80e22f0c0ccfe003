"""Slack's Block Kit limits, and the helpers every view uses to stay within them. Pure.

Source: Slack's Block Kit reference (docs.slack.dev/reference/block-kit: the *section*,
*header*, *context*, *actions* blocks, the *button* element and the *text* composition object),
the ``chat.postMessage`` reference for a message's top-level ``text``, and the *views*
reference for modals and the App Home. ``slack_sdk.models`` encodes the same numbers
(``SectionBlock.text_max_length`` and so on); a unit test compares them.

What Slack calls a character is not documented. :func:`size` counts UTF-16 code units, which
is never less than the number of code points (an emoji such as 🟩 counts 2): the conservative
reading, so a text that fits here fits whatever Slack counts.

A view that must cut says so in Portuguese (``… e mais 3 alertas``) instead of letting Slack
refuse the whole message with ``invalid_blocks``.
"""

from __future__ import annotations

from typing import Callable, Sequence

# -- blocks per surface ----------------------------------------------------------------------
MESSAGE_BLOCKS = 50  # blocks in one message
VIEW_BLOCKS = 100  # blocks in a modal or the App Home tab

# -- text ------------------------------------------------------------------------------------
TEXT_OBJECT = 3000  # any text object (plain_text or mrkdwn), context elements included
SECTION_TEXT = 3000  # a section's ``text``
SECTION_FIELDS = 10  # a section's ``fields``: at most this many...
FIELD_TEXT = 2000  # ...of at most this many characters each
HEADER_TEXT = 150  # a header's plain_text
CONTEXT_ELEMENTS = 10  # a context block's elements (text objects and images)
# A message's top-level ``text``: Slack truncates past 40,000 characters and advises at most
# 4,000; the bot keeps to the advice (it is the notification and the fallback, never the
# whole content).
MESSAGE_TEXT = 40_000
MESSAGE_TEXT_ADVISED = 4_000

# -- interactive elements --------------------------------------------------------------------
ACTIONS_ELEMENTS = 25  # an actions block's elements
BUTTON_TEXT = 75  # a button's plain_text label
BUTTON_VALUE = 2000  # a button's ``value``
BUTTON_URL = 3000  # a button's ``url``
ACTION_ID = 255  # an element's ``action_id``
BLOCK_ID = 255  # a block's ``block_id``

ELLIPSIS = "…"


def size(text: str) -> int:
    """``text``'s length as Slack may count it: UTF-16 code units (see the module's note)."""
    return len(text.encode("utf-16-le")) // 2


def _prefix(text: str, units: int) -> str:
    """The longest start of ``text`` whose :func:`size` is at most ``units``."""
    used = 0
    for position, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:position]
    return text


def truncate(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """``text`` when it fits in ``limit``; else its start and ``ellipsis``, cut before any
    Slack markup (``<#C123>``, ``<https://...|link>``) the cut would break."""
    if size(text) <= limit:
        return text
    if limit <= size(ellipsis):
        return _prefix(ellipsis, max(limit, 0))
    cut = _prefix(text, limit - size(ellipsis))
    opened = cut.rfind("<")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    return cut.rstrip() + ellipsis


def more_text(hidden: int) -> str:
    """The default line for what did not fit: ``… e mais 3``."""
    return f"{ELLIPSIS} e mais {hidden}"


def _joined_size(sizes: Sequence[int]) -> int:
    """The size of lines of these sizes joined by newlines."""
    return sum(sizes) + max(len(sizes) - 1, 0)


def fit_lines(lines: Sequence[str], limit: int, more: Callable[[int], str] = more_text, *,
              head: str = "") -> str:
    """``head`` and as many whole ``lines`` as fit in ``limit``, one per line; ``more(n)`` ends
    it when ``n`` lines had to be left out.

    Room for the ``more`` line is always kept, so the number of lines shown does not depend on
    whether some are left out: when ``k`` lines are all shown, ``k + 1`` lines show the same
    ``k`` and ``more(1)``. A line is never cut in the middle, unless ``head`` and ``more``
    alone do not fit.
    """
    count = len(lines)
    top = [head] if head else []
    reserve = max(size(more(hidden)) for hidden in (1, 2, max(count, 1)))
    used = [size(line) for line in top]
    kept = 0
    for line in lines:
        if _joined_size(used + [size(line), reserve]) > limit:
            break
        used.append(size(line))
        kept += 1
    tail = [more(count - kept)] if kept < count else []
    return truncate("\n".join(top + list(lines[:kept]) + tail), limit)


def split_sections(lines: Sequence[str], limit: int, max_parts: int,
                   more: Callable[[int], str] = more_text, *, head: str = "") -> list[str]:
    """``lines`` packed in order into at most ``max_parts`` texts of at most ``limit`` each
    (``head`` opens the first), keeping lines whole (a line longer than ``limit`` on its own is
    cut). The last part is filled by :func:`fit_lines`: it ends with ``more(n)`` for the ``n``
    lines that did not fit. Empty when there is neither ``head`` nor a line."""
    if not lines and not head:
        return []
    parts: list[str] = []
    current = [truncate(head, limit)] if head else []
    index = 0
    while index < len(lines) and len(parts) < max_parts - 1:
        line = truncate(lines[index], limit)
        if current and _joined_size([size(text) for text in current + [line]]) > limit:
            parts.append("\n".join(current))
            current = []
            continue
        current.append(line)
        index += 1
    if index < len(lines):
        rest = [truncate(line, limit) for line in lines[index:]]
        if current:  # the last part starts with what the previous loop put in it
            parts.append(fit_lines(rest, limit, more, head="\n".join(current)))
        else:
            parts.append(fit_lines(rest, limit, more))
    elif current:
        parts.append("\n".join(current))
    return parts
