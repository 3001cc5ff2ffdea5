"""Placement proposal: from the students to place, propose service groups and a waitlist.

Rules (SPEC § scheduling, from the seeds): groups are formed per grade; a grade with fewer
than ``min_grade_size`` students is merged only with a grade of the same stage (学段); places
go by priority category, then lower grade, then earlier submission; who does not fit waits.
Pure functions: no database, so the rules are easy to test and to explain.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime

from enrollment.models import Priority, Stage

__all__ = ["Candidate", "Priority", "Proposal", "ProposedGroup", "propose"]


@dataclass(frozen=True)
class Candidate:
    student_id: int
    grade: int
    homeroom: int
    submitted_at: datetime
    priority: int = Priority.NONE

    @property
    def order_key(self):
        return (self.priority, self.grade, self.submitted_at, self.student_id)


@dataclass
class ProposedGroup:
    grades: tuple[int, ...]
    members: list[Candidate] = field(default_factory=list)

    @property
    def temporary(self) -> bool:
        """A group mixing grades is a temporary mixed group (临时班)."""
        return len(self.grades) > 1


@dataclass
class Proposal:
    groups: list[ProposedGroup]
    waitlist: list[Candidate]


def _pools(placed: list[Candidate], min_grade_size: int) -> list[tuple[int, ...]]:
    """Which grades form one pool: each grade alone, small grades merged inside their stage."""
    by_grade: dict[int, int] = {}
    for candidate in placed:
        by_grade[candidate.grade] = by_grade.get(candidate.grade, 0) + 1
    pools: list[tuple[int, ...]] = []
    for stage in Stage:
        grades = [g for g in stage.grade_numbers() if g in by_grade]
        small = [g for g in grades if by_grade[g] < min_grade_size]
        large = [g for g in grades if by_grade[g] >= min_grade_size]
        pools.extend((g,) for g in large)
        if len(small) >= 2:
            pools.append(tuple(small))
        elif small:
            # A lone small grade joins the smallest other grade of its stage, or stays alone.
            partner = min(large, key=lambda g: by_grade[g], default=None)
            if partner is None:
                pools.append(tuple(small))
            else:
                pools.remove((partner,))
                pools.append(tuple(sorted((partner, small[0]))))
    return sorted(pools)


def _group_count(placed, min_grade_size, size_for) -> int:
    counts = {}
    for candidate in placed:
        counts[candidate.grade] = counts.get(candidate.grade, 0) + 1
    return sum(math.ceil(sum(counts[g] for g in pool) / size_for(pool)) for pool in _pools(placed, min_grade_size))


def propose(
    candidates: list[Candidate],
    *,
    max_group_size: int,
    max_temporary_group_size: int,
    min_grade_size: int,
    max_groups: int | None = None,
) -> Proposal:
    """Propose groups for ``candidates``; with ``max_groups`` (the groups the school can staff
    and house) the lowest-ranked candidates who do not fit go to the waitlist, in order."""

    def size_for(pool):
        return max_temporary_group_size if len(pool) > 1 else max_group_size

    ranked = sorted(candidates, key=lambda c: c.order_key)
    placed, waitlist = ranked, []
    if max_groups is not None:
        placed = ranked[: max_groups * max_group_size]
        waitlist = ranked[len(placed) :]
        while placed and _group_count(placed, min_grade_size, size_for) > max_groups:
            waitlist.insert(0, placed.pop())

    groups = []
    for pool in _pools(placed, min_grade_size):
        members = sorted((c for c in placed if c.grade in pool), key=lambda c: (c.grade, c.homeroom, c.student_id))
        count = math.ceil(len(members) / size_for(pool))
        # Balanced sizes, classmates together: split the class-ordered list into even chunks.
        base, extra = divmod(len(members), count)
        start = 0
        for index in range(count):
            size = base + (1 if index < extra else 0)
            groups.append(ProposedGroup(grades=pool, members=members[start : start + size]))
            start += size
    return Proposal(groups=groups, waitlist=waitlist)
