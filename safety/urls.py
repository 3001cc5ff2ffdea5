from django.urls import path

from . import views

app_name = "safety"
urlpatterns = [
    path("teacher/today/", views.teacher_today, name="teacher_today"),
    path("teacher/sessions/<int:pk>/roll-call/", views.roll_call, name="roll_call"),
    path("teacher/sessions/<int:pk>/dismissal/", views.dismissal, name="dismissal"),
    path("teacher/follow-ups/", views.follow_ups, name="follow_ups"),
    path("teacher/handover/", views.handover, name="handover"),
    path("teacher/records/", views.records, name="records"),
    path("duty/", views.duty_board, name="duty_board"),
    path("duty/patrol/", views.patrol, name="patrol"),
    path("incidents/new/", views.incident_new, name="incident_new"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident"),
    path("gate/", views.gate, name="gate"),
]
