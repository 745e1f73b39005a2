#!/usr/bin/env python3
"""Writes a man page from a Markdown document (deploy/CONFIG.md).

    md2roff.py --input deploy/CONFIG.md --name capfd.json --section 5 \
        --include deploy/man/capfd.json.h2m --example deploy/capfd.sample.json \
        --output capfd.json.5

The Markdown this project writes: headings, paragraphs, lists, fenced code
and tables, with `code`, **strong**, *emphasis* and [links](url) inline.
The '# ' title becomes the NAME line (unless --summary is given). Text under
the title goes in DESCRIPTION; a '## ' heading starts a section of its own
name. A table outside any '## ' section opens --table-section (KEYS), and
what follows it goes in --after-table-section (NOTES).

A table becomes a list, one item a row: the first cell is the tag, the last
cell its text, and every cell between is a "Header: value" line; man pages
are read on terminals 80 columns wide, where four columns of prose do not
fit. The file of --example goes verbatim in EXAMPLES.
"""

import argparse
import collections
import re
import sys

import manroff


def split_row(text):
    """Cells of a table row: '|' splits, except escaped or inside `code`."""
    text = text.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    cells, cur, code = [], [], None
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if c == "`":
            run = re.match(r"`+", text[i:]).group(0)
            if code is None:
                code = run
            elif run == code:
                code = None
            cur.append(run)
            i += len(run)
            continue
        if c == "|" and code is None:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    cells.append("".join(cur).strip())
    return cells


INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<codetext>.+?)(?P=ticks))"
    r"|(?P<link>\[(?P<linktext>[^\]]+)\]\((?P<url>[^)\s]+)\))"
    r"|(?P<strong>\*\*(?P<strongtext>\S(?:.*?\S)?)\*\*)"
    r"|(?P<em>(?<![\w*])[*_](?P<emtext>[^\s*_](?:[^*_]*?[^\s*_])?)[*_](?![\w*]))"
    r"|(?P<escaped>\\(?P<char>[\\`*_{}\[\]()#+\-.!|<>]))")


def inline(text):
    """Markdown inline text as roff (one logical line, not yet wrapped)."""
    out = []
    pos = 0
    for m in INLINE.finditer(text):
        out.append(manroff.escape(text[pos:m.start()]))
        if m.group("code"):
            out.append(manroff.bold(m.group("codetext").strip()))
        elif m.group("link"):
            label = inline(m.group("linktext"))
            url = m.group("url")
            out.append(label if url.startswith("#") else
                       "%s (\\fI%s\\fR)" % (label, manroff.escape(url, minus=True)))
        elif m.group("strong"):
            out.append("\\fB" + inline(m.group("strongtext")) + "\\fR")
        elif m.group("em"):
            out.append("\\fI" + inline(m.group("emtext")) + "\\fR")
        elif m.group("escaped"):
            out.append(manroff.escape(m.group("char")))
        pos = m.end()
    out.append(manroff.escape(text[pos:]))
    return "".join(out)


def is_table_start(lines, i):
    return (lines[i].lstrip().startswith("|") and i + 1 < len(lines)
            and re.fullmatch(r"\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*", lines[i + 1]))


def table_lines(header, rows, where):
    out = []
    names = [re.sub(r"[`*_]", "", h).strip() for h in header]
    for number, row in enumerate(rows, 1):
        if len(row) != len(header):
            raise SystemExit("%s: table row %d has %d cells, the header %d"
                             % (where, number, len(row), len(header)))
        out += [".TP", manroff.line(inline(row[0]) if len(row) > 1 else "")]
        if len(row) == 1:
            out += manroff.wrap(inline(row[0]))
            continue
        out += manroff.wrap(inline(row[-1]))
        for name, cell in zip(names[1:-1], row[1:-1]):
            label = name[:1].upper() + name[1:]
            out.append(".br")
            out += manroff.wrap("\\fI%s:\\fR %s" % (manroff.escape(label), inline(cell)))
    return out


class Converter:
    def __init__(self, args):
        self.args = args
        self.sections = collections.OrderedDict()
        self.current = "DESCRIPTION"
        self.title = None
        self.top_level = True  # no '## ' heading seen yet
        self.where = args.input

    def emit(self, lines):
        self.sections.setdefault(self.current, [])
        body = self.sections[self.current]
        if body and lines and not lines[0].startswith((".SS", ".TP", ".IP")):
            body.append(".PP")
        body.extend(lines)

    def convert(self, lines):
        i = 0
        while i < len(lines):
            text = lines[i]
            if not text.strip():
                i += 1
                continue
            heading = re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", text)
            if heading:
                self.heading(len(heading.group(1)), heading.group(2))
                i += 1
            elif text.startswith("```") or text.startswith("~~~"):
                i = self.fence(lines, i)
            elif is_table_start(lines, i):
                i = self.table(lines, i)
            elif re.match(r"\s*([-*+]|\d+[.)])\s+", text):
                i = self.list_(lines, i)
            else:
                i = self.paragraph(lines, i)
        return self.sections

    def heading(self, level, text):
        if level == 1 and self.title is None:
            self.title = text
        elif level <= 2:
            self.current = re.sub(r"[`*_]", "", text).upper()
            self.top_level = False
        else:
            self.emit([".SS " + manroff.quote_arg(inline(text))])

    def fence(self, lines, i):
        marker = lines[i][:3]
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(marker):
            body.append(manroff.line(manroff.escape(lines[i], minus=True)))
            i += 1
        self.emit([".RS", ".nf"] + body + [".fi", ".RE"])
        return i + 1

    def table(self, lines, i):
        header = split_row(lines[i])
        i += 2
        rows = []
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            rows.append(split_row(lines[i]))
            i += 1
        if self.top_level:
            self.current = self.args.table_section
        self.emit(table_lines(header, rows, self.where))
        if self.top_level:
            self.current = self.args.after_table_section
        return i

    def list_(self, lines, i):
        items = []
        while i < len(lines) and lines[i].strip():
            m = re.match(r"\s*([-*+]|\d+[.)])\s+(.*)", lines[i])
            if m:
                items.append([m.group(1), m.group(2)])
            elif items:
                items[-1][1] += " " + lines[i].strip()
            i += 1
        out = []
        for marker, text in items:
            tag = "\\(bu" if marker in "-*+" else manroff.escape(marker)
            out += [".IP %s 4" % tag] + manroff.wrap(inline(text))
        self.emit(out)
        return i

    def paragraph(self, lines, i):
        text = []
        while (i < len(lines) and lines[i].strip() and not is_table_start(lines, i)
               and not re.match(r"(#{1,6}\s|```|~~~)", lines[i])):
            text.append(lines[i].strip())
            i += 1
        self.emit(manroff.wrap(inline(" ".join(text))))
        return i


def example_lines(path):
    with open(path, encoding="utf-8") as f:
        body = [manroff.line(manroff.escape(t.rstrip("\n"), minus=True)) for t in f]
    return [".PP", ".RS", ".nf"] + body + [".fi", ".RE"]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", required=True, help="the Markdown document")
    p.add_argument("--name", required=True, help="page name, e.g. capfd.json")
    p.add_argument("--section", required=True, choices=sorted(manroff.MANUALS))
    p.add_argument("--summary", help="NAME line text (default: the '# ' title)")
    p.add_argument("--include", help="[SECTION] file with text the document lacks")
    p.add_argument("--example", help="a file shown verbatim in EXAMPLES")
    p.add_argument("--table-section", default="KEYS")
    p.add_argument("--after-table-section", default="NOTES")
    p.add_argument("--date", help="page date YYYY-MM-DD (default: SOURCE_DATE_EPOCH or today)")
    p.add_argument("--source", required=True, help="footer source, e.g. 'capfd 0.1.0'")
    p.add_argument("--output", required=True)
    args = p.parse_args(argv)
    with open(args.input, encoding="utf-8") as f:
        lines = f.read().splitlines()
    conv = Converter(args)
    generated = conv.convert(lines)
    summary = args.summary or conv.title or args.name
    generated["NAME"] = [manroff.line("%s \\- %s" % (manroff.escape(args.name, minus=True),
                                                      manroff.escape(summary)))]
    included = manroff.read_include(args.include) if args.include else {}
    if args.example:
        intro = included.pop("EXAMPLES", [])
        generated["EXAMPLES"] = intro + example_lines(args.example)
    head = manroff.header(args.name, args.section, manroff.page_date(args.date), args.source)
    manroff.write_page(args.output, manroff.assemble(head, generated, included))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
