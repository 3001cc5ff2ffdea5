"""Celery application.

With CELERY_BROKER_URL unset (the embedded default and the tests) tasks run eagerly
in-process; in production a worker and beat read the Redis broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "afterschool.settings")

app = Celery("afterschool")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
