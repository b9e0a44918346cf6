from linli.health.views import board, keysites, pharmacy, selfreport, visits

app_name = "health"
urlpatterns = (
    board.urlpatterns
    + selfreport.urlpatterns
    + visits.urlpatterns
    + keysites.urlpatterns
    + pharmacy.urlpatterns
)
