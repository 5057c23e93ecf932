from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    name = "petitio.petitions"

    def ready(self) -> None:
        from petitio.petitions import emails  # noqa: F401  (registers email kinds)
