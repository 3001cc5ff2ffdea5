"""manage.py backup --output <archive or folder>: the database and every media file in one archive."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from enrollment.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write the whole database and every file under MEDIA_ROOT into one .tar.gz archive of mode 0600, "
        "with a manifest of row counts and checksums (README § Backup and restore)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            required=True,
            help="The archive to write (afterschool-YYYYmmdd-HHMM.tar.gz), or an existing folder to write it "
            "into under that name. An existing archive is never overwritten.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database to back up.")

    def handle(self, *args, **options):
        try:
            result = backup_create(output=Path(options["output"]), using=options["database"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        manifest = result.manifest
        self.stdout.write(
            _("Wrote %(path)s (%(size)s): %(rows)s rows, %(files)s files. It holds children's data: keep it safe.")
            % {
                "path": result.path,
                "size": filesizeformat(result.size),
                "rows": sum(manifest["rows"].values()),
                "files": manifest["files"]["count"],
            }
        )
