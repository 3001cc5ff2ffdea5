from django.urls import path

from . import views

app_name = "enrollment"
urlpatterns = [
    path("portal/", views.portal, name="portal"),
    path("portal/children/<int:pk>/", views.portal_child, name="portal_child"),
    path("teacher/class/", views.class_list, name="class_list"),
    path("teacher/class/<int:pk>/", views.class_detail, name="class_detail"),
]
