"""Files received through the app: size limit, private temp copies, the user's names.

An upload is ingested like any file (`ingest_files`, all or nothing), from a
temp copy with our own file name; messages and the ingest log name the file
as the user uploaded it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from outcome_pricing.errors import ConfigError, Problem, ValidationError
from outcome_pricing.ingest.files import IngestReport, ingest_files
from outcome_pricing.ingest.mapping import Mapping
from outcome_pricing.warehouse.handle import Warehouse

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # the app's limit; .streamlit/config.toml maxUploadSize agrees
UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".pq", ".gz")


@dataclass(frozen=True)
class Upload:
    """A file received through the app: its name as the user knows it, and its bytes."""

    name: str
    data: bytes


def ingest_uploads(
    wh: Warehouse,
    tasks: Upload | None,
    accounts: Upload | None = None,
    mapping: Upload | None = None,
) -> IngestReport:
    """The app's ingest: size-check the uploads, then `ingest_files` on private temp copies.

    Messages and the ingest log name the uploaded file, not the temp path.
    """
    for up in (tasks, accounts, mapping):
        if up is not None and len(up.data) > MAX_UPLOAD_BYTES:
            raise ValidationError(up.name, [Problem(
                up.name, None, None,
                f"the file is {len(up.data) / 2**20:,.0f} MB, above the upload limit of "
                f"{MAX_UPLOAD_BYTES // 2**20} MB; load it with `outcome-pricing ingest` instead",
            )])
    m = None
    if mapping is not None:
        try:
            m = Mapping.from_toml_text(mapping.data.decode("utf-8"), source=mapping.name)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{mapping.name} is not UTF-8 text: save the mapping as UTF-8.") from exc
    with tempfile.TemporaryDirectory(prefix="outcome-pricing-upload-") as tmp:
        paths = {
            role: _write_upload(Path(tmp), role, up)
            for role, up in (("tasks", tasks), ("accounts", accounts))
            if up is not None
        }
        return ingest_files(
            wh,
            tasks=paths.get("tasks"),
            accounts=paths.get("accounts"),
            mapping=m,
            tasks_name=tasks.name if tasks else None,
            accounts_name=accounts.name if accounts else None,
        )


def _write_upload(folder: Path, role: str, up: Upload) -> Path:
    # Our own file name (the user's name may hold anything); keep a known suffix for the reader.
    suffixes = "".join(Path(up.name).suffixes[-2:]).lower()
    suffix = suffixes if suffixes.endswith(UPLOAD_SUFFIXES) and len(suffixes) <= 12 else ".csv"
    path = folder / f"{role}{suffix}"
    path.write_bytes(up.data)
    return path
