"""Notifications: create, deliver through a channel, read in the inbox.

Every notification is in its recipient's inbox (guardian portal or staff inbox). Its ``channel``
says how it is delivered besides: ``site`` (the inbox alone) or ``email``. A channel is a small
class with a ``name`` and ``send(notification)``; SMS or WeChat are added later by writing one
more class, registering it and adding its choice to ``Notification.Channel``.

Services create the rows with ``notifications_create``; one task per row is enqueued after the
transaction commits. The task claims the row with a conditional update, so a row is delivered
once however often the task runs, and retries a transient failure a bounded number of times.
"""

import logging
import smtplib
from collections.abc import Iterable

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Notification

logger = logging.getLogger(__name__)

# The earlier issues' messages go out by e-mail where the recipient has an address.
DEFAULT_CHANNEL = Notification.Channel.EMAIL


class DeliveryError(Exception):
    """A failure worth another try: the mail server or the SMS gateway was briefly unavailable."""


class Channel:
    """One way of delivering a notification besides the inbox."""

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``; raise ``DeliveryError`` for a failure worth retrying."""
        raise NotImplementedError


class SiteChannel(Channel):
    """The inbox alone: the row is the message, there is nothing else to send."""

    name = Notification.Channel.SITE

    def send(self, notification: Notification) -> None:
        return None


class EmailChannel(Channel):
    """E-mail to the recipient's account address (the console in the embedded default).

    Without an address nothing is sent; the message is still in the inbox.
    """

    name = Notification.Channel.EMAIL

    def address(self, notification: Notification) -> str:
        user = notification.recipient
        if user is None and notification.guardian is not None:
            user = notification.guardian.user
        return (user.email or "").strip() if user is not None else ""

    def send(self, notification: Notification) -> None:
        address = self.address(notification)
        if not address:
            return None
        # The subject and body were written in the school's language when the row was made;
        # the footer follows it.
        with translation.override(settings.LANGUAGE_CODE):
            footer = _("This message is also in your inbox on the after-school service site.")
        subject = " ".join(notification.subject.split())  # a header takes no line breaks
        try:
            send_mail(subject, f"{notification.body}\n\n{footer}\n", settings.DEFAULT_FROM_EMAIL, [address])
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(str(error) or error.__class__.__name__) from error


CHANNELS: dict[str, Channel] = {}


def channel_register(channel: Channel) -> Channel:
    CHANNELS[channel.name] = channel
    return channel


channel_register(SiteChannel())
channel_register(EmailChannel())


# -- services ----------------------------------------------------------------------------------------


def notifications_create(
    *, notifications: Iterable[Notification], channel: str = DEFAULT_CHANNEL
) -> list[Notification]:
    """Save unsaved ``notifications`` (one INSERT) and deliver them all by ``channel`` once the
    transaction commits. A constant number of queries however many there are."""
    notifications = list(notifications)
    for notification in notifications:
        notification.channel = channel
    created = Notification.objects.bulk_create(notifications)
    notification_send(notifications=created)
    return created


def notification_send(*, notifications: Iterable[Notification]) -> None:
    """Enqueue the delivery of saved ``notifications`` after the current transaction commits,
    so a worker never looks for a row that is not there yet. No query."""
    ids = [notification.pk for notification in notifications if notification.pk is not None]
    if not ids:
        return

    def enqueue():
        for pk in ids:
            deliver_notification.delay(pk)

    # robust: a broker that is down (or a bug in a channel) must not turn a saved roll call into
    # an error page; the failure is logged and the messages stay in the inboxes.
    transaction.on_commit(enqueue, robust=True)


def notification_deliver(*, notification_id: int, final: bool = False, now=None) -> bool | None:
    """Deliver one notification, at most once.

    Returns True when delivered (or nothing to send, e.g. no e-mail address), None when another
    run has it or it is done, False when it failed for good (recorded in ``error`` and
    ``failed_at``). Raises ``DeliveryError`` when a retry is worth it; on the ``final`` attempt
    the failure is recorded instead.
    """
    now = now or timezone.now()
    # The claim: only one run finds the row unsent. A run that dies after the claim leaves the
    # row marked sent: a message may be lost then, but never reaches a family twice.
    claimed = Notification.objects.filter(pk=notification_id, sent_at__isnull=True, failed_at__isnull=True).update(
        sent_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    notification = Notification.objects.select_related("recipient", "guardian__user").get(pk=notification_id)
    channel = CHANNELS.get(notification.channel)
    if channel is None:  # a channel that was removed: no retry will find it
        error = f"no channel {notification.channel!r}"
        Notification.objects.filter(pk=notification_id).update(sent_at=None, failed_at=now, error=error)
        logger.error("notification %s: %s", notification_id, error)
        return False
    try:
        channel.send(notification)
    except DeliveryError as error:
        # Un-claim, so that the retry can claim the row again.
        Notification.objects.filter(pk=notification_id).update(
            sent_at=None, error=str(error), failed_at=now if final else None
        )
        if final:
            logger.warning("notification %s not delivered: %s", notification_id, error)
            return False
        raise
    return True


@shared_task(bind=True, max_retries=3, default_retry_delay=60, ignore_result=True)
def deliver_notification(self, notification_id: int) -> int | None:
    """Deliver one notification; retried up to ``max_retries`` times on a transient failure."""
    final = self.request.retries >= self.max_retries
    try:
        delivered = notification_deliver(notification_id=notification_id, final=final)
    except DeliveryError as error:
        if self.request.is_eager:
            # Eager Celery with task_eager_propagates raises Retry instead of running the retry;
            # run it at once, counted like a worker's (what apply() does without propagation).
            return self.apply((notification_id,), retries=self.request.retries + 1).get(disable_sync_subtasks=False)
        raise self.retry(exc=error) from error
    return notification_id if delivered else None


# -- inbox ------------------------------------------------------------------------------------------


def notification_list_for_user(*, user) -> QuerySet[Notification]:
    """``user``'s own messages, newest first: addressed to the account, or to the guardian the
    account belongs to (messages written before the guardian had an account)."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(Q(recipient=user) | Q(guardian__user=user)).order_by("-created_at", "-pk")


def notification_unread_count(*, user) -> int:
    return notification_list_for_user(user=user).filter(read_at__isnull=True).count()


def notification_mark_read(*, notification: Notification, now=None) -> Notification:
    """Mark ``notification`` read once; opening it again keeps the first time."""
    if notification.read_at is None:
        now = now or timezone.now()
        if Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now):
            notification.read_at = now
    return notification


def notifications_mark_all_read(*, user, now=None) -> int:
    """Mark every unread message of ``user`` read; returns how many."""
    return notification_list_for_user(user=user).filter(read_at__isnull=True).update(read_at=now or timezone.now())
