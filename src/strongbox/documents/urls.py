from django.urls import path

from strongbox.documents import organize_views, views

app_name = "documents"
urlpatterns = [
    path("", views.document_list, name="list"),
    path("upload/", views.document_upload, name="upload"),
    path("suggest/", views.document_suggest, name="suggest"),
    # Saved views, notes and the user's own categories (organize_views.py).
    path("views/", organize_views.saved_view_list, name="saved_views"),
    path("views/<int:view_id>/rename/", organize_views.saved_view_rename, name="saved_view_rename"),
    path("views/<int:view_id>/delete/", organize_views.saved_view_delete, name="saved_view_delete"),
    path("categories/", organize_views.category_list, name="categories"),
    path("categories/<str:slug>/rename/", organize_views.category_rename, name="category_rename"),
    path("categories/<str:slug>/delete/", organize_views.category_delete, name="category_delete"),
    path("<str:public_id>/", views.document_detail, name="detail"),
    path("<str:public_id>/edit/", views.document_edit, name="edit"),
    path("<str:public_id>/title/", views.document_title, name="title"),
    path("<str:public_id>/heading/", views.document_heading, name="heading"),
    path("<str:public_id>/delete/", views.document_delete, name="delete"),
    path("<str:public_id>/download/", views.document_download, name="download"),
    path("<str:public_id>/notes/", organize_views.note_add, name="note_add"),
    path("<str:public_id>/notes/<int:note_id>/delete/", organize_views.note_delete, name="note_delete"),
]
