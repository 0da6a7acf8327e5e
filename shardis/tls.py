"""The TLS parameters (``tls-*``) read as Redis 7.0's tlsConfigure reads them, into a
server-side ``ssl.SSLContext``.

Pure configuration: the values in, a context (or the reason there is none) out. The
checks of ``CONFIG SET`` and of the start-up (``shardis/configtable.py``) build one to
see whether the settings work, as Redis does before it answers; each router builds the
one its TLS listener uses (``router/tls.py``).

What Python's ``ssl`` module cannot set is said where it matters: ``tls-ciphersuites``
(TLS 1.3's suites: no Python API) is refused when set, and the session cache's size
and timeout are kept and shown only (OpenSSL's defaults apply); ``tls-session-caching
no`` turns TLS session tickets off, the server-side session-ID cache stays OpenSSL's.
"""

from __future__ import annotations

import ssl
import warnings
from typing import Callable

# tls-protocols' words (case-insensitive, as Redis' parseProtocolsConfig), in order.
PROTOCOLS = {"tlsv1": ssl.TLSVersion.TLSv1, "tlsv1.1": ssl.TLSVersion.TLSv1_1,
             "tlsv1.2": ssl.TLSVersion.TLSv1_2, "tlsv1.3": ssl.TLSVersion.TLSv1_3}
_ORDER = list(PROTOCOLS.values())
# The OP_NO_ flag of each version: for a tls-protocols with a hole ("TLSv1 TLSv1.3").
_OP_NO = {ssl.TLSVersion.TLSv1: ssl.OP_NO_TLSv1, ssl.TLSVersion.TLSv1_1: ssl.OP_NO_TLSv1_1,
          ssl.TLSVersion.TLSv1_2: ssl.OP_NO_TLSv1_2, ssl.TLSVersion.TLSv1_3: ssl.OP_NO_TLSv1_3}
# tls-auth-clients -> what a client's certificate must be (Redis' SSL_set_verify modes).
VERIFY = {"no": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "yes": ssl.CERT_REQUIRED}


class TLSConfigError(Exception):
    """Settings no context can be built from; the text is what Redis would log."""


def protocols(value: str) -> list[ssl.TLSVersion]:
    """tls-protocols: the versions it names (TLSv1.2 and TLSv1.3 when empty)."""
    words = value.split()
    if not words:
        return [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]
    out = []
    for w in words:
        v = PROTOCOLS.get(w.lower())
        if v is None:
            raise TLSConfigError("Invalid tls-protocols specified. Use a combination of 'TLSv1', "
                                 "'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
        out.append(v)
    return sorted(set(out), key=_ORDER.index)


def server_context(get: Callable[[str], object]) -> ssl.SSLContext:
    """The context a TLS listener serves with, from the parameters ``get(name)`` gives
    (their values as kept in a Config); raises TLSConfigError saying what is wrong."""
    cert, key = str(get("tls-cert-file") or ""), str(get("tls-key-file") or "")
    ca_file, ca_dir = str(get("tls-ca-cert-file") or ""), str(get("tls-ca-cert-dir") or "")
    auth = str(get("tls-auth-clients"))
    if not cert:
        raise TLSConfigError("No tls-cert-file configured!")
    if not key:
        raise TLSConfigError("No tls-key-file configured!")
    if (auth != "no" or get("tls-cluster") or get("tls-replication")) and not ca_file and not ca_dir:
        raise TLSConfigError("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                             "tls-cluster, tls-replication or tls-auth-clients are enabled!")
    if get("tls-ciphersuites"):
        raise TLSConfigError("tls-ciphersuites: Python's ssl module cannot set TLS 1.3 "
                             "ciphersuites; leave it empty (OpenSSL's defaults apply)")
    versions = protocols(str(get("tls-protocols") or ""))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version, ctx.maximum_version = versions[0], versions[-1]
    holes = [v for v in _ORDER[_ORDER.index(versions[0]):_ORDER.index(versions[-1])]
             if v not in versions]
    if holes:
        with warnings.catch_warnings():  # (the OP_NO_ flags are deprecated, yet the only way)
            warnings.simplefilter("ignore", DeprecationWarning)
            for v in holes:
                ctx.options |= _OP_NO[v]
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_SINGLE_DH_USE | ssl.OP_NO_RENEGOTIATION
    if get("tls-prefer-server-ciphers"):
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if not get("tls-session-caching"):
        ctx.options |= ssl.OP_NO_TICKET
    password = str(get("tls-key-file-pass") or "")
    try:
        # (a callable, so that an encrypted key without a password fails instead of
        # OpenSSL asking on the terminal)
        ctx.load_cert_chain(cert, key, password=lambda: password)
    except (OSError, ssl.SSLError) as e:
        raise TLSConfigError(f"Failed to load certificate or private key: {cert}, {key}: {e}") from None
    if ca_file or ca_dir:
        try:
            ctx.load_verify_locations(cafile=ca_file or None, capath=ca_dir or None)
        except (OSError, ssl.SSLError) as e:
            raise TLSConfigError(f"Failed to configure CA certificate(s) file/directory: {e}") from None
    dh = str(get("tls-dh-params-file") or "")
    if dh:
        try:
            ctx.load_dh_params(dh)
        except (OSError, ssl.SSLError) as e:
            raise TLSConfigError(f"Failed to load {dh}: {e}") from None
    ciphers = str(get("tls-ciphers") or "")
    if ciphers:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError:
            raise TLSConfigError(f"Failed to configure ciphers: {ciphers}") from None
    ctx.verify_mode = VERIFY.get(auth, ssl.CERT_REQUIRED)
    return ctx
