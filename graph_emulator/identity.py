"""The Microsoft identity platform endpoints msal needs for the client-credentials flow.

References: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
(token request, success and error shapes) and
https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc (discovery document).
Access tokens are JWTs signed with the emulator's secret; Graph calls check signature,
audience, expiry and the revocation generation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import parse_qs, unquote

from .errors import AadError, GraphError

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
BEARER = "Bearer"  # the OAuth token type of every token issued
# What the demo app holds after admin consent; `Identity.roles` is what this app holds now.
ROLES = ["Contacts.ReadWrite", "Calendars.ReadWrite", "User.Read.All"]
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'client_id="{GRAPH_APP_ID}"'
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Identity:
    """One tenant with one confidential client application."""

    def __init__(self, store, tenant: str, client_id: str, client_secret: str, lifetime: int) -> None:
        self.store = store
        self.tenant = tenant
        self.tenant_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{tenant}.onmicrosoft.com"))
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime = lifetime
        self.roles = list(ROLES)

    def knows_tenant(self, tenant: str) -> bool:
        """The tenant may be named by its name, its GUID or `{name}.onmicrosoft.com`."""
        return tenant.lower() in {
            self.tenant.lower(),
            self.tenant_id,
            f"{self.tenant.lower()}.onmicrosoft.com",
        }

    def discovery(self, base: str, tenant: str) -> dict:
        """The OpenID Connect discovery document of `tenant` (msal reads the endpoints)."""
        root = f"{base}/{tenant}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{self.tenant_id}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "ver"],
            "kerberos_endpoint": f"{root}/kerberos",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def unknown_tenant(self, tenant: str) -> AadError:
        """AADSTS90002, what Entra answers for a tenant it does not know."""
        return AadError(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
            "are signing into the correct cloud.",
        )

    def token(self, tenant: str, form_body: bytes, authorization: str | None) -> dict:
        """Handle POST /{tenant}/oauth2/v2.0/token; return the token response or raise AadError."""
        if not self.knows_tenant(tenant):
            raise self.unknown_tenant(tenant)
        form = _parse_form(form_body)
        basic_id, basic_secret = _basic_credentials(authorization)
        client_id = form.get("client_id") or basic_id
        secret = form.get("client_secret") or basic_secret
        _check_grant(form)
        self._check_client(client_id, secret, form)
        _check_scope(form.get("scope"))
        return {
            "token_type": BEARER,
            "expires_in": self.lifetime,
            "ext_expires_in": self.lifetime,
            "access_token": self._issue(client_id),
        }

    def _check_client(self, client_id: str | None, secret: str | None, form: dict) -> None:
        if not client_id:
            raise AadError(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
            )
        if client_id != self.client_id:
            raise AadError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant}'. This can happen if the application has not been installed by "
                "the administrator of the tenant or consented to by any user in the tenant.",
            )
        if not secret and not form.get("client_assertion"):
            raise AadError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        if not hmac.compare_digest((secret or "").encode(), self.client_secret.encode()):
            raise AadError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )

    def _issue(self, client_id: str) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "HS256", "kid": "emulator"}
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "app_displayname": "Prextra Sync",
            "appid": client_id,
            "idtyp": "app",
            "tid": self.tenant_id,
            "uti": uuid.uuid4().hex[:22],
            "ver": "1.0",
            "xms_gen": self.store.token_generation,
        }
        if self.roles:
            # Without admin consent Entra still issues the token, only without a `roles` claim
            # (O365/python-o365 issues 446 and 763; microsoft-graph-docs-contrib 6623).
            claims["roles"] = list(self.roles)
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        return f"{signing_input}.{self._signature(signing_input)}"

    def _signature(self, signing_input: str) -> str:
        key = self.store.secret.encode()
        return _b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())

    def check_bearer(self, authorization: str | None) -> dict:
        """Validate `Authorization: Bearer …` for Graph; 401 InvalidAuthenticationToken if bad."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("Access token is empty.")
        parts = token.strip().split(".")
        if len(parts) != 3:
            raise _unauthenticated("CompactToken parsing failed with error code: 80049217")
        try:
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, binascii.Error):
            raise _unauthenticated("CompactToken parsing failed with error code: 80049217") from None
        expected = self._signature(f"{parts[0]}.{parts[1]}")
        if not hmac.compare_digest(expected, parts[2]) or claims.get("aud") != GRAPH_RESOURCE:
            raise _unauthenticated("Access token validation failure. Invalid audience.")
        stale = claims.get("xms_gen") != self.store.token_generation
        if stale or claims.get("exp", 0) <= time.time():
            raise _unauthenticated("Access token has expired or is not yet valid.")
        return claims

    def revoke_all(self) -> None:
        """Revoke every token issued so far (a new generation)."""
        with self.store.lock:
            self.store.token_generation += 1
            self.store.bump()


def _unauthenticated(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": WWW_AUTHENTICATE})


def _parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise AadError(400, "invalid_request", 900144, "The request body is not valid form data.") from None
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(value).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None, None
    user, _, password = decoded.partition(":")
    return unquote(user), unquote(password)


def _check_grant(form: dict) -> None:
    grant = form.get("grant_type")
    if not grant:
        raise AadError(
            400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
        )
    if grant != "client_credentials":
        raise AadError(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'.")


def _check_scope(scope: str | None) -> None:
    if not scope:
        raise AadError(
            400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
        )
    scopes = scope.split()
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        raise AadError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must "
            "have a scope value with /.default suffixed to the resource identifier (application ID URI).",
        )
    resource = scopes[0][: -len("/.default")].rstrip("/")
    if resource not in (GRAPH_RESOURCE, GRAPH_APP_ID, "https://graph.microsoft.com/"):
        raise AadError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named emulator.",
        )
