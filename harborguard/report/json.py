"""``--format json``: the harborguard.report/v1 contract, verbatim.

Top-level keys one per line and each list item on its own line: readable in a diff or a
pager, and fast (the C encoder does every item; indent= would force the pure-Python one).
"""

from __future__ import annotations

import json
from typing import Any

_encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def render(report: dict[str, Any], colour: bool = False, width: int = 0,
           **options: Any) -> str:
    """The contract document; ``options`` (such as fail_on) are accepted and ignored."""
    lines = ["{"]
    keys = list(report)
    for n, key in enumerate(keys):
        value = report[key]
        comma = "," if n < len(keys) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f"  {_encode(key)}: [")
            last = len(value) - 1
            lines.extend(
                f"    {_encode(item)}{',' if i < last else ''}" for i, item in enumerate(value)
            )
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {_encode(key)}: {_encode(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"
