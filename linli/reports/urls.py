from django.urls import URLPattern, path

from linli.reports import views

app_name = "reports"
urlpatterns: list[URLPattern] = [
    path("reports/daily/", views.daily, name="daily"),
    path("reports/daily.xlsx", views.daily_xlsx, name="daily_xlsx"),
    path("reports/daily.pdf", views.daily_pdf, name="daily_pdf"),
]
