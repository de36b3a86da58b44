"""A file of several GB gets a clear error at once, without being read into memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tweenlab.errors import FormatError
from tweenlab.formats import get_format


@pytest.mark.parametrize("format_name", ["native", "coco"], ids=str)
def test_json_imports_refuse_a_file_of_several_gb(tmp_path: Path, format_name: str) -> None:
    big = tmp_path / "annotations.json"
    with big.open("wb") as handle:
        handle.truncate(3 * 1024**3)  # sparse: takes no disk space
    load = get_format(format_name).load
    assert load is not None
    with pytest.raises(FormatError, match=r"annotations\.json.*3\.0 GB"):
        load(big)
