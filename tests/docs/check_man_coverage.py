#!/usr/bin/env python3
"""The man pages document what the binary and the loader really accept.

Usage: check_man_coverage.py LLMGW SOURCE_DIR

- every subcommand of `llmgw --help` has a page and an entry in llmgw.1;
- every short and long flag of `llmgw [SUB] --help` is in the OPTIONS of its page;
- every key of share/services.toml, and every [gateway], [routing] and [services.NAME]
  key the TOML loader accepts, is an entry of the right section of llmgw-config.5, and the
  defaults written there are those of src/config/settings.hpp and service.hpp;
- every PROXY_CONFIG field and every environment variable the loader reads is in
  llmgw-config.5 (and the variables in llmgw.1);
- every built-in service and its key variable is listed in llmgw-config.5;
- the version in the .TH lines is the binary's.
"""
import os
import re
import subprocess
import sys
import tempfile

failures = []


def fail(message):
    failures.append(message)


def clean_env():
    """The environment of the runs: no user file and no setting from the caller."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LLMGW_CONFIG", "PROXY_CONFIG", "DEFAULT_TIMEOUT", "BACKGROUND_TIMEOUT",
                        "MAX_RESPONSE_SIZE", "ENABLE_RETRY", "ENABLE_FALLBACK", "LOG_LEVEL",
                        "ALLOWED_ORIGIN")}
    home = tempfile.mkdtemp(prefix="llmgw-docs-")
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"), NO_COLOR="1")
    return env


ENV = clean_env()


def run(*args):
    out = subprocess.run(list(args), capture_output=True, text=True, env=ENV, timeout=60)
    if out.returncode != 0:
        fail(f"{' '.join(args)} exited {out.returncode}: {out.stderr}")
    return out.stdout


# ---- roff ------------------------------------------------------------------------------

ESCAPES = [(r"\-", "-"), (r"\(aq", "'"), (r"\(dq", '"'), (r"\(>=", ">="), (r"\(en", "-"),
           (r"\(bu", "*"), (r"\(lq", '"'), (r"\(rq", '"'), (r"\e", "\\"), (r"\&", ""),
           (r"\|", ""), (r"\ ", " ")]


def plain(line):
    """A roff line as text: escapes resolved, font changes and macro names dropped."""
    line = re.sub(r"\\f[BIRP]", "", line)
    for escape, text in ESCAPES:
        line = line.replace(escape, text)
    if line.startswith("."):
        line = re.sub(r"^\.[A-Za-z]+\s*", "", line)
        line = line.replace('"', " ")
    return line


class Page:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            self.lines = [l.rstrip("\n") for l in f if not l.startswith('.\\"')]
        self.sections = {}  # .SH title -> list of raw lines
        current = None
        for line in self.lines:
            if line.startswith(".SH "):
                current = plain(line).strip()
                self.sections[current] = []
            elif current is not None:
                self.sections[current].append(line)

    def text(self, section):
        return "\n".join(plain(l) for l in self.sections.get(section, []))

    def tags(self, section):
        """The tag lines of .TP / .IP items of a section, as text, first word first."""
        raw = self.sections.get(section, [])
        out = []
        for i, line in enumerate(raw):
            if line.startswith(".TP") and i + 1 < len(raw):
                out.append(plain(raw[i + 1]).strip())
            elif line.startswith(".TQ") and i + 1 < len(raw):
                out.append(plain(raw[i + 1]).strip())
        return out


def has_word(text, word):
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


def tag_for(tags, key):
    """The first tag whose first word (or any comma-separated word) is `key`."""
    for tag in tags:
        words = [w.strip(",") for w in tag.split()]
        if key in words[:4]:
            return tag
    return None


# ---- llmgw --help --------------------------------------------------------------------

def help_flags(help_text):
    flags = []
    in_options = False
    for line in help_text.splitlines():
        if line.strip() == "Options:":
            in_options = True
            continue
        if in_options and line and not line.startswith(" "):
            in_options = False
        if in_options and re.match(r"^\s{1,4}-", line):
            first = line.split()[0]
            flags += [f for f in first.split(",") if re.fullmatch(r"--?[A-Za-z][\w-]*", f)]
    return flags


def help_subcommands(help_text):
    names = []
    in_subs = False
    for line in help_text.splitlines():
        if line.strip() == "Subcommands:":
            in_subs = True
            continue
        if in_subs and (not line.startswith(" ") or not line.strip()):
            break
        if in_subs:
            names.append(line.split()[0])
    return names


# ---- sources ---------------------------------------------------------------------------

def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def function_body(text, name):
    match = re.search(r"\b" + name + r"\([^)]*\)\s*\{(.*?)\n\}", text, re.S)
    if not match:
        fail(f"cannot find {name}() in the loader sources; update tests/docs/check_man_coverage.py")
        return ""
    return match.group(1)


def toml_keys(body):
    return re.findall(r'\{"([a-z_]+)",\s*(?:set_\w+|merge_\w+|section)\(', body)


def struct_defaults(text, struct):
    """name -> default text of the simple members of a struct (numbers, strings, bools)."""
    match = re.search(r"struct " + struct + r"\s*\{(.*?)\n\};", text, re.S)
    if not match:
        fail(f"cannot find struct {struct}; update tests/docs/check_man_coverage.py")
        return {}
    out = {}
    for name, value in re.findall(r"^\s*[\w:]+\s+(\w+)\s*=\s*([^;{]+);", match.group(1), re.M):
        value = value.strip()
        shifted = re.fullmatch(r"(\d+)ull\s*<<\s*(\d+)", value)
        if shifted:
            value = str(int(shifted.group(1)) << int(shifted.group(2)))
        elif value.startswith('"'):
            value = value.strip('"')
        elif not re.fullmatch(r"\d+|true|false", value):
            continue
        out[name] = value
    return out


def check_defaults(tags, section, keys, defaults, page):
    for key in keys:
        if key not in defaults:
            continue
        tag = tag_for(tags, key)
        if tag is None:
            continue  # reported as missing already
        value = defaults[key]
        if not re.search(r"default:?\s+" + re.escape(value) + r"(?![\w.])", tag):
            fail(f"{page}: [{section}] {key}: the entry says '{tag}', the code's default is {value}")


# ---- checks ----------------------------------------------------------------------------

def main():
    llmgw, source = sys.argv[1], sys.argv[2]
    man = os.path.join(source, "man")
    pages = {p: Page(os.path.join(man, p)) for p in os.listdir(man) if re.search(r"\.[1-8]$", p)}
    overview = pages.get("llmgw.1")
    config = pages.get("llmgw-config.5")
    if overview is None or config is None:
        fail("man/llmgw.1 or man/llmgw-config.5 is missing")
        return

    # Subcommands and flags.
    root_help = run(llmgw, "--help")
    subcommands = help_subcommands(root_help)
    if not subcommands:
        fail("no subcommands found in `llmgw --help`")
    for flag in help_flags(root_help):
        if not has_word(overview.text("OPTIONS"), flag):
            fail(f"llmgw.1: OPTIONS does not describe {flag} (from `llmgw --help`)")
    command_tags = overview.tags("COMMANDS")
    for sub in subcommands:
        if tag_for(command_tags, sub) is None:
            fail(f"llmgw.1: COMMANDS has no entry for '{sub}'")
        page = pages.get(f"llmgw-{sub}.1")
        if page is None:
            fail(f"man/llmgw-{sub}.1 is missing")
            continue
        if not has_word(overview.text("SEE ALSO"), f"llmgw-{sub}"):
            fail(f"llmgw.1: SEE ALSO does not name llmgw-{sub}(1)")
        flags = help_flags(run(llmgw, sub, "--help"))
        if not flags:
            fail(f"no flags found in `llmgw {sub} --help`")
        options = page.text("OPTIONS")
        for flag in flags:
            if has_word(options, flag):
                print(f"ok   llmgw-{sub}.1 documents {flag}")
            else:
                fail(f"llmgw-{sub}.1: OPTIONS does not describe {flag} (from `llmgw {sub} --help`)")
        for section in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES",
                        "SEE ALSO"):
            if section not in page.sections:
                fail(f"llmgw-{sub}.1 has no {section} section")

    # Version.
    version = run(llmgw, "--version").strip()
    for page in pages.values():
        th = next((l for l in page.lines if l.startswith(".TH ")), "")
        if f'"{version}"' not in th:
            fail(f"{page.name}: .TH line '{th}' does not carry \"{version}\" (`llmgw --version`)")

    # Configuration keys.
    loader = read(os.path.join(source, "src/config/toml_loader.cpp"))
    services_src = read(os.path.join(source, "src/config/toml_services.cpp"))
    settings = read(os.path.join(source, "src/config/settings.hpp"))
    service_hpp = read(os.path.join(source, "src/config/service.hpp"))
    table = read(os.path.join(source, "share/services.toml"))
    sections = {
        "gateway": (toml_keys(function_body(loader, "gateway_keys")),
                    struct_defaults(settings, "GatewaySettings")),
        "routing": (toml_keys(function_body(loader, "routing_keys")),
                    struct_defaults(settings, "RoutingSettings")),
        "services.NAME": (toml_keys(function_body(services_src, "service_keys")),
                          struct_defaults(service_hpp, "Service")),
    }
    file_keys = set()
    current = None
    for line in table.splitlines():
        header = re.match(r"^\s*\[([^\]]+)\]", line)
        if header:
            current = "services.NAME" if header.group(1).startswith("services.") else header.group(1)
            continue
        key = re.match(r"^\s*([A-Za-z_][\w-]*)\s*=", line)
        if key and current:
            file_keys.add((current, key.group(1)))
    for section, key in sorted(file_keys):
        if key not in sections.get(section, ([], {}))[0]:
            sections.setdefault(section, ([], {}))[0].append(key)
    for section, (keys, defaults) in sections.items():
        if not keys:
            fail(f"no [{section}] keys found in the loader sources")
        tags = config.tags(f"[{section}]")
        for key in keys:
            if tag_for(tags, key) is None:
                fail(f"llmgw-config.5: section [{section}] has no entry for '{key}'")
            else:
                print(f"ok   llmgw-config.5 [{section}] {key}")
        check_defaults(tags, section, keys, defaults, "llmgw-config.5")

    # PROXY_CONFIG fields and environment variables.
    proxy = read(os.path.join(source, "src/config/proxy_config.cpp"))
    fields = re.findall(r'\{"(\w+)",\s*on_\w+\}', proxy)
    if not fields:
        fail("no PROXY_CONFIG fields found in src/config/proxy_config.cpp")
    env_tags = config.tags("ENVIRONMENT")
    for field in fields:
        if tag_for(env_tags, field) is None:
            fail(f"llmgw-config.5: ENVIRONMENT has no entry for the PROXY_CONFIG field '{field}'")
    variables = set()
    for name in ("env_loader.cpp", "user_file.cpp", "config.cpp"):
        text = read(os.path.join(source, "src/config", name))
        variables.update(re.findall(
            r'(?:\benv\(|read_\w+\(env,\s*|non_empty\(env,\s*)"([A-Z][A-Z0-9_]*)"', text))
    if len(variables) < 8:
        fail(f"found only {sorted(variables)} as environment variables in src/config")
    for variable in sorted(variables):
        if not has_word(config.text("ENVIRONMENT"), variable):
            fail(f"llmgw-config.5: ENVIRONMENT does not describe {variable}")
        if not has_word(overview.text("ENVIRONMENT"), variable):
            fail(f"llmgw.1: ENVIRONMENT does not mention {variable}")

    # Built-in services and their key variables.
    listing = config.text("[services.NAME]")
    for name in re.findall(r"^\[services\.([\w-]+)\]", table, re.M):
        if not re.search(r"^" + re.escape(name) + r"\s", listing, re.M):
            fail(f"llmgw-config.5: the built-in service list does not have '{name}'")
    for variable in re.findall(r'^api_key_env\s*=\s*"(\w+)"', table, re.M):
        if not has_word(listing, variable):
            fail(f"llmgw-config.5: the built-in service list does not name {variable}")


if __name__ == "__main__":
    main()
    for failure in failures:
        print("FAIL " + failure)
    sys.exit(1 if failures else 0)
