"""Device tests import firmware/proto/ocpp/schemas.py, which `upile build` generates from the
`ocpp` package's JSON schemas (tools/upile/ocppgen.py); generated here too so a device test
run without a build first finds it."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from upile import ocppgen  # noqa: E402

ocppgen.generate()
