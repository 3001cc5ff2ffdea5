"""Shared pieces of the hostile-input tests: the hostile strings, the hypothesis strategies that
build form posts from them, and ``post_and_check``, which posts one example and asserts the
two things every form must guarantee whatever it is sent: no server error, and no write when
the input is refused.

Each example runs inside ``transaction.atomic()`` and is rolled back at its end (``_Rollback``):
pytest-django creates function-scoped fixtures once per test, not once per hypothesis example,
so without the rollback one example's accepted write (an application, a release, a visitor)
would change what the next example finds. The rollback is a savepoint inside the test's own
transaction, so the fixtures' rows stay and every example starts from the same database.
"""

import traceback
from contextlib import suppress
from pathlib import Path

from django.apps import apps
from django.contrib.messages import constants as message_levels
from django.db import connection, models, transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# derandomize: the same examples on every run, so that the suite is red or green for a reason and
# a report can be reproduced; database=None: nothing written to .hypothesis/ in the checkout; no
# shrinking: a failing example is reported as found (the sweep in test_forms.py names the single
# field), which keeps a red run as fast as a green one.
SETTINGS = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- hostile values ---------------------------------------------------------------------------


class Long(str):
    """A long string that shows itself short in hypothesis's report of a failing example."""

    def __repr__(self):
        return f"{self[:1]!r} * {len(self)}"


LONG = Long("长" * 10_000)
HOSTILE = {
    "injection": [
        "' OR '1'='1",
        "'; DROP TABLE enrollment_student; --",
        "1 UNION SELECT password FROM enrollment_user--",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "{{ request.user.password }}{% debug %}",
        "../../etc/passwd",
        "%s%s%s%n",
    ],
    "formula": ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/","点我")', "+1+1", "@SUM(A1)", "-2+3"],
    "size": [LONG, Long("A" * 10_001), Long("长" * 201), Long("x" * 51)],
    "characters": ["\x00", "王\x00小明", "\u202egpj.exe", "\u200b\u200b", "👨‍👩‍👧‍👦🚸🏫", "   ", "\r\n\t"],
    "number": [
        "１３９１１１１２２２２",
        "１２３",
        "-1",
        "0",
        "-99999999999999999999",
        "99999999999999999999999999",
        "1e309",
        "NaN",
        "Infinity",
        "3.14",
        "0x1F",
    ],
    "date": [
        "2026-02-30",
        "9999-12-31",
        "0001-01-01",
        "0001-01-01T00:00",
        "9999-12-31T23:59",
        "10000-01-01",
        "２０２６－１０－０１",
    ],
    "shape": ["[]", "{}", "null", "None", "True"],
}
# Each kind of hostile value equally likely (a long string is one kind, not one value in fifty).
hostile = st.one_of(*(st.sampled_from(values) for values in HOSTILE.values()))
junk = st.text(max_size=40)  # random Unicode, no lone surrogates (a browser cannot send those)
# Keys a hand-edited form might add: mass assignment of fields the form does not offer.
EXTRA_KEYS = ["id", "pk", "status", "student", "guardian", "school", "term", "is_staff", "is_superuser", "amount"]


@st.composite
def ids_of(draw, *values):
    """Record ids as posted: mostly the given ones (own and another family's), else wrong ones."""
    roll = draw(st.integers(0, 9))
    if roll < 6:
        return draw(st.sampled_from([str(v) for v in values]))
    if roll < 8:
        return str(draw(st.integers(-(2**70), 2**70)))
    return draw(hostile)


@st.composite
def bad(draw, valid):
    """What goes into a field under attack: hostile, random, missing (None), or several values."""
    roll = draw(st.integers(0, 9))
    if roll < 6:
        return draw(hostile)
    if roll < 8:
        return draw(junk)
    if roll < 9:
        return None
    return draw(st.lists(st.one_of(valid, hostile), min_size=2, max_size=3))


@st.composite
def form_data(draw, fields: dict) -> dict:
    """A POST body. Two thirds of the examples are a valid form with one field under attack, so
    that the hostile value gets past the other fields' checks to the code behind them; the rest
    attack any number of fields at once. Sometimes with extra fields."""
    names = list(fields)
    if names and draw(st.integers(0, 2)) < 2:
        attacked = {draw(st.sampled_from(names))}
    else:
        attacked = {name for name in names if draw(st.booleans())}
    data = {}
    for name, valid in fields.items():
        value = draw(bad(valid)) if name in attacked else draw(valid)
        if value is not None:
            data[name] = value
    extra = draw(
        st.dictionaries(
            st.one_of(st.sampled_from(EXTRA_KEYS), st.from_regex(r"[a-z_]{1,12}", fullmatch=True)),
            st.one_of(hostile, junk),
            max_size=2,
        )
    )
    for key, value in extra.items():
        data.setdefault(key, value)
    return data


# The deterministic sweep: each of these in each field of an otherwise valid form.
SWEEP = [
    LONG,
    "王\x00小明",
    "99999999999999999999999999",
    "0001-01-01",
    ["1", "2"],
    None,  # the field left out
]


# -- the database before and after ------------------------------------------------------------

# Log-in sessions are bookkeeping, not data the form writes (a message too long for the cookie
# lands in the session).
NOT_COUNTED = {"django_session"}


def _tables() -> list[str]:
    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models(include_auto_created=True)
            if model._meta.managed and not model._meta.proxy
        }
        - NOT_COUNTED
    )


def row_counts() -> dict[str, int]:
    """The row count of every table, in one query."""
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(f"SELECT '{table}', COUNT(*) FROM {quote(table)}" for table in _tables())
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def _text_columns():
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.managed or model._meta.proxy:
            continue
        columns = [
            (f.attname, f.max_length if not isinstance(f, models.TextField) else None)
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.FileField)
        ]
        if columns:
            yield model, columns


def unstorable_values() -> list[str]:
    """Stored text PostgreSQL would have refused with a server error: NUL characters, or more
    characters than the column holds (SQLite, which the suite runs on, stores both)."""
    problems = []
    for model, columns in _text_columns():
        names = [name for name, _limit in columns]
        for pk, *values in model._default_manager.values_list("pk", *names):
            for (name, limit), value in zip(columns, values, strict=True):
                if value is None:
                    continue
                value = str(value)
                if "\x00" in value:
                    problems.append(f"{model._meta.label}.{name} (pk {pk}) holds a NUL character")
                if limit is not None and len(value) > limit:
                    problems.append(
                        f"{model._meta.label}.{name} (pk {pk}) holds {len(value)} characters, the column {limit}"
                    )
    return problems


# -- one example ----------------------------------------------------------------------------------


def describe(value):
    """``value`` for an assertion message, long strings shortened (a 10,000-character name
    would bury the message)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:12]!r}…({len(value)} characters)"
    return repr(value)


class _Rollback(Exception):
    """Raised at the end of every example to undo what it wrote."""


def failure(response) -> str:
    """The exception behind a 500 and the innermost line of the project's own code it passed."""
    exc_info = getattr(response, "exc_info", None)
    if not exc_info:
        return response.content.decode(errors="replace")[:500]
    root = Path(__file__).resolve().parents[2]
    frames = traceback.extract_tb(exc_info[2])
    ours = [
        f
        for f in frames
        if f.filename.startswith(str(root)) and "/.venv/" not in f.filename and "/tests/" not in f.filename
    ]
    where = f"{Path(ours[-1].filename).relative_to(root)}:{ours[-1].lineno} ({ours[-1].line})" if ours else "?"
    return f"{exc_info[0].__module__}.{exc_info[0].__qualname__}: {str(exc_info[1])[:300]} at {where}"


def refused(response) -> bool:
    """Did the page refuse the input? A re-rendered form (200), a 4xx, or a redirect that
    carries an error message. A redirect without one is the page accepting the post."""
    if response.status_code in (301, 302, 303):
        queued = getattr(getattr(response.wsgi_request, "_messages", None), "_queued_messages", [])
        return any(message.level >= message_levels.ERROR for message in queued)
    return True


def post_and_check(client, url, data, *, files=None, may_write=(), unchanged=None, expect_status=None, **extra):
    """POST ``data`` (and ``files``) to ``url`` and check: no 5xx; when refused, no row written
    (``may_write``: tables allowed to change anyway); nothing PostgreSQL would refuse stored;
    ``unchanged()`` (another family's rows, say) the same before and after. Rolled back after.
    Returns (status, refused)."""
    client.cookies.pop("messages", None)  # a previous example's messages must not count for this one
    payload = {**data, **(files or {})}
    outcome = None
    with suppress(_Rollback), transaction.atomic():
        before = row_counts()
        guarded = unchanged() if unchanged else None
        response = client.post(url, payload, **extra)
        assert response.status_code < 500, f"{response.status_code} for {describe(data)}:\n{failure(response)}"
        if expect_status is not None:
            assert response.status_code in expect_status, f"{response.status_code} for {describe(data)}"
        was_refused = refused(response)
        after = row_counts()
        if was_refused:
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t] and t not in may_write}
            assert not changed, f"refused ({response.status_code}) yet rows changed {changed} for {describe(data)}"
        unstorable = unstorable_values()
        assert not unstorable, f"{response.status_code} for {describe(data)} stored {unstorable}"
        if unchanged:
            assert unchanged() == guarded, f"another family's or teacher's rows changed for {describe(data)}"
        outcome = (response.status_code, was_refused)
        raise _Rollback
    return outcome
