from django.urls import path

from strongbox.ops.dashboard import views

app_name = "ops"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("figures.json", views.figures, name="figures"),
]
