from django.urls import path

from strongbox.documents import notification_views as views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("badge/", views.notification_badge, name="badge"),
    path("read/", views.notification_mark_read, name="mark_read"),
]
