"""Reply routes under /t/<tenant_slug>/inbox/ (included by inbox/urls.py)."""

from django.urls import path

from . import views_replies as views

urlpatterns = [
    path("inbox/c/<int:conversation_id>/reply/", views.ReplyCreateView.as_view(), name="inbox-reply"),
    path("inbox/replies/<int:message_id>/approve/", views.ReplyApproveView.as_view(), name="inbox-reply-approve"),
    path("inbox/replies/<int:message_id>/reject/", views.ReplyRejectView.as_view(), name="inbox-reply-reject"),
    path("inbox/replies/<int:message_id>/retry/", views.ReplyRetryView.as_view(), name="inbox-reply-retry"),
    path("inbox/approvals/", views.ApprovalsView.as_view(), name="inbox-approvals"),
    path("inbox/canned/", views.CannedListView.as_view(), name="inbox-canned"),
    path("inbox/canned/new/", views.CannedEditView.as_view(), name="inbox-canned-new"),
    path("inbox/canned/<int:answer_id>/", views.CannedEditView.as_view(), name="inbox-canned-edit"),
    path("inbox/canned/<int:answer_id>/delete/", views.CannedDeleteView.as_view(), name="inbox-canned-delete"),
]
