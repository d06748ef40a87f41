"""Locate the shared evaluation data (never copied into the project).

Default: ``<project root>/../shared/data/tipdm2020``; override with ``HOTLINE_SHARED_DIR``
(either the tipdm2020 folder itself or a folder containing ``data/tipdm2020`` or ``tipdm2020``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

__all__ = ["PROJECT_ROOT", "shared_dir", "shared_file", "shared_available", "read_jsonl", "SharedDataMissing"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SharedDataMissing(FileNotFoundError):
    """The tipdm2020 shared data is not present on this machine."""


def shared_dir() -> Path:
    env = os.environ.get("HOTLINE_SHARED_DIR")
    if env:
        base = Path(env)
        for cand in (base, base / "data" / "tipdm2020", base / "tipdm2020"):
            if (cand / "train_tokens.jsonl").exists() or (cand / "README.md").exists():
                return cand
        return base
    return PROJECT_ROOT.parent / "shared" / "data" / "tipdm2020"


def shared_available(name: str = "README.md") -> bool:
    return (shared_dir() / name).exists()


def shared_file(name: str) -> Path:
    path = shared_dir() / name
    if not path.exists():
        raise SharedDataMissing(
            f"shared data file {path} not found (set HOTLINE_SHARED_DIR to the tipdm2020 folder)")
    return path


def read_jsonl(path: str | Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for ln in fh:
            if ln.strip():
                yield json.loads(ln)
