#!/usr/bin/env python3
"""No function in capf/ longer than LIMIT lines (signature to closing brace).

Reads clang-formatted C++ as text: a definition is a statement ending in
"{" whose text ends with ")" (and qualifiers), not a control statement or a
lambda; it ends at the "}" indented like its first line. Prints every
function over the limit and exits 1 if there is one; also fails when it
finds implausibly few functions, so a parsing slip cannot pass silently.

Usage: function_length_check.py LIMIT DIR...
"""
import os
import re
import sys

CONTROL = re.compile(r'^\s*(if|for|while|switch|catch|else|do|namespace|struct|class|enum|union|'
                     r'try|case|return|co_return|throw)\b')
SIGNATURE_END = re.compile(r'\)\s*(const)?\s*(noexcept)?\s*(override)?\s*(->\s*[^{]+)?\{$')
LAMBDA = re.compile(r'\[[&=a-z_, ]*\]\s*\(')


def functions(path):
    lines = open(path, encoding='utf-8').read().split('\n')
    start = 0
    for i, line in enumerate(lines):
        text = line.strip()
        if text == '' or text.startswith('//') or text.startswith('#'):
            start = i + 1
            continue
        if text.endswith('{'):
            statement = ' '.join(x.strip() for x in lines[start:i + 1])
            first = lines[start]
            if ('(' in statement and SIGNATURE_END.search(statement) and not CONTROL.match(first)
                    and '= [' not in statement and not LAMBDA.search(statement)
                    and not statement.startswith(('[', ')', '}'))):
                indent = len(first) - len(first.lstrip())
                for j in range(i + 1, len(lines)):
                    closing = lines[j]
                    if (closing.startswith(' ' * indent + '}')
                            and (len(closing) == indent + 1 or closing[indent + 1] in ' ;/)')):
                        yield start + 1, j - start + 1, first.strip()
                        break
            start = i + 1
        elif text.endswith((';', '}', ':')):
            start = i + 1


def main():
    limit = int(sys.argv[1])
    seen, too_long = 0, []
    for root in sys.argv[2:]:
        for folder, _, files in os.walk(root):
            for name in sorted(files):
                if name.endswith(('.cpp', '.hpp')):
                    path = os.path.join(folder, name)
                    for line, length, signature in functions(path):
                        seen += 1
                        if length > limit:
                            too_long.append(f'{path}:{line}: {length} lines: {signature[:80]}')
    print(f'{seen} functions read; {len(too_long)} longer than {limit} lines')
    for entry in too_long:
        print(entry)
    if seen < 100:
        print('FAIL: too few functions found; the reader is broken')
        return 1
    return 1 if too_long else 0


if __name__ == '__main__':
    sys.exit(main())
