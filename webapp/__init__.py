"""The tracker's web app: the JSON API and the pages, as blueprints of one Flask app.

The app calls the engine's public API only; it is started by ``lineage serve``. Configuration
comes from defaults, then ``LINEAGE_*`` environment variables (``LINEAGE_DATABASE_URL``,
``LINEAGE_API_TOKEN``, ``LINEAGE_MAX_CONTENT_LENGTH``, ``LINEAGE_ALLOWED_HOSTS``), then the
mapping given to :func:`create_app`. Every response carries the security headers, and every
request passes the checks of :mod:`webapp.security`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import api, errors, pages, security
from .tracker import Tracker

TEXT_SETTINGS = ("DATABASE_URL", "API_TOKEN", "SECRET_KEY", "ALLOWED_HOSTS")
"""Settings kept as the exact text of their ``LINEAGE_*`` variable (never read as JSON)."""


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``LINEAGE_*`` variables, then ``test_config``.

    Settings:
        DATABASE_URL: the store (default ``$LINEAGE_DATABASE_URL``, else ``lineage.db`` here).
        API_TOKEN: when set, write endpoints need ``Authorization: Bearer <token>``.
        MAX_CONTENT_LENGTH: the largest request body in bytes, also after gzip (16 MiB).
        ALLOWED_HOSTS: the ``Host`` names answered besides ``localhost``, ``127.0.0.1``,
            ``::1`` and ``SERVED_HOST`` (a list, or names separated by commas; ``*``: any).
        SERVED_HOST: the host ``lineage serve`` listens on (set by the command).
        JUDGE_IN_BACKGROUND: judge the events a POST committed in a thread of the process,
            not in the request's thread after its answer (set by ``lineage serve``: the
            request's thread, and so its keep-alive connection, serves on at once); off, the
            judgement runs before the request's thread serves again (what tests read).
        JUDGE_IN_A_PROCESS: make the app's judgements in a child process that opened the
            same store (:mod:`lineage.findings.process`), off the interpreter that answers
            requests (set by ``lineage serve``); not for an in-memory SQLite store.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE_URL=None,
        API_TOKEN=None,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        ALLOWED_HOSTS=None,
        SERVED_HOST=None,
        JUDGE_IN_BACKGROUND=False,
        JUDGE_IN_A_PROCESS=False,
    )
    app.config.from_prefixed_env("LINEAGE")
    for key in TEXT_SETTINGS:
        # from_prefixed_env reads values as JSON: a token like 0123 or 1e5 must stay text.
        raw = os.environ.get(f"LINEAGE_{key}")
        if raw is not None:
            app.config[key] = raw
    if test_config is not None:
        app.config.from_mapping(test_config)

    app.extensions["lineage"] = Tracker(
        app.config["DATABASE_URL"], judge_apart=bool(app.config["JUDGE_IN_A_PROCESS"])
    )

    security.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.beta)
    pages.register(app)
    errors.register(app)
    return app


__all__ = ["create_app"]
