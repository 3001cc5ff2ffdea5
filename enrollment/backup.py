"""Backup and restore: the whole database as Django serialized rows, every file of the default
storage (MEDIA_ROOT) and a manifest, in one .tar.gz (README § Backup and restore; the commands
``manage.py backup`` and ``manage.py restore`` are thin wrappers of the two services below).

The archive (tar with PAX headers, so Chinese file names survive; gzip)::

    data/0001-contenttypes.contenttype-001.jsonl   one JSON object per row, Django's serialized form;
    data/0002-auth.permission-001.jsonl           a big table is split into parts of about 8 MB
    ...
    media/<name in the storage>                   every file, byte for byte
    manifest.json                                 last: migration state per app, rows per model,
                                                  file count and size, SHA-256 of every member

Rows keep their primary keys, so every reference stays true: foreign keys, generic relations, ids in
audit data and in links already sent to guardians. The exceptions are content types and permissions,
which ``migrate`` creates from the code with ids that differ from one database to the next: those
rows, and the foreign keys to them, are written as natural keys and matched by natural key.

Both directions stream: a backup holds one part (8 MB) in memory, a restore one batch of rows, so a
school of 4,000 children is no harder than the demo. Children's data: the archive is created with
mode 0600 and appears under its name only once it is complete.
"""

import hashlib
import io
import json
import os
import platform
import re
import tarfile
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path, PurePosixPath

import django
from django.apps import apps as live_apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.python import Serializer as PythonSerializer
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.translation import gettext as _

FORMAT = "afterschool-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Log-in sessions are bearer tokens, and worthless on another machine: never archived, so a
# restore logs everybody out.
EXCLUDED = frozenset({"sessions.session"})
# Made by migrate from the code, with ids of their own in each database: matched by natural key.
NATURAL = ("contenttypes.contenttype", "auth.permission")
PART_BYTES = 8 * 1024 * 1024
BATCH_ROWS = 1000
READ_BYTES = 1024 * 1024
_DATA_MEMBER = re.compile(r"data/\d{4}-[a-z0-9_]+\.[a-z0-9_]+-\d{3,}\.jsonl")

Log = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore refused or failed. The message is translated and meant for the operator."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    manifest: dict


# -- backup ------------------------------------------------------------------------------------


def backup_create(
    *, output: Path, using: str = DEFAULT_DB_ALIAS, storage: Storage | None = None, now: datetime | None = None
) -> BackupResult:
    """Write the database and every file of ``storage`` into one new archive of mode 0600.

    ``output`` is the archive's path, or an existing folder to write ``afterschool-YYYYmmdd-HHMM.tar.gz``
    into. An existing archive is never overwritten; a failed backup leaves nothing behind.
    """
    storage = storage or default_storage
    now = now or timezone.now()
    path = _archive_path(Path(output), now)
    connection = connections[using]
    migrations = _migration_state(connection)
    try:
        fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as error:
        raise BackupError(
            _("Cannot write into the folder %(folder)s: %(error)s") % {"folder": path.parent, "error": error}
        ) from error
    try:
        os.fchmod(fd, 0o600)  # children's data: readable by the owner only, whatever the umask
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT, compresslevel=6) as tar:
                writer = _ArchiveWriter(tar, now)
                with _snapshot(connection):
                    rows = _write_rows(writer, connection)
                # Files after the rows, so every archived row finds its file (uploads get new names and
                # are never changed in place); a file uploaded meanwhile comes along without its row.
                files = _write_media(writer, storage)
                manifest = {
                    "format": FORMAT,
                    "version": FORMAT_VERSION,
                    "created_at": timezone.localtime(now).isoformat(),
                    "software": {"django": django.get_version(), "python": platform.python_version()},
                    "database": connection.vendor,
                    "migrations": migrations,
                    "rows": rows,
                    "excluded": sorted(EXCLUDED),
                    "files": files,
                    "members": writer.members,
                }
                text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
                writer.add(MANIFEST, io.BytesIO(text), len(text), record=False)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return BackupResult(path=path, size=path.stat().st_size, manifest=manifest)


def _archive_path(output: Path, now: datetime) -> Path:
    if output.is_dir():
        path = output / f"afterschool-{timezone.localtime(now):%Y%m%d-%H%M}.tar.gz"
    elif not output.parent.is_dir():
        raise BackupError(_("The output folder %(folder)s does not exist.") % {"folder": output.parent})
    else:
        path = output
    if path.exists():
        raise BackupError(_("%(path)s already exists; a backup never overwrites an archive.") % {"path": path})
    return path.absolute()


def _migration_state(connection) -> dict[str, list[str]]:
    """The applied migrations per app, refusing a database that is not exactly at this code's state:
    its rows could not be read with these models."""
    executor = MigrationExecutor(connection)
    loader = executor.loader
    missing = executor.migration_plan(loader.graph.leaf_nodes())
    if missing:
        raise BackupError(
            _("The database lacks migrations of this version (%(migrations)s); run manage.py migrate first.")
            % {"migrations": _names(migration.app_label + "." + migration.name for migration, _back in missing)}
        )
    replaced = {key for migration in loader.replacements.values() for key in migration.replaces}
    applied = [key for key in loader.applied_migrations if key[0] in loader.migrated_apps]
    unknown = [key for key in applied if key not in loader.graph.nodes and key not in replaced]
    if unknown:
        raise BackupError(
            _(
                "The database has migrations this version does not know (%(migrations)s); back it up with "
                "the version that migrated it."
            )
            % {"migrations": _names(".".join(key) for key in unknown)}
        )
    state: dict[str, list[str]] = {}
    for app, name in sorted(applied):
        state.setdefault(app, []).append(name)
    return state


@contextmanager
def _snapshot(connection) -> Iterator[None]:
    """Read every table as of one moment while the school goes on working."""
    if connection.in_atomic_block:
        # The caller's transaction (the tests) already sees one state.
        yield
    elif connection.vendor == "postgresql":
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    elif connection.vendor == "sqlite":
        # atomic() would BEGIN IMMEDIATE (settings: transaction_mode) and hold the write lock for the
        # whole backup; a deferred read transaction sees one snapshot and lets writers on (WAL).
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
    else:
        with transaction.atomic(using=connection.alias):
            yield


class _DumpEncoder(DjangoJSONEncoder):
    def default(self, o):
        # DjangoJSONEncoder cuts times to milliseconds; a restore must give back what was stored.
        if isinstance(o, datetime | time):
            return o.isoformat()
        return super().default(o)


class _RowSerializer(PythonSerializer):
    """Django's serialized form, handed on one row at a time (nothing is collected in memory).

    Foreign keys stay ids, except to content types and permissions (natural keys). Many-to-many
    links are left out of their rows: their tables are archived as rows of their own.
    """

    def __init__(self, emit: Callable[[dict], None]):
        super().__init__()
        self.emit = emit
        self.count = 0

    def end_object(self, obj):
        self.emit(self.get_dump_object(obj))
        self.count += 1
        self._current = None

    def handle_fk_field(self, obj, field):
        self.use_natural_foreign_keys = field.related_model._meta.label_lower in NATURAL
        super().handle_fk_field(obj, field)

    def handle_m2m_field(self, obj, field):
        pass


class _HashingReader:
    def __init__(self, fileobj):
        self.fileobj = fileobj
        self.sha256 = hashlib.sha256()

    def read(self, size=-1):
        data = self.fileobj.read(size)
        self.sha256.update(data)
        return data


class _ArchiveWriter:
    def __init__(self, tar: tarfile.TarFile, now: datetime):
        self.tar = tar
        self.mtime = now.timestamp()
        self.members: dict[str, dict] = {}

    def add(self, name: str, fileobj, size: int, mtime: float | None = None, record: bool = True) -> None:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = mtime or self.mtime
        info.mode = 0o600
        reader = _HashingReader(fileobj)
        self.tar.addfile(info, reader)
        if record:
            self.members[name] = {"bytes": size, "sha256": reader.sha256.hexdigest()}


class _PartWriter:
    """JSON lines into archive members of about PART_BYTES each."""

    def __init__(self, writer: _ArchiveWriter, prefix: str):
        self.writer = writer
        self.prefix = prefix
        self.parts = 0
        self.buffer = io.BytesIO()

    def write(self, row: dict) -> None:
        line = json.dumps(row, cls=_DumpEncoder, ensure_ascii=False, separators=(",", ":"))
        self.buffer.write(line.encode() + b"\n")
        if self.buffer.tell() >= PART_BYTES:
            self.flush()

    def flush(self) -> None:
        size = self.buffer.tell()
        if size:
            self.parts += 1
            self.buffer.seek(0)
            self.writer.add(f"{self.prefix}-{self.parts:03d}.jsonl", self.buffer, size)
            self.buffer = io.BytesIO()


def _archived_models(registry) -> list:
    models = [
        model
        for model in registry.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and model._meta.label_lower not in EXCLUDED
    ]
    # Content types and permissions first: a restore looks the others' natural keys up in them.
    return sorted(
        models, key=lambda model: NATURAL.index(label) if (label := model._meta.label_lower) in NATURAL else 2
    )


def _write_rows(writer: _ArchiveWriter, connection) -> dict[str, int]:
    rows = {}
    for index, model in enumerate(_archived_models(live_apps), start=1):
        label = model._meta.label_lower
        part = _PartWriter(writer, f"data/{index:04d}-{label}")
        serializer = _RowSerializer(part.write)
        serializer.serialize(_rows_of(model, connection.alias), use_natural_primary_keys=label in NATURAL)
        part.flush()
        rows[label] = serializer.count
    return rows


def _rows_of(model, using: str) -> Iterator:
    # Natural keys are read through joins, not with a query per row.
    related = ["content_type"] if model._meta.label_lower == "auth.permission" else []
    for field in model._meta.concrete_fields:
        target = field.related_model._meta.label_lower if field.remote_field else None
        if target == "contenttypes.contenttype":
            related.append(field.name)
        elif target == "auth.permission":
            related.append(f"{field.name}__content_type")
    queryset = model._base_manager.using(using).order_by("pk")
    if related:  # (with no arguments, select_related would follow every foreign key)
        queryset = queryset.select_related(*related)
    return queryset.iterator(chunk_size=2000)


def _storage_files(storage: Storage, folder: str = "") -> Iterator[str]:
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:  # no MEDIA_ROOT yet: nothing was ever uploaded
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for sub in sorted(folders):
        yield from _storage_files(storage, f"{folder}/{sub}" if folder else sub)


def _write_media(writer: _ArchiveWriter, storage: Storage) -> dict[str, int]:
    count = total = 0
    for name in _storage_files(storage):
        try:
            size = storage.size(name)
            fileobj = storage.open(name, "rb")
        except FileNotFoundError:  # removed since it was listed (an abandoned roster import)
            continue
        try:
            mtime = storage.get_modified_time(name).timestamp()
        except (NotImplementedError, OSError):
            mtime = None
        with fileobj:
            writer.add(f"media/{name}", fileobj, size, mtime)
        count += 1
        total += size
    return {"count": count, "bytes": total}


# -- restore -----------------------------------------------------------------------------------


def backup_restore(
    *,
    archive: Path,
    force: bool = False,
    using: str = DEFAULT_DB_ALIAS,
    storage: Storage | None = None,
    log: Log | None = None,
) -> dict:
    """Restore an archive of ``backup_create`` into an empty database and ``storage``; return its manifest.

    Every member is checked against the manifest's checksums before the database is touched. The
    database is migrated to the archive's state, the rows are loaded in one transaction and counted
    against the manifest (any difference undoes the load), the files are put back, and migrations
    newer than the archive run last. ``force`` replaces whatever the database and the storage hold.
    """
    storage = storage or default_storage
    log = log or (lambda message: None)
    archive = Path(archive)
    connection = connections[using]
    manifest = _verified_manifest(archive)
    media = [name.removeprefix("media/") for name in manifest["members"] if name.startswith("media/")]
    log(
        _("Checked %(archive)s (made %(created)s): %(rows)s rows, %(files)s files.")
        % {
            "archive": archive,
            "created": manifest["created_at"],
            "rows": sum(manifest["rows"].values()),
            "files": len(media),
        }
    )
    executor = MigrationExecutor(connection)
    targets = _migration_targets(executor.loader, manifest["migrations"])
    if not force:
        _refuse_unless_empty(connection)
        present = [name for name in media if storage.exists(name)]
        if present:
            raise BackupError(
                _(
                    "The media folder already holds files of the archive (%(files)s). Restore into an empty "
                    "media folder, or pass --force to replace them."
                )
                % {"files": _names(present)}
            )
    log(_("Migrating the database to the archive's state…"))
    executor.migrate(targets)
    state_apps = executor.loader.project_state(targets).apps
    with transaction.atomic(using=using):
        rows = _load(connection, state_apps, archive, manifest, storage)
    log(
        _("Loaded %(rows)s rows and %(files)s files; every count matches the archive.")
        % {"rows": rows, "files": len(media)}
    )
    remaining = MigrationExecutor(connection)
    if remaining.migration_plan(remaining.loader.graph.leaf_nodes()):
        # An archive of an older version: its rows went into its own schema; now bring them up to date.
        call_command("migrate", database=using, interactive=False, verbosity=0)
        log(_("Applied the migrations that are newer than the archive."))
    return manifest


def _names(names: Iterable[str], limit: int = 5) -> str:
    names = list(names)
    return ", ".join(names[:limit]) + (" …" if len(names) > limit else "")


def _member_name_ok(name: str) -> bool:
    if _DATA_MEMBER.fullmatch(name):
        return True
    path = PurePosixPath(name)
    return (
        name.startswith("media/")
        and not path.is_absolute()
        and len(path.parts) > 1
        and not {"..", "."} & set(path.parts)
        and "\\" not in name
    )


def _verified_manifest(archive: Path) -> dict:
    """Read the whole archive once: every member must be known and match the manifest's checksum."""
    if not archive.is_file():
        raise BackupError(_("The archive %(path)s does not exist.") % {"path": archive})
    digests, manifest_bytes = {}, None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name == MANIFEST and member.isfile():
                    manifest_bytes = tar.extractfile(member).read()
                elif member.isfile() and _member_name_ok(member.name):
                    sha256 = hashlib.sha256()
                    with tar.extractfile(member) as fileobj:
                        while chunk := fileobj.read(READ_BYTES):
                            sha256.update(chunk)
                    digests[member.name] = sha256.hexdigest()
                else:
                    raise BackupError(
                        _("%(path)s is not a backup of this application: it holds %(name)s.")
                        % {"path": archive, "name": member.name}
                    )
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise BackupError(
            _("Cannot read the archive %(path)s; it is damaged or not a backup archive (%(error)s).")
            % {"path": archive, "error": error}
        ) from error
    try:
        manifest = json.loads(manifest_bytes or b"")
        members = {name: entry["sha256"] for name, entry in manifest["members"].items()}
        readable = manifest["format"] == FORMAT and {"rows", "migrations", "created_at"} <= manifest.keys()
    except (ValueError, KeyError, TypeError, AttributeError):
        readable = False
    if not readable:
        raise BackupError(
            _("%(path)s is not a backup of this application: its manifest is missing or unreadable.")
            % {"path": archive}
        )
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(
            _("%(path)s has archive format %(version)s, which this version cannot read.")
            % {"path": archive, "version": manifest.get("version")}
        )
    damaged = sorted(name for name in members.keys() | digests.keys() if members.get(name) != digests.get(name))
    if damaged:
        raise BackupError(
            _("The archive %(path)s is damaged: %(members)s do not match the manifest.")
            % {"path": archive, "members": _names(damaged)}
        )
    return manifest


def _migration_targets(loader: MigrationLoader, archived: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The migrations to bring the database to the archive's state (its rows fit that schema only)."""
    graph = loader.graph
    nodes = {(app, name) for app, names in archived.items() for name in names}
    replaced = {key for migration in loader.replacements.values() for key in migration.replaces}
    unknown = sorted(key for key in nodes if key not in graph.nodes and key not in replaced)
    if unknown:
        raise BackupError(
            _(
                "The archive was made by a newer version of the application: this version lacks the "
                "migrations %(migrations)s. Install the newer version first, then restore."
            )
            % {"migrations": _names(".".join(key) for key in unknown)}
        )
    for key, migration in loader.replacements.items():  # squashed since the backup
        if key in graph.nodes and set(migration.replaces) <= nodes:
            nodes.add(key)
    nodes &= set(graph.nodes)
    ahead = sorted(key for key in loader.applied_migrations if key in graph.nodes and key not in nodes)
    if ahead:
        raise BackupError(
            _(
                "The database already has migrations the archive lacks (%(migrations)s). Restore into a new, "
                "empty database."
            )
            % {"migrations": _names(".".join(key) for key in ahead)}
        )
    return sorted(key for key in nodes if not any(child.key in nodes for child in graph.node_map[key].children))


def _refuse_unless_empty(connection) -> None:
    """Refuse a database with rows of its own; what migrate creates from the code does not count."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    made_by_migrate = {"django_migrations"} | {
        model._meta.db_table for model in (ContentType, Permission, Group, Group.permissions.through)
    }
    filled = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table not in made_by_migrate:
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
                if cursor.fetchone():
                    filled.append(table)
    if filled:
        raise BackupError(
            _(
                "The database is not empty: %(tables)s have rows. Restore into a new, empty database, or pass "
                "--force to replace everything in it."
            )
            % {"tables": _names(filled)}
        )


def _load(connection, state_apps, archive: Path, manifest: dict, storage: Storage) -> int:
    """Empty the tables, load the rows, check them and put the files back; inside one transaction."""
    models = [
        model
        for model in state_apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]
    existing = set(connection.introspection.table_names())
    tables = [
        model._meta.db_table
        for model in models
        if model._meta.label_lower not in NATURAL and model._meta.db_table in existing
    ]
    if connection.vendor == "postgresql":
        # TRUNCATE refuses a table with foreign-key checks still pending in this transaction (rows a
        # caller wrote before, as the tests do): run those checks now.
        connection.check_constraints()
    # What migrate made (the role groups and their permissions) or, with --force, everything: the
    # archive's rows replace it.
    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables))
    loader = _RowLoader(connection, state_apps)
    checked = False
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name.startswith("data/"):
                with tar.extractfile(member) as fileobj:
                    loader.load(io.TextIOWrapper(fileobj, encoding="utf-8"))
                continue
            if not checked:
                loader.check(models, manifest)
                checked = True
            if member.name.startswith("media/"):
                name = member.name.removeprefix("media/")
                if storage.exists(name):  # only with --force
                    storage.delete(name)
                try:
                    with tar.extractfile(member) as fileobj:
                        content = File(fileobj, name=PurePosixPath(name).name)
                        content.size = member.size
                        saved = storage.save(name, content)
                except OSError as error:
                    raise BackupError(
                        _("Cannot write %(name)s into the media folder (%(error)s); the database restore was undone.")
                        % {"name": name, "error": error}
                    ) from error
                if saved != name:
                    raise BackupError(
                        _("The storage saved %(name)s under another name (%(saved)s); the database restore was undone.")
                        % {"name": name, "saved": saved}
                    )
    return sum(loader.loaded.values())


class _RowLoader:
    """Rows of the archive into the tables of the archive's migration state, in batches.

    The models come from the migration state, not from the code, so an archive of an older version
    loads into the schema it was made with. Rows are inserted raw: no save(), no signals, and
    auto_now fields keep their archived values.
    """

    def __init__(self, connection, state_apps):
        self.connection = connection
        self.using = connection.alias
        self.apps = state_apps
        content_type = state_apps.get_model("contenttypes", "ContentType")
        permission = state_apps.get_model("auth", "Permission")
        self.ids = {
            "contenttypes.contenttype": {
                (app, model): pk
                for pk, app, model in content_type.objects.using(self.using).values_list("pk", "app_label", "model")
            },
            "auth.permission": {
                (codename, app, model): pk
                for pk, codename, app, model in permission.objects.using(self.using).values_list(
                    "pk", "codename", "content_type__app_label", "content_type__model"
                )
            },
        }
        self.loaded: Counter[str] = Counter()

    def load(self, lines: Iterable[str]) -> None:
        model, batch = None, []
        for line in lines:
            row = json.loads(line)
            if model is None or row["model"] != model._meta.label_lower:
                self._insert(model, batch)
                model, batch = self._model(row["model"]), []
            if row["model"] in NATURAL:
                self._match_natural(model, row)
            else:
                batch.append(self._instance(model, row))
                if len(batch) >= BATCH_ROWS:
                    self._insert(model, batch)
                    batch = []
        self._insert(model, batch)

    def _model(self, label: str):
        try:
            return self.apps.get_model(label)
        except LookupError as error:
            raise BackupError(
                _("The archive has rows of %(model)s, which its migration state does not know.") % {"model": label}
            ) from error

    def _natural_id(self, label: str, key) -> int:
        try:
            return self.ids[label][tuple(key)]
        except KeyError:
            raise BackupError(
                _("The archive refers to %(model)s %(key)s, which it does not contain.") % {"model": label, "key": key}
            ) from None

    def _match_natural(self, model, row: dict) -> None:
        fields = row["fields"]
        manager = model._base_manager.using(self.using)
        if row["model"] == "contenttypes.contenttype":
            key = (fields["app_label"], fields["model"])
            if key not in self.ids[row["model"]]:  # a model since removed from the code
                self.ids[row["model"]][key] = manager.create(app_label=key[0], model=key[1]).pk
        else:
            key = (fields["codename"], *fields["content_type"])
            if key not in self.ids[row["model"]]:  # a custom permission
                self.ids[row["model"]][key] = manager.create(
                    name=fields["name"],
                    codename=fields["codename"],
                    content_type_id=self._natural_id("contenttypes.contenttype", fields["content_type"]),
                ).pk
        self.loaded[row["model"]] += 1

    def _instance(self, model, row: dict):
        meta = model._meta
        try:
            values = {meta.pk.attname: meta.pk.to_python(row["pk"])}
            for name, value in row["fields"].items():
                field = meta.get_field(name)
                if field.remote_field is None:
                    values[field.attname] = field.to_python(value)
                elif isinstance(value, list):
                    values[field.attname] = self._natural_id(field.related_model._meta.label_lower, value)
                else:
                    values[field.attname] = None if value is None else field.target_field.to_python(value)
        except (FieldDoesNotExist, ValidationError, KeyError) as error:
            raise BackupError(
                _("A row of %(model)s in the archive does not fit its migration state: %(error)s")
                % {"model": meta.label_lower, "error": error}
            ) from error
        return model(**values)

    def _insert(self, model, batch: list) -> None:
        if not batch:
            return
        fields = model._meta.local_concrete_fields
        size = max(1, min(BATCH_ROWS, self.connection.ops.bulk_batch_size(fields, batch)))
        for start in range(0, len(batch), size):
            model._base_manager._insert(batch[start : start + size], fields=fields, using=self.using, raw=True)
        self.loaded[model._meta.label_lower] += len(batch)

    def check(self, models: list, manifest: dict) -> None:
        """Reset the id sequences, then compare every table with the manifest and check every
        foreign key; a difference raises, and the transaction undoes the load."""
        loaded = [model for model in models if model._meta.label_lower in self.loaded]
        with self.connection.cursor() as cursor:
            for sql in self.connection.ops.sequence_reset_sql(no_style(), loaded):
                cursor.execute(sql)
        expected = dict(manifest["rows"])
        differ = []
        for model in models:
            label = model._meta.label_lower
            want = expected.pop(label, 0)
            have = model._base_manager.using(self.using).count()
            # Content types and permissions of models newer than the archive are not a difference.
            if have != want and not (label in NATURAL and have >= want == self.loaded[label]):
                differ.append(f"{label} {want} → {have}")
        differ += [f"{label} {want} → –" for label, want in expected.items() if want]
        if differ:
            raise BackupError(
                _("The restored rows differ from the archive's manifest (%(tables)s); nothing was restored.")
                % {"tables": _names(differ)}
            )
        try:
            self.connection.check_constraints()
        except IntegrityError as error:
            raise BackupError(
                _("The archive's rows break the database's constraints (%(error)s); nothing was restored.")
                % {"error": error}
            ) from error
