from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from linli.api.api import api
from linli.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("login/", core_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", core_views.audit_log, name="audit"),
    path("healthz", core_views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", core_views.favicon),
    # First among the apps: a whole community's residents post their morning reports to /r/…, and every
    # pattern tried before it costs each of those requests (all apps are mounted at the root).
    path("", include("linli.health.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("linli.registry.urls")),
    path("", include("linli.tasks.urls")),
    path("", include("linli.comms.urls")),
    path("", include("linli.plans.urls")),
    path("", include("linli.response.urls")),
    path("", include("linli.supplies.urls")),
    path("", include("linli.volunteers.urls")),
    path("", include("linli.epidemic.urls")),
    path("", include("linli.screening.urls")),
    path("", include("linli.reports.urls")),
    path("", include("linli.api.urls")),
]
