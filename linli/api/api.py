"""The JSON API: one router per app, assembled here. OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from linli.api.audit import audit_calls
from linli.api.auth import TokenAuth
from linli.api.docs import DESCRIPTION, TAGS, LocalSwagger, webhooks_section
from linli.comms.api import router as comms_router
from linli.comms.api import webhooks_router
from linli.epidemic.api import router as epidemic_router
from linli.health.api import router as health_router
from linli.plans.api import router as plans_router
from linli.registry.api import router as registry_router
from linli.reports.api import router as reports_router
from linli.response.api import router as response_router
from linli.screening.api import router as screening_router
from linli.supplies.api import router as supplies_router
from linli.tasks.api import router as tasks_router
from linli.volunteers.api import router as volunteers_router

api = NinjaAPI(
    title="Linli API",
    version="1",
    description=DESCRIPTION,
    auth=[TokenAuth(), django_auth],
    urls_namespace="api",
    docs=LocalSwagger(),
    openapi_extra={"webhooks": webhooks_section(), "tags": TAGS},
)
# Every call in the audit log, the refused ones (401) included: "view" mode wraps authentication too.
api.add_decorator(audit_calls, mode="view")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "forbidden"}, status=403)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "not found"}, status=404)


api.add_router("/registry", registry_router)
api.add_router("/plans", plans_router)
api.add_router("/responses", response_router)
api.add_router("/tasks", tasks_router)
api.add_router("/supplies", supplies_router)
api.add_router("/volunteers", volunteers_router)
api.add_router("/epidemic", epidemic_router)
api.add_router("/screening", screening_router)
api.add_router("/health", health_router)
api.add_router("/reports", reports_router)
api.add_router("/comms", comms_router)
api.add_router("/webhooks", webhooks_router)
