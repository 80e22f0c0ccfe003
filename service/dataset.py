"""A labelled evaluation file: JSONL (one ``{"text", "label"}`` object a line) or CSV (columns
``text`` and ``label``; chosen by the ``.csv`` suffix).

Labels are ``negative``, ``neutral``, ``positive`` or their Portuguese names (``negativo``,
``neutro``, ``positivo``...), any case. A bad row (not JSON, not an object, no text, empty or
blank text, text over 40,000 characters, unknown label) is reported with its line number and
skipped, never fatal; a file that cannot be read at all raises :class:`DatasetError`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from service.labels import UnknownLabelError, normalise_label
from service.settings import MAX_CHARS


class DatasetError(OSError):
    """The file cannot be read (missing, a directory, not UTF-8, CSV without the columns)."""


@dataclass(frozen=True)
class LabelledText:
    """One usable row: its line in the file, its text and its canonical label."""

    line: int
    text: str
    label: str


@dataclass(frozen=True)
class Skipped:
    """A row left out, with its line number and why (never its text)."""

    line: int
    reason: str


def _label(raw: str) -> str | None:
    """The canonical label of a dataset's label, or None (a model's ``LABEL_0`` is not one)."""
    try:
        canonical = normalise_label(raw)
    except UnknownLabelError:
        return None
    return None if raw.strip().lower().startswith("label") else canonical


def _problem(text: object, label: object) -> str | None:
    """Why a row cannot be used, or None."""
    if not isinstance(text, str):
        return "campo \"text\" ausente ou não é texto"
    if not text.strip():
        return "texto vazio"
    if len(text) > MAX_CHARS:
        return f"texto com mais de {MAX_CHARS} caracteres"
    if not isinstance(label, str):
        return "campo \"label\" ausente ou não é texto"
    if _label(label) is None:
        return (f"rótulo desconhecido {label.strip()[:40]!r}: use negative, neutral ou positive "
                "(ou negativo, neutro, positivo)")
    return None


def _check(line: int, text: object, label: object) -> LabelledText | Skipped:
    problem = _problem(text, label)
    if problem is not None:
        return Skipped(line, problem)
    return LabelledText(line, text, _label(label))  # type: ignore[arg-type]  # checked above


def parse_jsonl(lines: Iterable[str]) -> tuple[list[LabelledText], list[Skipped]]:
    """Rows of a JSONL text; blank lines are ignored, line numbers start at 1."""
    rows, skipped = [], []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError:
            skipped.append(Skipped(number, "JSON inválido"))
            continue
        if not isinstance(item, dict):
            skipped.append(Skipped(number, "não é um objeto JSON {\"text\", \"label\"}"))
            continue
        checked = _check(number, item.get("text"), item.get("label"))
        (rows if isinstance(checked, LabelledText) else skipped).append(checked)
    return rows, skipped


def parse_csv(text: str) -> tuple[list[LabelledText], list[Skipped]]:
    """Rows of a CSV text with a header naming ``text`` and ``label``; line numbers are the
    file's (the header is line 1; a quoted text spanning lines is numbered by its first)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = {name.strip().lower() for name in reader.fieldnames or ()}
    if not {"text", "label"} <= columns:
        raise DatasetError("o CSV precisa de um cabeçalho com as colunas text e label")
    rows, skipped = [], []
    line = reader.line_num + 1
    for record in reader:
        fields = {(key or "").strip().lower(): value for key, value in record.items()}
        checked = _check(line, fields.get("text"), fields.get("label"))
        (rows if isinstance(checked, LabelledText) else skipped).append(checked)
        line = reader.line_num + 1
    return rows, skipped


def read_labelled(path: str | Path) -> tuple[list[LabelledText], list[Skipped]]:
    """Read ``path`` (CSV when it ends in ``.csv``, else JSONL); :class:`DatasetError` when it
    cannot be read."""
    file = Path(path)
    try:
        content = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DatasetError(f"arquivo não encontrado: {file}") from exc
    except IsADirectoryError as exc:
        raise DatasetError(f"{file} é um diretório, não um arquivo") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{file} não está em UTF-8 (byte {exc.start})") from exc
    except OSError as exc:
        raise DatasetError(f"não foi possível ler {file}: {exc.strerror or exc}") from exc
    if file.suffix.lower() == ".csv":
        try:
            return parse_csv(content)
        except csv.Error as exc:
            raise DatasetError(f"CSV ilegível em {file}: {exc}") from exc
    return parse_jsonl(content.splitlines())
