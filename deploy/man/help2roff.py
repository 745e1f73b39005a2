#!/usr/bin/env python3
"""Writes a man page from a CLI11 program's own --help output.

    help2roff.py --binary build/capf/capfctl --name capfctl --section 1 \
        --include deploy/man/capfctl.h2m --output capfctl.1

The program is run as NAME --help, then NAME SUB --help for every
subcommand its help lists, and so on down the tree, so every command and
option the program knows is on the page and nothing else is: the page is
rebuilt whenever the program is. The include file adds what --help cannot
say (DESCRIPTION, FILES, SEE ALSO, ...), in help2man's [SECTION] format.

Why not help2man itself: it formats one --help output; capfctl has two
levels of subcommands, whose help would have to be pasted together by a
wrapper and would lose its structure; CLI11's positional arguments and its
option types, checks and defaults are better laid out knowing the format.
"""

import argparse
import collections
import re
import sys

import manroff

Entry = collections.namedtuple("Entry", "spec text")


class Help:
    """One --help output of CLI11, parsed."""

    def __init__(self, description, usage, groups, footer):
        self.description = description  # lines before "Usage:"
        self.usage = usage              # what follows "Usage: "
        self.groups = groups            # [(name, [Entry])], in order
        self.footer = footer            # lines after the last group

    def group(self, name):
        for gname, entries in self.groups:
            if gname == name:
                return entries
        return []


def description_column(lines):
    """The column where CLI11 starts descriptions (30 by default): the most
    common start of text after a gap of two or more spaces in entry lines."""
    counts = collections.Counter()
    for text in lines:
        m = re.match(r"  \S.*?\S?( {2,})(\S)", text)
        if m:
            counts[m.start(2)] += 1
    return counts.most_common(1)[0][0] if counts else 30


def parse_help(text, where):
    lines = text.splitlines()
    usage_at = next((i for i, t in enumerate(lines) if t.startswith("Usage: ")), None)
    if usage_at is None:
        raise SystemExit("%s: no 'Usage:' line in its --help" % where)
    description = [t.strip() for t in lines[:usage_at] if t.strip()]
    usage = lines[usage_at][len("Usage: "):].strip()
    column = description_column(lines[usage_at + 1:])
    groups, footer = [], []
    entries = None
    for text in lines[usage_at + 1:]:
        if not text.strip():
            entries = None
            continue
        header = re.fullmatch(r"(\S[^:]*):", text)
        if header and not text.startswith(" "):
            entries = []
            groups.append((header.group(1), entries))
            continue
        if entries is None:
            if text.startswith(" "):
                raise SystemExit("%s: indented line outside a group: %r" % (where, text))
            footer.append(text.strip())
            continue
        if re.match(r"  \S", text):
            if len(text) > column and text[column - 1] == " " and text[column] != " ":
                spec, desc = text[:column].strip(), text[column:].strip()
            else:
                parts = re.split(r" {2,}", text.strip(), maxsplit=1)
                spec, desc = parts[0], (parts[1] if len(parts) > 1 else "")
            entries.append(Entry(spec, desc))
        elif entries:
            last = entries[-1]
            joined = (last.text + " " + text.strip()).strip()
            entries[-1] = Entry(last.spec, joined)
        else:
            raise SystemExit("%s: continuation without an entry: %r" % (where, text))
    return Help(description, usage, groups, footer)


class Command:
    def __init__(self, path, help_):
        self.path = path        # ["capfctl", "device", "add"]
        self.help = help_
        self.children = []


def walk(binary, name, path=(), depth=0):
    where = " ".join((name,) + tuple(path))
    if depth > 8:
        raise SystemExit("%s: subcommands nested too deep" % where)
    text = manroff.run_help(binary, name, list(path) + ["--help"])
    node = Command([name] + list(path), parse_help(text, where))
    for entry in node.help.group("Subcommands"):
        sub = entry.spec.split()[0]
        node.children.append(walk(binary, name, tuple(path) + (sub,), depth + 1))
    return node


SPEC = re.compile(
    r"(?P<type>[A-Z][A-Z0-9_]*(?: \.\.\.)?)"
    r"(?::(?P<check>.+?))?"
    r"(?:=(?P<default>\S*))?"
    r"(?P<flags>(?: REQUIRED| \(Env:[^)]*\)| Needs: .*| Excludes: .*)*)")


def describe_check(check):
    """CLI11's validator names as words."""
    words = {"FILE": "an existing file", "DIR": "an existing directory",
             "PATH(existing)": "an existing path", "PATH": "an existing path"}
    if check in words:
        return words[check]
    m = re.fullmatch(r"[A-Z]+ in \[(\S+) - (\S+)\]", check)
    if m:
        return "%s to %s" % m.groups()
    m = re.fullmatch(r"\{(.*)\}", check)
    if m:
        values = [v.strip() for v in m.group(1).split(",")]
        return "one of " + ", ".join(values) if len(values) > 2 else " or ".join(values)
    return check


def entry_lines(entry, positional):
    """.TP item of one option or positional argument."""
    first, _, rest = entry.spec.partition(" ")
    if positional:
        tag = manroff.italic(first)
    else:
        tag = ", ".join(manroff.bold(n) for n in first.split(","))
    notes = []
    m = SPEC.fullmatch(rest) if rest else None
    if m:
        if not positional:
            tag += " " + manroff.italic(m.group("type"))
        if m.group("check"):
            notes.append("Values: " + manroff.escape(describe_check(m.group("check")), minus=True))
        if m.group("default") is not None and m.group("default") != "":
            notes.append("Default: " + manroff.bold(m.group("default")))
        flags = m.group("flags").strip()
        if "REQUIRED" in flags and not positional:
            notes.append("Required")
        extra = flags.replace("REQUIRED", "").strip()
        if extra:
            notes.append(manroff.escape(extra, minus=True))
    elif rest:
        tag += " " + manroff.italic(rest)
    out = [".TP", manroff.line(tag)]
    text = manroff.escape(entry.text, minus=True) if entry.text else ""
    if notes:
        note = ". ".join(notes) + "."
        text = (text.rstrip(".") + ". " + note) if text else note
    out += manroff.wrap(text) if text else ["\\&"]
    return out


def usage_line(usage, path):
    """'capfctl device add [OPTIONS] name' as bold command, italic arguments."""
    words = usage.split()
    command = " ".join(path)
    if " ".join(words[:len(path)]) != command:
        # CLI11 printed its argv[0]: replace it with the program's name.
        words = path + words[len(path):] if len(words) >= len(path) else path
    parts = [manroff.bold(" ".join(path))]
    for word in words[len(path):]:
        m = re.fullmatch(r"(\[?)([^\[\]]+?)(\]?)(\.\.\.)?", word)
        if m and m.group(2) != "...":
            parts.append(m.group(1) + manroff.italic(m.group(2)) + m.group(3)
                         + (m.group(4) or ""))
        else:
            parts.append(manroff.escape(word, minus=True))
    return " ".join(parts)


def groups_lines(help_, top_footer, skip_help):
    """Every option and argument of one command, as one .TP list; groups other
    than CLI11's standard ones are labelled."""
    out = []
    for gname, entries in help_.groups:
        if gname == "Subcommands":
            continue
        shown = [e for e in entries if not (skip_help and e.spec.split()[0] == "-h,--help")]
        if not shown:
            continue
        if gname not in ("Positionals", "Options"):
            out += [".PP"] + manroff.wrap(manroff.escape(gname, minus=True) + ":")
        for entry in shown:
            out += entry_lines(entry, positional=(gname == "Positionals"))
    footer = [t for t in help_.footer]
    if footer and footer != top_footer:
        out += [".PP"] + manroff.wrap(manroff.escape(" ".join(footer), minus=True))
    return out


def command_lines(node, top_footer):
    """.SS of one subcommand, then its own subcommands."""
    out = [".SS " + manroff.quote_arg(" ".join(node.path)), usage_line(node.help.usage, node.path)]
    if node.help.description:
        out.append(".PP")
        out += manroff.wrap(manroff.escape(" ".join(node.help.description), minus=True))
    # -h/--help is on every command; the page says it once, in OPTIONS.
    out += groups_lines(node.help, top_footer, skip_help=True)
    for child in node.children:
        out += command_lines(child, top_footer)
    return out


def leaves(node):
    if not node.children:
        return [node]
    return [leaf for child in node.children for leaf in leaves(child)]


def build_page(root, args, version):
    name = root.path[0]
    first = root.help.description[0] if root.help.description else name
    summary = first[len(name) + 1:].strip() if first.startswith(name + ":") else first
    generated = collections.OrderedDict()
    # One line: whatis(1) and apropos(1) read it.
    generated["NAME"] = [manroff.line("%s \\- %s" % (manroff.escape(name, minus=True),
                                                      manroff.escape(summary, minus=True)))]
    synopsis = [usage_line(root.help.usage, root.path)]
    if args.synopsis == "all":
        synopsis += [usage_line(leaf.help.usage, leaf.path) for leaf in leaves(root)
                     if leaf is not root]
    generated["SYNOPSIS"] = [x for pair in zip(synopsis, [".br"] * len(synopsis))
                             for x in pair][:-1]
    if len(root.help.description) > 1:
        generated["DESCRIPTION"] = manroff.wrap(
            manroff.escape(" ".join(root.help.description[1:]), minus=True))
    options = groups_lines(root.help, None, skip_help=False)
    if options:
        generated["OPTIONS"] = options
    commands = []
    for child in root.children:
        commands += command_lines(child, root.help.footer)
    if commands:
        generated["COMMANDS"] = commands
    included = manroff.read_include(args.include) if args.include else {}
    source = args.source or "%s %s" % (name, version)
    head = manroff.header(name, args.section, manroff.page_date(args.date), source)
    return manroff.assemble(head, generated, included)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", required=True, help="the program to run")
    p.add_argument("--name", required=True, help="its name (argv[0] and page title)")
    p.add_argument("--section", required=True, choices=sorted(manroff.MANUALS))
    p.add_argument("--include", help="[SECTION] file with the text --help lacks")
    p.add_argument("--synopsis", choices=["top", "all"], default="top",
                   help="SYNOPSIS: the top usage only, or every leaf command's too")
    p.add_argument("--date", help="page date YYYY-MM-DD (default: SOURCE_DATE_EPOCH or today)")
    p.add_argument("--source", help="footer source (default: NAME and its --version)")
    p.add_argument("--output", required=True)
    args = p.parse_args(argv)
    root = walk(args.binary, args.name)
    version = manroff.run_help(args.binary, args.name, ["--version"]).strip().split()[-1]
    manroff.write_page(args.output, build_page(root, args, version))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
