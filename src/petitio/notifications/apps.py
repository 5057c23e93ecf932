from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "petitio.notifications"
