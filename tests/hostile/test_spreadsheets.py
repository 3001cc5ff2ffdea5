"""The spreadsheet reader both imports use (afterschool.spreadsheets): rows up to the last cell
with a value and no further, refusals that name the cell, and xlsx files built to make a reader
work without end (a million empty rows, a row of millions of cells, a zip that unpacks to far
more than it weighs, an XML entity declaration)."""

import io
import re
import zipfile

import pytest

from afterschool import spreadsheets
from afterschool.spreadsheets import MAX_COLUMNS, SpreadsheetRefused, read_csv, read_xlsx
from tests.hostile.test_imports import ROSTER_HEADERS, ROSTER_ROWS, bounded, xlsx_bytes

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def rewrite_sheet(content, change, *, extra=None):
    """The xlsx with its sheet's XML passed through ``change`` (and ``extra`` members added or
    replaced: {name: bytes})."""
    extra = dict(extra or {})
    source, target = io.BytesIO(content), io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for member in old.infolist():
            data = extra.pop(member.filename, None) or old.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            new.writestr(member.filename, data)
        for name, data in extra.items():
            new.writestr(name, data)
    return target.getvalue()


def excel_style(content):
    """The workbook as Excel writes it: text in a shared-strings table, cells pointing into it
    (openpyxl writes every text inline)."""
    strings = []

    def to_shared(match):
        strings.append(match.group(3))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (match.group(1), match.group(2) or b"", len(strings) - 1)

    def change(sheet):
        return re.sub(
            rb'<c r="([A-Z]+[0-9]+)"( s="[0-9]+")? t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', to_shared, sheet
        )

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        types = archive.read("[Content_Types].xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    # The strings are collected while the sheet is rewritten; the table is written after it.
    rewritten = rewrite_sheet(content, change)
    table = b'<sst xmlns="%s" count="%d" uniqueCount="%d">' % (MAIN.encode(), len(strings), len(strings))
    table += b"".join(b'<si><t xml:space="preserve">%s</t></si>' % text for text in strings) + b"</sst>"
    types = types.replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    rels = rels.replace(
        b"</Relationships>",
        b'<Relationship Id="rIdStrings" Target="sharedStrings.xml" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>',
    )
    extra = {"xl/sharedStrings.xml": table, "[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels}
    return rewrite_sheet(rewritten, lambda sheet: sheet, extra=extra)


def append_to_sheet_data(xml):
    return lambda sheet: sheet.replace(b"</sheetData>", xml + b"</sheetData>")


def content_as_csv(headers, rows):
    return "\n".join(",".join(row) for row in [headers, *rows]) + "\n"


# -- what is read ---------------------------------------------------------------------------------


def test_rows_up_to_the_last_value_and_no_further():
    content = xlsx_bytes(ROSTER_HEADERS, *ROSTER_ROWS, last_cell=(1_048_576, 16_384), stray=None)
    dataset = read_xlsx(content, max_rows=3)
    assert dataset.headers == ROSTER_HEADERS
    assert [list(row) for row in dataset] == ROSTER_ROWS


def test_exactly_the_limit_is_read_and_one_row_more_is_refused():
    content = xlsx_bytes(ROSTER_HEADERS, *ROSTER_ROWS)
    assert len(read_xlsx(content, max_rows=3)) == 3
    with pytest.raises(SpreadsheetRefused, match="A4"):
        read_xlsx(content, max_rows=2)
    text = content_as_csv(ROSTER_HEADERS, ROSTER_ROWS)
    assert len(read_csv(text, max_rows=3)) == 3
    with pytest.raises(SpreadsheetRefused, match="A4"):
        read_csv(text, max_rows=2)


def test_empty_rows_inside_the_data_are_kept_so_that_row_numbers_match_the_sheet():
    rows = [ROSTER_ROWS[0], [None] * 8, ROSTER_ROWS[1]]
    dataset = read_xlsx(xlsx_bytes(ROSTER_HEADERS, *rows, ["", " "]), max_rows=3)
    assert len(dataset) == 3 and dataset[1] == (None,) * 8
    text = content_as_csv(ROSTER_HEADERS, [ROSTER_ROWS[0], [""] * 8, ROSTER_ROWS[1]]) + ",,,\n\n" * 10_000
    dataset = read_csv(text, max_rows=3)  # the 20,000 empty lines below are not rows
    assert len(dataset) == 3 and not any(dataset[1])


def test_a_column_without_a_header_is_named_by_its_letter():
    dataset = read_xlsx(xlsx_bytes(["学号", None, "姓名"], ["1", "备注", "王小明", None, "x"]), max_rows=5)
    assert dataset.headers == ["学号", "B", "姓名", "D", "E"]
    assert dataset.dict[0] == {"学号": "1", "B": "备注", "姓名": "王小明", "D": None, "E": "x"}


def rows_with_note_in(column):
    """Two data rows; the second has a note in ``column``."""
    return ROSTER_ROWS[0], [*ROSTER_ROWS[1], *([None] * (column - 9)), "备注"]


def test_a_value_right_of_the_columns_read_is_refused_with_its_cell():
    last = spreadsheets.column_letters(MAX_COLUMNS)
    with pytest.raises(SpreadsheetRefused, match=rf"\b{spreadsheets.column_letters(MAX_COLUMNS + 1)}3\b"):
        read_xlsx(xlsx_bytes(ROSTER_HEADERS, *rows_with_note_in(MAX_COLUMNS + 1)), max_rows=3)
    assert read_xlsx(xlsx_bytes(ROSTER_HEADERS, *rows_with_note_in(MAX_COLUMNS)), max_rows=3).width == MAX_COLUMNS
    with pytest.raises(SpreadsheetRefused, match=last):
        read_csv("学号\n1" + "," * MAX_COLUMNS + "x\n", max_rows=3)


def test_excel_style_shared_strings():
    """Excel keeps text in a shared table: the values are read through it, a blank shared string
    far below is no value, a real one is refused."""
    content = excel_style(xlsx_bytes(ROSTER_HEADERS, *ROSTER_ROWS, last_cell=(1_048_576, 8), stray="  "))
    assert b't="s"' in zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    dataset = read_xlsx(content, max_rows=3)
    assert dataset.headers == ROSTER_HEADERS and [list(row) for row in dataset] == ROSTER_ROWS
    content = excel_style(xlsx_bytes(ROSTER_HEADERS, *ROSTER_ROWS, last_cell=(1_048_576, 8), stray="x"))
    with pytest.raises(SpreadsheetRefused, match="H1048576"):
        read_xlsx(content, max_rows=3)


# -- built to make a reader work --------------------------------------------------------------------


def test_a_million_empty_rows_are_scanned_not_built():
    rows = b"".join(b'<row r="%d"/>' % number for number in range(5, 1_048_577))
    content = rewrite_sheet(xlsx_bytes(ROSTER_HEADERS, *ROSTER_ROWS), append_to_sheet_data(rows))
    with bounded(seconds=15, megabytes=None):  # ~2 s (17 MB of XML); building the rows took 20 s
        dataset = read_xlsx(content, max_rows=3)
    assert len(dataset) == 3


def test_a_row_of_millions_of_cells_is_refused():
    cells = b'<row r="5">' + b"<c/>" * 1_200_000 + b"</row>"  # openpyxl would build them all: 350 MB
    content = rewrite_sheet(xlsx_bytes(ROSTER_HEADERS, *ROSTER_ROWS), append_to_sheet_data(cells))
    assert len(content) < 100_000
    with bounded(seconds=5, megabytes=None), pytest.raises(SpreadsheetRefused, match="MB"):
        read_xlsx(content, max_rows=3)
    with bounded(seconds=60), pytest.raises(SpreadsheetRefused):  # traced: much slower
        read_xlsx(content, max_rows=3)


def test_a_zip_that_unpacks_to_more_than_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(spreadsheets, "XLSX_MAX_UNPACKED_BYTES", 1024 * 1024)
    padding = b" " * (2 * 1024 * 1024)  # whitespace inside the sheet: valid XML, 2 MB
    content = rewrite_sheet(xlsx_bytes(ROSTER_HEADERS, *ROSTER_ROWS), append_to_sheet_data(padding))
    assert len(content) < 100_000
    with pytest.raises(SpreadsheetRefused, match="1 MB"):
        read_xlsx(content, max_rows=3)


def test_an_entity_declaration_in_the_sheet_is_not_expanded():
    laughs = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    content = rewrite_sheet(
        xlsx_bytes(ROSTER_HEADERS, *ROSTER_ROWS), lambda sheet: sheet.replace(b"<worksheet", laughs + b"<worksheet", 1)
    )
    with pytest.raises(ValueError):  # unreadable: each import says so in its own words
        read_xlsx(content, max_rows=3)
