"""`rnnrbm.py compare`: reading logs and lining them up with the published one."""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from polyphonic.evaluation import compare


def test_published_log_has_the_printed_epochs():
    published = compare.read_log(compare.PUBLISHED)
    assert sorted(published) == list(range(1, 11)) + list(range(190, 201))
    assert published[1] == pytest.approx(-15.0308940028)
    assert published[198] == -math.inf
    assert published[200] == pytest.approx(-4.72591935412)


def test_rows_pair_common_epochs_with_differences(tmp_path):
    log = tmp_path / "log.tsv"
    log.write_text("epoch\tmonitor\tseconds\n1\t-15.5\t10.0\n2\t-10.0\t9.0\n11\t-8.0\t9.0\n")
    rows = compare.comparison_rows(compare.read_log(log), compare.read_log(compare.PUBLISHED))
    assert [row[0] for row in rows] == [1, 2]
    assert rows[0][3] == pytest.approx(-15.5 + 15.0308940028)


@pytest.mark.parametrize("text, complaint", [
    ("epoch\tseconds\n1\t2\n", "header"),
    ("epoch\tmonitor\n1\tminus three\n", "row 2"),
])
def test_malformed_logs_are_named(tmp_path, text, complaint):
    log = tmp_path / "mine.tsv"
    log.write_text(text)
    with pytest.raises(ValueError, match=complaint) as error:
        compare.read_log(log)
    assert "mine.tsv" in str(error.value)


def test_command_prints_the_table_and_writes_the_picture(tmp_path):
    log = tmp_path / "log.tsv"
    log.write_text("epoch\tmonitor\tseconds\n" + "".join(f"{e}\t{-4.7:.4f}\t1\n" for e in range(1, 201)))
    result = subprocess.run([sys.executable, "rnnrbm.py", "compare", str(log)],
                            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "epoch\tours\tpublished\tdifference"
    assert lines[1] == "1\t-4.7000\t-15.0309\t+10.3309"
    assert len(lines) == 1 + 21 + 1
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"
