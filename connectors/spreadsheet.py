"""CSV and Excel files as they are really exported: titles above the header, odd encodings.

CSV text is decoded here, not by pandas: a BOM decides (utf-8-sig, utf-16); else strict
UTF-8; else cp1252 or Mac Roman, whichever reads more like text (see `guess_legacy_encoding`).
Every value is read as text and kept verbatim (`000123`, `6.37702E+15`); empty cells are None.
Mojibake from UTF-8 text once read as cp1252 (`Lutsâ€™k`) is repaired per cell when the
round trip is exact (`repair_mojibake`). Workbooks are read with openpyxl (cached formula
values, dates as datetime, numbers as numbers). Files have no cursor: every read is full.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import openpyxl
import pandas as pd
from pydantic import field_validator, model_validator

from connectors.base import Batch, Connector, SourceConfig, SourceError, StreamConfig

CSV_SUFFIXES, XLSX_SUFFIXES = (".csv", ".tsv", ".txt"), (".xlsx", ".xlsm")
JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH_ROWS = 20
_TEXT_PUNCTUATION = set(
    "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u20ac\u00a3\u00a9\u00ae\u00b0\u00ab\u00bb\u00a7\u00a0"
)
#: a lead byte of UTF-8 (\u00c2-\u00c5, \u00e2) read as cp1252, then a continuation byte
_MOJIBAKE = re.compile(
    "[\u00c2-\u00c5\u00e2][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)


def spreadsheet_path(path: str | None) -> str | None:
    """A `path:` of a spreadsheet source or stream, refused at load when its suffix is not a
    spreadsheet's (the message names the key, via the config's error paths)."""
    suffix = Path(path).suffix.lower() if path else ""
    if path and suffix not in CSV_SUFFIXES + XLSX_SUFFIXES:
        hint = ("; JSON is read by `kind: json_files` (or the `glpi_inventory` and `netbox_export` "
                "presets)") if suffix in JSON_SUFFIXES else ""  # fmt: skip
        raise ValueError(f"{path!r} is not a spreadsheet: expected .csv, .tsv, .txt, .xlsx or .xlsm{hint}")
    return path


class SheetStream(StreamConfig):
    #: the file, when it is not the source's `path`
    path: str | None = None
    #: xlsx: sheet name or 0-based index (default: the first sheet)
    sheet: str | int | None = None
    #: xlsx: several sheets read one after the other, with a `_sheet` column
    sheets: list[str | int] | None = None
    #: 1-based row of the column names, or `auto` (skips title and blank rows)
    header_row: int | Literal["auto"] = "auto"
    encoding: str = "auto"
    #: CSV: `,` `;` tab or `|`; sniffed when not given
    delimiter: str | None = None
    skip_rows_after_header: int = 0
    repair_mojibake: bool = True

    @field_validator("path")
    @classmethod
    def _spreadsheet(cls, path: str | None) -> str | None:
        return spreadsheet_path(path)

    @model_validator(mode="after")
    def _no_cursor(self) -> SheetStream:
        if self.cursor is not None:
            raise ValueError("files have no incremental cursor: remove `cursor`")
        if self.sheet is not None and self.sheets is not None:
            raise ValueError("give `sheet` or `sheets`, not both")
        return self


class SpreadsheetSourceConfig(SourceConfig):
    kind: Literal["spreadsheet"]
    #: .csv/.tsv/.txt or .xlsx/.xlsm; relative paths start at the folder of config.yaml
    path: str | None = None
    entities: dict[str, SheetStream]  # type: ignore[assignment]

    @field_validator("path")
    @classmethod
    def _spreadsheet(cls, path: str | None) -> str | None:
        return spreadsheet_path(path)

    @model_validator(mode="after")
    def _every_stream_has_a_path(self) -> SpreadsheetSourceConfig:
        for entity, stream in self.entities.items():
            if stream.path is None and self.path is None:
                raise ValueError(f"entities.{entity}: no file: set `path` here or on the source")
        return self


def _text_score(text: str) -> int:
    """How much a decoding looks like text: accented letters and typographic punctuation
    count for it; symbols, control characters and a capital inside a lower-case word
    (`MŸller`, cp1252 read of Mac Roman `Müller`) count against it."""
    score = 0
    for prev, char in zip(" " + text, text, strict=False):
        if char.isascii():
            continue
        category = unicodedata.category(char)
        if char.isupper() and prev.islower():
            score -= 2
        elif category in ("Ll", "Lu") or char in _TEXT_PUNCTUATION:
            score += 1
        else:
            score -= 2
    return score


def guess_legacy_encoding(data: bytes) -> str:
    """cp1252 or mac_roman for bytes that are not UTF-8: the decoding with the higher
    `_text_score` wins; cp1252 fails outright on its five undefined bytes; on a tie, CR-only
    line endings (Excel for Mac) choose mac_roman."""
    scores: dict[str, int] = {}
    for encoding in ("cp1252", "mac_roman"):
        try:
            scores[encoding] = _text_score(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    mac_endings = b"\r" in data and b"\n" not in data
    return max(scores, key=lambda e: (scores[e], (e == "mac_roman") == mac_endings))


def decode(data: bytes, encoding: str = "auto") -> str:
    if encoding == "auto":
        if data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                encoding = guess_legacy_encoding(data)
    return data.decode(encoding)


def repair_mojibake(value: str) -> str:
    """`Saint-Ã‰tienne` → `Saint-Étienne` when re-encoding gives valid UTF-8; else as is."""
    if not _MOJIBAKE.search(value):
        return value
    try:
        return value.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return value


def sniff_delimiter(lines: Sequence[str]) -> str:
    """The delimiter that splits the most sample rows into the same number (> 1) of fields."""
    best, best_key = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=delimiter) if len(r) > 1]
        if counts:
            width = max(set(counts), key=counts.count)
            key = (counts.count(width), width)
            if key > best_key:
                best, best_key = delimiter, key
    return best


def _is_number(value: Any) -> bool:
    if isinstance(value, str):
        return bool(re.fullmatch(r"[-+]?[\d.,/:\s%$\u20ac\u00a3E+-]+", value.strip()))
    return value is not None


def _span(row: Sequence[Any]) -> int:
    """1-based position of the last filled cell (0 for an empty row)."""
    return max((i + 1 for i, c in enumerate(row) if c not in (None, "")), default=0)


def find_header(rows: Sequence[Sequence[Any]]) -> int:
    """Index of the header among the first rows: the first whose filled cells are mostly
    distinct, non-numeric text and that spans at least 80% of the typical width (last
    filled cell) of the rows below it. Title and date lines span one or two cells."""

    sample = list(rows[: HEADER_SEARCH_ROWS + 10])
    for index, row in enumerate(sample[:HEADER_SEARCH_ROWS]):
        filled = [c for c in row if c not in (None, "")]
        below = sorted(_span(r) for r in sample[index + 1 :] if _span(r))
        typical = below[len(below) // 2] if below else _span(row)
        if not filled or _span(row) < 0.8 * typical or (len(filled) < 2 and typical > 1):
            continue
        texts = [str(c).strip() for c in filled if not _is_number(c)]
        if len(texts) >= 0.8 * len(filled) and len(set(texts)) >= 0.8 * len(filled):
            return index
    raise ValueError(f"no header row found in the first {HEADER_SEARCH_ROWS} rows")


def column_names(header: Sequence[Any]) -> list[str]:
    """Trimmed; blank → `column_<n>` (1-based); repeated → `Name_2`, `Name_3`…"""
    names: list[str] = []
    for n, cell in enumerate(header, start=1):
        name = str(cell).strip() if cell is not None else ""
        base = name = name or f"column_{n}"
        k = 1
        while name in names:
            k += 1
            name = f"{base}_{k}"
        names.append(name)
    return names


class SpreadsheetConnector(Connector):
    kind = "spreadsheet"
    config_model = SpreadsheetSourceConfig
    config: SpreadsheetSourceConfig

    def _error(self, message: str) -> SourceError:
        return SourceError(f"source {self.config.name!r} (spreadsheet): {message}")

    def _path(self, stream: SheetStream) -> Path:
        path = Path(stream.path or self.config.path or "")
        path = path if path.is_absolute() else self.base_dir / path
        if not path.is_file():
            raise self._error(f"file not found: {path.resolve()}")
        if path.suffix.lower() not in CSV_SUFFIXES + XLSX_SUFFIXES:
            hint = ("; JSON is read by `kind: json_files` (or the `glpi_inventory` and `netbox_export` "
                    "presets)") if path.suffix.lower() in JSON_SUFFIXES else ""  # fmt: skip
            raise self._error(f"{path} is not a spreadsheet: expected .csv, .tsv, .txt, .xlsx "
                              f"or .xlsm{hint}")  # fmt: skip
        return path

    def check(self) -> None:
        """Each stream's file, sheets, header and id columns, from the rows around the header
        only (not the whole file: sync runs this before every read)."""
        for entity, stream in self.config.entities.items():
            header = 0 if stream.header_row == "auto" else stream.header_row
            limit = max(HEADER_SEARCH_ROWS + 10, header) + stream.skip_rows_after_header + 1
            self._read_frame(entity, limit)

    def read(self, entity: str, cursor: str | None = None) -> Iterator[Batch]:
        yield Batch(self._read_frame(entity, None), None)

    def _read_frame(self, entity: str, limit: int | None) -> pd.DataFrame:
        """The stream's rows (the first `limit` rows of each sheet, when given) as a frame."""
        stream = self.config.entities.get(entity)
        if stream is None:
            raise self._error(f"no stream for entity {entity!r}; streams: {self.streams()}")
        path = self._path(stream)
        if path.suffix.lower() in XLSX_SUFFIXES:
            frames = [self._frame(stream, path, rows, sheet) for sheet, rows in
                      self._workbook_rows(stream, path, limit)]  # fmt: skip
            frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        else:
            if stream.sheet is not None or stream.sheets is not None:
                raise self._error(f"{path.name} is a CSV file: it has no sheets")
            frame = self._frame(stream, path, self._csv_rows(stream, path, limit), None)
        missing = [c for c in stream.id_columns if c not in frame.columns]
        if missing:
            raise self._error(f"entities.{entity}: id column {', '.join(map(repr, missing))} "
                              f"not found in {path.name}; columns: {', '.join(frame.columns)}")  # fmt: skip
        return frame

    def _csv_rows(self, stream: SheetStream, path: Path, limit: int | None = None) -> list[list[str]]:
        data = path.read_bytes()
        if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise self._error(f"{path} is not a text CSV file (it holds binary data)")
        try:
            text = decode(data, stream.encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise self._error(f"cannot decode {path} as {stream.encoding}: {exc}; set "
                              "`encoding` to the file's encoding") from None  # fmt: skip
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        delimiter = stream.delimiter or sniff_delimiter(text.split("\n", 60)[:60])
        return list(itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), limit))

    def _workbook_rows(
        self, stream: SheetStream, path: Path, limit: int | None = None
    ) -> Iterator[tuple[str, list]]:
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, InvalidFileException, KeyError
            raise self._error(f"{path} is not an Excel workbook ({exc})") from None
        try:
            names = book.sheetnames
            for wanted in stream.sheets or [stream.sheet or 0]:
                if isinstance(wanted, int) and 0 <= wanted < len(names):
                    wanted = names[wanted]
                if wanted not in names:
                    raise self._error(f"{path.name} has no sheet {wanted!r}; sheets: "
                                      f"{', '.join(names)}")  # fmt: skip
                rows = book[wanted].iter_rows(values_only=True, max_row=limit)
                yield str(wanted), [list(r) for r in rows]
        finally:
            book.close()

    def _frame(self, stream: SheetStream, path: Path, rows: list, sheet: str | None) -> pd.DataFrame:
        where = f"{path.name}" + (f" sheet {sheet!r}" if sheet else "")
        if stream.header_row == "auto":
            try:
                header = find_header(rows)
            except ValueError as exc:
                raise self._error(f"{where}: {exc}; set `header_row`") from None
        else:
            header = stream.header_row - 1
            if header >= len(rows):
                raise self._error(f"{where}: header_row {stream.header_row} is past the end")
        body = [r for r in rows[header + 1 + stream.skip_rows_after_header :] if _span(r)]
        width = max(_span(r) for r in [rows[header], *body])  # drops trailing empty columns
        names = column_names([*rows[header][:width], *[None] * (width - len(rows[header]))])
        fix = repair_mojibake if stream.repair_mojibake else str
        body = [
            [None if c == "" else fix(c) if isinstance(c, str) else c for c in r[:width]]
            + [None] * (width - len(r))
            for r in body
        ]
        frame = pd.DataFrame(body, columns=names, dtype=object)
        if sheet is not None and stream.sheets:
            frame["_sheet"] = sheet
        return frame
