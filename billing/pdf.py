"""Billing documents: fee notices (per child and per class), the settlement statement, the
monthly income and expense disclosure, and the teachers' attendance and subsidy publication.
Each ``snapshot`` freezes what the PDF shows; the templates under templates/billing/pdf/ render
that data only."""

import calendar
from datetime import date

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.documents import Renderer, chinese_date, register
from enrollment.models import Document, Homeroom, ParentNotice, School, Student, Term

from . import services, subsidy
from .models import ChargeLine, FeeStandard
from .money import to_fen


def _month(value: date) -> str:
    return f"{value.year}年{value.month}月"


def standards_snapshot(term) -> list:
    """The term's fee standards as the notices publish them (收费公示)."""
    return [
        {"item": s.get_item_display(), "price": s.price_text(), "approval": s.approval}
        for s in FeeStandard.objects.filter(term=term).order_by("item")
    ]


@register
class NoticeToParents(Renderer):
    """致家长的一封信 with the term's published fee standards."""

    kind = Document.Kind.NOTICE
    template = "enrollment/pdf/notice.html"

    def snapshot(self, document):
        notice = ParentNotice.objects.select_related("term__school").get(term_id=document.subject_id)
        term = notice.term
        return {
            "school": term.school.name,
            "phone": term.school.phone,
            "term": term.name,
            "title": notice.title,
            "body": notice.body,
            "issued": chinese_date(timezone.localdate()),
            "standards": standards_snapshot(term),
        }


def student_statement(student, term) -> dict:
    """A child's charges, payments and refunds for the term, as frozen document data."""
    statement = services.statement_for(student=student, term=term)
    movements = [
        {
            "date": chinese_date(p.paid_at), "kind": p.get_method_display(), "receipt": p.receipt_no,
            "amount": str(p.amount), "at": p.paid_at.isoformat(),
        }
        for p in statement.payments
    ] + [
        {
            "date": chinese_date(r.refunded_at), "kind": _("refund") + " · " + r.reason, "receipt": r.receipt_no,
            "amount": f"-{r.amount}", "at": r.refunded_at.isoformat(),
        }
        for r in statement.refunds
    ]  # fmt: skip
    return {
        "school": term.school.name,
        "term": term.name,
        "issued": chinese_date(timezone.localdate()),
        "student": {"name": student.name, "no": student.student_no, "homeroom": str(student.homeroom)},
        "lines": [
            {
                "month": _month(line.month),
                "item": line.standard.get_item_display(),
                "explanation": line.explanation(),
                "amount": str(line.amount),
                "settled": line.settled,
            }
            for line in statement.charges
        ],
        "movements": sorted(movements, key=lambda m: m["at"]),
        "charged": str(statement.charged),
        "paid": str(statement.paid),
        "refunded": str(statement.refunded),
        "balance": str(statement.balance),
        "owed": str(max(statement.balance, to_fen(0))),
        "to_refund": str(max(-statement.balance, to_fen(0))),
    }


def _student_and_term(document):
    student = Student.objects.select_related("homeroom__grade", "school").get(pk=document.subject_id)
    term = Term.objects.select_related("school").get(pk=document.params["term"], school_id=student.school_id)
    return student, term


@register
class FeeNotice(Renderer):
    """缴费通知单 for one child."""

    kind = Document.Kind.FEE_NOTICE
    template = "billing/pdf/fee_notice.html"

    def snapshot(self, document):
        student, term = _student_and_term(document)
        return {**student_statement(student, term), "standards": standards_snapshot(term), "phone": term.school.phone}


@register
class ClassFeeNotice(Renderer):
    """The fee notices of a whole class in one PDF, a page for each child."""

    kind = Document.Kind.CLASS_FEE_NOTICE
    template = "billing/pdf/class_fee_notice.html"

    def snapshot(self, document):
        homeroom = Homeroom.objects.select_related("grade__school").get(pk=document.subject_id)
        term = Term.objects.select_related("school").get(pk=document.params["term"], school=homeroom.grade.school)
        children = (
            Student.objects.filter(homeroom=homeroom, charge_lines__term=term)
            .select_related("homeroom__grade")
            .distinct()
            .order_by("student_no")
        )
        standards = standards_snapshot(term)
        return {
            "homeroom": str(homeroom),
            "notices": [
                {**student_statement(child, term), "standards": standards, "phone": term.school.phone}
                for child in children
            ],
        }


@register
class SettlementStatement(Renderer):
    """结算单: what the child used, what was paid, and the balance refunded or still due."""

    kind = Document.Kind.SETTLEMENT
    template = "billing/pdf/settlement.html"

    def snapshot(self, document):
        student, term = _student_and_term(document)
        return student_statement(student, term)


def _month_bounds(params) -> tuple[date, date]:
    year, month = (int(part) for part in params["month"].split("-"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@register
class Disclosure(Renderer):
    """每月收支公示: the special account's income by item, waivers granted, expenses by category,
    and the balance."""

    kind = Document.Kind.DISCLOSURE
    template = "billing/pdf/disclosure.html"

    def snapshot(self, document):
        school = School.objects.get(pk=document.subject_id)
        first, last = _month_bounds(document.params)
        totals = services.ledger_totals(school=school, first=first, last=last)
        by_item = (
            ChargeLine.objects.filter(term__school=school, month=first)
            .values("standard__item")
            .annotate(total=Sum("amount"))
            .order_by("standard__item")
        )
        return {
            "school": school.name,
            "month": _month(first),
            "issued": chinese_date(timezone.localdate()),
            "opening": str(totals.opening),
            "income": [{"label": k, "amount": str(v)} for k, v in totals.income.items()],
            "fees_by_item": [
                {"label": str(FeeStandard.Item(row["standard__item"]).label), "amount": str(to_fen(row["total"]))}
                for row in by_item
            ],
            "total_income": str(totals.total_income),
            "waived": str(totals.waived),
            "expenses": [{"label": k, "amount": str(v)} for k, v in totals.expenses.items()],
            "total_expenses": str(totals.total_expenses),
            "closing": str(totals.closing),
            "phone": school.phone,
        }


@register
class SubsidyPublication(Renderer):
    """The teachers' attendance and subsidy of a month, as published to the staff."""

    kind = Document.Kind.SUBSIDY
    template = "billing/pdf/subsidy.html"

    def snapshot(self, document):
        school = School.objects.get(pk=document.subject_id)
        first, _last = _month_bounds(document.params)
        payroll = subsidy.subsidy_payroll(school=school, year=first.year, month=first.month)
        rates = payroll.rates
        return {
            "school": school.name,
            "month": _month(first),
            "issued": chinese_date(timezone.localdate()),
            "rates": {
                "period": str(rates.period_rate),
                "break": str(rates.break_rate),
                "share": f"{rates.admin_share.normalize():f}",
                "admin": str(rates.admin_period_rate),
            },  # fmt: skip
            "rows": [
                {
                    "name": row.name,
                    "periods": row.periods,
                    "breaks": row.breaks,
                    "admin_days": row.admin_days,
                    "admin_periods": row.admin_periods,
                    "gross": str(row.gross),
                    "deduction": str(row.deduction),
                    "net": str(row.net),
                    "reasons": row.reason_text,
                }
                for row in payroll.rows
            ],  # fmt: skip
            "general": str(payroll.general_payout),
            "pool": str(payroll.admin_pool),
            "total_gross": str(payroll.total_gross),
            "total_deduction": str(payroll.total_deduction),
            "total_net": str(payroll.total_net),
        }
