"""Reading the school's Excel roster: one row per student and guardian.

The column headers are the ones schools already use (学号, 姓名, 性别, 年级, 班级,
监护人姓名, 监护人手机, 关系). Parsing is lenient about how a value is written
("三年级", "3", "初一"; "2", "2班", "（2）班") and strict about what it means.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import MOBILE_RE, Student, StudentGuardian

COL_STUDENT_NO = "学号"
COL_NAME = "姓名"
COL_GENDER = "性别"
COL_GRADE = "年级"
COL_CLASS = "班级"
COL_GUARDIAN_NAME = "监护人姓名"
COL_GUARDIAN_MOBILE = "监护人手机"
COL_RELATION = "关系"
COLUMNS = [
    COL_STUDENT_NO,
    COL_NAME,
    COL_GENDER,
    COL_GRADE,
    COL_CLASS,
    COL_GUARDIAN_NAME,
    COL_GUARDIAN_MOBILE,
    COL_RELATION,
]

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_JUNIOR = {"初一": 7, "初二": 8, "初三": 9}
_GENDERS = {
    "男": Student.Gender.MALE,
    "m": Student.Gender.MALE,
    "male": Student.Gender.MALE,
    "女": Student.Gender.FEMALE,
    "f": Student.Gender.FEMALE,
    "female": Student.Gender.FEMALE,
}
_R = StudentGuardian.Relation
_RELATIONS = {
    "父亲": _R.FATHER, "爸爸": _R.FATHER, "父": _R.FATHER, "father": _R.FATHER,
    "母亲": _R.MOTHER, "妈妈": _R.MOTHER, "母": _R.MOTHER, "mother": _R.MOTHER,
    "祖父": _R.GRANDFATHER, "爷爷": _R.GRANDFATHER, "外祖父": _R.GRANDFATHER, "外公": _R.GRANDFATHER,
    "grandfather": _R.GRANDFATHER,
    "祖母": _R.GRANDMOTHER, "奶奶": _R.GRANDMOTHER, "外祖母": _R.GRANDMOTHER, "外婆": _R.GRANDMOTHER,
    "grandmother": _R.GRANDMOTHER,
    "其他": _R.OTHER, "其他监护人": _R.OTHER, "other": _R.OTHER,
}  # fmt: skip


@dataclass(frozen=True)
class RosterRow:
    student_no: str
    name: str
    gender: str
    grade_number: int
    class_number: int
    guardian_name: str
    guardian_mobile: str
    relation: str


FORMULA_STARTS = ("=", "+", "-", "@")


def student_fields(row: RosterRow) -> tuple:
    """What a row says about the student (rows of the same student must agree on it)."""
    return (row.name, row.gender, row.grade_number, row.class_number)


def cell_text(value) -> str:
    """A cell as text. Spreadsheets hand numbers over as int or float (20260101.0)."""
    if value is None:
        return ""
    if isinstance(value, float | Decimal) and value == int(value):
        value = int(value)
    return str(value).strip()


def parse_grade(text: str) -> int | None:
    text = text.replace(" ", "")
    if text in _JUNIOR:
        return _JUNIOR[text]
    match = re.fullmatch(r"([1-9])(年级)?", text) or re.fullmatch(r"([一二三四五六七八九])年级", text)
    if not match:
        return None
    token = match.group(1)
    return int(token) if token.isdigit() else _CN_DIGITS[token]


# No school has more classes in a grade; a larger number is a typo (302 for 3年级2班).
MAX_CLASS_NUMBER = 30


def parse_class_number(text: str) -> int | None:
    """The class number in "2", "2班", "(2)班", "（2）班" or "三年级2班": the last number in the cell."""
    numbers = re.findall(r"\d+", text)
    if not numbers or not 1 <= int(numbers[-1]) <= MAX_CLASS_NUMBER:
        return None
    return int(numbers[-1])


def class_cell_grade(text: str) -> int | None:
    """The grade a class cell names itself, as in "三年级2班" (None when it names none)."""
    match = re.match(r"\s*(初[一二三]|[一二三四五六七八九1-9]年级)", text)
    return parse_grade(match.group(1)) if match else None


def normalise_mobile(text: str) -> str:
    return re.sub(r"[\s\-]", "", text)


def clean_row(row: dict, *, known_grades: set[int]) -> RosterRow:
    """Validate one roster row; raise ValidationError naming every problem by column."""
    errors: dict[str, str] = {}
    value = {column: cell_text(row.get(column)) for column in COLUMNS}

    for column in (COL_STUDENT_NO, COL_NAME, COL_GUARDIAN_NAME):
        if not value[column]:
            errors[column] = _("%(column)s is empty.") % {"column": column}
    if len(value[COL_STUDENT_NO]) > 30:
        errors[COL_STUDENT_NO] = _("The student number is longer than 30 characters.")
    for column in (COL_STUDENT_NO, COL_NAME, COL_GUARDIAN_NAME):
        if value[column].startswith(FORMULA_STARTS):
            # A spreadsheet would run it as a formula when the list is exported and opened again.
            errors[column] = _("“%(value)s” looks like a spreadsheet formula, not a %(column)s.") % {
                "value": value[column][:30],
                "column": column,
            }

    gender = _GENDERS.get(value[COL_GENDER].lower())
    if gender is None:
        errors[COL_GENDER] = _("Unknown gender “%(value)s”: write 男 or 女.") % {"value": value[COL_GENDER]}

    grade_number = parse_grade(value[COL_GRADE])
    if grade_number is None or grade_number not in known_grades:
        errors[COL_GRADE] = _("Unknown grade “%(value)s”: this school has grades %(grades)s.") % {
            "value": value[COL_GRADE],
            "grades": "、".join(str(n) for n in sorted(known_grades)) or "—",
        }

    class_number = parse_class_number(value[COL_CLASS])
    named_grade = class_cell_grade(value[COL_CLASS])
    if class_number is None:
        errors[COL_CLASS] = _("Unknown class “%(value)s”: write the class number (1–%(max)s), e.g. 2 or 2班.") % {
            "value": value[COL_CLASS],
            "max": MAX_CLASS_NUMBER,
        }
    elif named_grade is not None and grade_number is not None and named_grade != grade_number:
        errors[COL_CLASS] = _("The class “%(value)s” names another grade than 年级 “%(grade)s”.") % {
            "value": value[COL_CLASS],
            "grade": value[COL_GRADE],
        }

    mobile = normalise_mobile(value[COL_GUARDIAN_MOBILE])
    if not MOBILE_RE.match(mobile):
        errors[COL_GUARDIAN_MOBILE] = _("“%(value)s” is not an 11-digit mobile number.") % {
            "value": value[COL_GUARDIAN_MOBILE]
        }

    relation = _RELATIONS.get(value[COL_RELATION].lower())
    if relation is None:
        errors[COL_RELATION] = _("Unknown relation “%(value)s”: write 父亲, 母亲, 祖父, 祖母 or 其他.") % {
            "value": value[COL_RELATION]
        }

    if errors:
        raise ValidationError(errors)
    return RosterRow(
        student_no=value[COL_STUDENT_NO],
        name=value[COL_NAME],
        gender=gender,
        grade_number=grade_number,
        class_number=class_number,
        guardian_name=value[COL_GUARDIAN_NAME],
        guardian_mobile=mobile,
        relation=relation,
    )


# How the export writes a relation, so that an exported file imports again unchanged.
RELATION_LABELS = {
    _R.FATHER: "父亲",
    _R.MOTHER: "母亲",
    _R.GRANDFATHER: "祖父",
    _R.GRANDMOTHER: "祖母",
    _R.OTHER: "其他",
}
