"""Under /t/<tenant_slug>/: routing rules, department alerts, SLA policies. Every view is a TenantView."""

from django.urls import path

from . import views_routing as views

urlpatterns: list = [
    path("inbox/routing/", views.RoutingRuleListView.as_view(), name="routing-rules"),
    path("inbox/routing/new/", views.RoutingRuleEditView.as_view(), name="routing-rule-new"),
    path("inbox/routing/<int:rule_id>/", views.RoutingRuleEditView.as_view(), name="routing-rule-edit"),
    path("inbox/routing/<int:rule_id>/delete/", views.RoutingRuleDeleteView.as_view(), name="routing-rule-delete"),
    path("inbox/routing/<int:rule_id>/move/", views.RoutingRuleMoveView.as_view(), name="routing-rule-move"),
    path("inbox/alerts/", views.AlertListView.as_view(), name="alerts"),
    path("inbox/alerts/<int:alert_id>/acknowledge/", views.AlertActView.as_view(op="acknowledge"),
         name="alert-acknowledge"),
    path("inbox/alerts/<int:alert_id>/comment/", views.AlertActView.as_view(op="comment"), name="alert-comment"),
    path("inbox/alerts/<int:alert_id>/hand-back/", views.AlertActView.as_view(op="hand-back"), name="alert-hand-back"),
    path("inbox/alerts/<int:alert_id>/escalate/", views.AlertActView.as_view(op="escalate"), name="alert-escalate"),
    path("inbox/alerts/<int:alert_id>/resolve/", views.AlertActView.as_view(op="resolve"), name="alert-resolve"),
    path("inbox/sla/", views.SlaPolicyListView.as_view(), name="sla-policies"),
    path("inbox/sla/escalation-delay/", views.EscalationDelayView.as_view(), name="alert-escalation-delay"),
    path("inbox/sla/new/", views.SlaPolicyEditView.as_view(), name="sla-policy-new"),
    path("inbox/sla/<int:policy_id>/", views.SlaPolicyEditView.as_view(), name="sla-policy-edit"),
    path("inbox/sla/<int:policy_id>/delete/", views.SlaPolicyDeleteView.as_view(), name="sla-policy-delete"),
]
