"""The indicator catalogue (``pipeline/data/catalogue.toml``): id, German label and definition, unit, family."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

FUNDING_PERIODS = ("esf_2014_2020", "esfplus_2021_2027")
UNITS = ("count", "share", "ratio", "days")
FAMILIES = ("project", "esf_output", "esf_result")
AUDIENCES = ("all", "intern")


@dataclass(frozen=True)
class Indicator:
    id: str  # "K05", "EECO02", "CO01", ...
    label: str  # German label
    definition: str  # German definition text (annex)
    unit: str  # "count" | "share" | "ratio" | "days"
    family: str  # "project" | "esf_output" | "esf_result"
    funding_periods: tuple[str, ...]  # subset of FUNDING_PERIODS
    audience: str  # "all" | "intern"
    special_category: bool  # GDPR Art. 9 → higher disclosure threshold
    sql_file: str  # file under sql/ that computes it


@cache
def _load() -> tuple[Indicator, ...]:
    with resources.files("pipeline.data").joinpath("catalogue.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    out = []
    for entry in raw["indicator"]:
        ind = Indicator(**{**entry, "funding_periods": tuple(entry["funding_periods"])})
        if ind.unit not in UNITS or ind.family not in FAMILIES or ind.audience not in AUDIENCES:
            raise ValueError(f"catalogue.toml: bad unit/family/audience for {ind.id}")
        if not set(ind.funding_periods) <= set(FUNDING_PERIODS):
            raise ValueError(f"catalogue.toml: unknown funding period for {ind.id}")
        out.append(ind)
    ids = [i.id for i in out]
    if len(ids) != len(set(ids)):
        raise ValueError("catalogue.toml: duplicate indicator ids")
    return tuple(out)


def indicators() -> list[Indicator]:
    """All indicators, in catalogue (report) order."""
    return list(_load())


def get(indicator_id: str) -> Indicator:
    for ind in _load():
        if ind.id == indicator_id:
            return ind
    raise KeyError(indicator_id)


def for_funding_period(fp: str) -> list[Indicator]:
    """The indicators reported for one funding period (K indicators for both), in catalogue order."""
    if fp not in FUNDING_PERIODS:
        raise KeyError(fp)
    return [i for i in _load() if fp in i.funding_periods]


def settings_annex(config) -> list[tuple[str, str]]:
    """German lines for the definitions annex: the open questions of indicators.md as configured."""
    esf, ind = config.esf, config.indicators
    from pipeline import model

    status_labels = model.label_lists()["help_status"].labels
    return [
        ("EECR01/CR01 nur für bei Eintritt Nichterwerbstätige", "ja" if esf.eecr01_inactive_at_entry_only else "nein"),
        ("Langzeitarbeitslos unter 25 Jahren: arbeitslos seit mindestens (Monate)", str(esf.ltu_months_under_25)),
        ("Langzeitarbeitslos ab 25 Jahren: arbeitslos seit mindestens (Monate)", str(esf.ltu_months_25_plus)),
        ("Gezählte Hilfestatus", ", ".join(status_labels[s] for s in ind.counted_help_statuses)),
        ("Ländliche Gemeinden (Gemeindeschlüssel)", ", ".join(esf.rural_municipalities) or "keine"),
    ]
