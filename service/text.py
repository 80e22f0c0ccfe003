"""Text clean-up before the model: Slack markup to the plain text XLM-T was trained on."""

from __future__ import annotations

import html
import re

import emoji

_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#C[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|[^>]*)?>")
_OTHER_BANG = re.compile(r"<![^>]*>")
_LINK = re.compile(r"<(?:https?://|mailto:|tel:|ftp://)[^>]*>")
_BARE_URL = re.compile(r"\b(?:https?://|www\.)\S+")
_SKIN_TONE = re.compile(r":skin-tone-\d:")
_SHORTCODE = re.compile(r":[a-z0-9_+\-']+:")
_WHITESPACE = re.compile(r"\s+")

# Slack names that differ from the ``emoji`` package's aliases.
_SLACK_EMOJI = {
    ":simple_smile:": "🙂", ":slightly_smiling_face:": "🙂", ":white_frowning_face:": "☹️",
    ":thumbsup:": "👍", ":thumbsdown:": "👎", ":+1:": "👍", ":-1:": "👎",
    ":heart:": "❤️", ":tada:": "🎉", ":rage:": "😡", ":cry:": "😢",
}


def _shortcode(match: re.Match) -> str:
    code = match.group(0)
    if code in _SLACK_EMOJI:
        return _SLACK_EMOJI[code]
    converted = emoji.emojize(code, language="alias")
    return converted if converted != code else code


def clean_text(text: str) -> str:
    """Turn a Slack message into model input.

    Code blocks and inline code are dropped; user and group mentions become
    ``@user`` and links ``http`` (the XLM-T training convention); channel
    mentions become ``#name``; ``:smile:`` shortcodes become Unicode emoji;
    HTML entities are unescaped and whitespace is collapsed.
    """
    out = _CODE_BLOCK.sub(" ", text)
    out = _INLINE_CODE.sub(" ", out)
    out = _USER.sub("@user", out)
    out = _SUBTEAM.sub("@user", out)
    out = _CHANNEL.sub(lambda m: f"#{m.group(1)}" if m.group(1) else "#canal", out)
    out = _SPECIAL.sub(lambda m: f"@{m.group(1)}", out)
    out = _OTHER_BANG.sub(" ", out)
    out = _LINK.sub("http", out)
    out = _BARE_URL.sub("http", out)
    out = html.unescape(out)
    out = _SKIN_TONE.sub("", out)
    out = _SHORTCODE.sub(_shortcode, out)
    return _WHITESPACE.sub(" ", out).strip()


def model_input(text: str) -> str:
    """What a backend is given for ``text``: the cleaned text, or the stripped original when
    clean-up leaves nothing (a message that is only code or markup still gets an answer)."""
    return clean_text(text) or text.strip()
