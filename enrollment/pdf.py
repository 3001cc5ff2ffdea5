"""Enrollment documents: the notice to parents (per term) and the signed agreement (per child),
archived for the record (备案)."""

from django.utils import timezone

from .documents import Renderer, register
from .models import AgreementSignature, Document, ParentNotice


def _day(value) -> str:
    value = timezone.localtime(value) if hasattr(value, "hour") else value
    text = f"{value.year}年{value.month}月{value.day}日"
    return f"{text} {value:%H:%M}" if hasattr(value, "hour") else text


@register
class NoticeToParents(Renderer):
    """致家长的一封信 with the term's published fee standards."""

    kind = Document.Kind.NOTICE
    template = "enrollment/pdf/notice.html"

    def snapshot(self, document):
        from billing.models import FeeStandard

        notice = ParentNotice.objects.select_related("term__school").get(term_id=document.subject_id)
        term = notice.term
        return {
            "school": term.school.name,
            "phone": term.school.phone,
            "term": term.name,
            "title": notice.title,
            "body": notice.body,
            "issued": _day(timezone.localdate()),
            "standards": [
                {"item": s.get_item_display(), "price": s.price_text(), "approval": s.approval}
                for s in FeeStandard.objects.filter(term=term).order_by("item")
            ],
        }


@register
class SignedAgreement(Renderer):
    """The safety agreement as the guardian signed it, with the signature block and the text hash."""

    kind = Document.Kind.AGREEMENT
    template = "enrollment/pdf/agreement.html"

    def snapshot(self, document):
        signature = AgreementSignature.objects.select_related(
            "text", "term__school", "student__homeroom__grade", "guardian"
        ).get(pk=document.subject_id)
        return {
            "school": signature.term.school.name,
            "term": signature.term.name,
            "title": signature.text.title,
            "version": signature.text.version,
            "body": signature.text.body,
            "student": {
                "name": signature.student.name,
                "no": signature.student.student_no,
                "homeroom": str(signature.student.homeroom),
            },
            "guardian": signature.guardian.name if signature.guardian else "",
            "signed_name": signature.signed_name,
            "signed_at": _day(signature.signed_at),
            "ip": signature.ip_address or "",
            "sha256": signature.text_sha256,
            "verifies": signature.verifies(),
            "on_paper": bool(signature.paper_scan),
        }
