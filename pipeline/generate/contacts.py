"""Contacts of a chunk of households, vectorised with numpy (≈ 100 contacts per household-year)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from pipeline.generate.world import Household

RATE_PER_DAY = 100 / 365
# contact type code, weight, duration low, duration high (minutes)
TYPES = (
    ("home_visit", 0.34, 45, 120),
    ("office", 0.14, 30, 90),
    ("phone", 0.20, 5, 30),
    ("messenger_email", 0.16, 5, 15),
    ("accompaniment", 0.06, 60, 240),
    ("video", 0.02, 20, 60),
    ("group_offer", 0.02, 90, 180),
    ("network_contact", 0.02, 15, 45),
    ("not_met", 0.04, 10, 30),
)
NOT_MET = len(TYPES) - 1
TOPIC_PROFILES = {
    "plain": {"work": 6, "finances": 5, "health": 3, "housing": 3, "authorities": 4, "mobility": 2, "participation": 1},
    "family": {
        "work": 4,
        "finances": 5,
        "health": 3,
        "housing": 2,
        "children": 6,
        "authorities": 3,
        "mobility": 1,
        "participation": 2,
        "family": 4,
    },
    "refugee": {
        "work": 4,
        "finances": 3,
        "health": 2,
        "housing": 4,
        "authorities": 5,
        "language": 6,
        "residence": 4,
        "mobility": 1,
    },
    "refugee_family": {
        "work": 3,
        "finances": 3,
        "health": 2,
        "housing": 3,
        "children": 5,
        "authorities": 5,
        "language": 6,
        "residence": 4,
        "family": 2,
        "participation": 1,
    },
}
# free-text remarks of the extra column "Bemerkung": synthetic, no names; separators, quotes, line breaks
REMARKS = (
    "Termin verschoben; Kind krank",
    'Unterlagen "Wohngeld" mitgebracht',
    "Rückruf vereinbart\nnächste Woche erneut versuchen",
    "Antrag ausgefüllt; Kopie an Jobcenter",
    'Begleitung zum Amt, Wartezeit "sehr lang"',
    "niemand zu Hause;\nKarte in den Briefkasten",
    "Gespräch mit Dolmetscherin",
    "Kontoauszüge sortiert, Plan für Ratenzahlung",
    "Kita-Anmeldung besprochen",
    "Bewerbung geschrieben; Rückmeldung abwarten",
)


@dataclass
class ContactChunk:
    rows: list  # tuples (a defect makes its row a list): contacts up to the final snapshot, in file order
    date_ord: np.ndarray  # contact date as proleptic ordinal, per row
    hh_pos: np.ndarray  # position of the household in the chunk, per row


def topic_strings(rng: np.random.Generator, labels: dict[str, str], n: int = 256) -> dict[str, list[str]]:
    """Per profile a pool of topic lists (1–3 topics, comma-separated German labels)."""
    out = {}
    for profile, weights in TOPIC_PROFILES.items():
        codes = list(weights)
        p = np.array([weights[c] for c in codes], dtype=float)
        p /= p.sum()
        pool = []
        for _ in range(n):
            k = int(rng.choice((1, 1, 2, 2, 3)))
            chosen = rng.choice(len(codes), size=k, replace=False, p=p)
            pool.append(",".join(labels[codes[i]] for i in sorted(chosen)))
        out[profile] = pool
    return out


def make_contacts(
    rng: np.random.Generator,
    households: list[Household],
    snapshot: dt.date,
    first_id: int,
    id_width: int,
    date_text: list[str],
    date_base: int,
    labels: dict[str, dict[str, str]],
    topics: dict[str, list[str]],
) -> ContactChunk:
    """All contacts of ``households`` dated up to ``snapshot``, sorted by household and date."""
    snap = snapshot.toordinal()
    nh = len(households)
    entry = np.array([h.entry.toordinal() for h in households], dtype=np.int64)
    exit_ = np.array([h.exit.toordinal() for h in households], dtype=np.int64)
    not_started = np.array([h.final_status == "not_started" for h in households], dtype=bool)
    present = entry <= snap
    end = np.minimum(exit_, snap)
    span = np.maximum(end - entry + 1, 1)
    n = rng.poisson(RATE_PER_DAY * span)
    n = np.where(not_started, rng.integers(1, 3, nh), n)
    n = np.where(present, n, 0)
    hh = np.repeat(np.arange(nh), n)
    date = entry[hh] + (rng.random(hh.size) * span[hh]).astype(np.int64)
    # weekends: most contacts move to the Friday before (when that is still inside the window)
    dow = date % 7  # ordinal 1 = Monday
    shifted = np.where(dow == 6, date - 1, np.where(dow == 0, date - 2, date))
    keep_weekend = rng.random(hh.size) < 0.05
    date = np.where((shifted >= entry[hh]) & ~keep_weekend, shifted, date)
    # a few contacts in the 28 days after the exit (after-care), when the exit is recorded
    ended = (exit_ <= snap) & ~not_started & present
    extra = np.flatnonzero(ended & (rng.random(nh) < 0.3))
    if extra.size:
        xdate = np.minimum(exit_[extra] + rng.integers(1, 29, extra.size), snap)
        hh = np.concatenate([hh, extra])
        date = np.concatenate([date, xdate])
    order = np.lexsort((date, hh))
    hh, date = hh[order], date[order]
    m = hh.size

    probs = np.array([t[1] for t in TYPES])
    typ = rng.choice(len(TYPES), size=m, p=probs / probs.sum())
    typ = np.where(not_started[hh], NOT_MET, typ)
    lo = np.array([t[2] for t in TYPES])[typ]
    hi = np.array([t[3] for t in TYPES])[typ]
    dur = (lo + rng.random(m) * (hi - lo + 1)).astype(np.int64)
    dur = np.maximum(5, (dur // 5) * 5)

    # persons: empty = whole household; else a participant (or, rarely, any member)
    flat_pids: list[str] = []
    start = np.zeros(nh, dtype=np.int64)
    count = np.zeros(nh, dtype=np.int64)
    for i, h in enumerate(households):
        cands = [p.pid for p in h.persons if p.participant] or [h.persons[0].pid]
        start[i], count[i] = len(flat_pids), len(cands)
        flat_pids.extend(cands)
    pid_idx = start[hh] + (rng.random(m) * count[hh]).astype(np.int64)
    with_pid = rng.random(m) < 0.4
    flat = np.array(flat_pids + [""], dtype=object)
    pids = np.where(with_pid, flat[pid_idx], "")

    coaches = np.array([h.coach for h in households], dtype=object)
    cover = np.array(["C02" if h.coach != "C02" else "C01" for h in households], dtype=object)
    coach = np.where(rng.random(m) < 0.05, cover[hh], coaches[hh])

    profiles = list(TOPIC_PROFILES)
    pool = np.array([t for prof in profiles for t in topics[prof]], dtype=object)
    width = len(topics[profiles[0]])
    prof_idx = np.array([profiles.index(h.profile) for h in households], dtype=np.int64)
    tpick = prof_idx[hh] * width + rng.integers(0, width, m)
    empty_topics = (typ == NOT_MET) | (rng.random(m) < 0.08)
    topic_col = np.where(empty_topics, "", pool[tpick])
    remark_pick = rng.integers(0, len(REMARKS), m)
    with_remark = rng.random(m) < 0.03
    remark_col = np.where(with_remark, np.array(REMARKS, dtype=object)[remark_pick], "")

    type_labels = np.array([labels["contact_type"][t[0]] for t in TYPES], dtype=object)
    ja, nein = labels["bool"]["yes"], labels["bool"]["no"]
    hids = np.array([h.hid for h in households], dtype=object)
    text = np.array(date_text, dtype=object)
    rows = list(
        zip(
            [f"K{first_id + k:0{id_width}d}" for k in range(m)],
            hids[hh].tolist(),
            pids.tolist(),
            text[date - date_base].tolist(),
            [str(x) for x in dur.tolist()],
            type_labels[typ].tolist(),
            np.where(typ == NOT_MET, nein, ja).tolist(),
            coach.tolist(),
            topic_col.tolist(),
            remark_col.tolist(),
            strict=True,
        )
    )
    return ContactChunk(rows, date, hh)
