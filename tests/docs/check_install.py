#!/usr/bin/env python3
"""`cmake --install` into a temporary prefix gives a working, documented llmgw.

Usage: check_install.py CMAKE BUILD_DIR

Checks the installed layout (binary, services.toml, man pages, completions), runs the
installed binary, finds the page with `man -M PREFIX/share/man` and completes a service
name with the installed bash completion.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

EXPECTED = [
    "bin/llmgw",
    "share/llmgw/services.toml",
    "share/man/man1/llmgw.1",
    "share/man/man1/llmgw-serve.1",
    "share/man/man1/llmgw-call.1",
    "share/man/man1/llmgw-route.1",
    "share/man/man1/llmgw-services.1",
    "share/man/man5/llmgw-config.5",
    "share/bash-completion/completions/llmgw",
    "share/zsh/site-functions/_llmgw",
    "share/fish/vendor_completions.d/llmgw.fish",
]

failures = []
# CI (CI=true) has every tool scripts/bootstrap installs: a check skipped there for a missing
# one is a failure, not a skip.
CI = os.environ.get("CI") == "true"
TIMEOUT = 60  # seconds, for each command run


def skip(what):
    """A check that cannot run here for a missing tool: SKIP, or a failure under CI=true."""
    if CI:
        failures.append(f"{what} (CI=true: a missing tool is a failure)")
    else:
        print(f"SKIP {what}")


def check(ok, what, detail=""):
    if ok:
        print(f"ok   {what}")
    else:
        failures.append(f"{what}{': ' + detail if detail else ''}")


def main():
    cmake, build = sys.argv[1], sys.argv[2]
    prefix = tempfile.mkdtemp(prefix="llmgw-install-")
    try:
        run_checks(cmake, build, prefix)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def check_loaded_libraries(binary):
    """fmt, spdlog and toml++ are compiled in, and libcurl (with its ~30 libraries) is opened
    only when an upstream needs it: `llmgw call` to http://, `services` and `route` do not pay
    for loading and relocating them at every start."""
    readelf = shutil.which("readelf")
    if readelf is None:
        skip("loaded libraries: readelf is not installed (Debian: binutils)")
        return
    dynamic = subprocess.run([readelf, "-d", binary], capture_output=True, text=True,
                             timeout=TIMEOUT)
    if dynamic.returncode != 0:
        print("SKIP loaded libraries: not an ELF binary")
        return
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic.stdout)
    check(needed != [], "readelf -d lists the binary's libraries", dynamic.stdout[-300:])
    for name in ("libfmt", "libspdlog", "libtomlplusplus"):
        check(not any(lib.startswith(name) for lib in needed), f"{name} is compiled in", str(needed))
    if os.environ.get("LLMGW_LIBCURL_LINKED") == "1":
        print("SKIP libcurl not linked: this build links it (LLMGW_LIBCURL_DLOPEN off)")
    else:
        check(not any(lib.startswith("libcurl") for lib in needed), "libcurl is opened when needed, not linked",
              str(needed))


def run_checks(cmake, build, prefix):
    home = os.path.join(prefix, "home")
    os.makedirs(home)
    env = {k: v for k, v in os.environ.items()
           if k not in ("LLMGW_CONFIG", "PROXY_CONFIG", "MANPATH", "DESTDIR")}
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"), NO_COLOR="1",
               LC_ALL="C.UTF-8")

    # CMAKE_INSTALL_MANDIR and DATADIR are share/man and share with GNUInstallDirs on every
    # platform llmgw supports; lib64-style differences only affect libraries.
    install = subprocess.run([cmake, "--install", build, "--prefix", prefix],
                             capture_output=True, text=True, env=env, timeout=TIMEOUT)
    check(install.returncode == 0, f"cmake --install {build} --prefix {prefix}",
          install.stdout + install.stderr)
    if install.returncode != 0:
        return
    for path in EXPECTED:
        check(os.path.isfile(os.path.join(prefix, path)), f"installed {path}")
    binary = os.path.join(prefix, "bin", "llmgw")
    check(os.access(binary, os.X_OK), "bin/llmgw is executable")

    check_loaded_libraries(binary)

    version = subprocess.run([binary, "--version"], capture_output=True, text=True, env=env,
                             timeout=TIMEOUT)
    check(version.returncode == 0 and re.match(r"^llmgw \d+\.\d+\.\d+", version.stdout),
          "installed llmgw --version", version.stdout + version.stderr)
    services = subprocess.run([binary, "services"], capture_output=True, text=True, env=env,
                              timeout=TIMEOUT)
    check(services.returncode == 0 and re.search(r"^openai\s", services.stdout, re.M),
          "installed llmgw services lists openai", services.stdout + services.stderr)
    as_json = subprocess.run([binary, "services", "--json"], capture_output=True, text=True,
                             env=env, timeout=TIMEOUT)
    try:
        listed_services = json.loads(as_json.stdout)
        names = [s["name"] for s in listed_services]
        base_urls = {s["name"]: s["base_url"] for s in listed_services}
    except (ValueError, KeyError, TypeError) as e:
        names, base_urls = [], {}
        check(False, "installed llmgw services --json parses", str(e))
    check("openai" in names and "ollama" in names, "installed llmgw services --json", str(names))

    # The installed services.toml is the table the binary has compiled in.
    with open(os.path.join(prefix, "share/llmgw/services.toml"), encoding="utf-8") as f:
        table = f.read()
    listed = sorted(re.findall(r"^\[services\.([\w-]+)\]", table, re.M))
    check(listed == sorted(names), "share/llmgw/services.toml has the binary's services",
          f"{listed} vs {sorted(names)}")
    try:
        import tomllib  # Python 3.11 and later
    except ImportError:
        skip("base URLs of services.toml: no tomllib (Python before 3.11)")
    else:
        in_file = {name: entry.get("base_url")
                   for name, entry in tomllib.loads(table).get("services", {}).items()}
        check(in_file == base_urls, "share/llmgw/services.toml has the binary's base URLs",
              f"{in_file} vs {base_urls}")

    man = shutil.which("man")
    if man is None:
        skip("man -M: man is not installed (Debian: apt-get install man-db)")
    else:
        man_dir = os.path.join(prefix, "share", "man")
        for args, page in ((["llmgw"], "man1/llmgw.1"), (["5", "llmgw-config"], "man5/llmgw-config.5"),
                           (["llmgw-route"], "man1/llmgw-route.1")):
            where = subprocess.run([man, "-M", man_dir, "-w", *args], capture_output=True,
                                   text=True, env=env, timeout=TIMEOUT)
            found = where.stdout.strip()
            check(where.returncode == 0 and os.path.realpath(found) ==
                  os.path.realpath(os.path.join(man_dir, page)),
                  f"man -M {man_dir} -w {' '.join(args)}", f"{found!r} {where.stderr}")
        shown = subprocess.run([man, "-M", man_dir, "llmgw"], capture_output=True, text=True,
                               env=dict(env, MANPAGER="cat", PAGER="cat", MANWIDTH="80"),
                               timeout=TIMEOUT)
        check(shown.returncode == 0 and "llmgw - local gateway" in shown.stdout,
              f"man -M {man_dir} llmgw renders", shown.stderr)

    # The installed bash completion, with the installed binary first in PATH.
    bash = shutil.which("bash")
    if bash is None:
        skip("bash completion: bash is not installed")
        return
    script = (
        'source "$1" && complete -p llmgw >/dev/null && '
        'COMP_WORDS=(llmgw call op) COMP_CWORD=2 && _llmgw && echo "${COMPREPLY[*]}"'
    )
    completion = os.path.join(prefix, "share/bash-completion/completions/llmgw")
    out = subprocess.run(
        [bash, "-c", script, "bash", completion], capture_output=True, text=True,
        env=dict(env, PATH=os.path.join(prefix, "bin") + os.pathsep + "/usr/bin:/bin"),
        timeout=TIMEOUT)
    check(out.returncode == 0 and out.stdout.split() == ["openai", "openrouter"],
          "installed bash completion completes 'llmgw call op'", out.stdout + out.stderr)


if __name__ == "__main__":
    main()
    for failure in failures:
        print("FAIL " + failure)
    sys.exit(1 if failures else 0)
