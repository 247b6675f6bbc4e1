"""One batch = one SLURM job, submitted through dagster-slurm (ssh → sbatch → Pipes), that outlives
the Dagster run which submitted it.

Shared by the SLURM OCR engine and the SLURM embedding engine. Each batch has a work folder both
sides see (the usual HPC shared filesystem). Before it submits, the runner writes `job.json` there
(attempt number, output folder, a fingerprint of the inputs); the payload writes `job_id` into its
output folder as soon as it starts, and `summary.json` when it is done.

A run that dies (SIGKILL, a daemon restart, a lost node) leaves its job on the cluster. The retried
run reads `job.json` and, for the same inputs:
- finished output (`summary.json`) → picked up, nothing submitted;
- the job still PENDING/RUNNING (found by its id, or by its job name while still queued) →
  reattached: the run waits for that job instead of submitting another;
- otherwise → a new attempt in a NEW folder. An attempt folder is never deleted or rewritten, so
  the folder of a live job is never touched.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import dagster as dg

from pipeline_project.lib.atomic import read_json, write_json_atomic
from pipeline_project.lib.settings import env_float, env_int, env_str

LIVE_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED"}
_JOB_RE = re.compile(r"\bJob (\d+)")
_STATE_RE = re.compile(r"state: ([A-Z_]+)")


def fingerprint(obj) -> str:
    """Identity of a batch's inputs: a job's output is only reused for the very same inputs."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


@dataclass
class JobOutcome:
    ok: bool
    out_dir: Path | None = None
    job_id: int | None = None
    attempts: int = 0  # jobs submitted by this run
    how: str = "submitted"  # submitted | reattached | picked_up | failed
    reason: str = ""
    metadata: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        return read_json(self.out_dir / "summary.json", {}) if self.out_dir else {}


class SlurmCluster(dg.ConfigurableResource):
    """Where and how batch jobs run. Settings: PIPELINE_SLURM_* (see `cluster_settings_from_env`)."""

    host: str
    port: int = 22
    user: str = ""
    key_path: str = ""
    known_hosts: str = ""
    host_key_checking: str = "strict"  # strict | accept-new | off (dagster-slurm's options)
    partition: str = ""
    time_limit: str = "04:00:00"
    cpus: int = 8
    mem: str = "32G"
    gpus: int = 1  # --gres=gpu:N; 0 for CPU-only partitions
    account: str = ""
    qos: str = ""
    remote_dir: str = "~/pipeline_project_slurm"  # dagster-slurm's remote_base (job scripts, logs)
    env_path: str  # pre-deployed env on the cluster: <env_path>/activate.sh + <env_path>/env/bin/python
    payload_path: str = ""  # "" = the engine's packaged payload
    project_src: str = ""  # where the cluster sees this checkout; "" = same path
    path_map: str = ""  # "LOCAL_PREFIX=CLUSTER_PREFIX" when the cluster mounts storage elsewhere
    attempts: int = 2
    retry_backoff_seconds: float = 5.0
    retry_cancelled: bool = False  # a job someone scancel'ed is not retried unless asked
    poll_interval_seconds: float = 0.5
    poll_timeout_seconds: int = 48 * 3600

    # -- plumbing ---------------------------------------------------------------------------------
    def compute(self):
        from dagster_slurm import (BashLauncher, ComputeResource, SlurmQueueConfig, SlurmResource,
                                   SSHConnectionResource)

        ssh_kwargs = {"host": self.host, "port": self.port, "user": self.user or _local_user(),
                      "host_key_checking": self.host_key_checking}
        if self.key_path:
            ssh_kwargs["key_path"] = self.key_path
        if self.known_hosts:
            ssh_kwargs["known_hosts_file"] = self.known_hosts
        queue = {"partition": self.partition or None, "time_limit": self.time_limit, "cpus": self.cpus,
                 "mem": self.mem, "gpus_per_node": self.gpus}
        if self.account:
            queue["account"] = self.account
        if self.qos:
            queue["qos"] = self.qos
        slurm = SlurmResource(
            ssh=SSHConnectionResource(**ssh_kwargs),
            queue=SlurmQueueConfig(**queue),
            remote_base=self.remote_dir,
            status_poll_interval_seconds=self.poll_interval_seconds,
            status_poll_max_interval_seconds=max(2.0, self.poll_interval_seconds),
        )
        # pre_deployed_env_path: no pixi packaging, the cluster's env is already there
        return ComputeResource(mode="slurm", slurm=slurm, default_launcher=BashLauncher(),
                               pre_deployed_env_path=self.env_path)

    def to_cluster(self, path: Path | str) -> str:
        """A local path as the cluster sees it (identity on a shared filesystem)."""
        text = str(path)
        if self.path_map:
            local, _, remote = self.path_map.partition("=")
            if text.startswith(local):
                return remote + text[len(local):]
        return text

    def ssh(self, command: str, timeout: float = 30) -> str:
        """Run one command on the cluster's login node (plain ssh; best effort, '' on failure)."""
        cmd = ["ssh", "-p", str(self.port), "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
        if self.key_path:
            cmd += ["-i", self.key_path]
        if self.known_hosts:
            cmd += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        cmd += [f"{self.user or _local_user()}@{self.host}", command]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""

    def sacct(self, job_id: int) -> dict:
        """State, exit code and elapsed time of a job from SLURM accounting (best effort)."""
        out = self.ssh(f"sacct -X -n -P -j {int(job_id)} -o State,ExitCode,ElapsedRaw")
        try:
            state, exit_code, elapsed = out.strip().splitlines()[0].split("|")[:3]
        except (IndexError, ValueError):
            return {}
        return {"slurm_state": state.split()[0], "slurm_exit_code": exit_code,
                "elapsed_seconds": int(elapsed) if elapsed.isdigit() else None}

    def job_state(self, job_id: int) -> str:
        """PENDING, RUNNING, COMPLETED, FAILED, ... ('' when SLURM does not know the job)."""
        out = self.ssh(f"squeue -h -j {int(job_id)} -o %T 2>/dev/null").strip()
        if out:
            return out.split()[0]
        return self.sacct(job_id).get("slurm_state", "")

    def live_job_named(self, name: str) -> int | None:
        """A queued or running job of ours with this name (how a job still PENDING is found again)."""
        out = self.ssh(f"squeue -h -u {self.user or _local_user()} -n {name} -o '%i|%T'")
        for line in out.splitlines():
            job, _, state = line.strip().partition("|")
            if job.isdigit() and state in LIVE_STATES:
                return int(job)
        return None

    # -- the reattachable job -----------------------------------------------------------------------
    def run_batch_job(
        self,
        context: dg.AssetExecutionContext,
        *,
        label: str,
        work_dir: Path,
        inputs_fingerprint: str,
        prepare: Callable[[Path], dict],
        payload: Path,
    ) -> JobOutcome:
        """Run (or find again) the one SLURM job of this batch. Never raises for a job that failed:
        the outcome says why, so the caller can dead-letter the batch's items.

        `prepare(out_dir)` writes the job's inputs into its attempt folder and returns the Pipes
        extras; it is only called for a new attempt."""
        work_dir.mkdir(parents=True, exist_ok=True)
        found = self._find_previous(context, label, work_dir, inputs_fingerprint)
        if found is not None:
            return found
        previous = read_json(work_dir / "job.json", {}) or {}
        number = int(previous.get("attempt", 0))
        history: list[dict] = []
        reason = "no attempt made (attempts=0)"
        for attempt in range(1, max(1, self.attempts) + 1):
            number += 1
            out_dir = work_dir / f"attempt-{number}"
            out_dir.mkdir(parents=True, exist_ok=False)  # new folder: never one a job may still use
            extras = dict(prepare(out_dir), out_dir=self.to_cluster(out_dir), attempt=number)
            write_json_atomic(work_dir / "job.json", {
                "attempt": number, "out_dir": str(out_dir), "fingerprint": inputs_fingerprint,
                "job_name": _job_name(context), "job_id": None, "submitted_at": time.time()})
            context.log.info(f"{label}: SLURM attempt {attempt}/{self.attempts} (folder attempt-{number})")
            started = time.monotonic()
            captured: dict = {}
            try:
                self.compute().run(
                    context=context,
                    payload_path=self.payload_path or str(payload),
                    extras=extras,
                    metrics_collector=lambda mctx: captured.update(mctx.default_metrics.to_metadata()) or {},
                    poll_timeout=self.poll_timeout_seconds,
                )
            except Exception as exc:  # the job failed, was cancelled, or never ran
                info = self._failure_info(exc, out_dir)
                info.update(attempt=attempt, wall_seconds=round(time.monotonic() - started, 2))
                history.append(info)
                reason = info["reason"]
                context.log.error(f"{label}: SLURM attempt {attempt}/{self.attempts} failed: {reason}\n"
                                  f"--- job error tail ---\n{info['error_tail']}")
                if info.get("slurm_state") == "CANCELLED" and not self.retry_cancelled:
                    break
                if attempt < self.attempts:
                    time.sleep(self.retry_backoff_seconds)
                continue
            job_id = _int(captured.get("slurm_job_id")) or _read_job_id(out_dir)
            self._record_job_id(work_dir, job_id)
            if not (out_dir / "summary.json").exists():
                reason = f"job {job_id} ended without writing its output (summary.json)"
                history.append({"attempt": attempt, "reason": reason, "slurm_job_id": job_id})
                continue
            meta = {k: v for k, v in captured.items() if isinstance(v, (int, float, str, bool))}
            meta["batch_wall_seconds"] = round(time.monotonic() - started, 2)
            return JobOutcome(True, out_dir, job_id, attempt, "submitted", metadata=meta, history=history)
        return JobOutcome(False, None, None, len(history), "failed", reason=reason, history=history)

    def _find_previous(self, context, label: str, work_dir: Path, inputs_fingerprint: str) -> JobOutcome | None:
        """The job an earlier (killed) run submitted for these inputs: its output, or the job itself."""
        previous = read_json(work_dir / "job.json", {}) or {}
        if not previous or previous.get("fingerprint") != inputs_fingerprint:
            return None
        out_dir = Path(previous["out_dir"])
        job_id = _int(previous.get("job_id")) or _read_job_id(out_dir)
        if (out_dir / "summary.json").exists():
            context.log.info(f"{label}: picking up the finished output of SLURM job {job_id} "
                             f"({out_dir.name}); nothing submitted")
            return JobOutcome(True, out_dir, job_id, 0, "picked_up", metadata=self._accounting(job_id))
        if job_id is None and previous.get("job_name"):
            job_id = self.live_job_named(previous["job_name"])  # still queued: the payload has not started
        if job_id is None:
            return None
        state = self.job_state(job_id)
        if state not in LIVE_STATES:
            context.log.info(f"{label}: the earlier SLURM job {job_id} is {state or 'unknown'}; submitting anew")
            return None
        context.log.info(f"{label}: reattaching to SLURM job {job_id} ({state}, {out_dir.name}) "
                         "submitted by an earlier run; nothing submitted")
        self._record_job_id(work_dir, job_id)
        started = time.monotonic()
        state = self._wait(context, label, job_id)
        meta = self._accounting(job_id)
        meta["batch_wall_seconds"] = round(time.monotonic() - started, 2)
        if state == "COMPLETED" and (out_dir / "summary.json").exists():
            return JobOutcome(True, out_dir, job_id, 0, "reattached", metadata=meta)
        context.log.warning(f"{label}: reattached job {job_id} ended {state} without output; submitting anew")
        return None

    def _wait(self, context, label: str, job_id: int) -> str:
        """Poll the job until it ends (the run can be killed again meanwhile: the job goes on)."""
        delay, waited, last_log = self.poll_interval_seconds, 0.0, 0.0
        deadline = time.monotonic() + self.poll_timeout_seconds
        while time.monotonic() < deadline:
            state = self.job_state(job_id)
            if state and state not in LIVE_STATES:
                return state
            if waited - last_log >= 60:
                context.log.info(f"{label}: SLURM job {job_id} {state or '?'} ({int(waited)} s)")
                last_log = waited
            time.sleep(delay)
            waited += delay
            delay = min(10.0, delay * 1.5)
        raise TimeoutError(f"SLURM job {job_id} still running after {self.poll_timeout_seconds} s")

    def _accounting(self, job_id: int | None) -> dict:
        if not job_id:
            return {}
        meta = {k: v for k, v in self.sacct(job_id).items() if v is not None}
        meta["slurm_job_id"] = job_id
        return meta

    @staticmethod
    def _record_job_id(work_dir: Path, job_id: int | None) -> None:
        state = read_json(work_dir / "job.json", {}) or {}
        if job_id and state.get("job_id") != job_id:
            write_json_atomic(work_dir / "job.json", dict(state, job_id=job_id))

    def _failure_info(self, exc: Exception, out_dir: Path) -> dict:
        message = f"{type(exc).__name__}: {exc}"
        job = _JOB_RE.search(str(exc))
        info: dict = {"reason": message[:500], "slurm_job_id": int(job.group(1)) if job else _read_job_id(out_dir)}
        state = _STATE_RE.search(str(exc))
        if state:
            info["slurm_state"] = state.group(1)
        if info["slurm_job_id"]:
            info.update({k: v for k, v in self.sacct(info["slurm_job_id"]).items() if v is not None})
        error_file = out_dir / "error.txt"
        tail = error_file.read_text(encoding="utf-8").strip().splitlines()[-15:] if error_file.exists() else []
        info["error_tail"] = "\n".join(tail) or "(the payload wrote no traceback: killed, cancelled or never started)"
        if tail:
            info["reason"] = f"job {info['slurm_job_id']} {info.get('slurm_state', 'FAILED')}: {tail[-1][:300]}"
        elif info.get("slurm_state") == "CANCELLED":
            info["reason"] = f"job {info['slurm_job_id']} was CANCELLED (scancel or preemption)"
        return info


def cluster_settings_from_env() -> dict:
    """The PIPELINE_SLURM_* settings every SLURM engine shares (docs/SLURM.md)."""
    return dict(
        host=env_str("PIPELINE_SLURM_HOST", "127.0.0.1"),
        port=env_int("PIPELINE_SLURM_PORT", 22),
        user=env_str("PIPELINE_SLURM_USER", ""),
        key_path=env_str("PIPELINE_SLURM_KEY", ""),
        known_hosts=env_str("PIPELINE_SLURM_KNOWN_HOSTS", ""),
        host_key_checking=env_str("PIPELINE_SLURM_HOST_KEY_CHECKING", "strict"),
        partition=env_str("PIPELINE_SLURM_PARTITION", ""),
        time_limit=env_str("PIPELINE_SLURM_TIME_LIMIT", "04:00:00"),
        cpus=env_int("PIPELINE_SLURM_CPUS", 8),
        mem=env_str("PIPELINE_SLURM_MEM", "32G"),
        gpus=env_int("PIPELINE_SLURM_GPUS", 1),
        account=env_str("PIPELINE_SLURM_ACCOUNT", ""),
        qos=env_str("PIPELINE_SLURM_QOS", ""),
        remote_dir=env_str("PIPELINE_SLURM_REMOTE_DIR", "~/pipeline_project_slurm"),
        env_path=env_str("PIPELINE_SLURM_ENV_PATH", ""),
        project_src=env_str("PIPELINE_SLURM_PROJECT_SRC", ""),
        path_map=env_str("PIPELINE_SLURM_PATH_MAP", ""),
        attempts=env_int("PIPELINE_SLURM_ATTEMPTS", 2),
        retry_backoff_seconds=env_float("PIPELINE_SLURM_RETRY_BACKOFF", 5.0),
        poll_timeout_seconds=env_int("PIPELINE_SLURM_POLL_TIMEOUT", 48 * 3600),
    )


def _job_name(context) -> str:
    """dagster-slurm's job name for this step (dagster_<step>__partition=<key>), to find a queued job."""
    from dagster_slurm.pipes_clients.slurm_pipes_client import SlurmPipesClient

    op = context.op_execution_context
    key = getattr(op, "step_key", None) or op.op_def.name
    if getattr(op, "has_partition_key", False):
        key = f"{key}__partition={op.partition_key}"
    return f"dagster_{SlurmPipesClient._sanitize_remote_path_component(key)}"


def _read_job_id(out_dir: Path) -> int | None:
    path = out_dir / "job_id"
    try:
        return _int(path.read_text(encoding="utf-8").strip())
    except OSError:
        return None


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _local_user() -> str:
    import getpass

    return getpass.getuser()
