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


@worker_ready.connect
def _requeue_on_start(sender=None, **kwargs):
    """A restarted worker picks up what a stopped one left (once its lease has run out)."""
    requeue_documents.delay()
