from django.urls import URLPattern, path

from linli.reports import views

app_name = "reports"
urlpatterns: list[URLPattern] = [path("reports/daily/", views.daily, name="daily")]
