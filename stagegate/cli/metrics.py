"""`stagegate metrics`, `what-if` and `cpa-review`: the sales figures and what a changed table would decide."""
from __future__ import annotations

import json
import sys

import click

from engine.errors import InvalidDiagram
from stagegate.cli.common import DATABASE_ID, main, run


def _scope_options(fn):
    for option in reversed([
            click.option("--process", "process_id", default="opportunity", show_default=True),
            click.option("--version", type=DATABASE_ID, default=None, help="only deals of this process version"),
            click.option("--from", "date_from", default=None, help="first day of the period (YYYY-MM-DD)"),
            click.option("--to", "date_to", default=None, help="last day of the period (YYYY-MM-DD)")]):
        fn = option(fn)
    return fn


@main.command("metrics")
@_scope_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def metrics_cmd(obj, process_id, version, date_from, date_to, as_json):
    """Funnel, time in stage, stalled deals, win rate, cycle time, deal size and CPA."""
    from workflows import metrics

    def go():
        r = metrics.report(obj.sg, metrics.scope_from(process_id, version, date_from, date_to))
        if as_json:
            click.echo(json.dumps(r, indent=2))
            return
        o = r["outcomes"]
        click.echo(f"{r['deals']} deals; closed {o['closed']}: won {o['won']}, lost {o['lost']}, killed {o['killed']}; "
                   f"win rate {o['win_rate_pct']}%; cycle {o['avg_cycle_days']} days; "
                   f"deal size {o['avg_deal_size']}; CPA {o['cpa']}")
        for g in r["funnel"]:
            click.echo(f"gate {g['gate']:<14} entered {g['entered']:>5}  go {g['go']:>5}  kill {g['kill']:>5}  "
                       f"hold {g['hold']:>4}  recycle {g['recycle']:>4}  conversion {g['conversion_pct']}%")
        for st in r["stages"]:
            click.echo(f"stage {st['stage']:<14} median {st['median_days']} d  p90 {st['p90_days']} d  "
                       f"open {st['open']}  stalled {st['stalled']}")
    run(go)


@main.command("what-if")
@click.argument("dmn_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--process", "process_id", default=None, help="only gates of this process")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def what_if_cmd(obj, dmn_file, process_id, as_json):
    """Replay past gate decisions through a changed (not deployed) DMN file (waits for the replay,
    which runs as a sandbox job under the what-if limits)."""
    from pathlib import Path

    from workflows.metrics import what_if

    def go():
        try:
            r = what_if(obj.sg, Path(dmn_file).read_bytes(), Path(dmn_file).name, process_id)
        except InvalidDiagram as exc:
            click.echo("refused: the draft decision table cannot be replayed:", err=True)
            for p in exc.problems:
                click.echo(f"  {p}", err=True)
            sys.exit(1)
        if as_json:
            click.echo(json.dumps(r, indent=2))
            return
        for d in r["decisions"]:
            click.echo(f"decision {d['decision']} (gates: {', '.join(d['gates']) or 'none recorded'}): "
                       f"{d['replayed']} passes replayed, {d['changed']} would change")
            for t in d["transitions"]:
                fates = ", ".join(f"{n} {f}" for f, n in sorted(t["fates"].items()))
                click.echo(f"  {t['from']} -> {t['to']}: {t['count']} ({fates})")
            for c in d["changed_deals"]:
                click.echo(f"  deal {c['id']} {c['title']}: {c['recorded']} -> {c['replayed']}, went on to {c['fate']}")
            for f in d["failures"]:
                click.echo(f"  deal {f['id']} not replayed: {f['reason']}")
    run(go)


@main.command("cpa-review")
@click.option("--threshold", required=True, help="flag closed deals whose acquisition cost is above this ($)")
@click.option("--user", "user_name", required=True, help="the Sales Leadership user who starts the reviews")
@_scope_options
@click.pass_obj
def cpa_review_cmd(obj, threshold, user_name, process_id, version, date_from, date_to):
    """Start one Sales Leadership review per closed deal costlier than the threshold."""
    from workflows.cpa_review import flag_high_cpa
    from workflows.metrics import scope_from

    def go():
        r = flag_high_cpa(obj.sg, threshold, user_name, scope_from(process_id, version, date_from, date_to))
        for f in r["flagged"]:
            click.echo(f"deal {f['deal_id']}: review {f['review_id']} started (cost {f['acquisition_cost']:.0f})")
        click.echo(f"{len(r['flagged'])} reviews started, {len(r['already_reviewed'])} deals already reviewed")
    run(go)

