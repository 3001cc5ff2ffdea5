import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import translation

from enrollment.models import Stage
from tests.enrollment.factories import (
    GradeFactory,
    HomeroomFactory,
    SchoolFactory,
    StudentFactory,
    StudentGuardianFactory,
    TermFactory,
)


@pytest.mark.parametrize(
    ("grade", "stage"),
    [(1, Stage.LOWER_PRIMARY), (2, Stage.LOWER_PRIMARY), (3, Stage.MIDDLE_PRIMARY), (4, Stage.MIDDLE_PRIMARY),
     (5, Stage.UPPER_PRIMARY), (6, Stage.UPPER_PRIMARY), (7, Stage.JUNIOR_MIDDLE), (9, Stage.JUNIOR_MIDDLE)],
)  # fmt: skip
def test_grade_stage_follows_the_school_bands(grade, stage):
    assert GradeFactory.build(number=grade).stage == stage
    assert grade in stage.grade_numbers()


def test_grade_number_outside_1_to_9_is_refused(db):
    with pytest.raises(ValidationError):
        GradeFactory.build(school=SchoolFactory(), number=10).full_clean()
    with pytest.raises(IntegrityError):
        GradeFactory(number=0)


def test_homeroom_reads_the_chinese_way(db):
    homeroom = HomeroomFactory(grade=GradeFactory(number=3), number=2)
    with translation.override("zh-hans"):
        assert str(homeroom) == "三年级(2)班"
    with translation.override("en"):
        assert str(homeroom) == "Grade 3 (2)"


def test_student_number_is_unique_within_a_school_only(db):
    first = StudentFactory(student_no="20260101")
    StudentFactory(student_no="20260101", homeroom__grade__school=SchoolFactory(name="另一所学校"))
    duplicate = StudentFactory.build(student_no="20260101", homeroom=first.homeroom, school=first.school)

    with translation.override("zh-hans"), pytest.raises(ValidationError, match="本校已有使用该学号的学生"):
        duplicate.full_clean()


def test_a_student_cannot_sit_in_another_schools_class(db):
    student = StudentFactory.build(homeroom=HomeroomFactory(), school=SchoolFactory(name="另一所学校"))
    with pytest.raises(ValidationError) as excinfo:
        student.full_clean()
    assert "homeroom" in excinfo.value.message_dict


def test_a_student_has_one_primary_contact(db):
    link = StudentGuardianFactory(is_primary=True)
    with pytest.raises(IntegrityError):
        StudentGuardianFactory(student=link.student, is_primary=True)


def test_term_dates_are_checked_with_a_clear_message(db):
    from datetime import date

    term = TermFactory.build(school=SchoolFactory(), start=date(2026, 9, 1), end=date(2026, 8, 1))
    with translation.override("zh-hans"), pytest.raises(ValidationError, match="结束日期必须晚于开始日期"):
        term.full_clean()


def test_student_changes_keep_history(db):
    student = StudentFactory(name="王小明")
    student.name = "王晓明"
    student.save()
    assert [h.name for h in student.history.order_by("history_date")] == ["王小明", "王晓明"]
