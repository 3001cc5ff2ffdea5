from django.urls import path

from . import views

app_name = "enrollment"
urlpatterns = [
    path("portal/", views.portal, name="portal"),
    path("portal/children/<int:pk>/", views.portal_child, name="portal_child"),
    path("portal/children/<int:pk>/survey/", views.survey, name="survey"),
    path("portal/children/<int:pk>/apply/", views.apply, name="apply"),
    path("portal/children/<int:pk>/agreement/", views.agreement, name="agreement"),
    path("portal/children/<int:pk>/leave/", views.leave, name="leave"),
    path("portal/children/<int:pk>/bills/", views.bills, name="bills"),
    path("portal/children/<int:pk>/waiver/", views.waiver, name="waiver"),
    path(
        "portal/children/<int:pk>/incidents/<int:incident_pk>/acknowledge/",
        views.incident_acknowledge,
        name="incident_acknowledge",
    ),
    path("portal/applications/<int:pk>/", views.application_detail, name="application"),
    path("portal/applications/<int:pk>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("portal/notices/<int:pk>/", views.notice, name="notice"),
    path("portal/disclosures/", views.disclosures, name="disclosures"),
    path("portal/disclosures/<int:pk>/", views.disclosure_download, name="disclosure_download"),
    path("portal/inbox/", views.portal_inbox, name="portal_inbox"),
    path("portal/inbox/read/", views.portal_inbox_read_all, name="portal_inbox_read_all"),
    path("portal/inbox/<int:pk>/", views.portal_message, name="portal_message"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_read_all, name="inbox_read_all"),
    path("inbox/<int:pk>/", views.inbox_message, name="message"),
    path("activate/", views.activate, name="activate"),
    path("teacher/class/", views.class_list, name="class_list"),
    path("teacher/class/<int:pk>/", views.class_detail, name="class_detail"),
    path("teacher/reviews/", views.reviews, name="reviews"),
]
