"""Google Cloud helpers without an SDK: the metadata server, Secret Manager and ID tokens.

Used by the container entrypoint (``scripts/entrypoint.py``) and available to the bot's
model-service client. Everything goes through the instance's metadata server, which
Cloud Run, App Engine flexible, GKE and Compute Engine all provide, so no key file is
ever needed.

* **Secret references.** App Engine flexible cannot inject Secret Manager secrets as
  environment variables (Cloud Run can, with ``--set-secrets``). So an environment
  variable may hold a reference instead of a value: ``sm://SECRET`` (latest version,
  in this project), ``sm://SECRET/VERSION`` or
  ``sm://projects/PROJECT/secrets/SECRET/versions/VERSION``. The entrypoint replaces
  each reference with the secret's value before it starts the role, using the
  runtime service account (which needs ``roles/secretmanager.secretAccessor`` on
  those secrets only). Values are never logged.
* **ID tokens.** A Cloud Run service deployed with ``--no-allow-unauthenticated``
  accepts a request only with a Google-signed ID token of an identity that has
  ``roles/run.invoker`` on it. :class:`IdTokenAuth` adds one to httpx requests, in
  ``X-Serverless-Authorization`` so that ``Authorization`` stays free for
  ``MODEL_SERVICE_TOKEN`` (Cloud Run checks and strips the former and passes the
  latter to the container).
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Iterator, Mapping

import httpx

SECRET_PREFIX = "sm://"
DEFAULT_METADATA_HOST = "metadata.google.internal"
DEFAULT_SECRET_MANAGER_API = "https://secretmanager.googleapis.com"
_FULL_NAME = re.compile(r"^projects/[^/]+/secrets/[A-Za-z0-9_-]+(/versions/[A-Za-z0-9_-]+)?$")
_SHORT_NAME = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)?$")


class GcpError(RuntimeError):
    """A metadata-server or Secret Manager call failed; the message says what to check."""


def _metadata_base(environ: Mapping[str, str]) -> str:
    # GCE_METADATA_HOST is the variable google-auth honours too (tests point it at a fake).
    return f"http://{environ.get('GCE_METADATA_HOST') or DEFAULT_METADATA_HOST}/computeMetadata/v1/"


def metadata(path: str, params: Mapping[str, str] | None = None, timeout: float = 5.0,
             environ: Mapping[str, str] | None = None) -> str:
    """GET one value from the metadata server (``path`` like ``project/project-id``)."""
    environ = os.environ if environ is None else environ
    url = _metadata_base(environ) + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        raise GcpError(f"metadata server unreachable for {path} ({exc}); outside Google Cloud, "
                       "set the variable's value directly instead of an sm:// reference") from exc


def access_token(environ: Mapping[str, str] | None = None) -> str:
    """An OAuth access token of the runtime service account."""
    return json.loads(metadata("instance/service-accounts/default/token", environ=environ))[
        "access_token"]


def project_id(environ: Mapping[str, str] | None = None) -> str:
    """``GOOGLE_CLOUD_PROJECT`` if set, else the project the instance runs in."""
    environ = os.environ if environ is None else environ
    return environ.get("GOOGLE_CLOUD_PROJECT") or metadata("project/project-id", environ=environ)


def secret_version_name(reference: str, project: Callable[[], str]) -> str:
    """The full version name of an ``sm://`` reference (``project`` is called only if needed)."""
    ref = reference[len(SECRET_PREFIX):] if reference.startswith(SECRET_PREFIX) else reference
    ref = ref.strip("/")
    if _FULL_NAME.match(ref):
        return ref if "/versions/" in ref else f"{ref}/versions/latest"
    if _SHORT_NAME.match(ref):
        secret, _, version = ref.partition("/")
        return f"projects/{project()}/secrets/{secret}/versions/{version or 'latest'}"
    raise GcpError(f"{reference!r} is not a secret reference: use sm://SECRET, sm://SECRET/VERSION "
                   "or sm://projects/PROJECT/secrets/SECRET/versions/VERSION")


def access_secret(version_name: str, token: str, timeout: float = 10.0,
                  environ: Mapping[str, str] | None = None) -> str:
    """The payload of one secret version, through Secret Manager's REST API."""
    environ = os.environ if environ is None else environ
    api = (environ.get("SECRET_MANAGER_API") or DEFAULT_SECRET_MANAGER_API).rstrip("/")
    request = urllib.request.Request(f"{api}/v1/{version_name}:access",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())["payload"]["data"]
    except urllib.error.HTTPError as exc:
        hint = {403: "grant the runtime service account roles/secretmanager.secretAccessor on it",
                404: "create it (gcloud secrets create ...) and add a version"}.get(exc.code, "")
        raise GcpError(f"Secret Manager answered HTTP {exc.code} for {version_name}"
                       + (f": {hint}" if hint else "")) from exc
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        raise GcpError(f"could not read {version_name} from Secret Manager ({exc.__class__.__name__})"
                       ) from exc
    return base64.b64decode(payload).decode("utf-8").strip()


def resolve_secret_refs(environ: Mapping[str, str]) -> dict[str, str]:
    """Values for every variable of ``environ`` that holds an ``sm://`` reference.

    Returns ``{variable: secret value}`` (empty, with no network call, when there are no
    references). Raises :class:`GcpError` naming each variable that could not be
    resolved and why; secret values never appear in messages.
    """
    refs = {name: value.strip() for name, value in environ.items()
            if value.strip().startswith(SECRET_PREFIX)}
    if not refs:
        return {}
    cache: dict[str, str] = {}

    def project() -> str:
        if "project" not in cache:
            cache["project"] = project_id(environ)
        return cache["project"]

    token = access_token(environ)
    resolved, problems = {}, []
    for name, ref in sorted(refs.items()):
        try:
            resolved[name] = access_secret(secret_version_name(ref, project), token, environ=environ)
        except GcpError as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise GcpError("could not resolve secret references:\n" + "\n".join(f"  - {p}" for p in problems))
    return resolved


def _jwt_expiry(token: str) -> float:
    """The ``exp`` claim of a JWT (not verified: the receiver verifies it)."""
    try:
        body = token.split(".")[1]
        return float(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["exp"])
    except (IndexError, KeyError, ValueError, TypeError):
        return time.time() + 300.0  # unknown: reuse it for five minutes


class IdTokenAuth(httpx.Auth):
    """httpx auth that adds a Google-signed ID token for ``audience`` (a Cloud Run URL).

    Tokens come from the metadata server and are reused until five minutes before they
    expire (they live one hour). Use it as ``httpx.Client(auth=IdTokenAuth(url))``.
    """

    def __init__(self, audience: str, header: str = "X-Serverless-Authorization",
                 environ: Mapping[str, str] | None = None):
        self.audience = audience.rstrip("/")
        self.header = header
        self._environ = environ
        self._lock = threading.Lock()
        self._token = ""
        self._expires = 0.0

    def token(self) -> str:
        """A valid ID token, fetched again when the cached one is about to expire."""
        with self._lock:
            if time.time() > self._expires - 300.0:
                self._token = metadata("instance/service-accounts/default/identity",
                                       {"audience": self.audience, "format": "full"},
                                       environ=self._environ).strip()
                self._expires = _jwt_expiry(self._token)
            return self._token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        try:
            token = self.token()
        except GcpError as exc:  # to callers, like any failure to reach the service: retried, reported
            raise httpx.ConnectError(f"no ID token for {self.audience}: {exc}", request=request) from exc
        request.headers[self.header] = f"Bearer {token}"
        yield request
