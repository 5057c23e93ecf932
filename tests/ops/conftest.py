"""A production var/ directory (SQLite migrated, static files collected) made
once per run and copied for each test that runs the production site."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from tests.ops.support import ROOT, production_env, run_petitio
from tests.ops.wsgi import Site


@pytest.fixture(scope="session")
def prepared_var(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("prepared")
    env = production_env(home, DATABASE_URL=None)
    for step in (["migrate", "--no-input", "-v", "0"], ["collectstatic", "--no-input", "-v", "0"]):
        done = run_petitio(step, env, cwd=ROOT)
        assert done.returncode == 0, done.stderr
    return home / "var"


@pytest.fixture(scope="session")
def production_home(prepared_var, tmp_path_factory) -> Callable[[], Path]:
    """A new directory whose var/ holds a copy of the prepared one; pass it to
    ``production_env`` (with DATABASE_URL=None) to run the production site."""

    def make() -> Path:
        home = tmp_path_factory.mktemp("home")
        shutil.copytree(prepared_var, home / "var")
        return home

    return make


@pytest.fixture
def site(db, settings) -> Iterator[Site]:
    settings.PAGE_CACHE_SECONDS = 1
    # As Django's test client does: the requests share the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Site()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
