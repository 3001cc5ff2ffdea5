from datetime import date
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin

from afterschool.admin_scoping import SchoolOwned, SchoolScoped, school_terms
from afterschool.export_formats import SafeCSV, SafeExportFormats, SafeXLSX
from afterschool.fields import BIGINT_MAX
from enrollment.admin import queue_documents
from enrollment.models import Document, School, Student
from enrollment.permissions import staff_school_id
from scheduling.calendar import HolidayCalendar, UnknownHolidayYear

from . import services, subsidy
from .models import (
    BillingRun,
    ChargeLine,
    DutyShift,
    FeeStandard,
    LedgerEntry,
    Payment,
    PerformanceEvent,
    Refund,
    SubsidyRates,
    Waiver,
)
from .resources import (
    ChargeLineResource,
    LedgerResource,
    PaymentResource,
    RefundResource,
    SubsidyPayrollResource,
    WaiverResource,
)
from .services import billing_run
from .statement_import import read_statement


def xlsx_response(filename, headers, rows):
    """A one-sheet workbook; Decimal cells stay numbers, text is defused against formulas."""
    import tablib

    data = tablib.Dataset(headers=[str(h) for h in headers])
    for row in rows:
        data.append(row)
    response = HttpResponse(
        SafeXLSX().export_data(data), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename={filename}"
    return response


@admin.register(FeeStandard)
class FeeStandardAdmin(SchoolScoped, admin.ModelAdmin):
    list_display = ("term", "item", "mode", "amount", "approval")
    list_filter = ("term", "mode")
    list_select_related = ("term",)


@admin.register(Waiver)
class WaiverAdmin(SchoolScoped, SafeExportFormats, ExportMixin, admin.ModelAdmin):
    resource_classes = [WaiverResource]
    list_display = ("student", "term", "category", "status", "percent", "effective_from", "meeting_date", "approver")
    list_filter = ("term", "status", "category")
    list_select_related = ("student", "term")
    search_fields = ("student__name", "student__student_no")
    autocomplete_fields = ("student",)

    def save_model(self, request, obj, form, change):
        if obj.status != Waiver.Status.REQUESTED:
            obj.decided_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ChargeLine)
class ChargeLineAdmin(SchoolScoped, SafeExportFormats, ExportMixin, admin.ModelAdmin):
    resource_classes = [ChargeLineResource]
    list_display = (
        "month",
        "student",
        "standard",
        "kind",
        "participation_days",
        "workdays",
        "periods",
        "settled",
        "waiver_percent",
        "waived",
        "amount",
    )
    list_filter = ("term", "month", "kind", "settled")
    list_select_related = ("student", "standard__term")
    search_fields = ("student__name", "student__student_no")

    change_list_template = "admin/billing/chargeline/change_list.html"

    def has_add_permission(self, request):
        return False  # lines come from the billing run

    def get_urls(self):
        return [
            path(
                "by-class/<int:term_id>/", self.admin_site.admin_view(self.by_class_view), name="billing_fees_by_class"
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        terms = school_terms(request).order_by("-start")[:3]
        return super().changelist_view(request, {**(extra_context or {}), "terms": terms})

    def by_class_view(self, request, term_id):
        """Fees by grade, class and month (xlsx): one query, sums of the stored lines."""
        from django.db.models import Count, Sum

        if not self.has_view_permission(request):
            raise PermissionDenied
        term = get_object_or_404(school_terms(request), pk=term_id)
        totals = (
            ChargeLine.objects.filter(term=term)
            .values("student__homeroom__grade__number", "student__homeroom__number", "month")
            .annotate(children=Count("student", distinct=True), amount=Sum("amount"))
            .order_by("student__homeroom__grade__number", "student__homeroom__number", "month")
        )
        headers = [_("grade"), _("class number"), _("month"), _("students"), _("amount")]
        rows = [
            [t["student__homeroom__grade__number"], t["student__homeroom__number"], t["month"].strftime("%Y-%m"),
             t["children"], services.to_fen(t["amount"])]
            for t in totals
        ]  # fmt: skip
        return xlsx_response(f"fees-by-class-{term.pk}.xlsx", headers, rows)

    def has_change_permission(self, request, obj=None):
        return False  # never overwritten: a correction is an adjustment line

    def has_delete_permission(self, request, obj=None):
        return False


class BillingRunForm(forms.ModelForm):
    """The month is checked before anything is run: inside the term, with its holidays known."""

    class Meta:
        model = BillingRun
        fields = ("term", "month")

    def clean(self):
        import calendar

        data = super().clean()
        term, month = data.get("term"), data.get("month")
        if term and month:
            first = month.replace(day=1)
            last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
            if last < term.start or first > term.end:
                raise ValidationError(_("%(month)s is outside %(term)s.") % {"month": f"{first:%Y-%m}", "term": term})
            try:
                HolidayCalendar().workdays(first, last)
            except UnknownHolidayYear as exc:
                raise ValidationError(exc.message) from None
        return data


@admin.register(BillingRun)
class BillingRunAdmin(SchoolScoped, admin.ModelAdmin):
    form = BillingRunForm
    list_display = ("term", "month", "at", "started_by", "charges", "adjustments")
    list_filter = ("term",)
    list_select_related = ("term", "started_by")
    fields = ("term", "month")
    actions = ["run_again"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Adding a run runs it (the month is any day in the month to charge)."""

        try:
            run = billing_run(term=obj.term, year=obj.month.year, month=obj.month.month, started_by=request.user)
        except UnknownHolidayYear as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        obj.pk, obj.at, obj._state.adding = run.pk, run.at, False
        self.message_user(
            request,
            _("%(charges)s new charges, %(adjustments)s adjustments.")
            % {"charges": run.charges, "adjustments": run.adjustments},
        )

    @admin.action(description=_("Run the selected months again"), permissions=["add"])
    def run_again(self, request, queryset):

        for run in queryset.select_related("term").order_by("month", "at"):
            try:
                again = billing_run(term=run.term, year=run.month.year, month=run.month.month, started_by=request.user)
            except UnknownHolidayYear as exc:
                self.message_user(request, exc.message, messages.ERROR)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(month)s: %(charges)s new charges, %(adjustments)s adjustments.")
                    % {"month": f"{run.month:%Y-%m}", "charges": again.charges, "adjustments": again.adjustments},
                )


class PostedAdmin(admin.ModelAdmin):
    """Payments and refunds are posted once and never edited or deleted (a mistake is corrected by
    a refund or a further payment, each with its own receipt number)."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(SchoolScoped, SafeExportFormats, ExportMixin, PostedAdmin):
    resource_classes = [PaymentResource]
    list_display = ("receipt_no", "student", "term", "amount", "method", "paid_at", "received_by")
    list_filter = ("term", "method")
    list_select_related = ("student", "term", "received_by")
    search_fields = ("receipt_no", "student__name", "student__student_no", "reference")
    autocomplete_fields = ("student",)
    fields = ("term", "student", "amount", "method", "reference")
    change_list_template = "admin/billing/payment/change_list.html"

    def save_model(self, request, obj, form, change):
        payment = services.payment_post(
            term=obj.term, student=obj.student, amount=obj.amount, method=obj.method, received_by=request.user,
            reference=obj.reference,
        )  # fmt: skip
        obj.pk, obj.receipt_no, obj.paid_at, obj._state.adding = payment.pk, payment.receipt_no, payment.paid_at, False

    def get_urls(self):
        return [
            path("arrears/<int:term_id>/", self.admin_site.admin_view(self.arrears_view), name="billing_arrears"),
            path(
                "settlement/<int:term_id>/", self.admin_site.admin_view(self.settlement_view), name="billing_settlement"
            ),
            path(
                "statement/<int:term_id>/",
                self.admin_site.admin_view(self.statement_import_view),
                name="billing_statement_import",
            ),
            *super().get_urls(),
        ]

    def statement_import_view(self, request, term_id):
        """Import a bank statement: preview every row, post only when all rows are good."""
        import secrets

        from django.core import signing
        from django.core.files.base import ContentFile
        from django.core.files.storage import storages

        if not self.has_add_permission(request):
            raise PermissionDenied
        term = get_object_or_404(school_terms(request), pk=term_id)
        rows, problem, token = [], "", ""
        # The previewed file waits in the app's storage (removed after a day if never confirmed);
        # the confirmation carries only its signed name.
        storage = storages["import_export"] if "import_export" in storages.backends else storages["default"]
        if request.method == "POST" and request.POST.get("token"):
            try:
                stored, name = signing.loads(request.POST["token"], salt="statement", max_age=3600)
            except signing.BadSignature:
                raise PermissionDenied from None
            if not storage.exists(stored):
                self.message_user(request, _("This preview was already used: upload the file again."), messages.ERROR)
                return redirect("admin:billing_statement_import", term.pk)
            with storage.open(stored, "rb") as handle:
                rows, problem = read_statement(data=handle.read(), file_name=name, term=term)
            if not problem and rows and not any(r.error for r in rows):
                try:
                    with transaction.atomic():
                        for row in rows:
                            services.payment_post(
                                term=term, student=row.student, amount=row.amount, method=Payment.Method.TRANSFER,
                                received_by=request.user, reference=row.reference,
                            )  # fmt: skip
                except ValidationError as exc:
                    problem = " ".join(exc.messages)
                else:
                    storage.delete(stored)
                    self.message_user(request, _("%(count)s transfers posted.") % {"count": len(rows)})
                    return redirect("admin:billing_payment_changelist")
        elif request.method == "POST" and request.FILES.get("statement"):
            upload = request.FILES["statement"]
            if upload.size > settings.UPLOAD_MAX_BYTES:
                problem = _("The file is too large.")
            else:
                data = upload.read()
                rows, problem = read_statement(data=data, file_name=upload.name, term=term)
                if rows and not problem and not any(r.error for r in rows):  # kept only when it can be posted
                    stored = storage.save(f"django-import-export/statement-{secrets.token_hex(12)}", ContentFile(data))
                    token = signing.dumps((stored, upload.name), salt="statement")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a bank statement, %(term)s") % {"term": term},
            "rows": rows,
            "problem": problem,
            "ready": bool(rows) and not problem and not any(r.error for r in rows),
            "token": token,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/statement_import.html", context)

    def settlement_view(self, request, term_id):
        """结余退还: who is owed a refund (withdrawals, half months, waivers) and how much."""
        return self._balances_page(request, term_id, services.settlement_list, _("Refunds due, %(term)s"), True)

    def arrears_view(self, request, term_id):
        return self._balances_page(request, term_id, services.arrears, _("Arrears, %(term)s"), False)

    def _balances_page(self, request, term_id, rows_for, title, settlement):
        if not self.has_view_permission(request):
            raise PermissionDenied
        term = get_object_or_404(school_terms(request), pk=term_id)
        if request.method == "POST" and settlement:
            return self._refund_balance(request, term)
        rows = rows_for(term=term)
        if request.GET.get("format") == "xlsx":
            headers = [_("student number"), _("name"), _("homeroom class"), _("charged"), _("paid"), _("refunded")]
            headers.append(_("to refund") if settlement else _("owed"))
            table = [[s.student_no, s.name, str(s.homeroom), c, p, r, d] for s, c, p, r, d in rows]
            return xlsx_response(f"{'refunds-due' if settlement else 'arrears'}-{term.pk}.xlsx", headers, table)
        context = {
            **self.admin_site.each_context(request),
            "title": title % {"term": term},
            "rows": rows,
            "total": sum((row[4] for row in rows), Decimal("0.00")),
            "opts": self.model._meta,
            "settlement": settlement,
            "can_refund": settlement and request.user.has_perm("billing.add_refund"),
        }
        return TemplateResponse(request, "admin/billing/arrears.html", context)

    def _refund_balance(self, request, term):
        """结余退还: pay a child's balance back, the amount read afresh at the moment of posting."""
        if not request.user.has_perm("billing.add_refund"):
            raise PermissionDenied

        posted = request.POST.get("student", "")
        student_id = int(posted) if posted.isdigit() and int(posted) <= BIGINT_MAX else 0
        student = Student.objects.filter(pk=student_id, school_id=term.school_id).first()
        try:
            if student is None:
                raise ValidationError(_("Nothing is due to this child any more."))
            refund = services.settlement_refund(term=term, student=student, refunded_by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Refunded %(amount)s yuan to %(child)s, receipt %(receipt)s.")
                % {"amount": refund.amount, "child": student.name, "receipt": refund.receipt_no},
            )
        return redirect(request.path)

    def changelist_view(self, request, extra_context=None):
        terms = school_terms(request).order_by("-start")[:3]
        return super().changelist_view(request, {**(extra_context or {}), "terms": terms})


@admin.register(Refund)
class RefundAdmin(SchoolScoped, SafeExportFormats, ExportMixin, PostedAdmin):
    resource_classes = [RefundResource]
    list_display = ("receipt_no", "student", "term", "amount", "reason", "refunded_at", "refunded_by")
    list_filter = ("term",)
    list_select_related = ("student", "term", "refunded_by")
    search_fields = ("receipt_no", "student__name")
    autocomplete_fields = ("student",)
    fields = ("term", "student", "amount", "reason")

    def save_model(self, request, obj, form, change):
        refund = services.refund_post(
            term=obj.term, student=obj.student, amount=obj.amount, reason=obj.reason, refunded_by=request.user
        )
        obj.pk, obj.receipt_no, obj.refunded_at, obj._state.adding = (
            refund.pk,
            refund.receipt_no,
            refund.refunded_at,
            False,
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(SchoolScoped, SafeExportFormats, ExportMixin, PostedAdmin):
    school_path = "school_id"
    resource_classes = [LedgerResource]
    list_display = ("date", "voucher_no", "kind", "category", "amount", "description")
    list_filter = ("kind", "category", "school")
    date_hierarchy = "date"
    search_fields = ("voucher_no", "description")
    fields = ("school", "date", "kind", "category", "amount", "voucher_no", "description")

    change_list_template = "admin/billing/ledgerentry/change_list.html"

    def save_model(self, request, obj, form, change):
        obj.recorded_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [
            path("month/", self.admin_site.admin_view(self.month_view), name="billing_ledger_month"),
            *super().get_urls(),
        ]

    def month_view(self, request):
        """每月收支: a month's income and expenses of the special account, for the disclosure."""
        import calendar

        if not self.has_view_permission(request):
            raise PermissionDenied
        year, month = month_param(request)
        school_id = staff_school_id(request)
        school = School.objects.filter(pk=school_id).first() if school_id else School.objects.first()
        if request.method == "POST" and school is not None:
            return _queue_month_document(request, Document.Kind.DISCLOSURE, school, year, month)
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
        totals = services.ledger_totals(school=school, first=first, last=last) if school else None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Income and expenses, %(month)s") % {"month": f"{year}-{month:02d}"},
            "totals": totals,
            "month": f"{year}-{month:02d}",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/ledger_month.html", context)


def _queue_month_document(request, kind, school, year, month):
    """The disclosure and the subsidy publication describe a finished month, and are made once."""
    import calendar

    if date(year, month, calendar.monthrange(year, month)[1]) >= timezone.localdate():
        messages.error(request, _("%(month)s is not over yet.") % {"month": f"{year}-{month:02d}"})
        return redirect(f"{request.path}?month={year}-{month:02d}")
    if kind == Document.Kind.DISCLOSURE:
        document = services.disclosure_publish(school=school, year=year, month=month, requested_by=request.user)
        messages.success(request, _("“%(title)s” is being made; it appears below when done.") % {"title": document})
        return redirect("admin:enrollment_document_changelist")
    title = f"{Document.Kind(kind).label} {year}-{month:02d}"
    return queue_documents(
        request, kind=kind, school=school, items=[(school, title, {"month": f"{year}-{month:02d}"})], label=title
    )


# -- teacher subsidy ----------------------------------------------------------------------------


def month_param(request):
    """The ``month`` query parameter as (year, month), this month when missing or malformed."""
    import re

    today = timezone.localdate()
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", request.GET.get("month", ""))
    if match and 2000 <= int(match.group(1)) <= 2100 and 1 <= int(match.group(2)) <= 12:
        return int(match.group(1)), int(match.group(2))
    return today.year, today.month


@admin.register(SubsidyRates)
class SubsidyRatesAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("school", "period_rate", "break_rate", "admin_share", "admin_period_rate")


@admin.register(DutyShift)
class DutyShiftAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("date", "teacher", "kind", "breaks", "note")
    list_filter = ("kind", "date")
    list_select_related = ("teacher",)
    search_fields = ("teacher__first_name", "teacher__last_name", "teacher__username")
    date_hierarchy = "date"
    change_list_template = "admin/billing/subsidy_links.html"

    def get_urls(self):
        return [
            path("payroll/", self.admin_site.admin_view(self.payroll_view), name="billing_subsidy_payroll"),
            *super().get_urls(),
        ]

    def payroll_view(self, request):
        """课后服务补助发放表: the month's subsidy per teacher, its download, and its booking."""

        if not self.has_view_permission(request):
            raise PermissionDenied
        year, month = month_param(request)
        school_id = staff_school_id(request)
        school = School.objects.filter(pk=school_id).first() if school_id else School.objects.first()
        if school is None:
            raise PermissionDenied
        if request.method == "POST" and "pdf" in request.POST:
            return _queue_month_document(request, Document.Kind.SUBSIDY, school, year, month)
        payroll = subsidy.subsidy_payroll(school=school, year=year, month=month)
        if request.method == "POST":
            if not request.user.has_perm("billing.add_ledgerentry"):
                raise PermissionDenied
            try:
                entry = subsidy.payroll_record(payroll=payroll, recorded_by=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(
                    request,
                    _("Booked %(amount)s yuan as voucher %(voucher)s.")
                    % {"amount": entry.amount, "voucher": entry.voucher_no},
                )
            return redirect(f"{request.path}?month={year}-{month:02d}")
        fmt = {"xlsx": SafeXLSX, "csv": SafeCSV}.get(request.GET.get("format"))
        if fmt is not None:
            dataset = SubsidyPayrollResource().export(payroll.rows)
            response = HttpResponse(fmt().export_data(dataset), content_type=fmt().get_content_type())
            response["Content-Disposition"] = f"attachment; filename=subsidy-{year}-{month:02d}.{fmt().get_extension()}"
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("After-school subsidy, %(month)s") % {"month": f"{year}-{month:02d}"},
            "payroll": payroll,
            "month": f"{year}-{month:02d}",
            "booked": LedgerEntry.objects.filter(school=school, voucher_no=payroll.voucher_no).first(),
            "can_book": request.user.has_perm("billing.add_ledgerentry"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/subsidy_payroll.html", context)


@admin.register(PerformanceEvent)
class PerformanceEventAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("date", "teacher", "kind", "percent", "description", "recorded_by")
    list_filter = ("kind", "date")
    list_select_related = ("teacher", "recorded_by")
    search_fields = ("teacher__first_name", "teacher__last_name", "description")
    exclude = ("recorded_by",)
    change_list_template = "admin/billing/subsidy_links.html"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
