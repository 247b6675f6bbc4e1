"""OCR engine that runs one batch as ONE SLURM job through dagster-slurm (ssh → sbatch → Pipes).

Data moves through a filesystem both sides see (the usual HPC setup): the engine writes the batch
manifest under the batch's work_dir, the job reads the PDFs from the store and writes its records
next to the manifest. `path_map` translates paths when the cluster mounts the storage elsewhere.

Failures never raise out of `ocr_batch`: each attempt is its own SLURM job (logged with the job's
error tail); after the last attempt every document of the batch is returned as a failure with the
reason, so the documents asset records dead letters and the pipeline goes on. Retrying here rather
than with an asset RetryPolicy keeps the rest of the step's work (and its partition) intact.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from pipeline_project.defs.documents.ocr.base import OcrBatchResult, OcrEngine, OcrInput
from pipeline_project.lib.settings import env_float, env_int, env_str

PAYLOAD = Path(__file__).with_name("olmocr_payload.py")
PROJECT_ROOT = Path(__file__).resolve().parents[4]
_JOB_RE = re.compile(r"\bJob (\d+)")
_STATE_RE = re.compile(r"state: ([A-Z_]+)")


class SlurmOcrEngine(OcrEngine):
    """olmOCR (or the CPU stand-in) on a SLURM cluster. Settings: see `from_env` and docs/SLURM.md."""

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
    payload_mode: str = "olmocr"  # olmocr (production) | cpu (CPU STAND-IN for tests/CI)
    payload_path: str = ""  # "" = the packaged olmocr_payload.py
    olmocr_args: list[str] = []  # extra olmocr.pipeline arguments, e.g. ["--model", "/models/olmOCR-2"]
    project_src: str = ""  # where the cluster sees this checkout (cpu mode imports from it); "" = same path
    path_map: str = ""  # "LOCAL_PREFIX=CLUSTER_PREFIX" when the cluster mounts storage elsewhere
    attempts: int = 2
    retry_backoff_seconds: float = 5.0
    retry_cancelled: bool = False  # a job someone scancel'ed is not retried unless asked
    poll_interval_seconds: float = 0.5
    poll_timeout_seconds: int = 48 * 3600
    cpu_workers: int = 0

    @property
    def engine_name(self) -> str:
        return f"slurm-{self.payload_mode}"

    @classmethod
    def from_env(cls) -> "SlurmOcrEngine":
        return cls(
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
            payload_mode=env_str("PIPELINE_SLURM_PAYLOAD_MODE", "olmocr"),
            olmocr_args=shlex.split(env_str("PIPELINE_SLURM_OLMOCR_ARGS", "")),
            project_src=env_str("PIPELINE_SLURM_PROJECT_SRC", ""),
            path_map=env_str("PIPELINE_SLURM_PATH_MAP", ""),
            attempts=env_int("PIPELINE_SLURM_ATTEMPTS", 2),
            retry_backoff_seconds=env_float("PIPELINE_SLURM_RETRY_BACKOFF", 5.0),
            poll_timeout_seconds=env_int("PIPELINE_SLURM_POLL_TIMEOUT", 48 * 3600),
        )

    # -- dagster-slurm plumbing -------------------------------------------------------------------
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

    # -- the engine -------------------------------------------------------------------------------
    def ocr_batch(self, context, batch_id: str, inputs: list[OcrInput], work_dir: Path) -> OcrBatchResult:
        slurm_dir = Path(work_dir) / "slurm"
        slurm_dir.mkdir(parents=True, exist_ok=True)
        manifest = [{"doc_id": i.doc_id, "pdf_path": self.to_cluster(i.pdf_path),
                     "source_file": i.source_file, "pages": i.pages} for i in inputs]
        (slurm_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        pages = sum(i.pages for i in inputs)
        history: list[dict] = []
        reason = "no attempt made (attempts=0)"
        for attempt in range(1, max(1, self.attempts) + 1):
            out_dir = slurm_dir / f"attempt-{attempt}"
            shutil.rmtree(out_dir, ignore_errors=True)  # a re-run must not read an older job's output
            out_dir.mkdir(parents=True)
            context.log.info(f"OCR {batch_id}: SLURM attempt {attempt}/{self.attempts}, {len(inputs)} documents, "
                             f"{pages} pages, mode={self.payload_mode}")
            started = time.monotonic()
            captured: dict = {}
            try:
                self.compute().run(
                    context=context,
                    payload_path=self.payload_path or str(PAYLOAD),
                    extras=self._extras(batch_id, slurm_dir, out_dir, attempt),
                    metrics_collector=lambda mctx: captured.update(mctx.default_metrics.to_metadata()) or {},
                    poll_timeout=self.poll_timeout_seconds,
                )
            except Exception as exc:  # the job failed, was cancelled, or never ran
                info = self._failure_info(exc, out_dir)
                info.update(attempt=attempt, wall_seconds=round(time.monotonic() - started, 2))
                history.append(info)
                reason = info["reason"]
                context.log.error(f"OCR {batch_id}: SLURM attempt {attempt}/{self.attempts} failed: {reason}\n"
                                  f"--- job error tail ---\n{info['error_tail']}")
                if info.get("slurm_state") == "CANCELLED" and not self.retry_cancelled:
                    break
                if attempt < self.attempts:
                    time.sleep(self.retry_backoff_seconds)
                continue
            return self._collect(out_dir, captured, history, attempt, pages, time.monotonic() - started)
        failures = {i.doc_id: f"SLURM OCR gave up after {len(history)} attempt(s): {reason}" for i in inputs}
        return OcrBatchResult(records=[], failures=failures, metadata={
            "engine": self.engine_name, "slurm_attempts": len(history), "slurm_outcome": "failed",
            "slurm_failure": reason, "slurm_attempt_history": json.dumps(history), "pages_requested": pages})

    def _extras(self, batch_id: str, slurm_dir: Path, out_dir: Path, attempt: int) -> dict:
        return {
            "batch_id": batch_id, "attempt": attempt, "mode": self.payload_mode,
            "manifest": self.to_cluster(slurm_dir / "manifest.json"), "out_dir": self.to_cluster(out_dir),
            "parts_dir": self.to_cluster(slurm_dir), "olmocr_args": list(self.olmocr_args),
            "project_src": self.project_src or self.to_cluster(PROJECT_ROOT), "cpu_workers": self.cpu_workers,
        }

    def _collect(self, out_dir: Path, captured: dict, history: list, attempt: int, pages: int,
                 wall: float) -> OcrBatchResult:
        records = [json.loads(ln) for ln in (out_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()
                   if ln.strip()]
        failures = json.loads((out_dir / "failures.json").read_text(encoding="utf-8"))
        summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
        metadata = {
            "engine": self.engine_name, "slurm_attempts": attempt, "slurm_outcome": "completed",
            "pages_requested": pages, "pages_ocr": summary.get("pages", 0),
            "payload_seconds": summary.get("payload_seconds", 0.0), "batch_wall_seconds": round(wall, 2),
            # everything that is not the payload's own work: ssh, upload, queue, polling, accounting
            "slurm_overhead_seconds": round(wall - float(summary.get("payload_seconds", 0.0)), 2),
            **{k: v for k, v in captured.items() if isinstance(v, (int, float, str, bool))},
        }
        if history:
            metadata["slurm_attempt_history"] = json.dumps(history)
        return OcrBatchResult(records=records, failures=failures, metadata=metadata)

    def _failure_info(self, exc: Exception, out_dir: Path) -> dict:
        message = f"{type(exc).__name__}: {exc}"
        job = _JOB_RE.search(str(exc))
        info: dict = {"reason": message[:500], "slurm_job_id": int(job.group(1)) if job else None}
        state = _STATE_RE.search(str(exc))
        if state:
            info["slurm_state"] = state.group(1)
        if info["slurm_job_id"]:
            info.update(self.sacct(info["slurm_job_id"]))
        error_file = out_dir / "error.txt"
        tail = error_file.read_text(encoding="utf-8").strip().splitlines()[-15:] if error_file.exists() else []
        info["error_tail"] = "\n".join(tail) or "(the payload wrote no traceback: killed, cancelled or never started)"
        if tail:
            info["reason"] = f"job {info['slurm_job_id']} {info.get('slurm_state', 'FAILED')}: {tail[-1][:300]}"
        elif info.get("slurm_state") == "CANCELLED":
            info["reason"] = f"job {info['slurm_job_id']} was CANCELLED (scancel or preemption)"
        return info

    def sacct(self, job_id: int) -> dict:
        """State, exit code and elapsed time of a job from SLURM accounting (best effort)."""
        cmd = ["ssh", "-p", str(self.port), "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
        if self.key_path:
            cmd += ["-i", self.key_path]
        if self.known_hosts:
            cmd += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        cmd += [f"{self.user or _local_user()}@{self.host}",
                f"sacct -X -n -P -j {int(job_id)} -o State,ExitCode,ElapsedRaw"]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False).stdout
            state, exit_code, elapsed = out.strip().splitlines()[0].split("|")[:3]
        except Exception:
            return {}
        return {"slurm_state": state.split()[0], "slurm_exit_code": exit_code,
                "elapsed_seconds": int(elapsed) if elapsed.isdigit() else None}


def _local_user() -> str:
    import getpass

    return getpass.getuser()
