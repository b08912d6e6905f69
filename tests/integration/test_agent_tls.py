"""The orchestrator-agent channel is mutual TLS (BR 3.2.2.9): an agent serves only clients
whose certificate chains to the cluster CA."""
import socket
import ssl
import subprocess

import pytest

from conftest import AGENT_CODES

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def client_context(cluster, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False                 # agents are named by perspective code, not by IP
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cluster.certs / "ca.crt")
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def talk(port, ctx):
    """Handshake, send GET /healthz, read until EOF. Returns (answer bytes, peer cert) or
    raises OSError/ssl.SSLError when the agent refuses."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:
            peer = s.getpeercert()
            s.sendall(REQUEST)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    return data, peer


def assert_refused(port, ctx):
    # With TLS 1.3 the client's handshake completes before the server has looked at the
    # client certificate; the refusal then shows up as an alert or EOF on the first read.
    try:
        data, _ = talk(port, ctx)
    except (ssl.SSLError, ConnectionError, socket.timeout, OSError):
        return
    assert not data.startswith(b"HTTP/"), f"agent on :{port} answered without a trusted client cert:\n{data[:300]!r}"


@pytest.fixture(scope="module")
def throwaway_client(tmp_path_factory):
    """A client certificate, CN=orchestrator, signed by a CA the agents have never seen."""
    d = tmp_path_factory.mktemp("throwaway-ca")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", *ec, "-days", "2", "-subj", "/CN=throwaway-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
        "-keyout", "ca.key", "-out", "ca.crt")
    run("req", *ec, "-subj", "/CN=orchestrator", "-keyout", "client.key", "-out", "client.csr")
    (d / "ext.cnf").write_text("extendedKeyUsage=clientAuth\nsubjectAltName=DNS:orchestrator\n")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "client.crt")
    run("req", "-x509", *ec, "-days", "2", "-subj", "/CN=orchestrator", "-keyout", "self.key", "-out", "self.crt")
    return d


@pytest.mark.parametrize("code", AGENT_CODES)
def test_agent_refuses_client_without_certificate(cluster, code):
    assert_refused(cluster.agent_port(code), client_context(cluster))


@pytest.mark.parametrize("code", AGENT_CODES)
def test_agent_refuses_certificate_from_another_ca(cluster, code, throwaway_client):
    ctx = client_context(cluster, throwaway_client / "client.crt", throwaway_client / "client.key")
    assert_refused(cluster.agent_port(code), ctx)


def test_agent_refuses_self_signed_client_certificate(cluster, throwaway_client):
    ctx = client_context(cluster, throwaway_client / "self.crt", throwaway_client / "self.key")
    assert_refused(cluster.agent_port(AGENT_CODES[0]), ctx)


@pytest.mark.parametrize("code", AGENT_CODES)
def test_agent_healthz_with_orchestrator_certificate(cluster, code):
    ctx = client_context(cluster, cluster.certs / "orchestrator.crt", cluster.certs / "orchestrator.key")
    data, peer = talk(cluster.agent_port(code), ctx)
    assert data.startswith(b"HTTP/1.1 200"), data[:300]
    subject = dict(rdn[0] for rdn in peer["subject"])
    assert subject.get("commonName") == code, f"agent on :{cluster.agent_port(code)} presents {peer['subject']}"


def test_agent_refuses_plain_http(cluster):
    port = cluster.agent_port(AGENT_CODES[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(REQUEST)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (ConnectionError, socket.timeout):
            pass
    assert not data.startswith(b"HTTP/1.1 200"), data[:300]


def sign_with_cluster_ca(cluster, d, name, cn):
    """A client certificate issued by the cluster's own CA (the CA of every agent), as a CA that
    gives its agents certificates for both TLS uses would issue them."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", *ec, "-subj", f"/CN={cn}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
    (d / f"{name}.cnf").write_text("extendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n")
    run("x509", "-req", "-in", f"{name}.csr", "-CA", str(cluster.certs / "ca.crt"),
        "-CAkey", str(cluster.certs / "ca.key"), "-set_serial", "0x1234", "-days", "2",
        "-extfile", f"{name}.cnf", "-out", f"{name}.crt")
    return d / f"{name}.crt", d / f"{name}.key"


@pytest.mark.parametrize("code", AGENT_CODES)
def test_agent_refuses_another_agents_identity_from_the_same_ca(cluster, code, tmp_path):
    other = AGENT_CODES[(AGENT_CODES.index(code) + 1) % len(AGENT_CODES)]
    crt, key = sign_with_cluster_ca(cluster, tmp_path, "peer", other)
    assert_refused(cluster.agent_port(code), client_context(cluster, crt, key))


def test_agent_refuses_orchestrator_cn_with_another_key(cluster, tmp_path):
    """The local cluster pins the orchestrator's key (SPKI SHA-256) besides its CN."""
    crt, key = sign_with_cluster_ca(cluster, tmp_path, "impostor", "mpic-orchestrator")
    assert_refused(cluster.agent_port(AGENT_CODES[0]), client_context(cluster, crt, key))


def test_agent_check_config_reports_the_orchestrator_identity(cluster):
    from conftest import build_dir
    code = AGENT_CODES[0]
    p = subprocess.run([str(build_dir() / "mpic-agent"), "-t", "-c", str(cluster.state / "config" / f"agent-{code}.json")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout + p.stderr
    assert "orchestrator identity: CN=mpic-orchestrator" in out, out
    assert "SPKI SHA-256" in out, out
