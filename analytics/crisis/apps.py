from django.apps import AppConfig


class CrisisConfig(AppConfig):
    name = "analytics.crisis"
    label = "crisis"
    verbose_name = "Crisis detection"
