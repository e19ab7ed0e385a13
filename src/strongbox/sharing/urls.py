from django.urls import path

from strongbox.sharing import views

app_name = "sharing"
urlpatterns = [
    path("documents/<str:public_id>/sharing/", views.sharing_page, name="page"),
    path("documents/<str:public_id>/sharing/<int:share_id>/", views.share_permission, name="permission"),
    path("documents/<str:public_id>/sharing/<int:share_id>/revoke/", views.share_revoke, name="revoke"),
    path("documents/<str:public_id>/links/", views.link_create, name="link_create"),
    path("documents/<str:public_id>/links/<int:link_id>/revoke/", views.link_revoke, name="link_revoke"),
    # The public page of a share link: no account needed, nothing of the owner's account shown.
    path("s/<str:token>/", views.link_page, name="link"),
    path("s/<str:token>/download/", views.link_download, name="link_download"),
    path("s/<str:token>/preview/", views.link_preview, name="link_preview"),
]
