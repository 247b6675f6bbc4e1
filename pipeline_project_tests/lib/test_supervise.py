"""Process supervision (lib/supervise.py, lib/service.py) with real processes: trees that ignore
signals, processes that detach from the tree, a supervisor killed outright, a second Ctrl-C."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from pipeline_project.lib.service import Service
from pipeline_project.lib.settings import UserError
from pipeline_project.lib.supervise import MARKER, Supervisor, leftovers, reap_leftovers

# A child that starts a grandchild ignoring SIGINT and SIGTERM, and a process that detaches (new
# session, parent exits: re-parented to init) — what a daemonized ssh master or a stray worker does.
STUBBORN_TREE = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    stubborn = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); " \\
               "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    subprocess.Popen([sys.executable, "-c", stubborn])
    detach = "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], " \\
             "start_new_session=True)"
    subprocess.run([sys.executable, "-c", detach])
    print("ready", flush=True)
    time.sleep(600)
""")


def _spawn_tree(sup: Supervisor) -> subprocess.Popen:
    proc = sup.spawn("tree", [sys.executable, "-c", STUBBORN_TREE], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.fixture
def restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    saved_marker = os.environ.get(MARKER)
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)
    if saved_marker is None:
        os.environ.pop(MARKER, None)
    else:
        os.environ[MARKER] = saved_marker


def test_every_process_of_a_tree_is_found_and_stopped(tmp_path, restore_signals):
    sup = Supervisor(str(tmp_path))
    _spawn_tree(sup)
    found = sup.processes()
    child = psutil.Process(sup.children["tree"].pid)
    in_tree = {child.pid} | {p.pid for p in child.children(recursive=True)}
    assert len(found) == 3  # the child, its stubborn grandchild, and the detached one, outside the tree
    assert len([p for p in found if p.pid not in in_tree]) == 1
    sup.signal_all(signal.SIGTERM)
    assert sup.kill_all() == []
    assert [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []


def test_what_a_killed_supervisor_leaves_behind_is_reaped_at_the_next_start(tmp_path):
    script = textwrap.dedent(f"""
        import subprocess, sys, time
        from pipeline_project.lib.supervise import Supervisor
        sup = Supervisor({str(tmp_path)!r})
        proc = sup.spawn("tree", [sys.executable, "-c", {STUBBORN_TREE!r}], stdout=subprocess.PIPE, text=True)
        print(proc.stdout.readline().strip(), flush=True)
        time.sleep(600)
    """)
    supervisor = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                                  env={k: v for k, v in os.environ.items() if k != MARKER})
    assert supervisor.stdout.readline().strip() == "ready"
    supervisor.kill()  # SIGKILL: no chance to stop anything
    supervisor.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(leftovers(str(tmp_path))) != 2:
        time.sleep(0.1)  # the direct child ends by PR_SET_PDEATHSIG; the stubborn and detached ones stay
    left = leftovers(str(tmp_path))
    assert len(left) == 2
    assert leftovers(str(tmp_path / "another_home")) == []  # another instance's processes are not touched
    assert reap_leftovers(str(tmp_path)) == 2
    assert leftovers(str(tmp_path)) == []


def test_a_second_dev_on_the_same_home_is_refused(tmp_path, restore_signals):
    first = Service(tmp_path / "dagster_home", "http://127.0.0.1:9")
    first._lock()
    with pytest.raises(UserError, match="another pipeline-project dev"):
        Service(tmp_path / "dagster_home", "http://127.0.0.1:9")._lock()


def test_a_second_ctrl_c_stops_everything_at_once(tmp_path, monkeypatch, restore_signals):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("PIPELINE_STOP_GRACE_SECONDS", "600")  # only a second Ctrl-C can make it quick
    said = []
    service = Service(tmp_path / "dagster_home", "http://127.0.0.1:9", log=said.append)
    service.start()
    _spawn_tree(service.supervisor)
    found = service.supervisor.processes()
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGINT)
    assert service.wait() == 0
    service.stop()
    assert [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert any("stopping at once" in line for line in said)
    assert said[-1].startswith("stopped in") and "no process left running" in said[-1]
