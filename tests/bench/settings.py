"""Settings for `make bench`: the product's settings, plus an empty authenticated view to compare
with, plain HTTP for the in-process client, and a fast password hasher for building users."""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.pop("CELERY_BROKER_URL", None)  # documents are made in this process

from afterschool.settings import *  # noqa: E402,F403

ROOT_URLCONF = "tests.bench.urls"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_ENABLED = False
# No collectstatic for a benchmark: static files come from the app folders, as in the tests.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

import warnings  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here, on purpose
