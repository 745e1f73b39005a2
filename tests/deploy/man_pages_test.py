#!/usr/bin/env python3
"""Checks the generated man pages (deploy/man) against what they describe.

    man_pages_test.py options --capfd BIN --capfctl BIN --pages DIR
    man_pages_test.py keys    --config-md deploy/CONFIG.md --pages DIR
    man_pages_test.py render  --pages DIR
    man_pages_test.py format  --pages DIR

options: every command of capfd and capfctl (found by walking --help, as a
         person would) has its section, and every option, argument and
         description its --help shows is in that section of the page as man
         renders it; no section names a command that does not exist.
keys:    every key of CONFIG.md's tables, with its default, is in KEYS of
         capfd.json(5), one item a row.
render:  groff -ww, man --warnings and mandoc -Tlint print no warning.
format:  each page is gzip -9n (no name, no time stamp: reproducible), its .TH
         matches its file name, SEE ALSO names the other pages and FILES the
         service's paths.

The checks read the pages through groff's plain-text rendering, so a page
that is generated but renders wrongly (a lost escape, a broken macro) fails.
"""

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

PAGES = {"capfd.8.gz": ("CAPFD", "8"), "capfctl.1.gz": ("CAPFCTL", "1"),
         "capfd.json.5.gz": ("CAPFD.JSON", "5")}
LINKS = {"capfd.8.gz": "capfd(8)", "capfctl.1.gz": "capfctl(1)", "capfd.json.5.gz": "capfd.json(5)"}
FILES = {
    "capfd.8.gz": ["/etc/capfd/capfd.json", "/run/capfd/admin.sock", "/var/lib/capfd"],
    "capfd.json.5.gz": ["/etc/capfd/capfd.json", "/run/capfd/admin.sock", "/var/lib/capfd"],
    "capfctl.1.gz": ["/run/capfd/admin.sock", "/etc/capfd/capfd.json"],
}

failures = []
passes = [0]


def check(ok, what):
    if ok:
        passes[0] += 1
    else:
        failures.append(what)
        print("FAIL: " + what)


def need(tool, package):
    path = shutil.which(tool)
    if path is None:
        print("FAIL: %s is not installed: apt-get install %s" % (tool, package))
        sys.exit(1)
    return path


def page_source(pages, name):
    path = os.path.join(pages, name)
    if not os.path.exists(path):
        print("FAIL: %s missing: build the capf_man target" % path)
        sys.exit(1)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read()


def render(source):
    """The page as plain text on a very wide line, so that nothing is wrapped
    or hyphenated: option names and descriptions can be searched whole."""
    groff = need("groff", "groff-base")
    done = subprocess.run([groff, "-man", "-Tascii", "-P-cbou", "-rLL=1000n"],
                          input=source, capture_output=True, text=True, check=True,
                          env=dict(os.environ, LC_ALL="C.UTF-8"))
    return re.sub(r".\x08", "", done.stdout)


def normal(text):
    return " ".join(text.split())


def sections(text):
    """{SECTION: [lines]} and {subsection title: [lines]} of a rendered page."""
    secs, subs = {}, {}
    sec = sub = None
    for ln in text.splitlines():
        if re.fullmatch(r"[A-Z][A-Z ]*[A-Z]", ln):
            sec, sub = ln, None
            secs[sec] = []
            continue
        m = re.fullmatch(r"   (\S.*)", ln)
        if m and sec is not None:
            sub = m.group(1).strip()
            subs[sub] = []
        if sec is not None:
            secs[sec].append(ln)
        if sub is not None:
            subs[sub].append(ln)
    return secs, subs


# ---------------------------------------------------------------- options

def run_help(binary, name, path):
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "ASAN_OPTIONS": "detect_leaks=0"}
    done = subprocess.run([name] + path + ["--help"], executable=binary, env=env,
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        print("FAIL: %s %s --help exited %d" % (name, " ".join(path), done.returncode))
        sys.exit(1)
    return done.stdout


def help_facts(text):
    """Options, positionals, subcommands and descriptions of one --help, read
    bluntly: option names are every -x/--xyz on an indented line that starts
    with '-'; descriptions are what follows two spaces (or the next line)."""
    options, positionals, subcommands, descriptions, footer = [], [], [], [], []
    group = None
    lines = text.splitlines()
    after_usage = False
    about = []
    for i, ln in enumerate(lines):
        if ln.startswith("Usage: "):
            after_usage = True
            continue
        if not after_usage:
            about.append(ln.strip())
            continue
        if re.fullmatch(r"\S[^:]*:", ln):
            group = ln[:-1]
            continue
        if not ln.strip():
            group = None
            continue
        if group is None and not ln.startswith(" "):
            footer.append(ln.strip())
            continue
        if not re.match(r"  \S", ln):
            continue
        spec, _, desc = ln.strip().partition("  ")
        desc = desc.strip()
        if not desc and i + 1 < len(lines) and re.match(r"\s{4,}\S", lines[i + 1]):
            desc = lines[i + 1].strip()
        first = spec.split()[0]
        if group == "Subcommands":
            subcommands.append((first, desc))  # desc: checked in the child's section
            continue
        if first.startswith("-"):
            options += re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", first)
        else:
            positionals.append(first)
        if desc:
            descriptions.append(desc)
    if about:
        descriptions.append(" ".join(t for t in about if t))
    return options, positionals, subcommands, descriptions, footer


def check_command(binary, name, path, block, where, top, listed):
    """listed: what the parent's --help says of this command."""
    options, positionals, subcommands, descriptions, footer = help_facts(
        run_help(binary, name, path))
    if top:
        descriptions.pop()  # the one-line summary: NAME, checked in format
    if listed:
        descriptions.append(listed)
    body = normal(" ".join(block))
    for opt in options:
        if not top and opt in ("-h", "--help"):
            continue  # said once, in OPTIONS: every command takes it
        check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), body),
              "%s: option %s of '%s' is not on the page" % (where, opt, " ".join([name] + path)))
    for arg in positionals:
        check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(arg), body),
              "%s: argument %s of '%s' is not on the page" % (where, arg, " ".join([name] + path)))
    for desc in descriptions:
        if not top and desc == "Print this help message and exit":
            continue
        check(normal(desc) in body,
              "%s: '%s' of '%s' is not on the page" % (where, desc, " ".join([name] + path)))
    if top:
        for ln in footer:
            check(normal(ln) in body, "%s: the help's closing line '%s' is missing" % (where, ln))
    return subcommands


def check_options(args):
    total_commands = 0
    for binary, name, page in ((args.capfd, "capfd", "capfd.8.gz"),
                               (args.capfctl, "capfctl", "capfctl.1.gz")):
        secs, subs = sections(render(page_source(args.pages, page)))
        check("OPTIONS" in secs, "%s: no OPTIONS section" % page)
        about = run_help(binary, name, []).split("Usage: ")[0].strip()
        summary = about[len(name) + 1:].strip() if about.startswith(name + ":") else about
        check(normal("%s - %s" % (name, summary)) in normal(" ".join(secs.get("NAME", []))),
              "%s: NAME is not '%s - %s'" % (page, name, summary))
        seen = set()
        todo = [([], None)]
        while todo:
            path, listed = todo.pop(0)
            if path:
                title = " ".join([name] + path)
                seen.add(title)
                check(title in subs, "%s: no section for the command '%s'" % (page, title))
                block = subs.get(title, [])
            else:
                block = secs.get("OPTIONS", [])
            children = check_command(binary, name, path, block, page, not path, listed)
            todo += [(path + [c], desc) for c, desc in children]
            total_commands += 1
            if len(path) > 8:
                check(False, "%s: subcommands nested too deep at %s" % (page, path))
                break
        for title in sorted(t for t in subs if t.startswith(name + " ") and t not in seen):
            check(False, "%s: the page has a section for '%s', which --help does not list"
                  % (page, title))
    check(total_commands > 10, "only %d commands found: the walk of --help failed" % total_commands)


# ------------------------------------------------------------------- keys

def strip_md(text):
    return normal(re.sub(r"\\(.)", r"\1", text.replace("`", "").replace("**", "")))


def table_rows(markdown):
    rows = []
    lines = markdown.splitlines()
    for i, ln in enumerate(lines):
        if not ln.lstrip().startswith("|") or re.fullmatch(r"[\s|:-]+", ln):
            continue
        if i + 1 < len(lines) and re.fullmatch(r"[\s|:-]+", lines[i + 1]) and "-" in lines[i + 1]:
            continue  # a header row
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", ln.strip().strip("|"))]
        rows.append(cells)
    return rows


def check_keys(args):
    with open(args.config_md, encoding="utf-8") as f:
        rows = table_rows(f.read())
    check(len(rows) > 30, "only %d table rows in %s" % (len(rows), args.config_md))
    secs, _ = sections(render(page_source(args.pages, "capfd.json.5.gz")))
    check("KEYS" in secs, "capfd.json.5: no KEYS section")
    keys_block = secs.get("KEYS", [])
    body = normal(" ".join(keys_block))
    tags = [normal(ln) for ln in keys_block if re.match(r" {7}\S", ln)]
    check(len(tags) == len(rows), "capfd.json.5: %d items in KEYS, %d rows in CONFIG.md"
          % (len(tags), len(rows)))
    for cells in rows:
        key = strip_md(cells[0])
        check(any(t == key or t.startswith(key + " ") for t in tags),
              "capfd.json.5: key '%s' is not an item of KEYS" % key)
        for code in re.findall(r"`([^`]+)`", cells[0]):
            check(code in body, "capfd.json.5: key '%s' missing" % code)
        if len(cells) > 2:
            check(("Default: " + strip_md(cells[1])) in body,
                  "capfd.json.5: default '%s' of %s missing" % (strip_md(cells[1]), key))


# ----------------------------------------------------------------- render

def check_render(args):
    groff = need("groff", "groff-base")
    man = need("man", "man-db")
    mandoc = need("mandoc", "mandoc")
    # MAN_DISABLE_SECCOMP: man-db's sandbox of groff fails in some containers.
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MANPAGER="cat", PAGER="cat",
               MAN_DISABLE_SECCOMP="1")
    with tempfile.TemporaryDirectory() as tmp:
        for page in PAGES:
            source = page_source(args.pages, page)
            plain = os.path.join(tmp, page[:-3])
            with open(plain, "w", encoding="utf-8") as f:
                f.write(source)
            done = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", plain],
                                  capture_output=True, text=True, env=env)
            check(done.returncode == 0 and not done.stderr,
                  "%s: groff -man -Tutf8 -ww: %s" % (page, done.stderr.strip()))
            done = subprocess.run([man, "--warnings=all", "-l", os.path.join(args.pages, page)],
                                  capture_output=True, text=True, env=env)
            check(done.returncode == 0 and not done.stderr and len(done.stdout) > 500,
                  "%s: man --warnings -l: exit %d, %s" % (page, done.returncode,
                                                          done.stderr.strip()))
            done = subprocess.run([mandoc, "-Tlint", "-W", "warning", plain],
                                  capture_output=True, text=True, env=env)
            report = (done.stdout + done.stderr).strip()
            check(done.returncode == 0 and not report, "%s: mandoc -Tlint: %s" % (page, report))


# ----------------------------------------------------------------- format

def check_format(args):
    for page, (title, section) in PAGES.items():
        path = os.path.join(args.pages, page)
        with open(path, "rb") as f:
            head = f.read(10)
        check(head[:2] == b"\x1f\x8b", "%s: not gzip" % page)
        check(head[3] & 0x08 == 0, "%s: gzip header names a file (use gzip -n)" % page)
        check(head[4:8] == b"\0\0\0\0", "%s: gzip header has a time stamp (use gzip -n)" % page)
        check(head[8] == 2, "%s: not compressed with gzip -9" % page)
        source = page_source(args.pages, page)
        th = re.search(r"^\.TH (\S+) (\S+) \"(\d{4}-\d\d-\d\d)\"", source, re.M)
        check(th is not None and th.group(1) == title and th.group(2) == section,
              "%s: .TH is not '%s %s \"YYYY-MM-DD\"'" % (page, title, section))
        secs, _ = sections(render(source))
        for needed in ("NAME", "SYNOPSIS" if section != "5" else "DESCRIPTION", "FILES", "SEE ALSO"):
            check(needed in secs, "%s: no %s section" % (page, needed))
        see_also = normal(" ".join(secs.get("SEE ALSO", [])))
        for other, link in LINKS.items():
            if other != page:
                check(link in see_also, "%s: SEE ALSO does not name %s" % (page, link))
        files = normal(" ".join(secs.get("FILES", [])))
        for path_ in FILES[page]:
            check(path_ in files, "%s: FILES does not name %s" % (page, path_))


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("check", choices=["options", "keys", "render", "format"])
    p.add_argument("--pages", required=True, help="directory of the generated *.gz")
    p.add_argument("--capfd")
    p.add_argument("--capfctl")
    p.add_argument("--config-md")
    args = p.parse_args(argv)
    if args.check == "options":
        if not (args.capfd and args.capfctl):
            p.error("options needs --capfd and --capfctl")
        check_options(args)
    elif args.check == "keys":
        if not args.config_md:
            p.error("keys needs --config-md")
        check_keys(args)
    elif args.check == "render":
        check_render(args)
    else:
        check_format(args)
    print("man pages (%s): %d checks passed, %d failed" % (args.check, passes[0], len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
