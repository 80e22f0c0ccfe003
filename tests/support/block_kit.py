"""One validator for every Block Kit payload the bot builds: Slack's documented limits, checked
on the JSON itself, plus slack_sdk's own model validation as a second opinion.

``check_blocks(kind, payload)`` returns the problems found (an empty list when the payload is
within every limit), so a failing test shows all of them at once.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from bot import limits
from bot.limits import size

SURFACE_BLOCKS = {"message": limits.MESSAGE_BLOCKS, "home": limits.VIEW_BLOCKS,
                  "modal": limits.VIEW_BLOCKS}
TEXT_TYPES = ("plain_text", "mrkdwn")


def _text(where: str, obj: Any, limit: int, problems: list[str], *, plain: bool = False) -> None:
    """A text object: its type, and 1 to ``limit`` characters."""
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        problems.append(f"{where}: not a text object: {obj!r:.80}")
        return
    if plain and obj["type"] != "plain_text":
        problems.append(f"{where}: must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: empty text")
    elif size(text) > limit:
        problems.append(f"{where}: {size(text)} characters > {limit}")


def _element(where: str, element: dict, problems: list[str]) -> None:
    """An interactive element (the bot only uses buttons)."""
    if element.get("type") != "button":
        problems.append(f"{where}: unexpected element {element.get('type')!r}")
        return
    _text(f"{where}.text", element.get("text"), limits.BUTTON_TEXT, problems, plain=True)
    action_id = element.get("action_id", "")
    if not 0 < size(action_id) <= limits.ACTION_ID:
        problems.append(f"{where}: action_id of {size(action_id)} characters")
    if "value" in element and size(element["value"]) > limits.BUTTON_VALUE:
        problems.append(f"{where}: value of {size(element['value'])} characters")
    if "url" in element and size(element["url"]) > limits.BUTTON_URL:
        problems.append(f"{where}: url of {size(element['url'])} characters")


def _section(where: str, block: dict, problems: list[str]) -> None:
    """A section: text and/or up to 10 fields, and maybe an accessory."""
    if "text" not in block and not block.get("fields"):
        problems.append(f"{where}: section without text or fields")
    if "text" in block:
        _text(f"{where}.text", block["text"], limits.SECTION_TEXT, problems)
    fields = block.get("fields", [])
    if len(fields) > limits.SECTION_FIELDS:
        problems.append(f"{where}: {len(fields)} fields > {limits.SECTION_FIELDS}")
    for index, field in enumerate(fields):
        _text(f"{where}.fields[{index}]", field, limits.FIELD_TEXT, problems)
    if "accessory" in block:
        _element(f"{where}.accessory", block["accessory"], problems)


def _header(where: str, block: dict, problems: list[str]) -> None:
    """A header: plain text of at most 150 characters."""
    _text(f"{where}.text", block.get("text"), limits.HEADER_TEXT, problems, plain=True)


def _context(where: str, block: dict, problems: list[str]) -> None:
    """A context: 1 to 10 text (or image) elements."""
    elements = block.get("elements", [])
    if not 0 < len(elements) <= limits.CONTEXT_ELEMENTS:
        problems.append(f"{where}: {len(elements)} context elements")
    for index, element in enumerate(elements):
        _text(f"{where}.elements[{index}]", element, limits.TEXT_OBJECT, problems)


def _actions(where: str, block: dict, problems: list[str]) -> None:
    """An actions block: 1 to 25 elements with distinct action_ids."""
    elements = block.get("elements", [])
    if not 0 < len(elements) <= limits.ACTIONS_ELEMENTS:
        problems.append(f"{where}: {len(elements)} actions elements")
    action_ids = [element.get("action_id") for element in elements]
    if len(set(action_ids)) != len(action_ids):
        problems.append(f"{where}: repeated action_id")
    for index, element in enumerate(elements):
        _element(f"{where}.elements[{index}]", element, problems)


BLOCK_CHECKS = {"section": _section, "header": _header, "context": _context,
                "actions": _actions, "divider": lambda where, block, problems: None}


def _block(where: str, block: dict, problems: list[str]) -> None:
    """One block, by type."""
    kind = block.get("type")
    if kind not in BLOCK_CHECKS:
        problems.append(f"{where}: unexpected block type {kind!r}")
        return
    if "block_id" in block and not 0 < size(block["block_id"]) <= limits.BLOCK_ID:
        problems.append(f"{where}: block_id of {size(block['block_id'])} characters")
    BLOCK_CHECKS[kind](where, block, problems)


def _sdk_opinion(where: str, block: dict, problems: list[str]) -> None:
    """What slack_sdk's models say of the block (they count code points, we count more)."""
    try:
        parsed = Block.parse(block)
        if parsed is None:
            problems.append(f"{where}: slack_sdk cannot parse it")
        else:
            parsed.validate_json()
    except (SlackObjectFormationError, KeyError, TypeError) as exc:
        problems.append(f"{where}: slack_sdk: {exc}")


def check_blocks(kind: str, payload: dict[str, Any]) -> list[str]:
    """Every way ``payload`` breaks Slack's documented limits for a surface of ``kind``
    (``message``: chat.postMessage / postEphemeral / response_url / chat.update; ``home`` or
    ``modal``: a view). Empty when it is within all of them."""
    problems: list[str] = []
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return [f"{kind}: no blocks"]
    if len(blocks) > SURFACE_BLOCKS[kind]:
        problems.append(f"{kind}: {len(blocks)} blocks > {SURFACE_BLOCKS[kind]}")
    if kind == "message":
        text = payload.get("text")
        if not isinstance(text, str) or not text:
            problems.append("message: no top-level text (notifications and fallback)")
        elif size(text) > limits.MESSAGE_TEXT_ADVISED:
            problems.append(f"message: text of {size(text)} characters > "
                            f"{limits.MESSAGE_TEXT_ADVISED}")
    elif payload.get("type") != kind:
        problems.append(f"{kind}: view type {payload.get('type')!r}")
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    if len(set(block_ids)) != len(block_ids):
        problems.append(f"{kind}: repeated block_id")
    for index, block in enumerate(blocks):
        _block(f"blocks[{index}]", block, problems)
        _sdk_opinion(f"blocks[{index}]", block, problems)
    return problems


def block_texts(payload: dict[str, Any]) -> str:
    """Every text a reader sees in ``payload``'s blocks, one per line."""
    texts: list[str] = []
    for block in payload["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts.extend(field["text"] for field in block.get("fields", []))
        texts.extend(element["text"] if isinstance(element["text"], str) else element["text"]["text"]
                     for element in block.get("elements", []) if "text" in element)
    return "\n".join(texts)
