"""Under /t/<tenant_slug>/: every view is a TenantView."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("mentions/", views.MentionListView.as_view(), name="mentions"),
    path("listening/queries/", views.QueryListView.as_view(), name="listening-queries"),
    path("listening/queries/new/", views.QueryEditView.as_view(), name="listening-query-new"),
    path("listening/queries/<int:query_id>/", views.QueryEditView.as_view(), name="listening-query-edit"),
    path("listening/queries/<int:query_id>/delete/", views.QueryDeleteView.as_view(), name="listening-query-delete"),
    path("listening/channels/", views.ChannelHealthView.as_view(), name="channel-health"),
    path("listening/channels/new/", views.AccountEditView.as_view(), name="account-new"),
    path("listening/channels/<int:account_id>/", views.AccountEditView.as_view(), name="account-edit"),
    path("listening/channels/<int:account_id>/delete/", views.AccountDeleteView.as_view(), name="account-delete"),
    path("listening/channels/<int:account_id>/poll/", views.AccountPollView.as_view(), name="account-poll"),
    path("listening/quarantine/", views.QuarantineListView.as_view(), name="quarantine"),
    path("listening/quarantine/<int:item_id>/replay/", views.QuarantineReplayView.as_view(), name="quarantine-replay"),
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
    path("", include("listening.urls_topics")),
    path("", include("listening.urls_models")),
]
