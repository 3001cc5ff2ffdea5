"""Billing: fee standards, hardship waivers and the monthly charge lines."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from enrollment.models.participation import upload_path

from .money import MONEY_FIELD, RATE_FIELD


class FeeStandard(models.Model):
    """An approved fee (收费标准) for one service item in a term. The school is the payee."""

    class Item(models.TextChoices):
        AFTER_SCHOOL = "after_school", _("after-school service (课后服务)")
        EARLY_ARRIVAL = "early_arrival", _("early-arrival care (早到托管)")
        LUNCH = "lunch", _("lunch and nap care (午餐午休看护)")
        EVENING = "evening", _("evening self-study (晚自习)")

    class Mode(models.TextChoices):
        TERM_FLAT = "term_flat", _("per term, flat")
        MONTHLY_HALF = "monthly_half", _("monthly, half-month rule")
        DAILY_PREPAID = "daily_prepaid", _("daily rate, prepaid")
        PER_PERIOD_DAY = "per_period_day", _("per period a day, for the term")

    term = models.ForeignKey("enrollment.Term", models.PROTECT, related_name="fee_standards", verbose_name=_("term"))
    item = models.CharField(_("service item"), max_length=15, choices=Item.choices)
    mode = models.CharField(_("charging mode"), max_length=15, choices=Mode.choices)
    amount = models.DecimalField(
        _("amount (yuan)"), **MONEY_FIELD, help_text=_("A month's, a term's or a day's fee, by mode.")
    )
    prepaid_days = models.PositiveSmallIntegerField(_("prepaid days"), null=True, blank=True)
    exactly_half_is_full = models.BooleanField(
        _("exactly half a month counts as a full month"), default=True, help_text=_("Some districts charge 50% there.")
    )
    approval = models.CharField(
        _("approval document"), max_length=100, blank=True, help_text=_("批准文号 of the price bureau.")
    )
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("fee standard")
        verbose_name_plural = _("fee standards")
        constraints = [
            models.UniqueConstraint(fields=["term", "item"], name="fee_standard_one_per_item"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="fee_standard_amount_not_negative"),
        ]

    def __str__(self):
        return f"{self.term} {self.get_item_display()} {self.amount}"

    def clean(self):
        if self.mode == self.Mode.DAILY_PREPAID and not self.prepaid_days:
            raise ValidationError({"prepaid_days": _("A prepaid daily rate needs the number of days paid ahead.")})
        if self.mode != self.Mode.DAILY_PREPAID and self.prepaid_days:
            raise ValidationError({"prepaid_days": _("Only a prepaid daily rate has prepaid days.")})

    def price_text(self) -> str:
        """The standard as the notice to parents states it (收费公示)."""
        values = {"amount": self.amount, "days": self.prepaid_days}
        return {
            self.Mode.TERM_FLAT: _("%(amount)s yuan a term"),
            self.Mode.MONTHLY_HALF: _(
                "%(amount)s yuan a month; half of it in a month attended on fewer than half of its working days"
            ),
            self.Mode.DAILY_PREPAID: _(
                "%(amount)s yuan a day; %(days)s days paid ahead, settled by the days attended at the term's end"
            ),
            self.Mode.PER_PERIOD_DAY: _("%(amount)s yuan a term for each daily period"),
        }[self.mode] % values

    @property
    def once_a_term(self) -> bool:
        """Charged once for the term (and settled on withdrawal), not month by month."""
        return self.mode != self.Mode.MONTHLY_HALF


class Waiver(models.Model):
    """困难减免: a hardship waiver asked for by the guardian and decided by the school."""

    class Category(models.TextChoices):
        POVERTY_FILE = "poverty_file", _("registered poor household (建档立卡)")
        MINIMUM_LIVING = "dibao", _("minimum living allowance (低保)")
        DESTITUTE = "destitute", _("destitute support (特困供养)")
        DISABILITY = "disability", _("disability (残疾)")
        ORPHAN = "orphan", _("orphan (孤儿)")
        OTHER = "other", _("other hardship")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    term = models.ForeignKey("enrollment.Term", models.PROTECT, related_name="waivers", verbose_name=_("term"))
    student = models.ForeignKey("enrollment.Student", models.PROTECT, related_name="waivers", verbose_name=_("student"))
    category = models.CharField(_("category"), max_length=15, choices=Category.choices)
    evidence = models.FileField(_("evidence"), upload_to=upload_path, blank=True)
    requested_by = models.ForeignKey(
        "enrollment.Guardian", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("requested by")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    percent = models.DecimalField(_("waived percent"), **RATE_FIELD, null=True, blank=True)
    effective_from = models.DateField(_("effective from"), null=True, blank=True)
    meeting_date = models.DateField(_("decided at the meeting of"), null=True, blank=True)
    approver = models.CharField(_("approved by"), max_length=50, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)

    class Meta:
        verbose_name = _("hardship waiver")
        verbose_name_plural = _("hardship waivers")
        constraints = [
            models.UniqueConstraint(fields=["term", "student"], name="waiver_one_per_term"),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | Q(percent__gte=0, percent__lte=100), name="waiver_percent_0_100"
            ),
        ]

    def __str__(self):
        return f"{self.student} {self.get_category_display()}"

    def clean(self):
        if self.status == self.Status.APPROVED:
            missing = [
                str(self._meta.get_field(name).verbose_name)
                for name in ("percent", "effective_from", "meeting_date", "approver")
                if getattr(self, name) in (None, "")
            ]
            if missing:
                raise ValidationError(_("An approved waiver needs: %(fields)s.") % {"fields": "、".join(missing)})


class ChargeLine(models.Model):
    """One charge for a child, item and month, with every input kept so anyone can recompute it.
    Lines are never changed: a correction is a further ADJUSTMENT line.

    What the inputs mean, by the standard's mode (``fees.py`` holds the formulas):

    - monthly, half-month rule: the month's fee for ``participation_days`` attended of the month's
      ``workdays`` statutory working days;
    - per term flat, and per period a day (``fee`` × ``periods``): the whole fee once (days 0); when
      ``settled`` (withdrawal), pro rata for the ``participation_days`` service days the child was
      enrolled of the term's ``workdays`` service days;
    - daily rate, prepaid: ``fee`` × ``participation_days``, the prepaid days, once; when
      ``settled`` (withdrawal or term end), the days actually attended.

    The waiver is applied last; ``waived`` is what it took off. The lines of a child, item and
    month add up to what is due for that month."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("charge")
        ADJUSTMENT = "adjustment", _("adjustment")

    term = models.ForeignKey("enrollment.Term", models.PROTECT, related_name="charge_lines", verbose_name=_("term"))
    student = models.ForeignKey(
        "enrollment.Student", models.PROTECT, related_name="charge_lines", verbose_name=_("student")
    )
    standard = models.ForeignKey(FeeStandard, models.PROTECT, related_name="lines", verbose_name=_("fee standard"))
    month = models.DateField(_("month"), help_text=_("The first day of the month charged."))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    fee = models.DecimalField(_("fee"), **MONEY_FIELD)
    workdays = models.PositiveSmallIntegerField(_("statutory working days"))
    participation_days = models.PositiveSmallIntegerField(_("participation days"))
    waiver_percent = models.DecimalField(_("waived percent"), **RATE_FIELD)
    periods = models.PositiveSmallIntegerField(_("periods a day"), default=1)
    settled = models.BooleanField(_("settled by participation"), default=False)
    amount = models.DecimalField(_("amount"), **MONEY_FIELD)
    waived = models.DecimalField(_("waived amount"), **MONEY_FIELD, default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    run = models.ForeignKey("BillingRun", models.PROTECT, related_name="lines", verbose_name=_("billing run"))

    class Meta:
        verbose_name = _("charge line")
        verbose_name_plural = _("charge lines")
        ordering = ["month", "student", "created_at"]
        indexes = [models.Index(fields=["term", "month"])]

    def __str__(self):
        return f"{self.student} {self.month:%Y-%m} {self.amount}"

    def explanation(self) -> str:
        """The line's inputs in words, for the family's statement."""
        Mode = FeeStandard.Mode
        mode = self.standard.mode
        values = {
            "days": self.participation_days, "workdays": self.workdays, "fee": self.fee, "periods": self.periods,
        }  # fmt: skip
        if mode == Mode.MONTHLY_HALF:
            text = _("%(days)s of %(workdays)s working days attended · %(fee)s yuan a month")
        elif mode == Mode.DAILY_PREPAID:
            text = (
                _("settled: %(days)s days attended at %(fee)s yuan")
                if self.settled
                else _("%(days)s days paid ahead at %(fee)s yuan")
            )
        elif self.settled:
            text = _("settled on leaving: %(days)s of the term's %(workdays)s service days")
        elif mode == Mode.PER_PERIOD_DAY:
            text = _("%(periods)s daily period(s) at %(fee)s yuan for the term")
        else:
            text = _("%(fee)s yuan for the term")
        text = text % values
        if self.waiver_percent:
            text += " · " + _("waived %(percent)s%%") % {"percent": f"{self.waiver_percent.normalize():f}"}
        return text


class BillingRun(models.Model):
    term = models.ForeignKey("enrollment.Term", models.PROTECT, related_name="billing_runs", verbose_name=_("term"))
    month = models.DateField(_("month"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    charges = models.PositiveIntegerField(_("new charges"), default=0)
    adjustments = models.PositiveIntegerField(_("adjustments"), default=0)

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.term} {self.month:%Y-%m}"


class ReceiptSequence(models.Model):
    """The last receipt number used in a school year; locked while a number is taken, so the
    numbers are unique and without gaps even when two cashiers post at once."""

    school = models.ForeignKey("enrollment.School", models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "year"], name="receipt_sequence_per_year")]

    def __str__(self):
        return f"{self.school} {self.year}: {self.last}"


class Payment(models.Model):
    class Method(models.TextChoices):
        CASH = "cash", _("cash")
        TRANSFER = "transfer", _("bank transfer")
        ONLINE = "online", _("online payment")

    school = models.ForeignKey("enrollment.School", models.PROTECT, related_name="+", verbose_name=_("school"))
    term = models.ForeignKey("enrollment.Term", models.PROTECT, related_name="payments", verbose_name=_("term"))
    student = models.ForeignKey(
        "enrollment.Student", models.PROTECT, related_name="payments", verbose_name=_("student")
    )
    amount = models.DecimalField(_("amount"), **MONEY_FIELD)
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    receipt_no = models.CharField(_("receipt number"), max_length=20)
    paid_at = models.DateTimeField(_("paid at"))
    reference = models.CharField(_("bank reference"), max_length=50, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("received by")
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(fields=["school", "receipt_no"], name="payment_receipt_unique_in_school"),
        ]

    def __str__(self):
        return f"{self.receipt_no} {self.student} {self.amount}"


class Refund(models.Model):
    """结余退还 and other refunds, numbered from the same receipt sequence."""

    school = models.ForeignKey("enrollment.School", models.PROTECT, related_name="+", verbose_name=_("school"))
    term = models.ForeignKey("enrollment.Term", models.PROTECT, related_name="refunds", verbose_name=_("term"))
    student = models.ForeignKey("enrollment.Student", models.PROTECT, related_name="refunds", verbose_name=_("student"))
    amount = models.DecimalField(_("amount"), **MONEY_FIELD)
    receipt_no = models.CharField(_("receipt number"), max_length=20)
    reason = models.CharField(_("reason"), max_length=200)
    refunded_at = models.DateTimeField(_("refunded at"))
    refunded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("by"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-refunded_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(fields=["school", "receipt_no"], name="refund_receipt_unique_in_school"),
        ]

    def __str__(self):
        return f"{self.receipt_no} {self.student} {self.amount}"


class LedgerEntry(models.Model):
    """专户台账: income and expenses of the special account, each with its voucher number."""

    class Kind(models.TextChoices):
        INCOME = "income", _("income")
        EXPENSE = "expense", _("expense")

    class Category(models.TextChoices):
        FEES = "fees", _("service fees")
        SUBSIDY = "subsidy", _("education bureau subsidy")
        TEACHER_PAY = "teacher_pay", _("teacher remuneration")
        EQUIPMENT = "equipment", _("equipment and consumables")
        VENUE = "venue", _("venue maintenance")
        UTILITIES = "utilities", _("utilities")
        TRAINING = "training", _("training")
        ADMINISTRATION = "administration", _("administration")

    school = models.ForeignKey("enrollment.School", models.PROTECT, related_name="+", verbose_name=_("school"))
    date = models.DateField(_("date"))
    kind = models.CharField(_("income or expense"), max_length=10, choices=Kind.choices)
    category = models.CharField(_("category"), max_length=15, choices=Category.choices)
    amount = models.DecimalField(_("amount"), **MONEY_FIELD)
    voucher_no = models.CharField(_("voucher number"), max_length=30)
    description = models.CharField(_("description"), max_length=200)
    run = models.ForeignKey(
        BillingRun, models.PROTECT, null=True, blank=True, related_name="ledger_entries", verbose_name=_("billing run")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("by")
    )

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("special-account ledger")
        ordering = ["date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["school", "voucher_no"], name="ledger_voucher_unique"),
            models.CheckConstraint(
                condition=Q(category__in=["fees", "subsidy"], kind="income")
                | (~Q(category__in=["fees", "subsidy"]) & Q(kind="expense")),
                name="ledger_category_matches_kind",
            ),
        ]

    def __str__(self):
        return f"{self.voucher_no} {self.get_category_display()} {self.amount}"


# -- teacher subsidy (课后服务补助分配) ----------------------------------------------------------


class SubsidyRates(models.Model):
    """The school's subsidy rates, set by its staff congress; the defaults are the seed's plan."""

    school = models.OneToOneField(
        "enrollment.School", models.CASCADE, related_name="subsidy_rates", verbose_name=_("school")
    )
    period_rate = models.DecimalField(_("per period taught (yuan)"), **MONEY_FIELD, default=Decimal("20.00"))
    break_rate = models.DecimalField(_("per break of safety-zone duty (yuan)"), **MONEY_FIELD, default=Decimal("10.00"))
    admin_share = models.DecimalField(
        _("administrative duty share (%)"),
        **RATE_FIELD,
        default=Decimal("8"),
        help_text=_("Of the general service payout (periods and safety-zone duty)."),
    )
    admin_period_rate = models.DecimalField(
        _("per administrative duty period (yuan)"), **MONEY_FIELD, default=Decimal("7.00")
    )
    early_leave_percent = models.DecimalField(_("deduction per early leave (%)"), **RATE_FIELD, default=Decimal("10"))
    handover_percent = models.DecimalField(
        _("deduction per handover violation (%)"), **RATE_FIELD, default=Decimal("10")
    )
    repeat_limit = models.PositiveSmallIntegerField(
        _("events in a month that cost the whole month"),
        default=3,
        help_text=_("This many early leaves, or handover violations, in a month deduct 100%."),
    )

    class Meta:
        verbose_name = _("subsidy rates")
        verbose_name_plural = _("subsidy rates")
        constraints = [
            models.CheckConstraint(condition=Q(admin_share__gte=0, admin_share__lte=100), name="subsidy_share_0_100"),
            models.CheckConstraint(condition=Q(admin_period_rate__gt=0), name="subsidy_admin_rate_positive"),
        ]

    def __str__(self):
        return str(self.school)


class DutyShift(models.Model):
    """值班: a teacher's safety-zone duty over the breaks of a service day, or a day of
    administrative duty (行政值班)."""

    class Kind(models.TextChoices):
        SAFETY_ZONE = "safety_zone", _("safety-zone duty (区域安全管理)")
        ADMIN = "admin", _("administrative duty (行政值班)")

    school = models.ForeignKey("enrollment.School", models.PROTECT, related_name="+", verbose_name=_("school"))
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="duty_shifts", verbose_name=_("teacher")
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    breaks = models.PositiveSmallIntegerField(
        _("breaks"), default=1, help_text=_("For safety-zone duty: the breaks covered that day.")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        ordering = ["-date", "teacher"]
        constraints = [models.UniqueConstraint(fields=["teacher", "date", "kind"], name="duty_shift_once_a_day")]

    def __str__(self):
        return f"{self.date} {self.teacher} {self.get_kind_display()}"


class PerformanceEvent(models.Model):
    """绩效考核: an event that reduces a teacher's performance pay (the seed's rules)."""

    class Kind(models.TextChoices):
        MISSED_SESSION = "missed", _("unexcused missed session (无故空堂)")
        EARLY_LEAVE = "early_leave", _("early leave (早退)")
        HANDOVER = "handover", _("handover violation (交接违规)")
        COMPLAINT = "complaint", _("verified parent complaint (家长投诉属实)")
        MAJOR_ACCIDENT = "accident", _("major safety accident (重大安全事故)")

    # Deductions decided case by case, and their allowed range in percent.
    PERCENT_RANGES = {Kind.COMPLAINT: (10, 100), Kind.MAJOR_ACCIDENT: (50, 100)}

    school = models.ForeignKey("enrollment.School", models.PROTECT, related_name="+", verbose_name=_("school"))
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="performance_events", verbose_name=_("teacher")
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    percent = models.DecimalField(
        _("deducted percent"),
        **RATE_FIELD,
        null=True,
        blank=True,
        help_text=_("For a complaint (10–100) or a major accident (50–100, of the term's pay)."),
    )
    description = models.CharField(_("what happened"), max_length=300)
    incident = models.ForeignKey(
        "safety.Incident", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("incident")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("performance event")
        verbose_name_plural = _("performance events")
        ordering = ["-date"]

    def __str__(self):
        return f"{self.date} {self.teacher} {self.get_kind_display()}"

    def clean(self):
        bounds = self.PERCENT_RANGES.get(self.kind)
        if bounds is None:
            if self.percent is not None:
                raise ValidationError(
                    {"percent": _("This kind of event deducts a fixed share; leave the percent empty.")}
                )
            return
        low, high = bounds
        if self.percent is None or not low <= self.percent <= high:
            raise ValidationError(
                {"percent": _("Give a deduction between %(low)s%% and %(high)s%%.") % {"low": low, "high": high}}
            )
