"""A stand-in for Amazon OpenSearch Service's front door on 127.0.0.1: it accepts only requests signed
with AWS SigV4 for one fixed access key, secret, region and service, checks each signature by
recomputing it with botocore's own signer (at the time the request carries in ``X-Amz-Date``), and
forwards what passes to a real OpenSearch node. A bad signature gets AWS's 403."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/"
                           r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
                           r"Signature=(?P<signature>[0-9a-f]{64})")
MAX_SKEW_S = 300  # AWS refuses requests more than 5 minutes away from its clock
NOT_FORWARDED = {"authorization", "host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
                 "connection", "content-length"}


class SigV4Gateway:
    def __init__(self, upstream: str, *, access_key: str, secret_key: str, region: str, service: str) -> None:
        self.upstream = urlsplit(upstream)
        self.access_key, self.secret_key, self.region, self.service = access_key, secret_key, region, service
        self.verified = 0
        self.rejected: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> SigV4Gateway:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def problem(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
        """Why this request's signature is not valid, or None when it is."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        match = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if match is None:
            return "missing or malformed SigV4 Authorization header"
        if match["key"] != self.access_key:
            return f"unknown access key {match['key']}"
        if (match["region"], match["service"]) != (self.region, self.service):
            return f"signed for {match['region']}/{match['service']}, not {self.region}/{self.service}"
        stamp = headers.get("x-amz-date", "")
        try:
            at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return f"bad X-Amz-Date {stamp!r}"
        if abs((datetime.now(timezone.utc) - at).total_seconds()) > MAX_SKEW_S or match["day"] != stamp[:8]:
            return f"X-Amz-Date {stamp} is not now"
        if headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            return "X-Amz-Content-SHA256 is not the hash of the body"
        signed = match["signed"].split(";")
        if not {"host", "x-amz-date", "x-amz-content-sha256"} <= set(signed) or any(h not in headers for h in signed):
            return f"SignedHeaders {match['signed']} leave out host, the date or the payload hash, or name absent headers"
        request = AWSRequest(method=method, url=f"http://{headers['host']}{path}", data=body,
                             headers={name: headers[name] for name in signed})
        request.context["timestamp"] = stamp
        signer = SigV4Auth(Credentials(self.access_key, self.secret_key), self.service, self.region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected, match["signature"]):
            return "signature mismatch"
        return None

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=120)
        try:
            connection.request(method, path, body=body or None,
                               headers={k: v for k, v in headers.items() if k not in NOT_FORWARDED})
            response = connection.getresponse()
            return response.status, response.getheader("content-type", "application/json"), response.read()
        finally:
            connection.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                problem = gateway.problem(self.command, self.path, headers, body)
                with gateway._lock:
                    if problem:
                        gateway.rejected.append(f"{self.command} {self.path}: {problem}")
                    else:
                        gateway.verified += 1
                if problem:
                    status, kind, answer = 403, "application/json", json.dumps({"message": (
                        "The request signature we calculated does not match the signature you provided. "
                        f"({problem})")}).encode()
                else:
                    status, kind, answer = gateway._forward(self.command, self.path, headers, body)
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

            def log_message(self, format: str, *args: object) -> None:  # quiet: the test reads the counters
                pass

        return Handler
