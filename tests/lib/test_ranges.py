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


HUGE = "9" * 5000  # beyond the 4,300 digits Python converts to an int


@pytest.mark.parametrize(("header", "expected"), [
    (f"bytes=0-{HUGE}", (0, 99)), (f"bytes=-{HUGE}", (0, 99)), ("bytes=" + "0" * 5000 + "7-8", (7, 8)),
    ("bytes=-" + "0" * 5000 + "5", (95, 99)), ("bytes=0-" + "0" * 5000 + "9", (0, 9)),
])
def test_it_takes_positions_of_any_length(header, expected):
    assert byte_range(header, 100) == expected


@pytest.mark.parametrize("header", [f"bytes={HUGE}-", f"bytes={HUGE}-{HUGE}", "bytes=1" + "0" * 18 + "-"])
def test_it_reports_a_first_position_beyond_any_file_as_unsatisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, 100)
