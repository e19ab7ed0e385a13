from django.urls import path

from strongbox.documents import bulk_views, organize_views, trash_views, views

app_name = "documents"
urlpatterns = [
    path("", views.document_list, name="list"),
    path("upload/", views.document_upload, name="upload"),
    path("suggest/", views.document_suggest, name="suggest"),
    path("trash/", trash_views.trash_list, name="trash"),
    path("trash/empty/", trash_views.trash_empty, name="trash_empty"),
    path("trash/<str:public_id>/restore/", trash_views.trash_restore, name="trash_restore"),
    path("trash/<str:public_id>/purge/", trash_views.trash_purge, name="trash_purge"),
    # Saved views, notes and the user's own categories (organize_views.py).
    path("views/", organize_views.saved_view_list, name="saved_views"),
    path("views/<int:view_id>/rename/", organize_views.saved_view_rename, name="saved_view_rename"),
    path("views/<int:view_id>/delete/", organize_views.saved_view_delete, name="saved_view_delete"),
    path("categories/", organize_views.category_list, name="categories"),
    path("categories/<str:slug>/rename/", organize_views.category_rename, name="category_rename"),
    path("categories/<str:slug>/delete/", organize_views.category_delete, name="category_delete"),
    path("upload/file/", bulk_views.document_upload_file, name="upload_file"),
    path("bulk/", bulk_views.document_bulk, name="bulk"),
    path("<str:public_id>/", views.document_detail, name="detail"),
    path("<str:public_id>/edit/", views.document_edit, name="edit"),
    path("<str:public_id>/title/", views.document_title, name="title"),
    path("<str:public_id>/heading/", views.document_heading, name="heading"),
    path("<str:public_id>/delete/", views.document_delete, name="delete"),
    path("<str:public_id>/download/", views.document_download, name="download"),
    path("<str:public_id>/versions/", trash_views.version_upload, name="version_upload"),
    path("<str:public_id>/versions/<int:number>/download/", trash_views.version_download, name="version_download"),
    path("<str:public_id>/versions/<int:number>/restore/", trash_views.version_restore, name="version_restore"),
    path("<str:public_id>/notes/", organize_views.note_add, name="note_add"),
    path("<str:public_id>/notes/<int:note_id>/delete/", organize_views.note_delete, name="note_delete"),
    path("<str:public_id>/text-status/", views.document_text_status, name="text_status"),
    path("<str:public_id>/preview/thumb/", views.document_preview, name="thumbnail"),
    path("<str:public_id>/preview/<int:page>/", views.document_preview, name="preview_page"),
]
