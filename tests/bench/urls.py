from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path


@login_required
def empty(request):
    """The floor: a logged-in request through the whole middleware stack that does nothing."""
    return HttpResponse("")


urlpatterns = [path("bench/empty/", empty), path("", include("afterschool.urls"))]
