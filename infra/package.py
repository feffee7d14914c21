"""`python -m infra.package OUT_DIR [--stage STAGE]`: the deployable SAM template and code zip.

Chalice generates the functions, API and roles; infra/template.py adds the tables and the
stream mapping through `chalice package --merge-template`, so one template holds everything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalicelib.config import Settings
from infra import template

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGION = "us-east-1"


class PackageError(Exception):
    """The package would deploy something inconsistent, or chalice could not build it."""


def stages(project: Path) -> list[str]:
    config = json.loads((project / ".chalice" / "config.json").read_text())
    return sorted(config.get("stages", {}))


def write_merge_template(project: Path, stage: str) -> Path:
    path = project / "build" / f"resources-{stage}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(template.render(stage), indent=2) + "\n")
    return path


def build(project: Path, out_dir: Path, stage: str) -> Path:
    """Run `chalice package` with the rendered tables merged in; returns the sam.json path."""
    if stage not in stages(project):
        raise PackageError(f"unknown stage {stage!r}; .chalice/config.json has {stages(project)}")
    merge = write_merge_template(project, stage)
    env = dict(os.environ)
    # chalice refuses to package without a region; the template itself uses AWS::Region.
    if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
        env["AWS_DEFAULT_REGION"] = DEFAULT_REGION
    out_dir = out_dir.resolve()
    command = [_chalice(), "package", "--stage", stage, "--merge-template", str(merge)]
    result = subprocess.run([*command, str(out_dir)], cwd=project, env=env)
    if result.returncode != 0:
        raise PackageError(f"chalice package failed with exit code {result.returncode}")
    sam = out_dir / "sam.json"
    check_functions_find_tables(json.loads(sam.read_text()), stage)
    return sam


def check_functions_find_tables(sam: dict[str, Any], stage: str) -> None:
    """Fail if a function's environment would name tables other than those the template makes.

    LEADFLOW_STAGE or LEADFLOW_TABLE_PREFIX set in .chalice/config.json decide at runtime which
    tables the Lambdas open; a mismatch would deploy cleanly and fail on the first request.
    """
    expected = template.table_prefix(stage)
    for logical_id, variables in _function_environments(sam).items():
        literal = {k: v for k, v in variables.items() if isinstance(v, str)}
        actual = Settings.from_env(literal).table_prefix
        if actual != expected:
            raise PackageError(
                f"{logical_id} would open tables named {actual}* but stage {stage!r} creates "
                f"{expected}*; check LEADFLOW_STAGE/LEADFLOW_TABLE_PREFIX in .chalice/config.json"
            )


def functions_without_public_url(sam: dict[str, Any]) -> list[str]:
    """Functions that would put http://127.0.0.1:8000 (the local default) into hosted forms."""
    environments = _function_environments(sam)
    return [
        name for name, variables in environments.items() if "LEADFLOW_PUBLIC_URL" not in variables
    ]


def _function_environments(sam: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        logical_id: resource["Properties"].get("Environment", {}).get("Variables", {})
        for logical_id, resource in sam["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _chalice() -> str:
    """The chalice beside this interpreter, so `make package` needs no activated venv."""
    beside = Path(sys.executable).with_name("chalice")
    found = str(beside) if beside.exists() else shutil.which("chalice")
    if found is None:
        raise PackageError("chalice is not installed; run `make install`")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__)
    parser.add_argument("out_dir", type=Path, help="where sam.json and deployment.zip go")
    parser.add_argument("--stage", default="dev", help="a stage of .chalice/config.json")
    parser.add_argument(
        "--project-dir", type=Path, default=ROOT, help="the app to package (default: this repo)"
    )
    args = parser.parse_args(argv)
    try:
        sam = build(args.project_dir.resolve(), args.out_dir, args.stage)
    except PackageError as exc:
        print(f"infra.package: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {sam}")
    missing = functions_without_public_url(json.loads(sam.read_text()))
    if missing:
        print(
            f"infra.package: warning: LEADFLOW_PUBLIC_URL is not set for stage {args.stage!r} "
            f"({', '.join(missing)}); hosted forms will post to the local default. "
            "See docs/deployment.md.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
