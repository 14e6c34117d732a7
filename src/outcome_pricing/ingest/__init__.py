"""Getting files in: read, validate, diagnose, map, upload; all of a file or none of it.

- files.py: `ingest_files`, the entry point (one transaction per call)
- read.py: formats, header, mapping and the staging SQL
- validate.py: the rules of DESIGN section 3 and their messages
- diagnose.py: the row of a file DuckDB cannot read at all
- uploads.py: files received through the app (size limit, temp copies)
- mapping.py: how another tool's export maps onto the contract
- quality.py: data-quality facts for the Data page
"""

from outcome_pricing.ingest.diagnose import find_invalid_utf8
from outcome_pricing.ingest.files import IngestReport, ingest_files
from outcome_pricing.ingest.mapping import Mapping, load_mapping
from outcome_pricing.ingest.uploads import MAX_UPLOAD_BYTES, UPLOAD_SUFFIXES, Upload, ingest_uploads
from outcome_pricing.ingest.validate import refused_problems

__all__ = [
    "MAX_UPLOAD_BYTES",
    "UPLOAD_SUFFIXES",
    "IngestReport",
    "Mapping",
    "Upload",
    "find_invalid_utf8",
    "ingest_files",
    "ingest_uploads",
    "load_mapping",
    "refused_problems",
]
