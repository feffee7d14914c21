"""Personalised emails per second: compile once at publish, render per send.

Prints, in one run: how many personalised emails one core renders per second (the sandboxed
Jinja render of the precompiled HTML and text parts, every link rewritten to an HMAC-signed
click URL, the open pixel and unsubscribe token signed: everything the sender does before
SES), and, when Node's `mjml` package is installed (`make bench` runs `npm ci --prefix bench`,
pinned in bench/package.json), how
many emails Node compiles from MJML per second, which is what compiling per send would cost,
and the ratio of the two.

    python bench/render.py [--template NAME] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from chalicelib.messaging import compiler  # noqa: E402
from chalicelib.messaging.renderer import Renderer  # noqa: E402
from chalicelib.messaging.tokens import Signer  # noqa: E402
from chalicelib.services.sender import Urls, personalise  # noqa: E402

TARGET_RATE = 10_000
TARGET_RATIO = 50.0
NODE_COMPILE = """
const mjml = require('mjml');
let source = '';
process.stdin.on('data', (chunk) => { source += chunk; });
process.stdin.on('end', async () => {
  // mjml 4 answers at once; mjml 5 answers a promise: await works for both.
  const { html } = await mjml(source);           // warm-up, and the output size
  const seconds = Number(process.argv[1]);
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    await mjml(source);
    n += 1;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  console.log(JSON.stringify({ n, elapsed, bytes: html.length }));
});
"""


def _contact(i: int) -> dict:
    return {
        "id": f"ct_{i:032x}",
        "email": f"reader{i}@example.com",
        "properties": {"first_name": f"Reader {i}", "company": f"Company {i % 97}"},
    }


def render_rate(email: compiler.CompiledEmail, seconds: float) -> tuple[float, int, int]:
    """(emails per second, emails rendered, HTML bytes of one email) on this one thread."""
    renderer = Renderer()
    signer = Signer("bench-secret-0123456789abcdef")
    urls = Urls("https://leads.example.com")
    n, size = 0, 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        contact = _contact(n)
        mail = personalise(
            renderer,
            signer,
            urls,
            email,
            contact,
            f"01KE{n:022d}",
            "Hello",
            {"journey": "whitepaper", "step": "case-study"},
        )
        size = len(mail.rendered.html) + len(mail.rendered.text)
        n += 1
    elapsed = time.process_time() - start
    return n / elapsed, n, size


def _node() -> tuple[str, dict[str, str]] | None:
    """Node and an environment where require('mjml') resolves, or None."""
    node = shutil.which("node")
    if node is None:
        return None
    env = dict(os.environ)
    paths = [str(ROOT / "bench" / "node_modules"), str(ROOT / "node_modules")]
    env["NODE_PATH"] = os.pathsep.join([*paths, env.get("NODE_PATH", "")])
    probe = subprocess.run(
        [node, "-e", "require.resolve('mjml')"], env=env, capture_output=True, text=True
    )
    return (node, env) if probe.returncode == 0 else None


def node_rate(source: str, seconds: float) -> tuple[float, int] | None:
    found = _node()
    if found is None:
        return None
    node, env = found
    answer = subprocess.run(
        [node, "-e", NODE_COMPILE, str(seconds)],
        input=source,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(answer.stdout)
    return result["n"] / result["elapsed"], result["n"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="playbook-case-study")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    root = ROOT / "templates"
    brand = yaml.safe_load((root / "brand.yaml").read_text(encoding="utf-8"))
    source = compiler.assemble(root, args.template, brand)
    email = compiler.compile_template(root, args.template, brand)
    rate, n, size = render_rate(email, args.seconds)
    where = f"templates/{args.template}.mjml"
    print(f"\nbench/render.py: {where} (one core, {args.seconds:g} s each)\n")
    print(f"  precompiled HTML {len(email.html):,} bytes; rendered (HTML + text) {size:,} bytes")
    label = "personalised emails per second (Jinja + signed links)"
    print(f"  {label:55}{rate:10,.0f}   ({n:,} rendered)")
    status = 0
    ok = rate >= TARGET_RATE
    status |= not ok
    print(f"  target >= {TARGET_RATE:,}/s: {'PASS' if ok else 'FAIL'}")
    compiled = node_rate(source, args.seconds)
    if compiled is None:
        print(
            "\n  Node's mjml is not installed: `npm install --prefix bench mjml` to compare with\n"
            "  compiling the MJML for every send."
        )
        return status
    node_per_second, node_n = compiled
    ratio = rate / node_per_second
    label = "Node mjml compile per send, emails per second"
    print(f"  {label:55}{node_per_second:10,.0f}   ({node_n:,} compiled)")
    ok = ratio >= TARGET_RATIO
    status |= not ok
    print(f"  {'ratio render / per-send compile':55}{ratio:10,.1f}x")
    print(f"  target >= {TARGET_RATIO:g}x: {'PASS' if ok else 'FAIL'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
