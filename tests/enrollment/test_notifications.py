"""Notifications: delivery through a channel (e-mail by default, once, retried when the mail server
is briefly away) and the inboxes of guardians and staff."""

import smtplib

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from enrollment import notify, workflow
from enrollment.models import Application, Notification
from enrollment.notify import DeliveryError, deliver_notification, notifications_create
from enrollment.views import INBOX_PAGE_SIZE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def _notes(user, count, *, guardian=None, channel=Notification.Channel.SITE, **fields):
    """``count`` messages to ``user``, created through the service (delivery not run)."""
    return notifications_create(
        notifications=[
            Notification(
                recipient=user,
                guardian=guardian,
                kind="test.message",
                subject=fields.get("subject", f"第{n + 1}条消息"),
                body=fields.get("body", "今天16:00课后服务照常进行。"),
            )
            for n in range(count)
        ],
        channel=channel,
    )


class FlakyChannel(notify.Channel):
    """Fails ``failures`` times with a transient error, then delivers."""

    name = "flaky"

    def __init__(self, failures):
        self.failures, self.sent = failures, []

    def send(self, notification):
        if self.failures:
            self.failures -= 1
            raise DeliveryError("SMS gateway timed out")
        self.sent.append(notification.pk)


@pytest.fixture
def flaky(monkeypatch):
    def install(failures):
        channel = FlakyChannel(failures)
        monkeypatch.setitem(notify.CHANNELS, channel.name, channel)
        return channel

    return install


# -- delivery ---------------------------------------------------------------------------------------


def test_an_application_step_reaches_the_guardian_by_email_in_chinese(
    open_term, student_a, guardian, homeroom_teacher, django_capture_on_commit_callbacks
):
    guardian.email = "wang@example.cn"
    guardian.save(update_fields=["email"])
    application = Application.objects.create(
        term=open_term,
        student=student_a,
        guardian=guardian.guardian,
        emergency_name="外婆",
        emergency_mobile="13700000000",
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        workflow.application_transition(
            application=application, to=Application.Status.CLASS_APPROVED, actor=homeroom_teacher
        )

    notification = Notification.objects.get(guardian=guardian.guardian)
    assert len(callbacks) == 1
    assert notification.channel == Notification.Channel.EMAIL and notification.sent_at is not None
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["wang@example.cn"]
    assert email.subject == notification.subject and email.subject.startswith("王小明的申请：")
    assert email.body.startswith(notification.body)


def test_without_an_email_address_the_message_is_only_in_the_inbox(guardian, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        (note,) = _notes(guardian, 1, channel=Notification.Channel.EMAIL)

    note.refresh_from_db()
    assert mail.outbox == []
    assert note.sent_at is not None and note.error == "" and note.attempts == 1
    assert list(notify.notification_list_for_user(user=guardian)) == [note]


def test_a_message_to_a_guardian_without_an_account_is_kept_for_the_inbox(
    student_a, django_capture_on_commit_callbacks
):
    from tests.enrollment.factories import GuardianFactory

    family = GuardianFactory(user=None)
    with django_capture_on_commit_callbacks(execute=True):
        (note,) = notifications_create(
            notifications=[Notification(guardian=family, kind="test.message", subject="停课通知", body="明天停课。")]
        )

    note.refresh_from_db()
    assert mail.outbox == [] and note.sent_at is not None


def test_delivering_twice_sends_once(guardian):
    guardian.email = "wang@example.cn"
    guardian.save(update_fields=["email"])
    (note,) = _notes(guardian, 1, channel=Notification.Channel.EMAIL, subject="明天停课")

    assert deliver_notification.delay(note.pk).get() == note.pk
    assert deliver_notification.delay(note.pk).get() is None  # already claimed: nothing to do

    note.refresh_from_db()
    assert [m.subject for m in mail.outbox] == ["明天停课"]
    assert note.attempts == 1


def test_creating_many_messages_takes_a_constant_number_of_queries(
    guardian, homeroom_teacher, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as one_batch, django_assert_num_queries(1):
        _notes(guardian, 1)
    with django_capture_on_commit_callbacks() as thirty, django_assert_num_queries(1):
        _notes(homeroom_teacher, 30)

    assert len(one_batch) == len(thirty) == 1  # one callback enqueues the whole batch


def test_a_transient_failure_is_retried_and_recorded(guardian, flaky):
    channel = flaky(failures=2)
    (note,) = _notes(guardian, 1, channel="flaky")

    deliver_notification.delay(note.pk)  # eager: the retries run at once

    note.refresh_from_db()
    assert channel.sent == [note.pk]
    assert note.attempts == 3 and note.sent_at is not None and note.failed_at is None
    assert note.error == "SMS gateway timed out"  # the last failure, kept for the admin


def test_after_the_last_retry_the_failure_is_recorded_and_nothing_is_raised(guardian, flaky):
    channel = flaky(failures=99)
    (note,) = _notes(guardian, 1, channel="flaky")

    deliver_notification.delay(note.pk)

    note.refresh_from_db()
    assert channel.sent == []
    assert note.attempts == 1 + deliver_notification.max_retries
    assert note.sent_at is None and note.failed_at is not None and note.error == "SMS gateway timed out"
    assert deliver_notification.delay(note.pk).get() is None  # a failed message is not tried again by itself
    assert list(notify.notification_list_for_user(user=guardian)) == [note]  # still in the inbox


def test_a_mail_server_error_is_a_transient_failure(guardian, monkeypatch):
    guardian.email = "wang@example.cn"
    guardian.save(update_fields=["email"])
    calls = []

    def send_mail(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return 1

    monkeypatch.setattr(notify, "send_mail", send_mail)
    (note,) = _notes(guardian, 1, channel=Notification.Channel.EMAIL)

    deliver_notification.delay(note.pk)

    note.refresh_from_db()
    assert len(calls) == 2 and note.attempts == 2 and note.sent_at is not None
    assert "Connection unexpectedly closed" in note.error


def test_a_channel_that_no_longer_exists_fails_without_retry(guardian):
    (note,) = _notes(guardian, 1, channel="carrier-pigeon")

    deliver_notification.delay(note.pk)

    note.refresh_from_db()
    assert note.attempts == 1 and note.failed_at is not None and "carrier-pigeon" in note.error


def test_delivery_is_enqueued_only_after_the_commit(guardian, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(deliver_notification, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = workflow.notify_guardian(guardian.guardian, kind="enrollment.leave", subject="请假", body="已批准")
    assert queued == []  # not before the commit
    for callback in callbacks:
        callback()
    assert queued == [note.pk]


# -- inbox --------------------------------------------------------------------------------------------


def _login(client, user):
    client.force_login(user)


def test_the_guardian_inbox_lists_only_their_own_messages(client, guardian, other_guardian):
    mine = _notes(guardian, 2)
    _notes(other_guardian, 1, subject="别人家的消息")
    _login(client, guardian)

    response = client.get(reverse("enrollment:portal_inbox"))

    assert response.status_code == 200
    assert [n.pk for n in response.context["page"]] == [n.pk for n in reversed(mine)]
    assert "别人家的消息" not in response.content.decode()
    assert response.context["inbox_unread"] == 2


def test_messages_to_the_guardian_before_the_account_existed_are_in_the_inbox(client, guardian):
    (note,) = notifications_create(
        notifications=[Notification(guardian=guardian.guardian, kind="scheduling.closure", subject="停课", body="x")]
    )
    _login(client, guardian)

    response = client.get(reverse("enrollment:portal_message", args=[note.pk]))

    assert response.status_code == 200


def test_another_users_message_is_a_404(client, guardian, other_guardian, homeroom_teacher):
    (theirs,) = _notes(other_guardian, 1)
    (teachers,) = _notes(homeroom_teacher, 1)
    _login(client, guardian)

    assert client.get(reverse("enrollment:portal_message", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("enrollment:portal_message", args=[teachers.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_staff_do_not_see_a_guardians_message(client, guardian, duty_leader):
    (note,) = _notes(guardian, 1)
    _login(client, duty_leader)

    assert client.get(reverse("enrollment:message", args=[note.pk])).status_code == 404


@pytest.mark.parametrize("persona", ["homeroom_teacher", "service_teacher", "duty_leader", "gate_guard", "finance"])
def test_staff_read_their_inbox(client, request, persona):
    user = request.getfixturevalue(persona)
    (note,) = _notes(user, 1, subject="值班安排有变")
    _login(client, user)

    response = client.get(reverse("enrollment:inbox"))

    assert response.status_code == 200
    assert "值班安排有变" in response.content.decode()
    assert reverse("enrollment:inbox") in response.content.decode()  # the navigation's link
    assert client.get(reverse("enrollment:message", args=[note.pk])).status_code == 200


def test_guardians_and_staff_each_keep_to_their_own_inbox(client, guardian, gate_guard):
    _login(client, guardian)
    assert client.get(reverse("enrollment:inbox")).status_code == 403
    client.logout()
    _login(client, gate_guard)
    assert client.get(reverse("enrollment:portal_inbox")).status_code == 403


def test_the_inbox_needs_a_log_in(client):
    response = client.get(reverse("enrollment:portal_inbox"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_opening_a_message_marks_it_read_once(client, guardian):
    first, second = _notes(guardian, 2)
    _login(client, guardian)

    response = client.get(reverse("enrollment:portal_message", args=[first.pk]))

    assert response.status_code == 200
    assert first.body in response.content.decode()
    first.refresh_from_db()
    read_at = first.read_at
    assert read_at is not None
    assert response.context["inbox_unread"] == 1  # the badge counts after the reading
    client.get(reverse("enrollment:portal_message", args=[first.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at == read_at and second.read_at is None


def test_mark_all_as_read(client, homeroom_teacher, guardian):
    _notes(homeroom_teacher, 3)
    (guardians,) = _notes(guardian, 1)
    _login(client, homeroom_teacher)

    response = client.post(reverse("enrollment:inbox_read_all"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("enrollment:inbox")
    assert (
        "已将 3 条消息标为已读" in response.content.decode() or "3 messages marked read." in response.content.decode()
    )
    assert not Notification.objects.filter(recipient=homeroom_teacher, read_at__isnull=True).exists()
    guardians.refresh_from_db()
    assert guardians.read_at is None
    assert client.get(reverse("enrollment:inbox_read_all")).status_code == 405


def test_the_navigation_shows_the_unread_count(client, guardian):
    _notes(guardian, 3)
    Notification.objects.filter(pk=_notes(guardian, 1)[0].pk).update(read_at=timezone.now())
    _login(client, guardian)

    response = client.get(reverse("enrollment:portal"))

    content = response.content.decode()
    assert f'href="{reverse("enrollment:portal_inbox")}" id="nav-inbox"' in content
    assert 'text-bg-warning">3<' in content


@pytest.mark.parametrize(
    ("persona", "url_name"), [("guardian", "enrollment:portal_inbox"), ("service_teacher", "enrollment:inbox")]
)
def test_the_inbox_takes_a_constant_number_of_queries(
    client, request, persona, url_name, django_assert_max_num_queries
):
    user = request.getfixturevalue(persona)
    _notes(user, 1)
    _login(client, user)
    with django_assert_max_num_queries(6) as one:
        response = client.get(reverse(url_name))
    assert len(response.context["page"]) == 1

    _notes(user, 29)
    with django_assert_max_num_queries(6) as thirty:
        response = client.get(reverse(url_name))
    assert len(response.context["page"]) == 30

    assert len(thirty) == len(one)


def test_opening_a_message_takes_a_constant_number_of_queries(client, guardian, django_assert_max_num_queries):
    notes = _notes(guardian, 30)
    _login(client, guardian)
    with django_assert_max_num_queries(6) as captured:
        assert client.get(reverse("enrollment:portal_message", args=[notes[0].pk])).status_code == 200
    with django_assert_max_num_queries(6) as again:
        assert client.get(reverse("enrollment:portal_message", args=[notes[0].pk])).status_code == 200
    assert len(again) == len(captured) - 1  # no UPDATE the second time


def test_the_inbox_pages_older_messages(client, guardian):
    _notes(guardian, INBOX_PAGE_SIZE + 1)
    _login(client, guardian)

    response = client.get(reverse("enrollment:portal_inbox"), {"page": 2})

    assert len(response.context["page"]) == 1
