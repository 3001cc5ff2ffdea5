"""manage.py restore <archive>: an archive of manage.py backup into an empty database and media folder."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from enrollment.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore an archive of manage.py backup: check it, migrate the empty database, load every row in one "
        "transaction, put the files back under MEDIA_ROOT and compare the row counts with the archive."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The .tar.gz written by manage.py backup.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace everything the database and the media folder hold (otherwise both must be empty).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database to restore into.")

    def handle(self, *args, **options):
        try:
            backup_restore(
                archive=Path(options["archive"]),
                force=options["force"],
                using=options["database"],
                log=self.stdout.write,
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
