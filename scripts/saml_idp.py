#!/usr/bin/env python3
"""The real SAML 2.0 identity provider (IdP) of Rampart's single sign-on tests.

A tiny IdP built on PyPI pysaml2 (an implementation independent of Rampart's own SAML code),
serving HTTPS (--tls-cert, --tls-key) on 127.0.0.1, at https://localhost:PORT (a free port,
printed). Rampart is the service provider (SP); its metadata is read from --sp-metadata at the
first request, so the test can start the IdP, give its metadata to Rampart, and then write
Rampart's SP metadata there, as an administrator would. Responses are signed with RSA-SHA256 /
SHA-256 digests (RSA-SHA1 with --sha1, for the test that refuses it), exclusive c14n, and never
encrypted.

  GET  /sso/redirect?SAMLRequest=..&RelayState=..  HTTP-Redirect binding AuthnRequest (unsigned
        is fine). With a known `idp_session` cookie and no ForceAuthn="true": the auto-post form
        at once (AuthnInstant = the earlier login, a "remembered sign-in"). Otherwise a login page:
        <form method="post" action="/login"> with hidden `key` and text input `username`.
  POST /login  (form: key, username, optionally authenticated_seconds_ago)  unknown user ->
        403; else sets the `idp_session` cookie and answers the auto-post form.
  GET  /idp-initiated?username=ana&relay_state=/x  an unsolicited response (no InResponseTo) for
        the SP of the SP metadata, to its default ACS.
  GET  /slo/redirect?SAMLRequest=..&RelayState=..  single logout: an HTTP-Redirect LogoutRequest
        (unsigned is fine; a Destination must be this URL) from the SP of the SP metadata, whose
        NameID is one this IdP issues and whose SessionIndexes, if any, were issued in responses
        for that user. Ends every `idp_session` of the user (the next sign-in shows the login
        page), records the logout, and answers 303 to the SP's HTTP-Redirect SingleLogoutService
        with an unsigned LogoutResponse (Success; SAMLResponse, and RelayState when a non-empty
        one was sent). Bad request -> 400; an SP without that service -> 400.
  GET  /logged-out  the usernames logged out so far at the SP's request, a JSON list (["ana"]).
  GET  /idp-logout?username=ana&relay_state=xyz  IdP-initiated single logout: ends every
        `idp_session` of the user and answers 303 to the SP's HTTP-Redirect SingleLogoutService
        with a LogoutRequest (the user's persistent NameID, every SessionIndex ever issued to the
        user, NotOnOrAfter in 5 minutes) signed by the query-string signature (SAMLRequest,
        RelayState when a non-empty relay_state was given, SigAlg, Signature; no XML signature
        inside). Unknown user -> 403; an SP without that service -> 400.
  GET  /slo/redirect?SAMLResponse=..&RelayState=..  the SP's LogoutResponse (unsigned is fine;
        a Destination must be this URL) to a request of /idp-logout, each answered once: records
        it and answers 200 "logged out". Bad response -> 400.
  GET  /sp-logout-responses  those responses so far, a JSON list of {"in_response_to", "status"}
        (the top-level StatusCode, e.g. urn:oasis:names:tc:SAML:2.0:status:Success).

The auto-post form: <form method="post" action="ACS"><input type="hidden" name="SAMLResponse"
value=".."/><input type="hidden" name="RelayState" value=".."/></form> (RelayState only when one
was sent). Attribute names are emitted literally as in --users (NameFormat basic); the NameID is
persistent, "p-" + the first 16 hex digits of sha256(username). The SessionIndex of the
AuthnStatement is pysaml2's own (random; its API takes none), read back from each response made.

Writes the IdP metadata (SingleSignOnService and SingleLogoutService, both HTTP-Redirect) to
--metadata-out, then prints `READY <port>` on stdout; logs go to stderr.
"""

import argparse
import hashlib
import html
import json
import secrets
import ssl
import sys
import threading
import time
from base64 import b64encode
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, md, saml, samlp
from saml2 import xmldsig as ds
from saml2.attribute_converter import AttributeConverter
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor, metadata_tostring_fix
from saml2.s_utils import UnsupportedBinding, decode_base64_and_inflate, do_ava, factory
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_PERSISTENT
from saml2.server import Server
from saml2.time_util import in_a_while

SIGN_ALG = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
DIGEST_ALG = "http://www.w3.org/2001/04/xmlenc#sha256"
# What an outdated IdP still signs with (--sha1): the service provider must refuse it.
SHA1_SIGN_ALG = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA1_DIGEST_ALG = "http://www.w3.org/2000/09/xmldsig#sha1"
PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

LOCK = threading.Lock()  # guards the dicts below and pysaml2 (not written for concurrency)
PENDING = {}  # key -> {"id", "sp", "acs", "relay_state"}: AuthnRequests awaiting a login
SESSIONS = {}  # idp_session cookie value -> (username, login time in epoch seconds)
SESSION_INDEXES = {}  # SessionIndex of an AuthnStatement this IdP issued -> username
LOGGED_OUT = []  # usernames whose IdP sessions an SP's LogoutRequest ended, in order
LOGOUT_REQUESTS = {}  # ID of a LogoutRequest /idp-logout sent, not yet answered -> username
SP_LOGOUT_RESPONSES = []  # {"in_response_to", "status"} of the SP's LogoutResponses, in order


def persistent_id(username):
    return "p-" + hashlib.sha256(username.encode()).hexdigest()[:16]


def end_sessions(username):
    """Forgets every `idp_session` of `username` (its next sign-in shows the login page)."""
    for cookie in [c for c, (who, _) in SESSIONS.items() if who == username]:
        del SESSIONS[cookie]


class LiteralNames(AttributeConverter):
    """Emits attributes under their users.json names (pysaml2's stock converters would rename
    e.g. displayName to urn:oid:2.16.840.1.113730.3.1.241, its NOOP one lowercases)."""

    def to_(self, attrvals):
        return [
            factory(saml.Attribute, name=name, name_format=NAME_FORMAT_BASIC, attribute_value=do_ava(values))
            for name, values in attrvals.items()
        ]


def idp_config(args, with_sp):
    base = f"https://localhost:{args.port}"
    config = {
        "entityid": args.entity_id,
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)],
                    "single_logout_service": [(f"{base}/slo/redirect", BINDING_HTTP_REDIRECT)],
                },
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "want_authn_requests_signed": False,
                "sign_assertion": args.sign in ("assertion", "both"),
                "sign_response": args.sign in ("response", "both"),
                "encrypt_assertion": False,
                # name_form must match LiteralNames' name_format, else no attributes are emitted.
                "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_BASIC}},
            }
        },
        "key_file": args.key,
        "cert_file": args.cert,
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "signing_algorithm": args.sign_alg,
        "digest_algorithm": args.digest_alg,
    }
    if with_sp:
        config["metadata"] = {"local": [args.sp_metadata]}
    conf = IdPConfig().load(config)
    conf.attribute_converters = [LiteralNames(NAME_FORMAT_BASIC)]
    return conf


def write_metadata(args):
    conf = idp_config(args, with_sp=False)
    with open(args.metadata_out, "w", encoding="utf-8") as out:
        desc = entity_descriptor(conf)
        desc.extensions = None  # drop pysaml2's list of every algorithm xmlsec1 knows (MD5, SHA-1, ...)
        nspair = {"md": md.NAMESPACE, "ds": ds.NAMESPACE, "xs": "http://www.w3.org/2001/XMLSchema"}
        out.write(metadata_tostring_fix(desc, nspair, desc.to_string(nspair)).decode())


SERVER = []  # the pysaml2 Server, built at the first request (once the SP metadata exists)


def saml_server(args):
    if not SERVER:
        SERVER.append(Server(config=idp_config(args, with_sp=True)))
    return SERVER[0]


def default_acs(server, sp):
    """The SP's HTTP-POST ACS locations, the default one (isDefault="true") first."""
    services = server.metadata.assertion_consumer_service(sp, BINDING_HTTP_POST)
    services = sorted(services, key=lambda s: s.get("is_default") != "true")
    return [s["location"] for s in services]


def saml_response(server, args, users, pending, username, login_time):
    """The signed <samlp:Response> (XML text) for `pending` (InResponseTo None = unsolicited)."""
    name_id = saml.NameID(
        format=NAMEID_FORMAT_PERSISTENT,
        name_qualifier=args.entity_id,
        sp_name_qualifier=pending["sp"],
        text=persistent_id(username),
    )
    response = server.create_authn_response(
        identity={name: list(values) for name, values in users[username].items()},
        in_response_to=pending["id"],
        destination=pending["acs"],
        sp_entity_id=pending["sp"],
        name_id=name_id,
        authn={"class_ref": PASSWORD_CLASS, "authn_instant": login_time},
        sign_assertion=args.sign in ("assertion", "both"),
        sign_response=args.sign in ("response", "both"),
        encrypt_assertion=False,
        sign_alg=args.sign_alg,
        digest_alg=args.digest_alg,
    )
    xml = str(response)
    for assertion in samlp.response_from_string(xml).assertion:
        for statement in assertion.authn_statement:
            SESSION_INDEXES[statement.session_index] = username
    return xml


def auto_post(pending, xml):
    esc = lambda s: html.escape(s, quote=True)  # noqa: E731
    fields = f'<input type="hidden" name="SAMLResponse" value="{esc(b64encode(xml.encode()).decode())}"/>'
    if pending["relay_state"] is not None:
        fields += f'<input type="hidden" name="RelayState" value="{esc(pending["relay_state"])}"/>'
    return (
        "<!DOCTYPE html><html><body onload=\"document.forms[0].submit()\">"
        f'<form method="post" action="{esc(pending["acs"])}">{fields}'
        '<noscript><input type="submit" value="Continue"/></noscript></form></body></html>'
    )


def login_page(key):
    return (
        "<!DOCTYPE html><html><body><h1>Test IdP sign-in</h1>"
        '<form method="post" action="/login">'
        f'<input type="hidden" name="key" value="{html.escape(key, quote=True)}"/>'
        '<input type="text" name="username"/><input type="submit" value="Sign in"/>'
        "</form></body></html>"
    )


def make_handler(args, users):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):  # stderr only; stdout carries just READY
            sys.stderr.write("saml_idp: " + (fmt % a) + "\n")

        def reply(self, status, body, cookie=None, ctype="text/html; charset=utf-8", location=None):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            if cookie:
                self.send_header("Set-Cookie", f"idp_session={cookie}; Path=/; HttpOnly; SameSite=Lax")
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(data)

        def session(self):
            jar = SimpleCookie(self.headers.get("Cookie", ""))
            return SESSIONS.get(jar["idp_session"].value) if "idp_session" in jar else None

        def answer(self, pending, username, login_time, cookie=None):
            xml = saml_response(saml_server(args), args, users, pending, username, login_time)
            self.reply(200, auto_post(pending, xml), cookie)

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            with LOCK:
                if url.path == "/sso/redirect":
                    self.sso(query)
                elif url.path == "/idp-initiated":
                    self.idp_initiated(query)
                elif url.path == "/slo/redirect" and "SAMLResponse" in query:
                    self.slo_response(query)
                elif url.path == "/slo/redirect":
                    self.slo(query)
                elif url.path == "/logged-out":
                    self.reply(200, json.dumps(LOGGED_OUT), ctype="application/json")
                elif url.path == "/idp-logout":
                    self.idp_logout(query)
                elif url.path == "/sp-logout-responses":
                    self.reply(200, json.dumps(SP_LOGOUT_RESPONSES), ctype="application/json")
                else:
                    self.reply(404, "not found")

        def sso(self, query):
            server = saml_server(args)
            if "SAMLRequest" not in query:
                return self.reply(400, "missing SAMLRequest")
            try:
                req = server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT).message
            except Exception as err:  # noqa: BLE001 - any parse failure is the client's fault
                return self.reply(400, f"bad AuthnRequest: {html.escape(repr(err))}")
            sp = req.issuer.text if req.issuer is not None else None
            if sp not in server.metadata.with_descriptor("spsso"):
                return self.reply(400, f"unknown SP {html.escape(str(sp))}")
            known = default_acs(server, sp)
            acs = req.assertion_consumer_service_url or known[0]
            if acs not in known:  # a real IdP only posts to ACS URLs of the SP's metadata
                return self.reply(400, f"ACS {html.escape(acs)} not in the SP metadata")
            pending = {"id": req.id, "sp": sp, "acs": acs, "relay_state": query.get("RelayState")}
            remembered = self.session()
            if remembered and str(req.force_authn).lower() not in ("true", "1"):
                return self.answer(pending, *remembered)
            key = secrets.token_urlsafe(16)
            PENDING[key] = pending
            self.reply(200, login_page(key))

        def idp_initiated(self, query):
            server = saml_server(args)
            username = query.get("username", "")
            if username not in users:
                return self.reply(403, "unknown user")
            sp = next(iter(server.metadata.with_descriptor("spsso")))
            pending = {"id": None, "sp": sp, "acs": default_acs(server, sp)[0],
                       "relay_state": query.get("relay_state")}
            self.answer(pending, username, int(time.time()))

        def slo(self, query):
            server = saml_server(args)
            if "SAMLRequest" not in query:
                return self.reply(400, "missing SAMLRequest")
            try:  # unsigned is accepted: want_authn_requests_signed (False) rules every request
                req = server.parse_logout_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT).message
            except Exception as err:  # noqa: BLE001 - any parse failure is the client's fault
                return self.reply(400, f"bad LogoutRequest: {html.escape(repr(err))}")
            sp = req.issuer.text if req.issuer is not None else None
            if sp not in server.metadata.with_descriptor("spsso"):
                return self.reply(400, f"unknown SP {html.escape(str(sp))}")
            try:  # pysaml2 raises when the SP lists no endpoint of that binding
                server.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")
            except UnsupportedBinding:
                return self.reply(400, "the SP has no SingleLogoutService")
            name_id = req.name_id.text if req.name_id is not None else None
            username = next((u for u in users if persistent_id(u) == name_id), None)
            if username is None:
                return self.reply(400, f"unknown NameID {html.escape(str(name_id))}")
            for index in req.session_index:
                if SESSION_INDEXES.get(index.text) != username:
                    return self.reply(400, f"SessionIndex {html.escape(str(index.text))} not of that user")
            end_sessions(username)
            LOGGED_OUT.append(username)
            # sign=False: with --sign response|both pysaml2 would sign the XML *and* add
            # SigAlg/Signature to the query (the binding wants only the latter).
            response = server.create_logout_response(req, [BINDING_HTTP_REDIRECT], sign=False)
            info = server.apply_binding(BINDING_HTTP_REDIRECT, str(response), response.destination,
                                        query.get("RelayState"), response=True, sign=False)
            self.reply(303, "", location=dict(info["headers"])["Location"])

        def idp_logout(self, query):
            server = saml_server(args)
            username = query.get("username", "")
            if username not in users:
                return self.reply(403, "unknown user")
            sp = next(iter(server.metadata.with_descriptor("spsso")))
            try:  # pysaml2 raises when the SP lists no endpoint of that binding
                slo = server.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")
            except UnsupportedBinding:
                return self.reply(400, "the SP has no SingleLogoutService")
            name_id = saml.NameID(format=NAMEID_FORMAT_PERSISTENT, name_qualifier=args.entity_id,
                                  sp_name_qualifier=sp, text=persistent_id(username))
            # sign=False: no enveloped XML signature; the binding's query signature (sign=True
            # below: SigAlg and Signature over SAMLRequest, RelayState, SigAlg) is the one.
            req_id, req = server.create_logout_request(
                slo[0]["location"], sp, name_id=name_id, expire=in_a_while(minutes=5), sign=False,
                session_indexes=[i for i, who in SESSION_INDEXES.items() if who == username])
            info = server.apply_binding(BINDING_HTTP_REDIRECT, str(req), req.destination,
                                        query.get("relay_state"), sign=True, sigalg=args.sign_alg)
            LOGOUT_REQUESTS[req_id] = username
            end_sessions(username)
            self.reply(303, "", location=dict(info["headers"])["Location"])

        def slo_response(self, query):
            server = saml_server(args)
            # By hand: pysaml2's parse_logout_request_response raises on a non-Success status.
            try:
                xml = decode_base64_and_inflate(query["SAMLResponse"])
                resp = samlp.logout_response_from_string(xml)
                status = resp.status.status_code.value
            except Exception as err:  # noqa: BLE001 - any parse failure is the client's fault
                return self.reply(400, f"bad LogoutResponse: {html.escape(repr(err))}")
            sp = resp.issuer.text if resp.issuer is not None else None
            if sp not in server.metadata.with_descriptor("spsso"):
                return self.reply(400, f"unknown SP {html.escape(str(sp))}")
            if resp.destination not in (None, f"https://localhost:{args.port}/slo/redirect"):
                return self.reply(400, f"Destination {html.escape(resp.destination)} is not this URL")
            if LOGOUT_REQUESTS.pop(resp.in_response_to, None) is None:
                return self.reply(400, f"InResponseTo {html.escape(str(resp.in_response_to))} unknown")
            SP_LOGOUT_RESPONSES.append({"in_response_to": resp.in_response_to, "status": status})
            self.reply(200, "logged out", ctype="text/plain; charset=utf-8")

        def do_POST(self):
            if urlsplit(self.path).path != "/login":
                return self.reply(404, "not found")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
            with LOCK:
                pending = PENDING.get(form.get("key", ""))
                if pending is None:
                    return self.reply(400, "unknown or used login key")
                username = form.get("username", "")
                if username not in users:
                    return self.reply(403, "unknown user")
                del PENDING[form["key"]]
                # A test's knob: the person signed in this long ago (as an IdP that
                # ignores ForceAuthn would say of a remembered sign-in).
                age = int(form.get("authenticated_seconds_ago") or 0)
                cookie, login_time = secrets.token_urlsafe(16), int(time.time()) - age
                SESSIONS[cookie] = (username, login_time)
                self.answer(pending, username, login_time, cookie)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tls-cert", required=True, help="PEM certificate for localhost")
    parser.add_argument("--tls-key", required=True, help="its PEM private key")
    parser.add_argument("--entity-id", required=True)
    parser.add_argument("--key", required=True, help="PEM private key (RSA)")
    parser.add_argument("--cert", required=True, help="PEM certificate of that key")
    parser.add_argument("--sp-metadata", required=True)
    parser.add_argument("--metadata-out", required=True)
    parser.add_argument("--users", required=True, help="JSON: username -> attribute -> [values]")
    parser.add_argument("--sign", choices=("response", "assertion", "both"), default="assertion")
    parser.add_argument("--sha1", action="store_true", help="sign with RSA-SHA1 and SHA-1 digests")
    args = parser.parse_args()
    args.sign_alg, args.digest_alg = (SHA1_SIGN_ALG, SHA1_DIGEST_ALG) if args.sha1 else (SIGN_ALG, DIGEST_ALG)
    with open(args.users, encoding="utf-8") as f:
        users = json.load(f)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args, users))
    args.port = httpd.server_address[1]
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.tls_cert, args.tls_key)
    httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    write_metadata(args)
    print(f"READY {args.port}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
