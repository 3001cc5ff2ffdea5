import re

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from billing.services import billing_run
from enrollment.models import Term
from scheduling.calendar import UnknownHolidayYear


class Command(BaseCommand):
    help = "Charge a term's placed children for one month (idempotent; corrections become adjustment lines)."

    def add_arguments(self, parser):
        parser.add_argument("--term", required=True, help="the term's id or exact name")
        parser.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-10")

    def handle(self, *args, term, month, **options):
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", month)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise CommandError(f"--month must look like 2026-10, not {month!r}")
        found = Term.objects.filter(pk=int(term)) if term.isdigit() else Term.objects.filter(name=term)
        found = found.first()
        if found is None:
            raise CommandError(f"No term {term!r}.")
        try:
            run = billing_run(term=found, year=int(match.group(1)), month=int(match.group(2)))
        except UnknownHolidayYear as exc:
            raise CommandError(exc.message) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{found} {month}: {run.charges} new charges, {run.adjustments} adjustments.")
