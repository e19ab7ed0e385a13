from django.urls import path

from strongbox.documents import views

app_name = "documents"
urlpatterns = [
    path("", views.document_list, name="list"),
    path("upload/", views.document_upload, name="upload"),
    path("suggest/", views.document_suggest, name="suggest"),
    path("<str:public_id>/", views.document_detail, name="detail"),
    path("<str:public_id>/edit/", views.document_edit, name="edit"),
    path("<str:public_id>/title/", views.document_title, name="title"),
    path("<str:public_id>/heading/", views.document_heading, name="heading"),
    path("<str:public_id>/delete/", views.document_delete, name="delete"),
    path("<str:public_id>/download/", views.document_download, name="download"),
    path("<str:public_id>/preview/thumb/", views.document_preview, name="thumbnail"),
    path("<str:public_id>/preview/<int:page>/", views.document_preview, name="preview_page"),
]
