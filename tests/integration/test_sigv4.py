"""AWS SigV4 (Amazon OpenSearch Service and Serverless) as far as it can go without AWS: every request of
`hybrid ingest`, `hybrid search` and the proxy goes through a gateway on 127.0.0.1 that checks its
signature with botocore's signer for fixed credentials, then reaches the real node behind it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hybrid.cli import main
from hybrid.cli.errors import OK, REFUSED
from hybrid.proxy import create_app
from hybrid.settings import load_settings
from tests.integration.sigv4_gateway import SigV4Gateway

pytestmark = pytest.mark.opensearch

KEY, SECRET, REGION = "AKIDHYBRIDTEST0000001", "fixed/secret+for/the-gateway0000000000000", "eu-west-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Fixed credentials in the environment, and nothing else botocore could find."""
    for name in [n for n in os.environ if n.startswith(("AWS_", "HYBRID_OPENSEARCH_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HYBRID_OPENSEARCH_AWS_REGION", REGION)
    yield monkeypatch


def _gateway(opensearch_url: str, service: str, secret: str = SECRET) -> SigV4Gateway:
    return SigV4Gateway(opensearch_url, access_key=KEY, secret_key=secret, region=REGION, service=service)


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(line for line in capsys.readouterr().err.splitlines() if line.startswith("error:"))


def test_signed_ingest_search_and_proxy(opensearch_url: str, opensearch_client, aws_env: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                        minilm, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = f"sigv4-{os.getpid()}"
    # The CLI loads its encoder as the proxy's fixture was loaded (fp32): on a CPU with native bf16 the
    # default would embed its query in bf16, and two near-tied hits could swap between the two lists.
    aws_env.setenv("HYBRID_PRECISION", "fp32")
    try:
        with _gateway(opensearch_url, "es") as gateway:
            aws_env.setenv("HYBRID_OPENSEARCH_URL", gateway.url)
            assert main(["ingest", "sample", "--index", index, "--limit", "60",
                         "--rejects", str(tmp_path / "rejects.jsonl")]) == OK
            capsys.readouterr()
            assert main(["search", "vitamin D and bone density", "--index", index, "--json"]) == OK
            found = [h["doc_id"] for h in json.loads(capsys.readouterr().out)["hits"]]
            assert len(found) == 10
            with TestClient(create_app(load_settings(), encoder=minilm)) as api:  # the async signer
                answer = api.post(f"/v1/search?index={index}", json={"query": "vitamin D and bone density"})
                assert answer.status_code == 200, answer.text
                assert [h["id"] for h in answer.json()["hits"]] == found
            # Every request was signed, and correctly: GETs, HEADs, PUTs and POSTs with bodies.
            assert gateway.rejected == [] and gateway.verified >= 10
        assert opensearch_client.count(index=index)["count"] == 60  # they reached the node behind it

        # Serverless: the same requests signed for the service "aoss".
        with _gateway(opensearch_url, "aoss") as gateway:
            aws_env.setenv("HYBRID_OPENSEARCH_URL", gateway.url)
            aws_env.setenv("HYBRID_OPENSEARCH_AWS_SERVICE", "aoss")
            assert main(["search", "vitamin D", "--index", index, "--mode", "bm25"]) == OK
            assert gateway.rejected == [] and gateway.verified >= 1

        # The gateway does refuse: a request signed with another secret is a 403 with AWS's reason.
        with _gateway(opensearch_url, "aoss", secret="another-secret") as gateway:
            aws_env.setenv("HYBRID_OPENSEARCH_URL", gateway.url)
            capsys.readouterr()
            assert main(["search", "vitamin D", "--index", index, "--mode", "bm25"]) == REFUSED
            assert "signature we calculated does not match" in _error(capsys)
            assert gateway.verified == 0 and gateway.rejected and "signature mismatch" in gateway.rejected[0]
    finally:
        opensearch_client.indices.delete(index=f"{index}*", ignore_unavailable=True)


def test_sigv4_without_credentials_is_a_clear_error(aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    aws_env.setenv("HYBRID_OPENSEARCH_URL", "http://127.0.0.1:9")
    assert main(["search", "vitamin D", "--index", "x", "--mode", "bm25"]) != OK
    assert "botocore found no AWS credentials" in _error(capsys)
