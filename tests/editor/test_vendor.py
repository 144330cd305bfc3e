"""The editor's vendored browser components (static/vendor/, `make vendor`): the committed
copies are the files of the packages pinned in package.json and package-lock.json, so that
an upgrade cannot leave an old copy served, nor a hand edit pass for the package."""

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = json.loads((ROOT / "package.json").read_text())
LOCK = json.loads((ROOT / "package-lock.json").read_text())
VENDORED = [(name, file) for name, files in PACKAGE["vendor"].items() for file in files]


def vendored(name: str, file: str) -> Path:
    return ROOT / "static" / "vendor" / name.split("/")[-1] / Path(file).name


@pytest.mark.parametrize("name", PACKAGE["vendor"])
def test_vendored_copy_is_of_the_pinned_version(name):
    pinned = PACKAGE["dependencies"][name]
    copied = json.loads(vendored(name, "package.json").read_text())

    assert copied["name"] == name
    assert copied["version"] == pinned == LOCK["packages"][f"node_modules/{name}"]["version"]


@pytest.mark.parametrize(("name", "file"), VENDORED)
def test_vendored_file_equals_the_pinned_packages_file(name, file):
    installed = ROOT / "node_modules" / name
    if not installed.exists():
        message = f"node_modules/{name} is not installed (npm ci installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI skips nothing silently
        pytest.skip(message)
    version = json.loads((installed / "package.json").read_text())["version"]
    assert version == PACKAGE["dependencies"][name], "node_modules is stale: run npm ci"

    assert vendored(name, file).read_bytes() == (installed / file).read_bytes(), (
        f"static/vendor differs from {name}@{version}: run `make vendor` and commit"
    )


def test_every_vendored_file_is_listed_in_package_json():
    listed = {vendored(name, file) for name, file in VENDORED}
    present = {path for path in (ROOT / "static" / "vendor").rglob("*") if path.is_file()}

    assert present == listed
