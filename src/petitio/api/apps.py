from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "petitio.api"
    label = "api"
    verbose_name = "API and partners"
