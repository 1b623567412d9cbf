"""Reading a jobs CSV: its columns, its rows numbered by line, streamed.

What the rows mean (create or update by ``reference``, times, technicians) is
:mod:`portal.domain.imports`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

COLUMNS = (
    "reference",
    "title",
    "description",
    "customer",
    "address",
    "scheduled_start",
    "scheduled_end",
    "assignee_email",
)


class ImportFileError(Exception):
    """The file as a whole cannot be imported (not CSV, missing columns)."""


@dataclass
class Row:
    line: int
    values: dict[str, str]


def iter_csv(lines: Iterable[str]) -> Iterator[Row]:
    """Parse CSV lines into rows numbered by the line they start on (the header is line 1).

    Raise ImportFileError when the header lacks a column or the text is not CSV.
    """
    reader = csv.DictReader(_without_bom(lines))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("reference", "title") if c not in header]
    if missing:
        raise ImportFileError(
            f"The header must name the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}."
        )
    reader.fieldnames = header
    line = reader.line_num + 1
    try:
        for record in reader:
            values = {k: (v or "").strip() for k, v in record.items() if k in COLUMNS}
            if any(values.values()):
                yield Row(line, values)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(
            f"Line {reader.line_num}: the file is not valid CSV ({exc})."
        ) from exc


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    it = iter(lines)
    first = next(it, None)
    if first is not None:
        yield first.lstrip("\ufeff")
    yield from it


def read_csv(text: str) -> list[Row]:
    """Parse CSV text into rows (see :func:`iter_csv`)."""
    return list(iter_csv(io.StringIO(text, newline="")))
