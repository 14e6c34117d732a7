"""Finding the row of a file DuckDB could not read at all: bad UTF-8, a long line, a CSV break.

This path is rare, so it may be slow: a plain Python scan after the
transaction rolled back, giving the line and the fix instead of DuckDB's text.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from pathlib import Path

import duckdb

from outcome_pricing.errors import Problem, ValidationError
from outcome_pricing.ingest.mapping import Mapping
from outcome_pricing.ingest.read import InputFile, file_delimiter, opener

MAX_LINE_BYTES = 2_000_000  # DuckDB's CSV reader refuses longer lines


def diagnose(item: InputFile, m: Mapping, cause: duckdb.Error) -> ValidationError:
    """Explain a file DuckDB could not read at all (after the transaction rolled back).

    This path is rare, so it may be slow: a plain Python scan finds the line.
    """
    # Only DuckDB's first line: the rest can quote a whole (huge, hostile) line of the file.
    first = str(cause).splitlines()[0][:300] if str(cause) else type(cause).__name__
    if item.is_parquet:
        return _one_problem(item, None, f"not a readable Parquet file: {first}")
    if item.path.suffix.lower() == ".gz":
        broken = _gzip_problem(item.path)
        if broken is not None:
            return _one_problem(item, None, broken)
    with opener(item.path)(item.path, "rb") as fh:
        start = fh.read(64)
    if not start.removeprefix(b"\xef\xbb\xbf").strip():
        return _one_problem(item, None, "the file is empty (no header row)")
    found = find_invalid_utf8(item.path) or _find_long_line(item.path)
    if found is None:
        found = _find_csv_break(item.path, file_delimiter(item, m))
    if found is not None:
        return _one_problem(item, *found)
    return _one_problem(
        item, None,
        f"not a readable CSV file with a header row and {file_delimiter(item, m)!r} as delimiter: {first}",
    )


def _one_problem(item: InputFile, row: int | None, rule: str) -> ValidationError:
    return ValidationError(item.name, [Problem(item.name, row, None, rule)])


def _gzip_problem(path: Path) -> str | None:
    """What is wrong with a gzip file as a whole (truncated, corrupt), or None if it reads."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except EOFError:
        return ("truncated gzip file: the compressed data ends before the end of the stream "
                "(an interrupted download or copy?); compress or copy the file again")
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        return f"corrupt gzip file, not readable as gzip ({exc}); compress or copy the file again"
    return None


def find_invalid_utf8(path: Path) -> tuple[int, str] | None:
    """(line number, rule) of the first invalid UTF-8 sequence, or None (a .gz file is read unzipped)."""
    offset = 0
    with opener(path)(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, (
                    f"invalid UTF-8 byte sequence (byte offset {offset + exc.start}); "
                    "save the file as UTF-8"
                )
            offset += len(line)
    return None


def _find_long_line(path: Path) -> tuple[int, str] | None:
    with opener(path)(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if len(line) > MAX_LINE_BYTES:
                return number, (
                    f"line of {len(line):,} bytes, over the {MAX_LINE_BYTES:,}-byte limit of one row "
                    "(a huge field, or a quote that never closes?)"
                )
    return None


def _find_csv_break(path: Path, delimiter: str) -> tuple[int, str] | None:
    """The line where the CSV structure breaks: an unclosed quote or a wrong field count."""
    with opener(path)(path, "rt", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        width = None
        start = 1
        try:
            for record in reader:
                if width is None:
                    width = len(record)
                elif len(record) != width and record:
                    return start, f"{len(record)} fields where the header has {width}"
                start = reader.line_num + 1
        except csv.Error as exc:
            return start, f"badly quoted value in the row starting here ({exc})"
    return None
