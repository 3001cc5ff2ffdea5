"""Safety documents: the incident report (突发事件报告)."""

from django.utils import timezone

from enrollment.documents import Renderer, chinese_date, register
from enrollment.models import Document

from .models import Incident


def _when(value) -> str:
    return chinese_date(value, with_time=True)


@register
class IncidentReport(Renderer):
    kind = Document.Kind.INCIDENT
    template = "safety/pdf/incident.html"

    def snapshot(self, document):
        incident = (
            Incident.objects.select_related("school", "group", "reported_by")
            .prefetch_related("students__homeroom__grade")
            .get(pk=document.subject_id)
        )
        return {
            "school": incident.school.name,
            "kind": incident.get_kind_display(),
            "severity": incident.get_severity_display(),
            "occurred_at": _when(incident.occurred_at),
            "group": str(incident.group) if incident.group else "",
            "students": [
                {"name": s.name, "no": s.student_no, "homeroom": str(s.homeroom)}
                for s in sorted(incident.students.all(), key=lambda s: s.student_no)
            ],
            "description": incident.description,
            "actions": incident.actions,
            "guardians_notified_at": _when(incident.guardians_notified_at),
            "follow_up": incident.follow_up,
            "reported_by": str(incident.reported_by),
            "closed_at": _when(incident.closed_at),
            "issued": _when(timezone.now()),
        }
