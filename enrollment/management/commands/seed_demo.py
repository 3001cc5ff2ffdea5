"""A living demo school: about 1,000 students in grades 1–6, their guardians and the staff.

Everything is generated from a fixed random seed and looked up by its natural key first,
so running the command again creates nothing and changes nothing.
"""

import random
from datetime import date

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from billing.demo import seed_billing
from enrollment.demo import seed_participation
from enrollment.models import Grade, Guardian, Homeroom, School, StaffProfile, Student, StudentGuardian, Term, User
from enrollment.roles import Role
from scheduling.demo import NOT_YET_APPLIED, seed_scheduling
from scheduling.models import Session

DEMO_PASSWORD = "demo2026"
SCHOOL_NAME = "阳光实验小学"
GRADES = range(1, 7)
CLASSES_PER_GRADE = 4

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史黎贺顾毛郝龚邵万钱覃武戴孔汤"
)
BOY_CHARS = "浩宇轩子俊杰涛博文辰嘉明睿泽一晨航鑫铭皓天磊昊然凯鹏瑞阳乐思远恒毅诚煜森"
GIRL_CHARS = "欣怡梓涵雨萱佳诗琪可馨思雅婷晓悦紫妍梦瑶静雪慧语嫣然心彤欢芮璐婉清"
ADULT_MALE = "建国伟强军勇明华志刚海涛斌超平峰磊辉健鹏飞东晓军永红"
ADULT_FEMALE = "秀英丽娟敏芳燕静霞玲艳红梅琳洁颖丹慧萍雪莉晶倩"


def _name(rng: random.Random, surname: str, chars: str, length: int | None = None) -> str:
    length = length or rng.choice((1, 2, 2))
    return surname + "".join(rng.choice(chars) for _ in range(length))


class Command(BaseCommand):
    help = "Create the demo school (idempotent) and print the demo log-ins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Seed even though DEBUG is off (the demo accounts share a published password).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_without_debug"]:
            raise CommandError(
                "seed_demo creates admin accounts with the published password "
                f"{DEMO_PASSWORD!r}; refusing because DEBUG is off. Use it on a demo machine "
                "(make run sets DEBUG=true), or pass --allow-without-debug."
            )
        rng = random.Random(20260901)
        password = make_password(DEMO_PASSWORD)  # hashed once, shared by every demo account
        groups = {group.name: group for group in Group.objects.all()}

        school, _ = School.objects.get_or_create(
            name=SCHOOL_NAME, defaults={"address": "阳光路1号", "phone": "0771-1234567"}
        )
        term, _ = Term.objects.get_or_create(
            school=school,
            name="2026年秋季学期",
            defaults={
                "start": date(2026, 9, 1),
                "end": date(2027, 1, 22),
                "application_opens": date(2026, 8, 24),
                # Late applications are taken until the end of the year (children join mid-term).
                "application_closes": date(2026, 12, 31),
            },
        )
        grades = {}
        for number in GRADES:
            grades[number], _ = Grade.objects.get_or_create(school=school, number=number)

        # Staff: username, name, mobile, roles.
        staff = [
            ("admin", "周校长", "13800000001", [Role.ADMIN]),
            ("caiwu", "钱会计", "13800000002", [Role.FINANCE]),
            ("zhiban", "孙主任", "13800000003", [Role.DUTY_LEADER]),
            ("menwei", "李师傅", "13800000004", [Role.GATE_GUARD]),
        ]
        homeroom_teachers = []
        for index in range(len(GRADES) * CLASSES_PER_GRADE):
            username = f"bzr{index + 1:02d}"
            roles = [Role.HOMEROOM_TEACHER] + ([Role.SERVICE_TEACHER] if index < 4 else [])
            gender_chars = ADULT_FEMALE if index % 3 else ADULT_MALE
            staff.append(
                (username, _name(rng, rng.choice(SURNAMES), gender_chars) + "老师", f"138000001{index:02d}", roles)
            )
            homeroom_teachers.append(username)
        for index in range(10):
            staff.append(
                (
                    f"fw{index + 1:02d}",
                    _name(rng, rng.choice(SURNAMES), ADULT_MALE + ADULT_FEMALE) + "老师",
                    f"138000002{index:02d}",
                    [Role.SERVICE_TEACHER],
                )
            )

        users = self._users(
            [(username, name, username in {"admin", "caiwu"}) for username, name, _mobile, _roles in staff], password
        )
        existing_profiles = set(
            StaffProfile.objects.filter(user__in=users.values()).values_list("user__username", flat=True)
        )
        StaffProfile.objects.bulk_create(
            StaffProfile(user=users[username], school=school, name=name, mobile=mobile)
            for username, name, mobile, _roles in staff
            if username not in existing_profiles
        )
        self._grant([(users[username], role) for username, _n, _m, roles in staff for role in roles], groups)

        # Homerooms with their teachers.
        existing_rooms = {
            (h.grade.number, h.number): h for h in Homeroom.objects.filter(grade__school=school).select_related("grade")
        }
        new_rooms = []
        for grade_index, number in enumerate(GRADES):
            for class_number in range(1, CLASSES_PER_GRADE + 1):
                if (number, class_number) not in existing_rooms:
                    teacher = users[homeroom_teachers[grade_index * CLASSES_PER_GRADE + class_number - 1]]
                    new_rooms.append(Homeroom(grade=grades[number], number=class_number, teacher=teacher))
        Homeroom.objects.bulk_create(new_rooms)
        rooms = {
            (h.grade.number, h.number): h for h in Homeroom.objects.filter(grade__school=school).select_related("grade")
        }

        # Students and two guardians each.
        plan = []  # (student fields, [(guardian name, mobile, relation, primary)])
        mobile_counter = 0
        for number in GRADES:
            entry_year = 2027 - number
            for class_number in range(1, CLASSES_PER_GRADE + 1):
                for seat in range(1, rng.randint(40, 45) + 1):
                    surname = rng.choice(SURNAMES)
                    gender = rng.choice("MF")
                    child = _name(rng, surname, BOY_CHARS if gender == "M" else GIRL_CHARS)
                    mother_primary = rng.random() < 0.6
                    father = (
                        _name(rng, surname, ADULT_MALE),
                        f"1390{mobile_counter:07d}",
                        "father",
                        not mother_primary,
                    )
                    mother = (
                        _name(rng, rng.choice(SURNAMES), ADULT_FEMALE),
                        f"1390{mobile_counter + 1:07d}",
                        "mother",
                        mother_primary,
                    )
                    mobile_counter += 2
                    plan.append(
                        (
                            {
                                "student_no": f"{entry_year}{class_number:02d}{seat:02d}",
                                "name": child,
                                "gender": gender,
                                "homeroom": rooms[(number, class_number)],
                            },
                            [father, mother],
                        )
                    )

        known_students = set(Student.objects.filter(school=school).values_list("student_no", flat=True))
        bulk_create_with_history(
            [Student(school=school, **fields) for fields, _g in plan if fields["student_no"] not in known_students],
            Student,
            batch_size=500,
        )
        guardian_rows = [g for _s, guardians in plan for g in guardians]
        guardian_users = self._users([(mobile, name, False) for name, mobile, _r, _p in guardian_rows], password)
        self._grant([(user, Role.GUARDIAN) for user in guardian_users.values()], groups)
        known_guardians = set(Guardian.objects.values_list("mobile", flat=True))
        bulk_create_with_history(
            [
                Guardian(name=name, mobile=mobile, user=guardian_users[mobile])
                for name, mobile, _r, _p in guardian_rows
                if mobile not in known_guardians
            ],
            Guardian,
            batch_size=500,
        )
        student_ids = dict(Student.objects.filter(school=school).values_list("student_no", "id"))
        guardian_ids = dict(Guardian.objects.values_list("mobile", "id"))
        known_links = set(StudentGuardian.objects.values_list("student_id", "guardian_id"))
        StudentGuardian.objects.bulk_create(
            (
                StudentGuardian(
                    student_id=student_ids[fields["student_no"]],
                    guardian_id=guardian_ids[mobile],
                    relation=relation,
                    is_primary=primary,
                )
                for fields, guardians in plan
                for _name_, mobile, relation, primary in guardians
                if (student_ids[fields["student_no"]], guardian_ids[mobile]) not in known_links
            ),
            batch_size=1000,
        )

        scheduling = seed_scheduling(school=school, term=term, rng=random.Random(20260902))
        seed_participation(
            term=term,
            candidates=scheduling["candidates"],
            pending_homeroom=rooms[(1, 1)],
            skip_student_nos=NOT_YET_APPLIED,
        )
        self.stdout.write(
            f"Scheduling: {scheduling['groups']} service groups; sessions created {scheduling['sessions'].created}, "
            f"already there {Session.objects.filter(group__term=term).count() - scheduling['sessions'].created}."
        )
        billing = seed_billing(term=term, rng=random.Random(20260903))
        self.stdout.write(f"Billing: {billing}")
        self._print_logins(school, plan)

    def _users(self, rows, password) -> dict[str, User]:
        """Users by username, creating the missing ones (rows: username, full name, is_staff)."""
        wanted = {username: (name, is_staff) for username, name, is_staff in rows}
        existing = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
        User.objects.bulk_create(
            [
                User(username=username, first_name=name, password=password, is_staff=is_staff)
                for username, (name, is_staff) in wanted.items()
                if username not in existing
            ],
            batch_size=1000,
        )
        return {user.username: user for user in User.objects.filter(username__in=wanted)}

    def _grant(self, pairs, groups):
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=user.pk, group_id=groups[role].pk) for user, role in pairs],
            ignore_conflicts=True,
            batch_size=1000,
        )

    def _placed_guardian(self, school):
        from enrollment.models import Application

        placed = (
            Application.objects.filter(term__school=school, status=Application.Status.PLACED, guardian__isnull=False)
            .select_related("student", "guardian")
            .order_by("student__student_no")
            .first()
        )
        if placed is None:
            return []
        return [(f"家长 guardian of {placed.student.name} (mobile; placed)", placed.guardian.mobile)]

    def _print_logins(self, school, plan):
        first_student, first_guardians = plan[0]
        guardian = next(g for g in first_guardians if g[3])
        out = self.stdout
        out.write(
            self.style.SUCCESS(
                f"{school.name}: {Student.objects.filter(school=school).count()} students, "
                f"{Guardian.objects.count()} guardians, "
                f"{Homeroom.objects.filter(grade__school=school).count()} classes."
            )
        )
        out.write(f"Demo log-ins (password {DEMO_PASSWORD} for every account):")
        for role, login in [
            ("管理员 admin", "admin"),
            ("财务 finance", "caiwu"),
            ("值班领导 duty leader", "zhiban"),
            ("门卫 gate guard", "menwei"),
            ("班主任 homeroom teacher (一年级1班, also 服务教师)", "bzr01"),
            ("服务教师 service teacher", "fw01"),
            (f"家长 guardian of {first_student['name']} (mobile; not applied yet)", guardian[1]),
            *self._placed_guardian(school),
        ]:
            out.write(f"  {role:<50} {login}")
