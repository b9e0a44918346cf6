"""(being built)"""

from django.http import HttpRequest, HttpResponse


def daily(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
