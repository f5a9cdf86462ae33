#!/usr/bin/env python3
"""Every man page passes `mandoc -Tlint -W warning` and renders with `man -l`.

Usage: check_man_lint.py MAN_DIR
Exit status 77 (skipped) when mandoc is not installed: scripts/bootstrap installs it. Under
CI=true a missing mandoc or man is a failure (status 1), not a skip.
"""
import os
import shutil
import subprocess
import sys

PAGES = ["llmgw.1", "llmgw-serve.1", "llmgw-call.1", "llmgw-route.1", "llmgw-services.1",
         "llmgw-config.5"]


def main() -> int:
    man_dir = sys.argv[1]
    ci = os.environ.get("CI") == "true"
    mandoc = shutil.which("mandoc")
    if mandoc is None:
        print("SKIP: mandoc is not installed (Debian: apt-get install mandoc, or scripts/bootstrap)")
        if ci:
            print("FAIL CI=true: a missing tool is a failure")
            return 1
        return 77
    failures = []
    for page in PAGES:
        path = os.path.join(man_dir, page)
        if not os.path.isfile(path):
            failures.append(f"{page}: missing")
            continue
        lint = subprocess.run([mandoc, "-Tlint", "-W", "warning", path],
                              capture_output=True, text=True, timeout=60)
        report = (lint.stdout + lint.stderr).strip()
        if lint.returncode != 0 or report:
            failures.append(f"{page}: mandoc -Tlint -W warning (status {lint.returncode}):\n{report}")
        else:
            print(f"ok   mandoc -Tlint -W warning {page}")

    man = shutil.which("man")
    if man is None:
        print("note: man is not installed; `man -l` rendering not checked")
        if ci:
            failures.append("man is not installed (Debian: man-db; CI=true: a missing tool is a failure)")
    else:
        env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80", LC_ALL="C.UTF-8")
        for page in PAGES:
            path = os.path.join(man_dir, page)
            if not os.path.isfile(path):
                continue
            out = subprocess.run([man, "-l", path], capture_output=True, text=True, env=env,
                                 timeout=60)
            if out.returncode != 0 or "NAME" not in out.stdout or out.stderr.strip():
                failures.append(f"{page}: man -l failed (status {out.returncode}):\n{out.stderr}")
            else:
                print(f"ok   man -l {page}")

    for failure in failures:
        print("FAIL " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
