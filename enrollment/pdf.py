"""Enrollment documents: the notice to parents (per term) and the signed agreement (per child),
archived for the record (备案)."""

from django.utils import timezone

from .documents import Renderer, chinese_date, register
from .models import AgreementSignature, Document, ParentNotice


@register
class NoticeToParents(Renderer):
    """致家长的一封信 with the term's published fee standards."""

    kind = Document.Kind.NOTICE
    template = "enrollment/pdf/notice.html"

    def snapshot(self, document):
        from billing.pdf import standards_snapshot

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
            "signed_at": chinese_date(signature.signed_at, with_time=True),
            "ip": signature.ip_address or "",
            "sha256": signature.text_sha256,
            "verifies": signature.verifies(),
            "on_paper": bool(signature.paper_scan),
        }
