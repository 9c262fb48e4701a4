"""Under /t/<tenant_slug>/: every view is a TenantView."""

from django.urls import path

from . import views

urlpatterns = [
    path("customers/", views.CustomerListView.as_view(), name="customers"),
    path("customers/new/", views.CustomerEditView.as_view(), name="customer-new"),
    path("customers/import/", views.CustomerImportView.as_view(), name="customers-import"),
    path("customers/export/", views.CustomerExportView.as_view(), name="customers-export"),
    path("customers/<int:customer_id>/", views.CustomerDetailView.as_view(), name="customer-detail"),
    path("customers/<int:customer_id>/edit/", views.CustomerEditView.as_view(), name="customer-edit"),
    path("customers/<int:customer_id>/delete/", views.CustomerDeleteView.as_view(), name="customer-delete"),
    path("customers/<int:customer_id>/merge/", views.CustomerMergeView.as_view(), name="customer-merge"),
    path("customers/merges/<int:merge_id>/undo/", views.MergeUndoView.as_view(), name="customer-merge-undo"),
    path("customers/suggestions/<int:suggestion_id>/confirm/", views.SuggestionConfirmView.as_view(),
         name="suggestion-confirm"),
    path("customers/suggestions/<int:suggestion_id>/reject/", views.SuggestionRejectView.as_view(),
         name="suggestion-reject"),
    path("customers/identities/<int:identity_id>/unlink/", views.IdentityUnlinkView.as_view(), name="identity-unlink"),
    path("customers/<int:customer_id>/gdpr-export/", views.CustomerGdprExportView.as_view(),
         name="customer-gdpr-export"),
    path("customers/<int:customer_id>/gdpr-erase/", views.CustomerGdprEraseView.as_view(), name="customer-gdpr-erase"),
    path("privacy/", views.PrivacyView.as_view(), name="gdpr-privacy"),
    path("privacy/export/", views.HandleGdprExportView.as_view(), name="gdpr-handle-export"),
    path("privacy/erase/", views.HandleGdprEraseView.as_view(), name="gdpr-handle-erase"),
]
