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


# Where volunteers and enterprise contacts may go; everything else sends them to their own page.
OUTSIDE_PATHS = (
    "/v/",
    "/checkin/",
    # The public pages of mass testing: a household's own page and a site's queue screen.
    "/t/",
    "/q/",
    # Health monitoring's public pages: a building's self-report page, a key site's page, a pharmacy's form.
    "/r/",
    "/k/",
    "/p/",
    # Communications' public pages: the notice board and a notice's confirmation link, a resident's
    # question and an incident report (from the building's QR), a staff badge's check page; a volunteer's
    # own badge and incident report.
    "/notices/",
    "/n/",
    "/ask/",
    "/i/",
    "/b/",
    "/badge/",
    "/imports/",
    "/logout/",
    "/login/",
    "/i18n/",
    "/static/",
    "/notifications/",
    "/healthz",
)


# Pages residents open from a QR code or an SMS, without an account.
RESIDENT_PATHS = ("/r/", "/ask/", "/i/", "/n/", "/notices/", "/b/", "/k/", "/p/", "/t/", "/q/")


class ResidentNotFoundMiddleware:
    """A resident whose link does not work (mistyped, old, a bad scan) gets a page meant for them: what to do
    next, in their language, without the staff sign-in or any hint of what exists."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.http import Http404

        if not isinstance(exception, Http404) or not request.path.startswith(RESIDENT_PATHS):
            return None
        if request.path.startswith("/i/new/"):
            return None  # a signed-in volunteer's page
        from django.shortcuts import render

        response = render(request, "resident_not_found.html", status=404)
        response["X-Robots-Tag"] = "noindex"
        return response


class OutsideRolesMiddleware:
    """Staff pages are for staff. A volunteer or an enterprise contact who opens one (an old link, a
    guessed URL) lands on their own page instead of an empty staff list."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "is_outside", False)
            and not request.path.startswith(OUTSIDE_PATHS)
        ):
            from django.shortcuts import redirect

            return redirect("volunteers:me")
        return self.get_response(request)
