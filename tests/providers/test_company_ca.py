"""A company's TLS-inspecting proxy or gateway: its CA in SSL_CERT_FILE is trusted, and without it nothing is sent.

A loopback HTTPS server with a certificate from a CA made here; no network, no system trust store changed.
"""

from __future__ import annotations

import datetime
import http.server
import json
import ssl
import threading
from pathlib import Path

import pytest

from tui_agent.cli import main


def _ca_and_server_cert(directory: Path) -> tuple[Path, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tui-agent test company CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem, cert_pem, key_pem = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


class _Chat(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).requests.append(self.path)
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": "through the company CA"}, "finish_reason": "stop"}]}
        body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def https_gateway(tmp_path):
    ca, cert, key = _ca_and_server_cert(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Chat)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Chat.requests = []
    yield f"https://127.0.0.1:{server.server_address[1]}/v1", ca
    server.shutdown()
    server.server_close()


def _config(home: Path, base_url: str) -> None:
    (home / "config.toml").write_text(
        f'default_profile = "corp"\n[providers.corp]\nkind = "openai-chat"\nbase_url = "{base_url}"\nauth = ["none"]\n'
        '[profiles.corp]\nprovider = "corp"\nmodel = "m"\n'
    )


def test_a_gateway_signed_by_a_company_ca_is_trusted_through_ssl_cert_file(isolated_home, https_gateway, monkeypatch, capsys):
    base_url, ca = https_gateway
    _config(isolated_home, base_url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    code = main(["ask", "hello"])
    out, err = capsys.readouterr()
    assert (code, out) == (0, "through the company CA\n"), err
    assert _Chat.requests == ["/v1/chat/completions"]


def test_without_the_company_ca_the_certificate_is_refused_in_one_sentence(isolated_home, https_gateway, monkeypatch, capsys):
    base_url, _ca = https_gateway
    _config(isolated_home, base_url)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    code = main(["ask", "hello"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "certificate not trusted" in err and "SSL_CERT_FILE" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _Chat.requests == []  # the TLS handshake failed: no request was sent
