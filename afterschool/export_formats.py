"""Export formats that defuse spreadsheet formulas in text without turning numbers into text.

django-import-export's own escaping stringifies every cell, so money would reach Excel as text.
Guardians and staff type free text (names, reasons) that a spreadsheet could run as a formula:
such text gets a leading apostrophe; numbers and dates stay what they are.
"""

from import_export.formats.base_formats import CSV, XLSX

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Defused:
    def export_data(self, dataset, **kwargs):
        for index, row in enumerate(list(dataset)):
            dataset[index] = [defuse(cell) for cell in row]
        return super().export_data(dataset, **kwargs)


class SafeCSV(_Defused, CSV):
    pass


class SafeXLSX(_Defused, XLSX):
    pass


class SafeExportFormats:
    """Mix into an exporting ModelAdmin, before import-export's mixin."""

    export_formats = [SafeXLSX, SafeCSV]
