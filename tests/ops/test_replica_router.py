"""Reads from a replica (issue 5, section 2): GET and HEAD requests may read
from the "replica" alias when one is configured; everything else, and every
write, uses the primary."""

from __future__ import annotations

import copy

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.urls import reverse

from petitio.config.routers import ReadOnlyRequestsUseReplica, ReplicaRouter, reads_from_replica
from petitio.petitions.models import Petition
from petitio.signatures.models import Signature
from tests.factories import open_petition
from tests.ops.support import ROOT, production_env, python_json

pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


def with_replica() -> dict:
    databases = copy.deepcopy(settings.DATABASES)
    databases["replica"] = {**copy.deepcopy(databases["default"]), "TEST": {"MIRROR": "default"}}
    return databases


@pytest.fixture
def replica_reads():
    """Set the flag as the middleware would; reset it afterwards."""
    tokens = []
    yield lambda value: tokens.append(reads_from_replica.set(value))
    for token in reversed(tokens):
        reads_from_replica.reset(token)


def test_reads_of_a_read_only_request_go_to_the_replica(replica_reads):
    router = ReplicaRouter()
    replica_reads(True)
    with override_settings(DATABASES=with_replica()):
        assert router.db_for_read(Petition) == "replica"
        assert router.db_for_read(Signature) == "replica"


def test_reads_of_a_post_use_the_primary(replica_reads):
    router = ReplicaRouter()
    replica_reads(False)
    with override_settings(DATABASES=with_replica()):
        assert router.db_for_read(Petition) is None


def test_reads_outside_requests_use_the_primary():
    """Jobs and commands never set the flag: its default is the primary."""
    assert reads_from_replica.get() is False
    with override_settings(DATABASES=with_replica()):
        assert ReplicaRouter().db_for_read(Petition) is None


def test_without_a_replica_reads_use_the_primary(replica_reads):
    assert "replica" not in settings.DATABASES
    replica_reads(True)
    assert ReplicaRouter().db_for_read(Petition) is None


@pytest.mark.parametrize("read_only", [True, False])
def test_writes_always_go_to_the_primary(replica_reads, read_only):
    router = ReplicaRouter()
    replica_reads(read_only)
    with override_settings(DATABASES=with_replica()):
        assert router.db_for_write(Petition) == "default"
        assert router.db_for_write(Signature) == "default"


def test_only_the_primary_is_migrated():
    router = ReplicaRouter()
    assert router.allow_migrate("default", "petitions") is True
    assert router.allow_migrate("replica", "petitions") is False


REPLICA_SETTINGS = """
from django.conf import settings
print(json.dumps({alias: {"ENGINE": db["ENGINE"], "NAME": db["NAME"], "HOST": db["HOST"],
                          "TEST": db.get("TEST", {})} for alias, db in settings.DATABASES.items()}
                 | {"routers": settings.DATABASE_ROUTERS}))
"""


def test_a_replica_url_adds_a_replica_alias_that_mirrors_the_primary_in_tests(tmp_path):
    env = production_env(
        tmp_path,
        DATABASE_URL="postgresql://petitio@primary.example:5432/petitio",
        DATABASE_REPLICA_URL="postgresql://petitio@replica.example:5432/petitio",
    )
    databases = python_json(REPLICA_SETTINGS, env, cwd=ROOT)
    assert databases["default"]["HOST"] == "primary.example"
    assert databases["replica"]["HOST"] == "replica.example"
    assert databases["replica"]["ENGINE"] == "django.db.backends.postgresql"
    assert databases["replica"]["TEST"]["MIRROR"] == "default"
    assert databases["routers"] == ["petitio.config.routers.ReplicaRouter"]


def test_without_a_replica_url_there_is_only_the_primary(tmp_path):
    env = production_env(tmp_path, DATABASE_URL=None, DATABASE_REPLICA_URL=None)
    assert set(python_json(REPLICA_SETTINGS, env, cwd=ROOT)) == {"default", "routers"}


def seen_by_the_view(method: str) -> list[bool]:
    seen: list[bool] = []

    def view(request):
        seen.append(reads_from_replica.get())
        return "response"

    request = getattr(RequestFactory(), method)("/petitions/")
    assert ReadOnlyRequestsUseReplica(view)(request) == "response"
    return seen


@pytest.mark.parametrize(
    ("method", "read_only"),
    [("get", True), ("head", True), ("post", False), ("put", False), ("delete", False)],
)
def test_the_middleware_marks_only_get_and_head_as_read_only(method, read_only):
    assert seen_by_the_view(method) == [read_only]
    assert reads_from_replica.get() is False, "the flag must not outlive the request"


def test_the_middleware_resets_the_flag_when_the_view_raises():
    def view(request):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ReadOnlyRequestsUseReplica(view)(RequestFactory().get("/"))
    assert reads_from_replica.get() is False


@pytest.mark.django_db
def test_the_site_routes_page_reads_and_form_posts(client, council, monkeypatch):
    """Through the whole middleware stack: the reads of a page are marked
    read-only, the reads of a signature POST are not."""
    petition = open_petition(council)
    routed: list[tuple[str, bool]] = []
    original = ReplicaRouter.db_for_read

    def spy(self, model, **hints):
        routed.append((model._meta.label, reads_from_replica.get()))
        return original(self, model, **hints)

    monkeypatch.setattr(ReplicaRouter, "db_for_read", spy)
    assert client.get(reverse("petition-detail", args=[petition.pk])).status_code == 200
    page_reads = list(routed)
    routed.clear()
    signed = client.post(
        reverse("petition-sign", args=[petition.pk]),
        {
            "name": "Ann Lee",
            "email": "ann.router@example.org",
            "postal_code": "53703",
            "country": "US",
        },
    )
    assert signed.status_code == 302
    post_reads = list(routed)

    assert page_reads, "the page read nothing through the router"
    assert all(read_only for _, read_only in page_reads)
    assert post_reads, "the POST read nothing through the router"
    assert not any(read_only for _, read_only in post_reads)
