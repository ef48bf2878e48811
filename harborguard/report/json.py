"""``--format json``: the harborguard.report/v1 contract, verbatim."""

from __future__ import annotations

import json
from typing import Any


def render(report: dict[str, Any], colour: bool = False, width: int = 0) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
