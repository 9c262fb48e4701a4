from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "social_crm.customers"
    label = "customers"
    verbose_name = "Customers"
