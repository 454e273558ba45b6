"""How a landscape cuts its examples into chunks under a memory budget, and why.

:class:`simlab.landscape.Landscape` measures the bytes one example adds to a held gradient graph
(:func:`graph_bytes` on two probe chunks); :func:`plan` turns that and the budget into a chunk
size and the number of chunks whose graphs are held: the whole set in one held chunk if its graph
fits the budget, else working chunks of a quarter of the budget, with as many held as fit beside
one working chunk and the rest recomputed at each product. :func:`reason` says the choice in
words, with the numbers it rests on (``Landscape.chunking()["why"]``, stored in every record).
Pure functions of plain numbers, but for :func:`graph_bytes`, which runs what it measures.
"""

from __future__ import annotations

import math

import torch

MIB = 2.0 ** 20


def graph_bytes(fn) -> int:
    """Bytes of the distinct storages that autograd saves while ``fn()`` runs."""
    seen: dict[int, int] = {}

    def pack(t):
        st = t.untyped_storage()
        seen[st.data_ptr()] = st.nbytes()
        return t

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def plan(n: int, chunk_size: int | None, budget_mb: float | None,
         bytes_per_example: float | None) -> tuple[int, int]:
    """(chunk size, held chunks) for n examples: without a budget every chunk is held (one chunk
    unless ``chunk_size`` is given); with one, as the module docstring says."""
    if budget_mb is None:
        size = chunk_size or n
        return size, math.ceil(n / size)
    budget, b = budget_mb * MIB, bytes_per_example
    if chunk_size is None:
        # the whole set held if it fits; else working chunks of a quarter of the budget
        chunk_size = n if n * b <= budget else max(1, min(n, int(budget / (4 * b))))
    per_chunk = chunk_size * b
    n_chunks = math.ceil(n / chunk_size)
    room = budget if n_chunks == 1 else budget - per_chunk  # one working chunk stays free
    return chunk_size, min(n_chunks, max(0, int(room // per_chunk)))


def reason(n: int, chunk_size: int, held: int, budget_mb: float | None,
           graph_mib: float | None, given: bool) -> str:
    """Why n examples are chunked as :func:`plan` chose, in words with the numbers the choice
    rests on (the probe's held-graph MiB an example; ``given``: the chunk size was the caller's)."""
    n_chunks = math.ceil(n / chunk_size)
    if budget_mb is None:
        return (f"no memory budget: {f'chunks of {chunk_size} as given' if given else 'one chunk'}, "
                f"every chunk's graph held")
    whole = (f"the whole set's held gradient graph, {n * graph_mib:.4g} MiB ({graph_mib:.3g} MiB an "
             f"example, measured on probe chunks; a product's transient buffers come on top)")
    if given:
        why = f"chunks of {chunk_size} as given"
    elif n_chunks == 1:
        why = f"{whole}, fits the {budget_mb:g} MiB budget: one chunk"
    else:
        why = f"{whole}, exceeds the {budget_mb:g} MiB budget: chunks of a quarter of it"
    if n_chunks == 1 and held == 1:
        return why + "; its graph held (a product is one backward pass)"
    free = n_chunks - held
    return why + f"; {held} of {n_chunks} chunks' graphs held" + (
        f" beside one working chunk, {free} recomputed at each product (a dearer product, memory "
        f"capped at the budget)" if free else "")
