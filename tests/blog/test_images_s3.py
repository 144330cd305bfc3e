"""Photos in S3: the application with MEDIA_STORAGE=s3 (django-storages' S3 backend) against
moto in server mode (`moto_server`, from the `moto[server]` dev dependency), the most real
S3-compatible server that installs here from PyPI: a real HTTP S3 endpoint that boto3 talks
to as to AWS. An upload through the API lands its renditions in the bucket, and /media/<name>
answers 200 with the bucket's bytes."""

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import urllib3

from liveblog.blog import services
from tests import pictures
from tests.factories import EventFactory, MembershipFactory
from tests.servers import asgi_servers, free_port

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

BUCKET = "liveblog-media"
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answers, whatever it says
    except OSError:
        return False


@pytest.fixture
def s3_endpoint(tmp_path) -> Iterator[str]:
    server = str(Path(sys.executable).with_name("moto_server"))  # beside this venv's python
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(endpoint):
            assert process.poll() is None, (tmp_path / "moto.log").read_text()
            assert time.monotonic() < deadline, "moto_server did not start"
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_an_upload_lands_in_the_bucket_and_is_served_by_the_app(s3_endpoint):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **{
        "aws_access_key_id": KEYS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": KEYS["AWS_SECRET_ACCESS_KEY"],
    })  # fmt: skip
    s3.create_bucket(Bucket=BUCKET)
    event = EventFactory()
    reporter = MembershipFactory(event=event, role="reporter").user
    token = services.token_issue(user=reporter)
    env = {
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        **KEYS,
    }
    with asgi_servers(1, **env) as (server,):
        body, content_type = urllib3.encode_multipart_formdata(
            {"file": ("photo.jpg", pictures.photo(2000, 1000), "image/jpeg"), "alt": "A photo"}
        )
        request = urllib.request.Request(
            f"{server.url}/api/v1/events/{event.slug}/images/",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            image = json.loads(response.read())
        stored = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
        names = {r["url"].removeprefix("/media/") for r in image["renditions"]}
        assert len(names) == 4 and names == stored
        for rendition in image["renditions"]:
            with urllib.request.urlopen(server.url + rendition["url"], timeout=10) as served:
                assert served.status == 200
                assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
                key = rendition["url"].removeprefix("/media/")
                expected = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                assert served.read() == expected and expected[8:12] == b"WEBP"
