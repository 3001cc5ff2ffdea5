"""Finance exports (xlsx and csv) with django-import-export. Money cells stay numbers in xlsx."""

from django.utils.translation import gettext_lazy as _
from import_export import resources, widgets
from import_export.fields import Field

from .models import ChargeLine, LedgerEntry, Payment, Refund, Waiver

MONEY = widgets.DecimalWidget(coerce_to_string=False)


def _money(attribute, label):
    return Field(attribute=attribute, column_name=label, widget=MONEY)


class _Export(resources.ModelResource):
    """Export-only resources: columns are declared, labels translated, rows read in one go."""

    def iter_queryset(self, queryset):
        return queryset


class ChargeLineResource(_Export):
    month = Field(attribute="month", column_name=_("month"), widget=widgets.DateWidget("%Y-%m"))
    grade = Field(attribute="student__homeroom__grade", column_name=_("grade"))
    homeroom = Field(attribute="student__homeroom__number", column_name=_("class number"))
    student_no = Field(attribute="student__student_no", column_name=_("student number"))
    name = Field(attribute="student__name", column_name=_("name"))
    item = Field(attribute="standard__get_item_display", column_name=_("service item"))
    kind = Field(attribute="get_kind_display", column_name=_("kind"))
    workdays = Field(attribute="workdays", column_name=_("statutory working days"))
    days = Field(attribute="participation_days", column_name=_("participation days"))
    periods = Field(attribute="periods", column_name=_("periods a day"))
    settled = Field(column_name=_("settled by participation"))
    fee = _money("fee", _("fee"))
    waiver = _money("waiver_percent", _("waived percent"))
    waived = _money("waived", _("waived amount"))
    amount = _money("amount", _("amount"))

    class Meta:
        model = ChargeLine
        fields = (
            "month",
            "grade",
            "homeroom",
            "student_no",
            "name",
            "item",
            "kind",
            "workdays",
            "days",
            "periods",
            "settled",
            "fee",
            "waiver",
            "waived",
            "amount",
        )

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("student__homeroom__grade", "standard").order_by("month", "student__student_no")

    def dehydrate_settled(self, line):
        return str(_("yes")) if line.settled else ""


class PaymentResource(_Export):
    receipt_no = Field(attribute="receipt_no", column_name=_("receipt number"))
    paid_at = Field(attribute="paid_at", column_name=_("paid at"), widget=widgets.DateTimeWidget("%Y-%m-%d %H:%M"))
    student_no = Field(attribute="student__student_no", column_name=_("student number"))
    name = Field(attribute="student__name", column_name=_("name"))
    method = Field(attribute="get_method_display", column_name=_("method"))
    reference = Field(attribute="reference", column_name=_("bank reference"))
    amount = _money("amount", _("amount"))

    class Meta:
        model = Payment
        fields = ("receipt_no", "paid_at", "student_no", "name", "method", "reference", "amount")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("student").order_by("receipt_no")


class RefundResource(_Export):
    receipt_no = Field(attribute="receipt_no", column_name=_("receipt number"))
    refunded_at = Field(
        attribute="refunded_at", column_name=_("refunded at"), widget=widgets.DateTimeWidget("%Y-%m-%d %H:%M")
    )
    student_no = Field(attribute="student__student_no", column_name=_("student number"))
    name = Field(attribute="student__name", column_name=_("name"))
    reason = Field(attribute="reason", column_name=_("reason"))
    amount = _money("amount", _("amount"))

    class Meta:
        model = Refund
        fields = ("receipt_no", "refunded_at", "student_no", "name", "reason", "amount")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("student").order_by("receipt_no")


class WaiverResource(_Export):
    student_no = Field(attribute="student__student_no", column_name=_("student number"))
    name = Field(attribute="student__name", column_name=_("name"))
    category = Field(attribute="get_category_display", column_name=_("category"))
    status = Field(attribute="get_status_display", column_name=_("status"))
    percent = _money("percent", _("waived percent"))
    effective_from = Field(attribute="effective_from", column_name=_("effective from"))

    class Meta:
        model = Waiver
        fields = ("student_no", "name", "category", "status", "percent", "effective_from")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("student")


class LedgerResource(_Export):
    date = Field(attribute="date", column_name=_("date"))
    voucher_no = Field(attribute="voucher_no", column_name=_("voucher number"))
    kind = Field(attribute="get_kind_display", column_name=_("income or expense"))
    category = Field(attribute="get_category_display", column_name=_("category"))
    description = Field(attribute="description", column_name=_("description"))
    amount = _money("amount", _("amount"))

    class Meta:
        model = LedgerEntry
        fields = ("date", "voucher_no", "kind", "category", "description", "amount")


class SubsidyPayrollResource(resources.Resource):
    """课后服务补助发放表: one row per teacher of ``billing.subsidy.Payroll.rows``."""

    name = Field(attribute="name", column_name=_("teacher"))
    periods = Field(attribute="periods", column_name=_("periods taught"))
    teaching_pay = _money("teaching_pay", _("teaching pay"))
    breaks = Field(attribute="breaks", column_name=_("breaks on safety-zone duty"))
    duty_pay = _money("duty_pay", _("safety-zone duty pay"))
    admin_days = Field(attribute="admin_days", column_name=_("administrative duty days"))
    admin_periods = Field(attribute="admin_periods", column_name=_("administrative duty periods"))
    admin_pay = _money("admin_pay", _("administrative duty pay"))
    gross = _money("gross", _("subsidy before deductions"))
    deduction = _money("deduction", _("performance deductions"))
    net = _money("net", _("to pay"))
    reasons = Field(attribute="reason_text", column_name=_("reasons for deductions"))

    class Meta:
        fields = (
            "name", "periods", "teaching_pay", "breaks", "duty_pay", "admin_days", "admin_periods", "admin_pay",
            "gross", "deduction", "net", "reasons",
        )  # fmt: skip

    def iter_queryset(self, queryset):
        return queryset
