"""A real S3-compatible server for the storage tests: moto's server on a free port of
127.0.0.1 with one bucket, and a fresh prefix of it per test. Dummy credentials come from
tests/conftest.py (set before any job worker starts), so no test can reach a real account."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tweenlab.media import Storage, storage_from_url

BUCKET = "tweenlab-test"
PIP = "pip install 'moto[server]' boto3"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """The server's address (the test skips, naming what to install, without moto)."""
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError:
        pytest.skip(f"the S3 storage tests need a local S3 server: {PIP}")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def s3_url(endpoint: str, name: str = "") -> str:
    """``TWEENLAB_STORAGE_URL`` of a prefix of the bucket no other test uses."""
    return f"s3://{BUCKET}/{name or 'test'}-{uuid.uuid4().hex[:8]}?endpoint={endpoint}"


def open_s3(url: str, cache: Path) -> Storage:
    """The store at ``url``, downloading into ``cache`` (a test's own, not a server's)."""
    return storage_from_url(url, cache_dir=cache)
