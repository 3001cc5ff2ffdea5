from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


class LanguageMiddleware:
    """Simplified Chinese unless the user chose another language with the switcher.

    Unlike Django's LocaleMiddleware this ignores the browser's Accept-Language: many
    school computers and phones run an English system, yet the school works in Chinese.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response


class RefuseNulMiddleware:
    """No form of this site takes a NUL character, and PostgreSQL refuses to store one: a request
    carrying one in a field or the query string gets a clear 400 instead of failing deeper down."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import HttpResponseBadRequest
        from django.utils.translation import gettext as _

        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            values = [v for _key, vs in request.POST.lists() for v in vs] + list(request.POST)
        else:
            values = []
        values += [v for _key, vs in request.GET.lists() for v in vs]
        if any("\x00" in value for value in values):
            return HttpResponseBadRequest(_("The form contained a character that cannot be stored (NUL)."))
        return self.get_response(request)
