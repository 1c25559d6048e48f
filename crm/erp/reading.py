"""Reading an ERP export, one line at a time, so a file of any length is read in constant memory.

CSV files come in the ERP's usual shapes: UTF-8 with or without a byte-order mark, or
Windows-1252 (what Excel on a French Windows writes), separated by commas or semicolons (Excel
in a French locale writes semicolons); XLSX files are read with openpyxl in read-only mode (its
streaming reader). Headers are matched loosely, French or English, accents and case ignored
(« Prénom », "prenom", "First name"); columns the import does not know are listed, not refused.

A file that cannot be read at all raises `FileRefused` with a code of crm/erp/reasons.py; a line
is never refused here (that is the resources' job, line by line).
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

# A cell longer than any field is refused by the field's own length check, not by the reader.
csv.field_size_limit(10 * 1024 * 1024)

SEPARATORS = (";", ",", "\t")
SNIFF_BYTES = 64 * 1024
XLSX_MAGIC = b"PK\x03\x04"


class FileRefused(Exception):
    """The whole file is unusable: `code` names why (crm/erp/reasons.py), `params` the details."""

    def __init__(self, code: str, **params) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def header_key(text) -> str:
    """« Prénom du contact » → "prenom_du_contact": how headers are compared."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode("ascii")
    words = "".join(char if char.isalnum() else " " for char in text.lower()).split()
    return "_".join(words)


@dataclass
class Table:
    """A file's known columns (canonical names) and its lines as (line number, {column: text})."""

    columns: list[str]
    ignored: list[str]
    lines: Iterator[tuple[int, dict[str, str]]]
    encoding: str = ""
    separator: str = ""
    extra: dict = field(default_factory=dict)


def open_table(stream: BinaryIO, file_name: str, aliases: dict[str, str], required: tuple[str, ...]) -> Table:
    """Open `stream` (seekable, binary; the table's reader owns it from then on) as CSV or XLSX;
    map its headers through `aliases` (header_key → canonical column) and refuse the file when a
    `required` column is missing."""
    start = stream.read(len(XLSX_MAGIC))
    stream.seek(0)
    if start == XLSX_MAGIC or file_name.lower().endswith((".xlsx", ".xlsm")):
        header, rows = _xlsx_rows(stream)
        table = Table([], [], iter(()))
    else:
        encoding = detect_encoding(stream)
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        first = text.readline()
        separator = detect_separator(first)
        text.seek(0)
        reader = csv.reader(text, delimiter=separator)
        header = next(reader, [])
        rows = _csv_rows(text, reader)
        table = Table([], [], iter(()), encoding=encoding, separator=separator)
    positions = {}
    for position, name in enumerate(header):
        canonical = aliases.get(header_key(name))
        if canonical and canonical not in positions:
            positions[canonical] = position
        elif str(name or "").strip():
            table.ignored.append(str(name).strip()[:100])
    missing = [name for name in required if name not in positions]
    if missing:
        raise FileRefused("missing_columns", columns=", ".join(missing), found=", ".join(map(str, header))[:500])
    table.columns = list(positions)
    table.lines = _lines(rows, positions)
    return table


def _csv_rows(text: io.TextIOWrapper, reader) -> Iterator[tuple[int, list[str]]]:
    """The CSV lines, each with the number of the line it starts on (a quoted cell may hold line
    breaks, the record then ends lines later); the file is closed once read (or dropped)."""
    try:
        start = reader.line_num + 1
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    finally:
        text.close()


def _lines(rows, positions: dict[str, int]) -> Iterator[tuple[int, dict[str, str]]]:
    for number, row in rows:
        cells = [_text(cell) for cell in row]
        if not any(cells):
            continue
        yield number, {name: cells[index] if index < len(cells) else "" for name, index in positions.items()}


def _text(value) -> str:
    """A cell as text: numbers typed in Excel without their ".0", surrounding spaces removed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip()


def detect_encoding(stream: BinaryIO) -> str:
    """ "utf-8-sig" (with or without a byte-order mark) when the whole file is UTF-8, else
    "cp1252"; refuses a file that is neither. Reads the file once, in blocks."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := stream.read(SNIFF_BYTES):
            decoder.decode(block)
        decoder.decode(b"", final=True)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")()
        try:
            while block := stream.read(SNIFF_BYTES):
                decoder.decode(block)
        except UnicodeDecodeError as error:
            raise FileRefused("unknown_encoding") from error
        encoding = "cp1252"
    stream.seek(0)
    return encoding


def detect_separator(header_line: str) -> str:
    """The separator of the header line: the most frequent of ; , and tab outside quotes."""
    unquoted = "".join(part for index, part in enumerate(header_line.split('"')) if index % 2 == 0)
    counts = {separator: unquoted.count(separator) for separator in SEPARATORS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _xlsx_rows(stream: BinaryIO):
    """The first sheet's header and a generator of (row number, values), streamed by openpyxl."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise FileRefused("unreadable_xlsx") from error
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, ())

    def numbered():
        try:
            yield from enumerate(rows, 2)
        finally:
            workbook.close()
            stream.close()

    return list(header or ()), numbered()


def count_lines(stream: BinaryIO, file_name: str, aliases: dict[str, str], required: tuple[str, ...]) -> int:
    """How many non-empty lines the file has after its header (for the progress bar). The
    stream is consumed (and closed with its reader): open the file again to import it."""
    table = open_table(stream, file_name, aliases, required)
    return sum(1 for _line in table.lines)
