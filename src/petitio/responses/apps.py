from django.apps import AppConfig


class ResponsesConfig(AppConfig):
    name = "petitio.responses"

    def ready(self) -> None:
        from petitio.responses import emails  # noqa: F401  (registers email kinds)
