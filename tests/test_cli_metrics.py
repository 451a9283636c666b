"""`stagegate metrics`, `what-if` and `cpa-review`: JSON out, clear refusals, exit codes."""
import json

from click.testing import CliRunner

from stagegate.cli import main
from tests.conftest import DIAGRAMS
from tests.drive import Driver


def test_metrics_what_if_and_cpa_review_from_the_shell(make_sg, sg, catalog, database_url, tmp_path):
    drive = Driver(make_sg, clock=sg.clock)
    mid = drive.start(annual_revenue_musd=70)["id"]
    drive.start(annual_revenue_musd=20)

    def run(*args, code=0):
        r = CliRunner().invoke(main, ["--database-url", database_url, *args])
        assert r.exit_code == code, r.output
        assert "Traceback" not in r.output
        return r.output

    out = json.loads(run("metrics", "--json", "--version", "1", "--from", "2000-01-01"))
    assert [(g["gate"], g["entered"], g["go"], g["kill"]) for g in out["funnel"]] == [("qualification", 2, 1, 1)]
    assert out["scope"] == {"process_id": "opportunity", "version": 1, "from": "2000-01-01", "to": None}
    assert "refused: from date '2026-13-01' is not a date" in run("metrics", "--from", "2026-13-01", code=1)

    draft = tmp_path / "qualification.dmn"
    draft.write_bytes((DIAGRAMS / "qualification.dmn").read_bytes().replace(b"&lt; 50<", b"&lt; 100<")
                      .replace(b"&gt;= 50<", b"&gt;= 100<"))
    replay = json.loads(run("what-if", str(draft), "--json"))["decisions"][0]
    assert [(d["id"], d["recorded"], d["replayed"]) for d in replay["changed_deals"]] == [(mid, "go", "kill")]
    assert "go -> kill: 1 (1 open)" in run("what-if", str(draft))
    bad = tmp_path / "bad.dmn"
    bad.write_text("<definitions")
    assert "bad.dmn:1: XML syntax error" in run("what-if", str(bad), code=1)

    assert "0 reviews started" in run("cpa-review", "--threshold", "1000", "--user", "lena")
    assert "refused: fiona may not start 'cpa_review'" in run("cpa-review", "--threshold", "1000", "--user", "fiona",
                                                              code=1)
