"""Typed configuration over ``config.toml``: validated once at start, then passed around."""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline import model


class ConfigError(Exception):
    """A configuration problem the user must fix (exit status 2)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


FundingPeriod = Literal["esf_2014_2020", "esfplus_2021_2027"]


class Paths(_Strict):
    inbox: Path = Path("inbox")
    archive: Path = Path("archive")
    database: Path = Path("data/esf.duckdb")
    outputs: Path = Path("outputs")


class Cycle(_Strict):
    id: str
    start: dt.date
    end: dt.date
    funding_period: FundingPeriod
    places: int = Field(gt=0)
    coach_fte: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> Cycle:
        if self.end < self.start:
            raise ValueError(f"cycle {self.id}: end {self.end} is before start {self.start}")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class Project(_Strict):
    name: str = "BG-Coaching"
    carrier: str = "neue arbeit e.V."
    address: str = ""
    file_number: str = ""  # Aktenzeichen / Bewilligung
    contact: str = ""
    funders: list[str] = ["Europäischer Sozialfonds (ESF/ESF+)", "Land Rheinland-Pfalz", "Jobcenter"]


class Report(_Strict):
    language: Literal["de"] = "de"
    logos: list[Path] = []


class Disclosure(_Strict):
    threshold: int = Field(default=3, ge=1)  # counts below are suppressed (1–2 with 3)
    threshold_special: int = Field(default=5, ge=1)  # special categories
    min_share_base: int = Field(default=10, ge=1)
    symbol: str = "*"


class Esf(_Strict):
    rural_municipalities: list[str] = []
    eecr01_inactive_at_entry_only: bool = True
    ltu_months_under_25: int = Field(default=6, ge=1)
    ltu_months_25_plus: int = Field(default=12, ge=1)

    @field_validator("rural_municipalities")
    @classmethod
    def _ags(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if not (len(a) == 8 and a.isdigit())]
        if bad:
            raise ValueError(f"not an 8-digit AGS: {bad}")
        return v


class Indicators(_Strict):
    counted_help_statuses: list[str] = ["initiated", "started", "completed", "aborted"]

    @field_validator("counted_help_statuses")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        lst = model.label_lists()["help_status"]
        out = []
        for s in v:
            code = s if s in lst.labels else lst.code_for(s)
            if code is None:
                raise ValueError(f"unknown help status {s!r} (use {list(lst.labels)})")
            out.append(code)
        return out


class Retention(_Strict):
    # years after 31 December of the year of the last payment (ESF+: Art. 82 CPR)
    esfplus_2021_2027_years: int = 5
    esf_2014_2020_until: dt.date | None = None  # as the Bewilligung says
    last_payment_year: dict[str, int] = {}  # funding period -> year of last payment


class Web(_Strict):
    """The local web page (``esf-pipeline serve``)."""

    password_hash: str = ""  # scrypt hash written by ``serve --set-password``; required to bind beyond localhost
    max_upload_mb: int = Field(default=200, ge=1)  # per request, all files together
    max_files: int = Field(default=10, ge=1)  # per upload
    allowed_hosts: list[str] = []  # further Host names when bound to another address


class Config(_Strict):
    paths: Paths = Paths()
    project: Project = Project()
    report: Report = Report()
    cycles: list[Cycle]
    esf: Esf = Esf()
    indicators: Indicators = Indicators()
    disclosure: Disclosure = Disclosure()
    mapping: dict[str, dict[str, str]] = {}
    retention: Retention = Retention()
    web: Web = Web()

    base_dir: Path = Path(".")
    sha256: str = ""

    @field_validator("cycles")
    @classmethod
    def _unique(cls, v: list[Cycle]) -> list[Cycle]:
        ids = [c.id for c in v]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate cycle ids: {sorted(dup)}")
        return v

    @field_validator("mapping")
    @classmethod
    def _tables(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for table, remap in v.items():
            if table not in model.tables():
                raise ValueError(f"unknown table {table!r} (use {list(model.tables())})")
            headers = {c.header for c in model.tables()[table].columns}
            for their, ours in remap.items():
                if ours not in headers:
                    raise ValueError(f"[mapping.{table}] {their!r} maps to unknown header {ours!r}")
        return v

    def cycle(self, cycle_id: str) -> Cycle | None:
        return next((c for c in self.cycles if c.id == cycle_id), None)

    def path(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def inbox(self) -> Path:
        return self.path(self.paths.inbox)

    @property
    def archive(self) -> Path:
        return self.path(self.paths.archive)

    @property
    def database(self) -> Path:
        return self.path(self.paths.database)

    @property
    def outputs(self) -> Path:
        return self.path(self.paths.outputs)

    def with_paths(self, **overrides: Path | None) -> Config:
        """A copy with command-line path overrides (absolute or relative to the cwd)."""
        given = {k: Path(v).resolve() for k, v in overrides.items() if v is not None}
        if not given:
            return self
        return self.model_copy(update={"paths": self.paths.model_copy(update=given)})


def load_config(path: Path | str) -> Config:
    """Read and validate ``config.toml``; every problem becomes one ConfigError naming the key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Konfigurationsdatei nicht gefunden / config file not found: {path}")
    data = path.read_bytes()
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: kein gültiges TOML / not valid TOML: {exc}") from None
    for forbidden in ("base_dir", "sha256"):
        raw.pop(forbidden, None)
    try:
        return Config(**raw, base_dir=path.resolve().parent, sha256=hashlib.sha256(data).hexdigest())
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise ConfigError(f"{path}: ungültige Konfiguration / invalid configuration:\n" + "\n".join(lines)) from None
