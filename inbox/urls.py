"""Under /t/<tenant_slug>/: every view is a TenantView."""

from django.urls import include, path

from . import views

urlpatterns: list = [
    path("inbox/", views.InboxView.as_view(), name="inbox"),
    path("inbox/bulk/", views.BulkView.as_view(), name="inbox-bulk"),
    path("inbox/views/", views.SavedViewCreateView.as_view(), name="inbox-view-new"),
    path("inbox/views/<int:view_id>/delete/", views.SavedViewDeleteView.as_view(), name="inbox-view-delete"),
    path("inbox/settings/", views.RelevanceSettingsView.as_view(), name="inbox-settings"),
    path("inbox/c/<int:conversation_id>/", views.ConversationView.as_view(), name="inbox-conversation"),
    path("inbox/c/<int:conversation_id>/update/", views.ConversationUpdateView.as_view(), name="inbox-conversation-update"),
    path("inbox/c/<int:conversation_id>/notes/", views.NoteCreateView.as_view(), name="inbox-note"),
    path("inbox/c/<int:conversation_id>/presence/", views.PresenceView.as_view(), name="inbox-presence"),
    path("", include("inbox.urls_routing")),
    path("", include("inbox.urls_replies")),
]
