from django.contrib.admin.apps import AdminConfig


class AfterschoolAdminConfig(AdminConfig):
    default_site = "afterschool.admin.AfterschoolAdminSite"
