import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from afterschool.env import envbool, envlist, envsecret, read_or_create_secret

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7!k2@pQ9#mZ4$wR8^tY1&uI6*oP3(aS5)dF0-gH_jK+lL=zXcV7bN2mQ4wE9rT",
    "ALLOWED_HOSTS": "kehou.example-school.cn",
    "DATABASE_URL": "postgres://afterschool@127.0.0.1:5432/afterschool",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def _manage(*args, env):
    unwanted = {"DJANGO_SETTINGS_MODULE", "DEBUG", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unwanted}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "afterschool.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_variables():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_complains_when_debug_is_left_on():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "DEBUG": "true"})
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_embedded_default_is_sqlite_in_wal_mode_with_eager_celery(tmp_path):
    code = (
        "from django.conf import settings; from django.db import connection; "
        "connection.ensure_connection(); c = connection.cursor(); c.execute('PRAGMA journal_mode'); "
        "print(settings.DATABASES['default']['ENGINE'], c.fetchone()[0], settings.CELERY_TASK_ALWAYS_EAGER, "
        "settings.LANGUAGE_CODE, settings.TIME_ZONE)"
    )
    result = _manage(
        "shell", "-c", code, env={"SQLITE_PATH": str(tmp_path / "db.sqlite3"), "SECRET_KEY_PATH": str(tmp_path / "key")}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-5:] == ["django.db.backends.sqlite3", "wal", "True", "zh-hans", "Asia/Shanghai"]


def test_envbool_refuses_values_it_does_not_understand(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "yes-please")
    with pytest.raises(ImproperlyConfigured):
        envbool("SOME_FLAG", False)
    monkeypatch.setenv("SOME_FLAG", "off")
    assert envbool("SOME_FLAG", True) is False


def test_secrets_come_from_a_file_when_asked(monkeypatch, tmp_path):
    (tmp_path / "secret").write_text("from-file\n")
    monkeypatch.setenv("THING_FILE", str(tmp_path / "secret"))
    assert envsecret("THING") == "from-file"
    monkeypatch.setenv("HOSTS", "a.cn, b.cn,")
    assert envlist("HOSTS", []) == ["a.cn", "b.cn"]


def test_a_missing_secret_key_is_generated_once_and_kept(tmp_path):
    first = read_or_create_secret(tmp_path / "key")
    assert len(first) >= 50
    assert read_or_create_secret(tmp_path / "key") == first
    assert oct((tmp_path / "key").stat().st_mode & 0o777) == "0o600"


def test_uploaded_files_are_served_to_the_admin_roles_only(client, settings, tmp_path, admin_user, guardian):
    from django.urls import reverse

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "enrollment").mkdir()
    (tmp_path / "enrollment" / "scan.pdf").write_bytes(b"%PDF-1.4 scan")
    url = reverse("protected_media", args=["enrollment/scan.pdf"])

    assert client.get(url).status_code == 404  # anonymous
    client.force_login(guardian)
    assert client.get(url).status_code == 404
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 scan"
    assert client.get(reverse("protected_media", args=["../settings.py"])).status_code == 404


def test_exports_defuse_formulas_in_text_but_keep_numbers():
    from decimal import Decimal
    from io import BytesIO

    import tablib
    from openpyxl import load_workbook

    from afterschool.export_formats import SafeXLSX

    data = tablib.Dataset(headers=["name", "amount"])
    data.append(['=HYPERLINK("http://evil")', Decimal("-60.00")])
    data.append(["王小明", Decimal("120.00")])

    sheet = load_workbook(BytesIO(SafeXLSX().export_data(data))).active

    assert [cell.value for cell in sheet[2]] == ['\'=HYPERLINK("http://evil")', -60]
    assert sheet["B3"].value == 120 and sheet["B3"].data_type == "n"
