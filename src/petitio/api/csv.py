"""Streamed CSV exports: the same rows and columns as the JSON lists.

Each item is passed through the JSON renderer's encoder first, so a cell holds
exactly what the JSON value is (dates, booleans, numbers). Every text cell is
neutralised with ``spreadsheet_safe`` so no spreadsheet runs it as a formula.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from ninja import Schema
from ninja.responses import NinjaJSONEncoder

from petitio.petitions.validators import spreadsheet_safe

CSV_MEDIA_TYPE = "text/csv"
LIST_SEPARATOR = "; "


class _Line:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> str:
    """One JSON value as a spreadsheet-safe cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return spreadsheet_safe(LIST_SEPARATOR.join(csv_cell(v) for v in value))
    if isinstance(value, dict):
        return spreadsheet_safe(json.dumps(value, sort_keys=True))
    return spreadsheet_safe(str(value))


def json_values(item: Schema) -> dict[str, Any]:
    """The item as the JSON renderer writes it."""
    return json.loads(json.dumps(item.model_dump(), cls=NinjaJSONEncoder))


def csv_lines(columns: list[str], batches: Iterable[Iterable[Schema]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(columns)
    for batch in batches:
        for item in batch:
            values = json_values(item)
            yield writer.writerow([csv_cell(values.get(column)) for column in columns])


def csv_response(
    *, schema: type[Schema], batches: Iterable[Iterable[Schema]], filename: str
) -> StreamingHttpResponse:
    """Stream ``batches`` of ``schema`` items as CSV, one row per item."""
    columns = list(schema.model_fields)
    response = StreamingHttpResponse(
        csv_lines(columns, batches), content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
