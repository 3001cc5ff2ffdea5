"""Enrollment documents: the signed agreement (per child), archived for the record (备案). The
notice to parents, which publishes the fee standards, is rendered by ``billing/pdf.py``."""

from .documents import Renderer, chinese_date, register
from .models import AgreementSignature, Document


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
