import pytest

from strongbox.lib.ranges import RangeNotSatisfiable, byte_range


@pytest.mark.parametrize(("header", "expected"), [
    ("bytes=0-9", (0, 9)), ("bytes=10-", (10, 99)), ("bytes=-5", (95, 99)), ("bytes=90-500", (90, 99)),
    ("bytes=-500", (0, 99)), (None, None), ("", None), ("bytes=0-1,5-6", None), ("items=0-1", None),
    ("bytes=5-2", None), ("bytes=-", None),
])
def test_it_parses_single_byte_ranges(header, expected):
    assert byte_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_it_reports_unsatisfiable_ranges(header):
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, 100)
