"""The memory of one gunicorn worker (1 worker, SQLite) after 100 completions and after many more,
for bench.http: VmRSS of the master's child process, read from /proc."""
from __future__ import annotations

from pathlib import Path

from bench import scale
from bench.http_load import CLIENTS, loop_client, run_clients
from bench.http_setup import loop_deals, loop_users

COMPLETIONS_PER_DEAL = 50  # deals enough that no one deal's loop grows long


def children(pid: int) -> list[int]:
    """The process ids whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def rss_kib(pid: int) -> int:
    """VmRSS of process `pid`, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def worker_pid(master: int) -> int:
    """The one gunicorn worker: the master's only child."""
    kids = children(master)
    if len(kids) != 1:
        raise RuntimeError(f"expected one worker under the gunicorn master {master}, found {kids}")
    return kids[0]


def worker_memory(url: str, marks: tuple[int, ...]) -> dict:
    """Complete revision-loop tasks over HTTP (CLIENTS threads, 1 worker); the worker's RSS at each mark."""
    tokens = loop_users(url, CLIENTS)
    per_user = max(1, -(-marks[-1] // (COMPLETIONS_PER_DEAL * CLIENTS)))
    ready = loop_deals(url, list(tokens), per_user)
    out = {"deals": per_user * CLIENTS, "marks": []}
    with scale.serving(url, workers=1) as (base, master):
        pid = worker_pid(master.pid)
        out["before_kib"] = rss_kib(pid)
        done = 0
        for mark in marks:
            share = -(-(mark - done) // CLIENTS)
            run = run_clients([loop_client(base, tok, ready[user], share) for user, tok in tokens.items()], ok=200)
            done += run["done"]
            out["marks"].append({"completions": done, "rss_kib": rss_kib(pid), "per_s": run["per_s"],
                                 "errors": run["errors"], "same_worker": worker_pid(master.pid) == pid})
    return out
