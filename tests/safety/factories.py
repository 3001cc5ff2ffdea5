from scheduling.models import GroupMembership
from tests.enrollment.factories import GuardianFactory, StudentFactory, StudentGuardianFactory


def add_members(session, homeroom, count, with_guardians=False):
    students = []
    for _ in range(count):
        student = StudentFactory(homeroom=homeroom)
        if with_guardians:
            StudentGuardianFactory(student=student, guardian=GuardianFactory())
        GroupMembership.objects.create(group=session.group, student=student)
        students.append(student)
    return students
