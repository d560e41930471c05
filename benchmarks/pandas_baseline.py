"""Baseline: K01, K05, K09 and EECO01–EECO05 for one cycle in plain pandas, as an analyst would write it.

Reads the newest snapshot of households, persons and helps straight from the export files (CSV with the
encoding and separator found by trying, XLSX with ``read_excel``), compares labels after trim/case-fold and
follows indicators.md. No quarantine: the benchmark generates clean exports, so the figures must agree with
the pipeline's (``compare``).
"""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pandas as pd

NOT_STARTED = "nicht angetreten"
COUNTED = {"eingeleitet", "begonnen", "abgeschlossen", "abgebrochen"}
MEASURES = {
    "teilhabe am arbeitsmarkt (§ 16i sgb ii)",
    "eingliederung von langzeitarbeitslosen (§ 16e sgb ii)",
    "berufliche weiterbildung (fbw)",
    "sprach-/integrationskurs",
    "maßnahme des jobcenters (§ 45 sgb iii)",
    "arbeitsgelegenheit (§ 16d sgb ii)",
}
UNEMPLOYED = "arbeitslos gemeldet"
INACTIVE = {"nicht erwerbstätig (in schule/ausbildung)", "nicht erwerbstätig (sonstige)"}
EMPLOYED = {"erwerbstätig (sozialversicherungspflichtig)", "erwerbstätig (geringfügig)", "selbstständig"}
GENDERS = {"weiblich": "women", "männlich": "men", "divers": "non_binary"}
ISCED_FOREIGN = {"isced 0-2": "0-2", "isced 3-4": "3-4", "isced 5-8": "5-8"}
VOC_HIGH = {"meister/techniker/fachschule", "bachelor/fachhochschule", "master/diplom/universität", "promotion"}
SCHOOL_MID = {"fachhochschulreife", "abitur"}
SCHOOL_LOW = {"kein abschluss", "förderschulabschluss", "hauptschulabschluss/berufsreife", "mittlerer abschluss"}
# labels are compared case-folded ("MASSNAHME" is "Maßnahme"), as exports.md says
MEASURES = {m.casefold() for m in MEASURES}
GENDERS = {k.casefold(): v for k, v in GENDERS.items()}
INACTIVE, EMPLOYED = {m.casefold() for m in INACTIVE}, {m.casefold() for m in EMPLOYED}
VOC_HIGH, SCHOOL_MID, SCHOOL_LOW = ({m.casefold() for m in s} for s in (VOC_HIGH, SCHOOL_MID, SCHOOL_LOW))
FILE = re.compile(r"^(?P<prefix>[a-z]+)_(?P<date>\d{8})\.(csv|xlsx)$", re.I)


def latest_file(inbox: Path, prefix: str) -> tuple[Path, pd.Timestamp]:
    found = [(m["date"], p) for p in inbox.iterdir() if (m := FILE.match(p.name)) and m["prefix"].lower() == prefix]
    date, path = max(found)
    return path, pd.Timestamp(date)


def read_export(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".xlsx":
        df = pd.read_excel(path, dtype=object, engine="calamine")  # the fast reader the pipeline uses too
    else:
        with path.open("rb") as fh:
            first = fh.readline().decode("latin-1")
        sep = max((";", ",", "\t"), key=first.count)
        try:
            df = pd.read_csv(path, sep=sep, dtype=str, encoding="utf-8-sig", quoting=csv.QUOTE_MINIMAL)
        except UnicodeDecodeError:
            df = pd.read_csv(path, sep=sep, dtype=str, encoding="cp1252", quoting=csv.QUOTE_MINIMAL)
    df.columns = [str(c).strip() for c in df.columns]
    return df


def norm(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)


def to_date(s: pd.Series, birth: bool = False, snapshot: pd.Timestamp | None = None) -> pd.Series:
    """TT.MM.JJJJ, ISO, TT.MM.JJ (20JJ; birth dates 19JJ above the snapshot year) or real Excel dates."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.normalize()
    real = pd.to_datetime(s.where(s.map(lambda v: hasattr(v, "year"))), errors="coerce")
    t = s.astype("string").str.strip()
    d = pd.to_datetime(t, format="%d.%m.%Y", errors="coerce")
    d = d.fillna(pd.to_datetime(t.str[:10], format="%Y-%m-%d", errors="coerce"))
    parts = t.str.extract(r"^(\d{1,2})\.(\d{1,2})\.(\d{2})$").astype("float")
    yy = parts[2]
    century = 2000.0
    if birth and snapshot is not None:
        century = yy.gt(snapshot.year % 100).map({True: 1900.0, False: 2000.0})
    short = pd.to_datetime(
        pd.DataFrame({"year": century + yy, "month": parts[1], "day": parts[0]}), errors="coerce"
    )
    return d.fillna(short).fillna(real).astype("datetime64[ns]")


def full_years(birth: pd.Series, at: pd.Series) -> pd.Series:
    before = (at.dt.month < birth.dt.month) | ((at.dt.month == birth.dt.month) & (at.dt.day < birth.dt.day))
    return at.dt.year - birth.dt.year - before.astype("Int64")


def compute(inbox: Path, config, cycle: str) -> tuple[dict, dict]:
    """Indicator values (key -> number) and the seconds spent reading and computing."""
    t0 = time.perf_counter()
    hh_path, hh_snap = latest_file(inbox, "haushalte")
    pe_path, pe_snap = latest_file(inbox, "personen")
    he_path, he_snap = latest_file(inbox, "hilfen")
    hh = read_export(hh_path)
    pe = read_export(pe_path)
    he = read_export(he_path)
    t1 = time.perf_counter()
    data_state = max(hh_snap, pe_snap, he_snap)

    # households of the cycle report: the cohort, without `nicht angetreten`
    hh["project_cycle"] = hh["Projektjahr"].astype(str).str.strip()
    hh["entry"] = to_date(hh["Eintritt"])
    hh["exit"] = to_date(hh["Austritt"])
    started = hh[norm(hh["Status"]) != NOT_STARTED]
    cohort = started[started["project_cycle"] == cycle].copy()
    cohort["window_end"] = cohort["exit"].fillna(data_state)
    k01 = cohort["BG-ID"].nunique()

    # K05: cohort households with at least one counted help initiated inside their window
    he["initiated"] = to_date(he["Eingeleitet am"])
    counted = he[norm(he["Status"]).isin(COUNTED)].merge(
        cohort[["BG-ID", "entry", "window_end"]], on="BG-ID", how="inner"
    )
    counted = counted[(counted["initiated"] >= counted["entry"]) & (counted["initiated"] <= counted["window_end"])]
    k05_num = counted["BG-ID"].nunique()

    # ESF participants of started households, once per person and cycle
    pe["esf_entry"] = to_date(pe["ESF-Eintritt"])
    part = pe[(norm(pe["ESF-Teilnahme"]) == "ja") & pe["esf_entry"].notna()]
    part = part.merge(started[["BG-ID", "project_cycle"]], on="BG-ID", how="inner")
    part = part.sort_values(["Person-ID", "project_cycle", "esf_entry", "BG-ID"])
    part = part.drop_duplicates(["Person-ID", "project_cycle"], keep="first")
    part = part[part["project_cycle"] == cycle].copy()

    # K09: leavers whose destination upon leaving (held within 28 days) is a measure
    part["esf_exit"] = to_date(part["ESF-Austritt"])
    part["dest_start"] = to_date(part["Verbleib ab"])
    leavers = part[part["esf_exit"].notna()]
    holds = leavers["dest_start"].isna() | (leavers["dest_start"] <= leavers["esf_exit"] + pd.Timedelta(days=28))
    dest = norm(leavers["Verbleib nach Austritt"]).where(holds)
    k09_num = int(dest.isin(MEASURES).sum())
    k09_den = len(leavers)

    # EECO01–EECO05: complete participants entering in the cycle
    part["birth"] = to_date(part["Geburtsdatum"], birth=True, snapshot=pe_snap)
    part["gender"] = norm(part["Geschlecht"]).map(GENDERS)
    emp = norm(part["Erwerbsstatus bei Eintritt"])
    voc = norm(part["Berufsabschluss"])
    school = norm(part["Schulabschluss"])
    isced = norm(part["ISCED (ausländischer Abschluss)"]).map(ISCED_FOREIGN)
    foreign_set = part["ISCED (ausländischer Abschluss)"].notna() & (
        part["ISCED (ausländischer Abschluss)"].astype("string").str.strip() != ""
    )
    group = pd.Series(pd.NA, index=part.index, dtype="object")
    group = group.mask(school.isin(SCHOOL_LOW).fillna(False), "0-2")
    group = group.mask((voc.eq("abgeschlossene berufsausbildung") | school.isin(SCHOOL_MID)).fillna(False), "3-4")
    group = group.mask(voc.isin(VOC_HIGH).fillna(False), "5-8")
    group = group.mask(foreign_set, isced)
    complete = part["gender"].notna() & part["birth"].notna() & emp.notna() & group.notna()
    age = full_years(part["birth"], part["esf_entry"])
    since = to_date(part["Arbeitslos seit"])
    months = age.lt(25).map({True: config.esf.ltu_months_under_25, False: config.esf.ltu_months_25_plus})
    # one vectorised calendar-month offset per threshold (was a Python loop over the participants' rows)
    limit = pd.Series(pd.NaT, index=part.index, dtype="datetime64[ns]")
    for m in months.dropna().unique():
        sel = months.eq(m).fillna(False)
        limit[sel] = part.loc[sel, "esf_entry"] - pd.DateOffset(months=int(m))
    ltu = emp.eq(UNEMPLOYED).fillna(False) & since.notna() & (since <= limit)
    flags = pd.DataFrame({
        "EECO01": True,
        "EECO02": emp.eq(UNEMPLOYED).fillna(False),
        "EECO03": ltu.fillna(False),
        "EECO04": emp.isin(INACTIVE).fillna(False),
        "EECO05": emp.isin(EMPLOYED).fillna(False),
        "gender": part["gender"],
    })[complete.fillna(False)]
    values: dict[str, float] = {
        "K01/total/total": k01,
        "K05/total/total/numerator": k05_num,
        "K05/total/total/denominator": k01,
        "K09/total/total/numerator": k09_num,
        "K09/total/total/denominator": k09_den,
    }
    for ind in ("EECO01", "EECO02", "EECO03", "EECO04", "EECO05"):
        values[f"{ind}/total/total"] = int(flags[ind].sum())
        by_gender = flags.groupby("gender")[ind].sum()
        for cat in ("women", "men", "non_binary"):
            values[f"{ind}/gender/{cat}"] = int(by_gender.get(cat, 0))
    t2 = time.perf_counter()
    return values, {"read": round(t1 - t0, 3), "compute": round(t2 - t1, 3)}


def run(inbox: Path, config, cycle: str) -> dict:
    values, parts = compute(inbox, config, cycle)
    return {"seconds": round(parts["read"] + parts["compute"], 3), "parts": parts, "values": values}


def compare(values: dict, indicators_csv: Path) -> dict:
    """Each baseline figure against the pipeline's indicators.csv: {"equal": bool, "differences": [...]}."""
    df = pd.read_csv(indicators_csv, dtype=str, keep_default_na=False)
    pipe: dict[str, float] = {}
    for r in df.itertuples(index=False):
        key = f"{r.indicator_id}/{r.dimension}/{r.category}"
        if r.value != "":
            pipe[key] = float(r.value)
        if r.numerator != "":
            pipe[f"{key}/numerator"] = float(r.numerator)
        if r.denominator != "":
            pipe[f"{key}/denominator"] = float(r.denominator)
    diffs = []
    for key, v in values.items():
        # the pipeline leaves out non-binary rows where the funding period reports none
        if key not in pipe:
            if v:
                diffs.append({"key": key, "pandas": v, "pipeline": None})
            continue
        if abs(pipe[key] - float(v)) > 1e-9:
            diffs.append({"key": key, "pandas": v, "pipeline": pipe[key]})
    return {"equal": not diffs, "checked": len(values), "differences": diffs}
