"""The rows of one household in each export table, as the tool writes them: German labels (sometimes with odd
case or white space), its date formats, the snapshot's view of statuses. Used by :func:`pipeline.generate.generate`."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from pipeline import model
from pipeline.generate.files import de_date, de_date_short, iso_date
from pipeline.generate.world import Household

# ---- labels and cell noise ------------------------------------------------------------------------------


def export_labels() -> dict[str, dict[str, str]]:
    lists = {name: dict(lst.labels) for name, lst in model.label_lists().items()}
    lists["bool"] = {"yes": lists["yes_no_not_stated"]["yes"], "no": lists["yes_no_not_stated"]["no"]}
    return lists


def _noisy(label: str, rng: random.Random, p: float = 0.02) -> str:
    """Sometimes odd case or extra white space: equal after trim/NFC/casefold/collapse (exports.md)."""
    if not label or rng.random() >= p:
        return label
    variant = rng.choice((label.lower(), label.upper(), f" {label}", f"{label}  ", label.replace(" ", "  ", 1)))
    assert model.normalise(variant) == model.normalise(label)
    return variant


def _bool(v: bool | None, labels, rng: random.Random) -> str:
    if v is None:
        return ""
    return _noisy(labels["bool"]["yes" if v else "no"], rng, 0.05)


# ---- row builders -----------------------------------------------------------------------------------------


def household_row(h: Household, as_of: dt.date, L, rng, date_cells: bool, ags_number: bool) -> list:
    status, exit_ = h.status(as_of)

    def d(x: dt.date | None):
        if x is None:
            return ""
        return x if date_cells else de_date(x)

    n = len(h.persons)
    return [
        h.hid,
        h.bg_number,
        h.cycle,
        _noisy(L["jobcenter_site"][h.site], rng),
        int(h.ags) if ags_number else h.ags,
        _noisy(L["household_type"][h.htype], rng),
        n if date_cells or ags_number else str(n),
        d(h.referral),
        d(h.entry),
        d(exit_),
        _noisy(L["household_status"][status], rng),
        h.coach,
    ]


def person_rows(h: Household, as_of: dt.date, L, rng) -> tuple[list[list], list[dict]]:
    rows, ctx = [], []
    for p in h.persons:
        part = p.participant and p.esf_entry is not None and p.esf_entry <= as_of
        left = part and p.esf_exit is not None and p.esf_exit <= as_of
        fmt = iso_date if rng.random() < 0.1 else de_date  # some rows carry ISO dates

        def d(x, fmt=fmt):
            return fmt(x) if x else ""

        def lab(lst, code):
            return _noisy(L[lst][code], rng) if code else ""

        row = [
            p.pid,
            h.hid,
            p.first,
            p.last,
            lab("role", p.role),
            _bool(part, L, rng),
            d(p.esf_entry) if part else "",
            d(p.esf_exit) if left else "",
            lab("gender", p.gender),
            de_date_short(p.birth) if p.birth else "",
        ]
        if part:
            row += [
                p.citizenship,
                lab("yes_no_not_stated", p.foreign),
                lab("yes_no_not_stated", p.refugee),
                lab("yes_no_not_stated", p.disability),
                lab("yes_no_not_stated", p.minority),
                lab("yes_no_unknown", p.homeless),
                lab("school_qualification", p.school),
                lab("isced_foreign", p.isced),
                lab("vocational_qualification", p.vocational),
                lab("employment_status_entry", p.employment),
                d(p.unemployed_since),
                _bool(p.ltb, L, rng),
                d(p.consent),
            ]
        else:
            row += [""] * 13
        if left:
            row += [
                lab("exit_reason", p.exit_reason),
                lab("destination", p.destination),
                d(p.destination_start),
                _bool(p.qualification, L, rng),
                lab("employability_increased", p.employability),
            ]
        else:
            row += [""] * 5
        rows.append(row)
        ctx.append({"participant": part, "esf_entry": p.esf_entry, "household_id": h.hid, "birth": p.birth})
    return rows, ctx


def help_rows(h: Household, as_of: dt.date, L, rng) -> tuple[list[list], list[dict]]:
    rows, ctx = [], []
    for x in h.helps:
        st = x.state(as_of)
        if st is None:
            continue
        status, initiated, sdate = st
        fmt = de_date_short if rng.random() < 0.05 else de_date
        if status == "planned" and rng.random() < 0.5:
            sdate = None
        rows.append(
            [
                x.help_id,
                h.hid,
                x.person_id,
                _noisy(L["help_type"][x.help_type], rng),
                _noisy(L["provider_category"][x.provider], rng),
                fmt(initiated) if initiated else "",
                _noisy(L["help_status"][status], rng),
                fmt(sdate) if sdate else "",
            ]
        )
        ctx.append({"entry": h.entry})
    return rows, ctx


def followup_rows(h: Household, L, rng, date_cells: bool) -> list[list]:
    rows = []
    for f in h.followups:
        survey = "" if f.survey is None else (f.survey if date_cells else de_date(f.survey))
        rows.append(
            [
                f.person_id,
                survey,
                _bool(f.reached, L, rng),
                _noisy(L["followup_employment_status"][f.status], rng) if f.status else "",
                L["yes_no_unknown"][f.sgb2] if f.sgb2 else "",
            ]
        )
    return rows


class LazyCtx:
    """Per-row context of contacts/helps defects, computed only for the rows a defect touches."""

    def __init__(self, fn: Callable[[int], dict], n: int):
        self._fn, self._n = fn, n

    def __getitem__(self, i: int) -> dict:
        return self._fn(i)

    def __len__(self) -> int:
        return self._n
