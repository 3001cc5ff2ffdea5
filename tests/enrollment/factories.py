from datetime import date

import factory
from django.contrib.auth.models import Group

from enrollment.models import Grade, Guardian, Homeroom, School, StaffProfile, Student, StudentGuardian, Term, User

PASSWORD = "correct-horse-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("name", locale="zh_CN")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))
        if create:
            self.save()


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School
        django_get_or_create = ("name",)

    name = "测试小学"


class TermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Term

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"20{26 + n}年秋季学期")
    start = date(2026, 9, 1)
    end = date(2027, 1, 22)
    application_opens = date(2026, 8, 24)
    application_closes = date(2026, 9, 6)


class GradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grade
        django_get_or_create = ("school", "number")

    school = factory.SubFactory(SchoolFactory)
    number = 3


class HomeroomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Homeroom

    grade = factory.SubFactory(GradeFactory)
    number = factory.Sequence(lambda n: n + 1)


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    homeroom = factory.SubFactory(HomeroomFactory)
    school = factory.LazyAttribute(lambda o: o.homeroom.grade.school)
    student_no = factory.Sequence(lambda n: f"2026{n:05d}")
    name = factory.Faker("name", locale="zh_CN")
    gender = Student.Gender.FEMALE


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian

    name = factory.Faker("name", locale="zh_CN")
    mobile = factory.Sequence(lambda n: f"137{n:08d}")


class StudentGuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudentGuardian

    student = factory.SubFactory(StudentFactory)
    guardian = factory.SubFactory(GuardianFactory)
    relation = StudentGuardian.Relation.MOTHER
    is_primary = True


class StaffProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffProfile

    user = factory.SubFactory(UserFactory)
    school = factory.SubFactory(SchoolFactory)
    name = factory.Faker("name", locale="zh_CN")
    mobile = factory.Sequence(lambda n: f"136{n:08d}")
