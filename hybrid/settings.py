"""All configuration in one place: flags override ``HYBRID_*`` environment variables, which override
a TOML config file (``HYBRID_CONFIG`` or ``--config``), which overrides the defaults below.

Built on demand (``Settings()``), never at import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYBRID_", extra="forbid")

    # Where things live.
    cache_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_cache_dir("hybrid")))
    opensearch_home: Path | None = None
    maven_repo_url: str = "https://repo1.maven.org/maven2"
    maven_timeout_s: float = 900.0  # one Maven download step; past it the install fails with a clear error

    # What to index and search with.
    index: str = "biomed"
    # None: search uses the preset that built the index; ingest and training use "minilm".
    model: str | None = None
    device: str | None = None
    # Encoder arithmetic for ingest, search, eval, mining and the proxy: "auto" picks by hardware (the GPU's
    # half dtype; bf16 autocast on CPUs with native bf16; ONNX Runtime on other CPUs), or fp32 / bf16 / int8.
    precision: Literal["auto", "fp32", "bf16", "int8"] = "auto"
    # The rerank stage: a cross-encoder (hub name or folder, e.g. one `hybrid train --cross-encoder` wrote)
    # and how many top hits it rescores by default (0: no rerank stage unless a search asks for one).
    reranker: str | None = None
    rerank: int = 0
    embedded_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("hybrid")) / "indices")

    # The OpenSearch cluster; None means the embedded backend. Several nodes: comma-separated URLs
    # (a list in the TOML file); requests go round the nodes and fail over to the next.
    opensearch_url: str | None = None
    opensearch_user: str | None = None
    opensearch_password: SecretStr | None = None
    opensearch_api_key: SecretStr | None = None
    opensearch_verify_certs: bool = True
    opensearch_ca_certs: Path | None = None
    opensearch_client_cert: Path | None = None  # TLS client certificate (PEM), and its key when not in the same file
    opensearch_client_key: Path | None = None
    # Amazon OpenSearch Service / Serverless: requests signed with AWS SigV4 for this region and service.
    opensearch_aws_region: str | None = None
    opensearch_aws_service: Literal["es", "aoss"] = "es"
    opensearch_timeout_s: float = 30.0
    opensearch_retry_budget_s: float = 120.0  # ingest: how long documents the cluster could not take are retried
    opensearch_request_retry_budget_s: float = 15.0  # any other request answered 429/502-504 or timed out

    @field_validator("opensearch_url", mode="before")
    @classmethod
    def _url_list(cls, value: object) -> object:
        return ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value

    # The search proxy (`hybrid serve`).
    proxy_host: str = "127.0.0.1"
    proxy_port: int = 8000
    proxy_api_keys: list[SecretStr] = Field(default_factory=list)  # empty: no API key required
    proxy_cors_origins: list[str] = Field(default_factory=list)
    proxy_batching: bool = True
    proxy_batch_wait_ms: float = 0.0  # 0: continuous batching, no added wait
    proxy_query_cache: int = 1024  # query embeddings kept (LRU) by the proxy; 0: none
    proxy_access_log: bool = True  # one JSON line per request on the 'hybrid.access' logger
    proxy_timeout_s: float = 5.0  # per OpenSearch call; past it the proxy answers 503

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Reads model_config["toml_file"]; nothing when load_settings() was given no file.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Settings from flags (``overrides`` that are not None), ``HYBRID_*`` env, and a TOML file.

    The file is ``config_file`` or else ``$HYBRID_CONFIG``; its keys are the field names above.
    """
    path = config_file or (Path(os.environ["HYBRID_CONFIG"]) if os.environ.get("HYBRID_CONFIG") else None)
    cls: type[Settings] = Settings
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")

        class FileSettings(Settings):
            model_config = SettingsConfigDict(env_prefix="HYBRID_", extra="forbid", toml_file=path)

        cls = FileSettings
    return cls(**{k: v for k, v in overrides.items() if v is not None})
