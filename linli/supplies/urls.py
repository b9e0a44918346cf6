from django.urls import path

from linli.supplies import views

app_name = "supplies"
urlpatterns = [
    path("supplies/", views.board, name="board"),
    path("supplies/export.xlsx", views.export_community, name="export"),
    path("supplies/points/", views.points, name="points"),
    path("supplies/points/<int:pk>/", views.point_detail, name="point"),
    path("supplies/points/<int:pk>/edit/", views.point_edit, name="point_edit"),
    path("supplies/points/<int:pk>/stock.xlsx", views.export_stock, name="point_export"),
    path("supplies/points/<int:pk>/card/", views.stock_card, name="card"),
    path("supplies/points/<int:pk>/stocktake/", views.stocktake_open, name="stocktake_open"),
    path("supplies/points/<int:pk>/<slug:kind>/", views.move, name="move"),
    path("supplies/lots/<int:pk>/adjust/", views.lot_adjust, name="adjust"),
    path("supplies/stocktakes/<int:pk>/", views.stocktake, name="stocktake"),
    path("supplies/rotation/", views.rotation, name="rotation"),
    path("supplies/ledger/", views.ledger, name="ledger"),
    path("supplies/requests/", views.requests, name="requests"),
    path("supplies/requests/<int:pk>/<slug:action>/", views.request_act, name="request_act"),
    path("supplies/responses/<int:response_pk>/request/", views.request_new, name="request_new"),
    path("supplies/targets/", views.targets, name="targets"),
    path("supplies/agreements/", views.agreements, name="agreements"),
    path("supplies/import/", views.import_opening, name="import"),
]
