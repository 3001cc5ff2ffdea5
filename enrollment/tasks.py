"""Celery tasks of the enrollment app: adapters that take ids and call the services."""

from celery import shared_task
from celery.signals import worker_ready

from .notify import deliver_notification  # noqa: F401  (the notification task, registered with the worker)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=3,
    default_retry_delay=30,
    ignore_result=True,
)
def render_document(self, document_id: int):
    from .documents import TransientDocumentError, document_fail, document_render

    try:
        return document_render(document_id=document_id)
    except TransientDocumentError as error:
        if self.request.retries >= self.max_retries:
            document_fail(document_id=document_id, message=f"{error} ({self.request.retries + 1}×)")
            return False
        raise self.retry(exc=error) from error


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def render_batch(batch_id: int):
    from .documents import batch_render

    return batch_render(batch_id=batch_id)


@shared_task(ignore_result=True)
def requeue_documents():
    from .documents import documents_requeue

    return documents_requeue()


@shared_task(ignore_result=True)
def remove_abandoned_imports(max_age_hours: int = 24) -> int:
    """Uploaded rosters whose import preview was never confirmed (children's data): removed."""
    from datetime import timedelta

    from django.core.files.storage import storages
    from django.utils import timezone

    storage = storages["import_export"] if "import_export" in storages.backends else storages["default"]
    folder = "django-import-export"
    if not storage.exists(folder):
        return 0
    cutoff = timezone.now() - timedelta(hours=max_age_hours)
    removed = 0
    for name in storage.listdir(folder)[1]:
        path = f"{folder}/{name}"
        if storage.get_modified_time(path) < cutoff:
            storage.delete(path)
            removed += 1
    return removed


@worker_ready.connect
def _requeue_on_start(sender=None, **kwargs):
    """A restarted worker picks up what a stopped one left (once its lease has run out)."""
    requeue_documents.delay()
