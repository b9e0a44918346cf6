"""(being built)"""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path


def board(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


urlpatterns: list[URLPattern] = [path("health/", board, name="board")]
