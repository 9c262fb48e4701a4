from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "social_crm.webhooks"
    label = "webhooks"
    verbose_name = "Outgoing webhooks"
