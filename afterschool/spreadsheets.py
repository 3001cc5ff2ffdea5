"""Uploaded spreadsheets (XLSX, CSV UTF-8) read row by row, never further than an import reads.

An xlsx is a zip of XML that says where each cell is: a file of a few kilobytes can hold one cell
in row 1,048,576 or column XFD, or declare the sheet to be A1:XFD1048576. Readers that hand over
the sheet as a rectangle (tablib, django-import-export's XLSX) then build every row up to that
cell: a minute and most of a gigabyte for a 5 KB upload. Here the sheet's XML is first streamed
once, cell by cell, to find the last row and column that hold a value, without building any row;
then openpyxl (read-only) reads just that rectangle. Empty rows below the data and empty columns
to its right (formatted cells, a stale dimension) are never read. A value further down or further
right than an import reads refuses the whole file, with the cell named: it is usually an
accident, but it may also be data, and an import must not drop data without saying so.

The limits below are the one place where the imports' sizes are set.
"""

import csv
import io
import zipfile
from xml.parsers import expat

import tablib
from django.utils.translation import gettext as _
from import_export.formats.base_formats import CSV, XLSX
from openpyxl import load_workbook

# -- limits -------------------------------------------------------------------------------------
# Data rows below the header row. A school has at most ~4,000 children (the largest we serve)
# and the roster has one row per child (a second guardian is an optional extra row): 5,000
# leaves room. Each roster row costs a few database queries in the preview, so the limit is
# also what bounds the time a preview takes; a bigger file is split (by grade) and imported in
# parts, which the import supports (学号 finds a child again).
ROSTER_MAX_ROWS = 5_000
# A bank statement has one row per transfer: a term of monthly fees for 4,000 children is
# ~20,000 transfers. Its rows are checked in bulk (two queries per file), so more is cheap.
STATEMENT_MAX_ROWS = 20_000
# Columns read: the roster has 8, a bank's export about 20.
MAX_COLUMNS = 100
# An xlsx unpacks to XML of 60-80 bytes a cell: 20,000 rows of 20 columns are 25-30 MB. Much more
# is a compressed bomb (10 MB of zip can unpack to gigabytes).
XLSX_MAX_UNPACKED_BYTES = 64 * 1024 * 1024
# Cells the sheet's XML may list, empty (formatted) ones included: 20,000 rows of 20 columns are
# 400,000. Bounds the work for a sheet of millions of formatted empty cells.
XLSX_MAX_CELLS = 1_000_000
# Rows a sheet can have at all (Excel's limit); more <row> elements is no spreadsheet.
XLSX_MAX_ROW_ELEMENTS = 1_048_576


class SpreadsheetRefused(ValueError):
    """A readable file that holds more than an import reads. ``str(error)`` is the message for
    the person importing (translated); nothing of the file has been used."""


def column_letters(index: int) -> str:
    """1 → A, 26 → Z, 27 → AA, 16384 → XFD (any size, for naming a cell beyond Excel's)."""
    letters = ""
    while index > 0:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _column_of(reference: str) -> int:
    """The column number of a cell reference such as "XFD3" (a malformed one raises ValueError)."""
    index = 0
    for position, char in enumerate(reference):
        if "A" <= char <= "Z" or "a" <= char <= "z":
            if position >= 7:  # beyond any column; keeps the number small
                break
            index = index * 26 + (ord(char.upper()) - 64)
        else:
            break
    if index == 0:
        raise ValueError(f"bad cell reference {reference[:20]!r}")
    return index


def _row_number(text: str) -> int:
    """A <row r="..."> as openpyxl reads it: an integer, or a float that is one."""
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise ValueError(f"bad row number {text[:20]!r}") from None
        return int(number)


def _too_far_down(row: int, column: int, max_rows: int) -> SpreadsheetRefused:
    return SpreadsheetRefused(
        _(
            "Row %(row)s of the sheet (cell %(cell)s) has data, but at most %(limit)s rows below the "
            "header row are read. Delete everything below row %(last)s (in Excel, Ctrl+End shows the "
            "last cell used), or split the file and import the parts one after the other."
        )
        % {"row": row, "cell": f"{column_letters(column)}{row}", "limit": max_rows, "last": max_rows + 1}
    )


def _too_far_right(row: int, column: int) -> SpreadsheetRefused:
    return SpreadsheetRefused(
        _(
            "Cell %(cell)s has data, but at most %(limit)s columns (A to %(last)s) are read. "
            "Delete everything to the right of column %(last)s."
        )
        % {"cell": f"{column_letters(column)}{row}", "limit": MAX_COLUMNS, "last": column_letters(MAX_COLUMNS)}
    )


def _too_big() -> SpreadsheetRefused:
    return SpreadsheetRefused(
        _(
            "This xlsx file is far bigger inside than a roster or a bank statement (more than %(mb)s MB "
            "unpacked, more than %(cells)s cells or more than %(rows)s rows, empty formatted ones "
            "included). Copy just the data into a new workbook, save it, and import that."
        )
        % {"mb": XLSX_MAX_UNPACKED_BYTES // (1024 * 1024), "cells": XLSX_MAX_CELLS, "rows": XLSX_MAX_ROW_ELEMENTS}
    )


# -- xlsx ---------------------------------------------------------------------------------------


class _SheetScan:
    """One pass over a worksheet's XML with expat (no tree, no rows built): the last row and
    column holding a value. What counts as a value is what openpyxl reads with data_only=True:
    a cell's cached <v> (a shared string looked up) or its inline string; blank text is none."""

    def __init__(self, shared_strings, max_rows: int):
        self.shared_strings, self.max_rows = shared_strings, max_rows
        self.last_row = self.last_column = 0
        self.row = self.column = 0
        self.rows = self.cells = 0
        self.cell_type = "n"
        self.in_cell = False
        self.path: list[str] = []  # the elements open inside the current <c>
        self.text: list[str] = []  # the current cell's value, in pieces
        self.names: dict[str, str] = {}  # "namespace local" → local (the same few names a million times)

    def scan(self, stream) -> tuple[int, int]:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.characters
        parser.StartDoctypeDeclHandler = self.no_dtd  # no entities, so no entity expansion
        parser.EntityDeclHandler = self.no_dtd
        while chunk := stream.read(1 << 16):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
        return self.last_row, self.last_column

    @staticmethod
    def no_dtd(*args):
        raise ValueError("a document type declaration in a worksheet")

    def start(self, name, attrs):
        local = self.names.get(name)
        if local is None:
            local = self.names[name] = name.rpartition(" ")[2]
        if self.in_cell:
            self.path.append(local)
        elif local == "c":
            self.cells += 1
            if self.cells > XLSX_MAX_CELLS:
                raise _too_big()
            reference = attrs.get("r")
            self.column = _column_of(reference) if reference else self.column + 1
            self.cell_type = attrs.get("t", "n")
            self.in_cell = True
        elif local == "row":
            self.rows += 1
            if self.rows > XLSX_MAX_ROW_ELEMENTS:
                raise _too_big()
            self.row = _row_number(attrs["r"]) if "r" in attrs else self.row + 1
            self.column = 0

    def end(self, name):
        if not self.in_cell:
            return
        if self.path:
            self.path.pop()
            return
        self.in_cell = False  # the <c> itself ends
        if not self.text:
            return
        text = "".join(self.text)
        self.text.clear()
        if self._has_value(text):
            if self.row > self.max_rows + 1:
                raise _too_far_down(self.row, self.column, self.max_rows)
            if self.column > MAX_COLUMNS:
                raise _too_far_right(self.row, self.column)
            self.last_row = max(self.last_row, self.row)
            self.last_column = max(self.last_column, self.column)

    def characters(self, data):
        path = self.path
        if not path:
            return
        if path == ["v"] and self.cell_type != "inlineStr":
            self.text.append(data)
        elif path[0] == "is" and path[-1] == "t" and "rPh" not in path:
            self.text.append(data)

    def _has_value(self, text: str) -> bool:
        if self.cell_type == "s":
            try:
                value = self.shared_strings[int(text)]
            except (ValueError, IndexError, TypeError):
                return bool(text.strip())  # openpyxl fails on it: read it, and be told so
            return value is not None and str(value).strip() != ""
        return text.strip() != ""


def _active_sheet(data: bytes):
    """(workbook, active sheet, path of its XML in the zip), after the zip's sizes are checked."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # The sizes the zip declares are the most it gives: a member that inflates to more fails
        # its CRC check instead of going on.
        if sum(member.file_size for member in archive.infolist()) > XLSX_MAX_UNPACKED_BYTES:
            raise _too_big()
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    sheet = workbook.active
    return workbook, sheet, sheet._worksheet_path  # read-only sheets keep no public path


def read_xlsx(data: bytes, *, max_rows: int) -> tablib.Dataset:
    """The active sheet's header row and data rows, to the last row and column with a value."""
    workbook, sheet, path = _active_sheet(data)
    try:
        scan = _SheetScan(getattr(sheet, "_shared_strings", ()), max_rows)
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(path) as stream:
            last_row, last_column = scan.scan(stream)
        if last_row == 0:
            return tablib.Dataset()
        rows = sheet.iter_rows(min_row=1, max_row=last_row, max_col=last_column, values_only=True)
        return _dataset(rows, width=last_column, blank=None)
    finally:
        workbook.close()


# -- csv ----------------------------------------------------------------------------------------


def read_csv(text: str, *, max_rows: int) -> tablib.Dataset:
    """A CSV's header row and data rows; empty lines at the end are not kept."""
    records = csv.reader(io.StringIO(text))
    kept, width, empty_run = [], 0, 0
    for number, record in enumerate(records, start=1):
        filled = [index for index, value in enumerate(record, start=1) if value.strip()]
        if not filled:
            if number == 1:
                kept.append(record)  # the header row, even empty
            else:
                empty_run += 1  # kept only when a row with data follows
            continue
        if number > max_rows + 1:
            raise _too_far_down(number, filled[0], max_rows)
        if filled[-1] > MAX_COLUMNS:
            raise _too_far_right(number, next(index for index in filled if index > MAX_COLUMNS))
        kept.extend([[]] * empty_run)
        empty_run = 0
        kept.append(record[: filled[-1]])
        width = max(width, filled[-1])
    if not kept:
        return tablib.Dataset()
    return _dataset(iter(kept), width=width, blank="")


# -- both ---------------------------------------------------------------------------------------


def _dataset(rows, *, width: int, blank) -> tablib.Dataset:
    """Rows (the header first) as a Dataset ``width`` columns wide; a column without a header is
    named by its letter, so that no two columns share a name."""
    header = list(next(rows))[:width]
    header += [None] * (width - len(header))
    names = [
        str(name).strip() if name is not None and str(name).strip() else column_letters(index)
        for index, name in enumerate(header, start=1)
    ]
    dataset = tablib.Dataset(headers=names)
    for row in rows:
        row = list(row)[:width]
        dataset.append(row + [blank] * (width - len(row)))
    return dataset


# -- django-import-export formats (settings.IMPORT_FORMATS: the admin's one import, the roster) --


class BoundedCSV(CSV):
    max_rows = ROSTER_MAX_ROWS

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, bytes):
            in_stream = in_stream.decode(self.encoding or "utf-8-sig")
        return read_csv(in_stream, max_rows=self.max_rows)


class BoundedXLSX(XLSX):
    max_rows = ROSTER_MAX_ROWS

    def create_dataset(self, in_stream, **kwargs):
        return read_xlsx(in_stream, max_rows=self.max_rows)


def refusal(input_format, data) -> str:
    """Why ``input_format`` refuses the file ``data``, or "" (also for a file it cannot read at
    all: the import reports that itself when it reads the file)."""
    if not isinstance(input_format, BoundedCSV | BoundedXLSX):
        return ""
    try:
        input_format.create_dataset(data)
    except SpreadsheetRefused as refused:
        return str(refused)
    except Exception:  # noqa: BLE001 - unreadable: said by the import's own message
        return ""
    return ""
