from linli.epidemic.views import cases, gate, lists

app_name = "epidemic"
urlpatterns = lists.urlpatterns + cases.urlpatterns + gate.urlpatterns
