from django.urls import path

from . import views

app_name = "safety"
urlpatterns = [
    path("teacher/today/", views.teacher_today, name="teacher_today"),
    path("duty/", views.duty_board, name="duty_board"),
    path("gate/", views.gate, name="gate"),
]
