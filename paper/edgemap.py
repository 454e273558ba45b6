"""The report's edge map (issue 22's centrepiece): readers.edge_map's rows as a table beside
its figure, read out per regime and n_c (where Lowell's n_c − 1 edge appears) and over model
size."""

from __future__ import annotations

from pathlib import Path

from simlab.claims import Thresholds, readers as rd
from simlab.paper.headline import REGIMES, _cell, _rel, _show
from simlab.record import Record


def edge_map_section(records: list[Record], fig_list, report_path: Path,
                     th: Thresholds = Thresholds(), rows: list[dict] | None = None) -> list[str]:
    """Where Lowell's n_c − 1 edge appears: readers.edge_map's table (``rows``, computed here
    when not given) and figure (issue 22's map; it grows as runs over model size and n_D are
    added)."""
    rows = rd.edge_map(records, th) if rows is None else rows
    out = ["## The edge map: where Lowell's n_c − 1 edge appears", ""]
    on = [u for u in rows if u["edge_count"] is not None]
    if not on:
        return out + ["No setting of Lowell's protocol reached the edge.", ""]
    fig = next(((p, why) for p, why in fig_list if p is not None and p.stem == "edge_map"), None)
    if fig:
        out += [f"![edge_map]({_rel(fig[0], report_path.parent)})", "", f"*{_cell(fig[1], 600)}*", ""]
    full = [u for u in on if u["fraction"] >= 1]
    sub = [u for u in on if u["subspace"]]
    nets: dict = {}
    for u in on:  # a net's size at its largest n_c (the output layer grows with n_c)
        nets[(u["regime"], u["net"])] = max(nets.get((u["regime"], u["net"]), 0), u["n_params"] or 0)
    sizes = sorted(nets.values())
    out += [f"{len(on)} settings reached the edge, in {len(nets)} net{'s' if len(nets) > 1 else ''} of "
            f"{', '.join(f'{n:,}' for n in sizes)} parameters; the edge count reached n_c − 1 in "
            f"{len(full)} of them, and an n_c − 1 outlier subspace "
            f"(λ_(n_c−1)/λ_(n_c) ≥ {th.outlier_ratio:g}) existed in {len(sub)}. "
            f"Edge count: the number of i whose ρ_i reaches {th.rho_edge:g} over 1/η windows (the "
            "verdicts' reading), beside the plain maximum and the median over on-edge points.",
            "", *where_sentences(on), "", *size_sentences(on), "",
            "| regime | net | parameters | n_D | η | n_c | runs (on edge) | edge count (seeds) "
            "| plain max | median | count/(n_c−1) | λ_(n_c−1)/λ_(n_c) | subspace |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for u in rows:
        rng = u["count_range"]
        params = f"{u['n_params']:,}" if u["n_params"] else "–"
        out.append(
            f"| {u['regime']} | {u['net']} | {params} | {u['n_data']} | "
            f"{_show(u['lr'])} | {u['n_classes']} | {u['runs']} ({u['reached']}) | "
            f"{_show(u['edge_count'])}{f' ({rng[0]}–{rng[1]})' if rng and rng[0] != rng[1] else ''} | "
            f"{_show(u['plain_max'])} | {_show(u['median_reading'])} | {_show(u['fraction'])} | "
            f"{_show(u['outlier_ratio'])} | {_show(u['subspace'])} |")
    return out + [""]


def where_sentence(on: list[dict], g: str) -> str | None:
    """The map read out for regime ``g`` in one line: at each n_c, in how many on-edge settings
    (``on``: readers.edge_map's rows with an edge count) the count reached n_c − 1, which
    settings when only some did, and the counts of the rest. None: no setting of ``g``."""
    by_nc: dict = {}
    for u in on:
        if u["regime"] == g:
            by_nc.setdefault(u["n_classes"], []).append(u)
    if not by_nc:
        return None
    parts = []
    for nc, us in sorted(by_nc.items()):
        full = [u for u in us if u["fraction"] >= 1]
        rest = sorted(u["edge_count"] for u in us if u["fraction"] < 1)
        part = f"n_c = {nc}: {len(full)} of {len(us)} setting{'s' if len(us) > 1 else ''}"
        if full and rest:
            part += " (" + "; ".join(f"{u['net']}, n_D {u['n_data']}, η {_show(u['lr'])}: "
                                     f"{_show(u['edge_count'])}" for u in full) + ")"
        if rest:
            counts = _show(rest[0]) + (f"–{_show(rest[-1])}" if rest[-1] != rest[0] else "")
            part += (f", elsewhere {counts} of {nc - 1}" if full else
                     f" (count {counts} of {nc - 1})")
        parts.append(part)
    return f"Where the n_c − 1 edge appears ({g}): " + "; ".join(parts) + "."


def where_sentences(on: list[dict]) -> list[str]:
    """:func:`where_sentence` of each regime with a setting on the edge, as list items."""
    return [f"- {x}" for x in (where_sentence(on, g) for g in REGIMES) if x]


def size_sentences(on: list[dict]) -> list[str]:
    """Over model size: for each family, n_D, η and n_c measured at ≥ 2 sizes, edge count /
    (n_c − 1) by parameter count (the map's size axis, read out). Two settings at one size (an
    η sweep's and a class sweep's run of the same net) are told apart by their experiments."""
    groups: dict = {}
    for u in on:
        key = (u["regime"], u["family"], u["n_data"], u["lr"], u["n_classes"])
        groups.setdefault(key, []).append(u)
    out = []
    for (g, fam, n, lr, nc), us in sorted(groups.items(), key=lambda kv: str(kv[0])):
        if len({u["n_params"] for u in us}) < 2:
            continue
        us = sorted(us, key=lambda u: (u["n_params"] or 0, u["experiments"]))
        shared = {p for p in (u["n_params"] for u in us) if sum(v["n_params"] == p for v in us) > 1}
        seq = ", ".join(f"{u['n_params']:,}"
                        + (f" ({', '.join(u['experiments'])})" if u["n_params"] in shared else "")
                        + f" → {_show(u['fraction'])} ({u['reached']} seed"
                        f"{'s' if u['reached'] != 1 else ''})" for u in us)
        out.append(f"Over model size ({g}, {fam}, n_D = {n}, η = {_show(lr)}, n_c = {nc}): edge "
                   f"count / (n_c − 1) by parameters {seq}.")
    return [" ".join(out)] if out else []
