from django.urls import path

from linli.api import docs, views

app_name = "apiadmin"
urlpatterns = [
    path("api-tokens/", views.token_list, name="tokens"),
    path("api-tokens/new/", views.token_new, name="new"),
    path("api-tokens/<int:pk>/revoke/", views.token_revoke, name="revoke"),
    # Swagger UI's own files for /api/v1/docs, served here: no CDN on a closed network.
    path("api/v1/docs/assets/<str:name>", docs.docs_asset, name="docs_asset"),
]
