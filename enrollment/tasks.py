"""Celery tasks of the enrollment app: adapters that take ids and call the services."""

from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready
from django.core.files.storage import storages
from django.utils import timezone

# The notification and document tasks live beside the services they call (which queue them);
# imported here so that the worker registers them under enrollment.tasks.
from .documents import render_batch, render_document, requeue_documents  # noqa: F401
from .notify import deliver_notification  # noqa: F401


@shared_task(ignore_result=True)
def remove_abandoned_imports(max_age_hours: int = 24) -> int:
    """Uploaded rosters whose import preview was never confirmed (children's data): removed."""
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
