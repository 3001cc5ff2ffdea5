from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from scheduling.calendar import UnknownHolidayYear

from .models import BillingRun, ChargeLine, FeeStandard, Waiver


@admin.register(FeeStandard)
class FeeStandardAdmin(admin.ModelAdmin):
    list_display = ("term", "item", "mode", "amount", "approval")
    list_filter = ("term", "mode")
    list_select_related = ("term",)


@admin.register(Waiver)
class WaiverAdmin(admin.ModelAdmin):
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
class ChargeLineAdmin(admin.ModelAdmin):
    list_display = (
        "month",
        "student",
        "standard",
        "kind",
        "participation_days",
        "workdays",
        "waiver_percent",
        "amount",
    )
    list_filter = ("term", "month", "kind")
    list_select_related = ("student", "standard__term")
    search_fields = ("student__name", "student__student_no")

    def has_add_permission(self, request):
        return False  # lines come from the billing run

    def has_change_permission(self, request, obj=None):
        return False  # never overwritten: a correction is an adjustment line

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BillingRun)
class BillingRunAdmin(admin.ModelAdmin):
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
        from .services import billing_run

        try:
            run = billing_run(term=obj.term, year=obj.month.year, month=obj.month.month, started_by=request.user)
        except UnknownHolidayYear as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk, obj.at, obj._state.adding = run.pk, run.at, False
        self.message_user(
            request,
            _("%(charges)s new charges, %(adjustments)s adjustments.")
            % {"charges": run.charges, "adjustments": run.adjustments},
        )

    @admin.action(description=_("Run the selected months again"), permissions=["view"])
    def run_again(self, request, queryset):
        from .services import billing_run

        for run in queryset.select_related("term"):
            try:
                billing_run(term=run.term, year=run.month.year, month=run.month.month, started_by=request.user)
            except UnknownHolidayYear as exc:
                self.message_user(request, exc.message, messages.ERROR)
