from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from linli.core.request_context import origin, origin_from_request


class RequestContextMiddleware:
    """Records where each request comes from, for the audit log; API calls mark themselves "api"."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        via = "api" if request.path.startswith("/api/") else "web"
        with origin(origin_from_request(request, via=via)):
            return self.get_response(request)
