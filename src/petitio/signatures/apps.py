from django.apps import AppConfig


class SignaturesConfig(AppConfig):
    name = "petitio.signatures"

    def ready(self) -> None:
        from petitio.signatures import emails  # noqa: F401  (registers email kinds)
