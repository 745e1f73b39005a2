#!/usr/bin/env bash
# Static checks of deploy/container/ (no Docker engine is needed, and none
# runs in CI):
#   compose.yaml   docker-compose config -q (the Compose schema, offline),
#                  yamllint -s, and what the services must have: postgres:15
#                  with pg_isready, capfd built from this tree after a healthy
#                  db, port 3804, the state volume, restart unless-stopped, a
#                  stop grace longer than limits.shutdown_grace, no password
#                  in the file
#   Dockerfile     every FROM debian:12*, apt-get install -y
#                  --no-install-recommends, apt lists removed in the RUN that
#                  fetched them, no download but apt, COPY sources that exist;
#                  the runtime stage installs the built .deb and has USER capf,
#                  EXPOSE 3804, STOPSIGNAL SIGTERM, an ENTRYPOINT and a
#                  HEALTHCHECK whose capfctl options capfctl really has
#   capfd.json     identity in /var/lib/capfd, socket /run/capfd/admin.sock,
#                  database host=db with no password, no node.name (the host
#                  name), the read-only group capfread
#   entrypoint.sh  sh -n, and run against stand-ins of capfd: the password
#                  file into PGPASSWORD, capfd init then exec capfd; node.name
#                  the host name in place of the old fixed placeholder, an
#                  operator's node.name and a config without one untouched
# Usage: container_lint_test.sh REPO CAPFD CAPFCTL
set -euo pipefail

repo=${1:?usage: container_lint_test.sh REPO CAPFD CAPFCTL}
capfd=${2:?usage: container_lint_test.sh REPO CAPFD CAPFCTL}
capfctl=${3:?usage: container_lint_test.sh REPO CAPFD CAPFCTL}
dir=$repo/deploy/container
# Debian's python3 (it has python3-yaml, which yamllint and docker-compose
# depend on), not a shim of another installation.
if [ -x /usr/bin/python3 ]; then PATH="/usr/bin:$PATH"; fi

missing=()
for tool in docker-compose:docker-compose yamllint:yamllint python3:python3; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "FAIL: missing tools: apt-get install -y ${missing[*]} (deploy/install-deps.sh)"
  exit 1
fi

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

for f in Dockerfile compose.yaml capfd.json entrypoint.sh; do
  [ -f "$dir/$f" ] || { echo "FAIL: $dir/$f missing"; exit 1; }
done

# --- compose.yaml: the schema, then the style ---------------------------
# A scratch HOME and no DOCKER_HOST: docker-compose config reads no engine.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if out=$(cd "$dir" && HOME=$scratch DOCKER_HOST=unix:///nonexistent \
           docker-compose -f compose.yaml config -q 2>&1) && [ -z "$out" ]; then
  pass "docker-compose config -q accepts compose.yaml"
else
  fail "docker-compose config -q: $out"
fi
(cd "$dir" && HOME=$scratch DOCKER_HOST=unix:///nonexistent \
   docker-compose -f compose.yaml config >"$scratch/resolved.yaml" 2>&1) || true
if out=$(yamllint -s -d default "$dir/compose.yaml" 2>&1); then
  pass "yamllint -s (default rules) accepts compose.yaml"
else
  fail "yamllint: $out"
fi

# --- what the files say ----------------------------------------------------
set +e
python3 - "$repo" "$capfd" "$capfctl" "$scratch/resolved.yaml" <<'PY'
import json, os, re, shlex, subprocess, sys
import yaml

repo, capfd, capfctl, resolved = sys.argv[1:]
d = os.path.join(repo, "deploy", "container")
ok = bad = 0


def check(cond, what):
    global ok, bad
    if cond:
        ok += 1
        print("PASS: " + what)
    else:
        bad += 1
        print("FAIL: " + what)


def seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", str(text))
    if not m:
        return None
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def compose_seconds(text):
    total, rest = 0.0, str(text)
    for n, unit in re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", rest):
        total += float(n) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total if re.fullmatch(r"((\d+(\.\d+)?)(us|ms|s|m|h))+", rest) else None


def help_of(binary, args):
    return subprocess.run([binary] + args + ["--help"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "ASAN_OPTIONS": "detect_leaks=0"}).stdout


def options_of(text):
    return set(re.findall(r"(?m)^\s+(?:-\w,)?(--[\w-]+)", text))


def subcommands_of(text):
    part = text.split("Subcommands:", 1)
    return set(re.findall(r"(?m)^  (\S+)", part[1])) if len(part) == 2 else set()


config = json.load(open(os.path.join(d, "capfd.json")))

# ---- compose.yaml, as docker-compose resolved it
try:
    c = yaml.safe_load(open(resolved))
    services = c.get("services", {}) if isinstance(c, dict) else {}
except Exception as e:  # the config -q check above says why
    services = {}
    print("FAIL: docker-compose config did not resolve: %s" % e)
db, cd = services.get("db", {}), services.get("capfd", {})
check(db and cd, "compose: services db and capfd")
check(db.get("image") == "postgres:15", "compose: db runs postgres:15")
env = db.get("environment", {})
check(env.get("POSTGRES_USER") == "capf" and env.get("POSTGRES_DB") == "capfd",
      "compose: db has POSTGRES_USER=capf and POSTGRES_DB=capfd")
check("POSTGRES_PASSWORD" not in env and env.get("POSTGRES_PASSWORD_FILE", "").startswith("/run/secrets/"),
      "compose: db takes its password from a secret file, not the environment")
test = db.get("healthcheck", {}).get("test", [])
check("pg_isready" in " ".join(test if isinstance(test, list) else [test]),
      "compose: db healthcheck runs pg_isready")
named = set((c.get("volumes") or {}).keys())
db_volumes = [v.get("source") for v in db.get("volumes", []) if isinstance(v, dict)] + \
             [v.split(":")[0] for v in db.get("volumes", []) if isinstance(v, str)]
check(any(v in named for v in db_volumes), "compose: db data on a named volume")
build = cd.get("build", {})
check(os.path.realpath(build.get("context", "")) == os.path.realpath(repo),
      "compose: capfd is built with the repository as context")
check(build.get("dockerfile") == "deploy/container/Dockerfile",
      "compose: capfd's dockerfile is deploy/container/Dockerfile")
check(cd.get("depends_on", {}).get("db", {}).get("condition") == "service_healthy",
      "compose: capfd starts once db is healthy")
ports = cd.get("ports", [])
check(any((isinstance(p, dict) and str(p.get("published")) == "3804" and p.get("target") == 3804)
          or p == "3804:3804" for p in ports), "compose: capfd publishes 3804:3804")
vols = cd.get("volumes", [])
targets = [v.get("target") if isinstance(v, dict) else v.split(":")[1] for v in vols]
check("/var/lib/capfd" in targets, "compose: capfd has a volume on /var/lib/capfd")
check(cd.get("restart") == "unless-stopped" and db.get("restart") == "unless-stopped",
      "compose: both restart unless-stopped")
grace = compose_seconds(cd.get("stop_grace_period", "10s"))
shutdown = seconds(config.get("limits", {}).get("shutdown_grace", "30s"))
check(grace is not None and shutdown is not None and grace > shutdown,
      "compose: stop_grace_period %s is longer than limits.shutdown_grace %s"
      % (cd.get("stop_grace_period"), config.get("limits", {}).get("shutdown_grace")))
raw = open(os.path.join(d, "compose.yaml")).read()
check(not re.search(r"(?i)password\s*[:=]\s*\S", re.sub(r"(?m)#.*$", "", raw).replace(
          "POSTGRES_PASSWORD_FILE", "").replace("db_password", "")),
      "compose: no password written in compose.yaml")

# ---- capfd.json of the image
ident = config.get("identity", {})
check(ident.get("certificate", "").startswith("/var/lib/capfd/")
      and ident.get("private_key", "").startswith("/var/lib/capfd/"),
      "capfd.json: the identity is in /var/lib/capfd (the volume)")
check("passphrase_file" not in ident or ident["passphrase_file"].startswith("/run/secrets/"),
      "capfd.json: no passphrase file baked into the image")
check(config.get("admin", {}).get("socket_path") == "/run/capfd/admin.sock",
      "capfd.json: admin socket /run/capfd/admin.sock")
conn = config.get("database", {}).get("connection", "")
words = dict(w.split("=", 1) for w in conn.split() if "=" in w)
check(words.get("host") == "db" and words.get("dbname") == "capfd" and words.get("user") == "capf",
      "capfd.json: database host=db dbname=capfd user=capf")
check("password" not in words, "capfd.json: no password in database.connection")
check("name" not in config.get("node", {}),
      "capfd.json: no node.name, so each container's capfd takes its own host name")
check(config.get("admin", {}).get("readonly_groups") == ["capfread"]
      and "capfread" != config.get("admin", {}).get("allowed_group"),
      "capfd.json: the package's read-only group capfread is in admin.readonly_groups")

# ---- Dockerfile
def instructions(path):
    """(line number, INSTRUCTION, arguments) with continuations joined."""
    out, cur, start = [], "", 0
    for n, text in enumerate(open(path).read().splitlines(), 1):
        s = text.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue  # a comment inside a continued instruction
        if not cur:
            start = n
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        word, _, rest = cur.partition(" ")
        out.append((start, word.upper(), rest.strip()))
        cur = ""
    return out


ins = instructions(os.path.join(d, "Dockerfile"))
ignore = os.path.join(repo, ".dockerignore")
kept = set()
check(os.path.exists(ignore), ".dockerignore: present at the repository root")
if os.path.exists(ignore):
    patterns = [ln.strip() for ln in open(ignore) if ln.strip() and not ln.startswith("#")]
    check(patterns[:1] == ["*"], ".dockerignore: starts from nothing ('*')")
    kept = {p[1:].strip("/").split("/")[0] for p in patterns if p.startswith("!")}
stages, stage = [], None
for n, word, rest in ins:
    if word == "FROM":
        stage = {"from": rest, "ins": []}
        stages.append(stage)
    elif stage is not None:
        stage["ins"].append((n, word, rest))
check(len(stages) >= 2, "Dockerfile: multi-stage (%d stages)" % len(stages))
for st in stages:
    image = st["from"].split()[0]
    check(re.fullmatch(r"debian:12(-slim)?", image) is not None,
          "Dockerfile: FROM %s is debian:12 or debian:12-slim" % image)
check(stages and stages[-1]["from"].split()[0] == "debian:12-slim",
      "Dockerfile: the runtime stage is debian:12-slim")
for i, st in enumerate(stages):
    for n, word, rest in st["ins"]:
        if word in ("ADD",):
            check(False, "Dockerfile:%d: ADD (use COPY; nothing is downloaded but apt)" % n)
        if word != "RUN":
            continue
        check(not re.search(r"\b(curl|wget|git clone|pip install|npm install)\b", rest),
              "Dockerfile:%d: RUN downloads nothing but Debian packages" % n)
        for cmd in re.split(r"&&|;|\|\|", rest):
            toks = cmd.split()
            if "apt-get" in toks and "install" in toks:
                yes = any(t in ("-y", "--yes", "--assume-yes") or re.fullmatch(r"-[a-z]*y[a-z]*", t)
                          for t in toks)
                check(yes and "--no-install-recommends" in toks,
                      "Dockerfile:%d: apt-get install has -y and --no-install-recommends" % n)
            if "apt" in toks and "install" in toks:
                check(False, "Dockerfile:%d: apt install in a Dockerfile (use apt-get)" % n)
        if re.search(r"apt-get\s+(-\S+\s+)*update", rest):
            check("rm -rf /var/lib/apt/lists" in rest,
                  "Dockerfile:%d: the RUN that runs apt-get update removes /var/lib/apt/lists" % n)
for n, word, rest in ins:
    if word != "COPY":
        continue
    args = shlex.split(rest)
    if any(a.startswith("--from=") for a in args):
        continue
    paths = [a for a in args if not a.startswith("--")]
    for src in paths[:-1]:
        check(os.path.exists(os.path.join(repo, src)),
              "Dockerfile:%d: COPY source %s exists in the repository" % (n, src))
        check(src.strip("/").split("/")[0] in kept,
              "Dockerfile:%d: COPY source %s is kept by .dockerignore" % (n, src))
runtime = stages[-1]["ins"] if stages else []
words = [w for _, w, _ in runtime]
users = [r for _, w, r in runtime if w == "USER"]
check(users and users[-1] == "capf", "Dockerfile: the runtime stage runs as USER capf")
last_user = max(i for i, (_, w, _) in enumerate(runtime) if w == "USER") if users else -1
check(all(w != "RUN" for _, w, _ in runtime[last_user + 1:]) if users else False,
      "Dockerfile: nothing runs as root after USER capf")
check(any(w == "EXPOSE" and "3804" in r.split() for _, w, r in runtime),
      "Dockerfile: EXPOSE 3804")
check(any(w == "STOPSIGNAL" and r in ("SIGTERM", "15") for _, w, r in runtime),
      "Dockerfile: STOPSIGNAL SIGTERM")
check(any(w == "COPY" and "--from=" in r for _, w, r in runtime)
      and any(w == "RUN" and re.search(r"apt-get\s.*install\s.*\.deb", r) for _, w, r in runtime),
      "Dockerfile: the runtime stage installs the .deb of the build stage with apt-get")
entry = [r for _, w, r in runtime if w == "ENTRYPOINT"]
check(len(entry) == 1, "Dockerfile: one ENTRYPOINT")
if entry:
    try:
        argv = json.loads(entry[0])
    except ValueError:
        argv = None
    check(isinstance(argv, list), "Dockerfile: ENTRYPOINT in exec form (capfd gets SIGTERM)")
    copied = [shlex.split(r) for _, w, r in runtime if w == "COPY"]
    check(isinstance(argv, list) and any(c[-1] == argv[0] and c[-2] == "deploy/container/entrypoint.sh"
                                         for c in copied),
          "Dockerfile: ENTRYPOINT is deploy/container/entrypoint.sh")
check(any(w == "COPY" and r.split()[-1] == "/etc/capfd/capfd.json"
          and "deploy/container/capfd.json" in r for _, w, r in runtime),
      "Dockerfile: deploy/container/capfd.json becomes /etc/capfd/capfd.json")
hc = [r for _, w, r in runtime if w == "HEALTHCHECK"]
check(len(hc) == 1, "Dockerfile: one HEALTHCHECK")
if hc:
    m = re.search(r"\bCMD\s+(.*)$", hc[0])
    try:
        hc_argv = json.loads(m.group(1)) if m else None
    except ValueError:
        hc_argv = shlex.split(m.group(1))
    hc_argv = hc_argv or []
    check(hc_argv[:1] == ["capfctl"], "Dockerfile: HEALTHCHECK runs capfctl")
    ctl_help = help_of(capfctl, [])
    opts = [a for a in hc_argv[1:] if a.startswith("--")]
    check(opts and all(o in options_of(ctl_help) for o in opts),
          "Dockerfile: HEALTHCHECK's capfctl options %s are options of capfctl --help" % opts)
    check("--socket" in hc_argv and hc_argv[hc_argv.index("--socket") + 1]
          == config.get("admin", {}).get("socket_path"),
          "Dockerfile: HEALTHCHECK asks capfd on the socket of capfd.json")
    check("version" in hc_argv and "version" in subcommands_of(ctl_help),
          "Dockerfile: HEALTHCHECK runs 'capfctl version', which capfctl has")
    # The container runs as capf, capfd's own uid (an admin): the check
    # lowers itself to the read-only role.
    check("--read-only" in hc_argv,
          "Dockerfile: HEALTHCHECK runs capfctl --read-only (least privilege)")

# ---- entrypoint.sh against capfd's real options
script = open(os.path.join(d, "entrypoint.sh")).read()
top, init = help_of(capfd, []), help_of(capfd, ["init"])
check("init" in subcommands_of(top) and "--config" in options_of(top),
      "entrypoint.sh: capfd has the init subcommand and --config it uses")
check(re.search(r"(?m)^capfd init --config ", script) and
      re.search(r"(?m)^exec capfd --config ", script),
      "entrypoint.sh: runs capfd init --config, then exec capfd --config")

print("container files: %d file checks passed, %d failed" % (ok, bad))
sys.exit(1 if bad else 0)
PY
py_status=$?
set -e

# --- entrypoint.sh, run against stand-ins ------------------------------------
if sh -n "$dir/entrypoint.sh"; then pass "entrypoint.sh: sh -n"; else fail "entrypoint.sh: sh -n"; fi
standins=$scratch/bin
mkdir -p "$standins"
for prog in capfd capfctl; do
  cat >"$standins/$prog" <<STANDIN
#!/bin/sh
echo "$prog \$* PGPASSWORD=\${PGPASSWORD:-}" >>"$scratch/calls"
STANDIN
  chmod +x "$standins/$prog"
done
printf 's3cret\n' >"$scratch/pw"
# entry_env: more VAR=VALUE for the entry point's environment.
entry_env=()
run_entry() {
  : >"$scratch/calls"
  env -i PATH="$standins:/usr/bin:/bin" CAPFD_DB_PASSWORD_FILE="$scratch/pw" "${entry_env[@]}" \
    sh "$dir/entrypoint.sh" "$@"
}
run_entry
expected="capfd init --config /etc/capfd/capfd.json PGPASSWORD=s3cret
capfd --config /etc/capfd/capfd.json PGPASSWORD=s3cret"
if [ "$(cat "$scratch/calls")" = "$expected" ]; then
  pass "entrypoint.sh: password file to PGPASSWORD, capfd init, then capfd"
else
  fail "entrypoint.sh: ran $(cat "$scratch/calls") instead of: $expected"
fi
run_entry --check-config
if grep -qx "capfd --config /etc/capfd/capfd.json --check-config PGPASSWORD=s3cret" "$scratch/calls"; then
  pass "entrypoint.sh: options go to capfd"
else
  fail "entrypoint.sh: options not passed to capfd: $(cat "$scratch/calls")"
fi
run_entry capfctl summary
if [ "$(cat "$scratch/calls")" = "capfctl summary PGPASSWORD=s3cret" ]; then
  pass "entrypoint.sh: another command runs as it is"
else
  fail "entrypoint.sh: 'capfctl summary' ran $(cat "$scratch/calls")"
fi

# node.name: the image's config has none (capfd takes the host name), an
# operator's is kept, the old fixed placeholder becomes the host name.
mkdir -p "$scratch/run"
entry_env=(CAPFD_RUNTIME_DIR="$scratch/run" CAPFD_CONFIG="$dir/capfd.json")
run_entry
if [ "$(sed -n 2p "$scratch/calls")" = "capfd --config $dir/capfd.json PGPASSWORD=s3cret" ] &&
   [ ! -e "$scratch/run/capfd.json" ]; then
  pass "entrypoint.sh: the image's capfd.json (no node.name) goes to capfd as it is"
else
  fail "entrypoint.sh: the image's capfd.json was not passed as it is: $(cat "$scratch/calls")"
fi
python3 - "$dir/capfd.json" "$scratch/operator.json" "$scratch/placeholder.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
for path, name in ((sys.argv[2], "site-a-1"), (sys.argv[3], "capfd-container-1")):
    json.dump({**config, "node": {"name": name}}, open(path, "w"), indent=2)
PY
entry_env=(CAPFD_RUNTIME_DIR="$scratch/run" CAPFD_CONFIG="$scratch/operator.json")
run_entry
if [ "$(sed -n 2p "$scratch/calls")" = "capfd --config $scratch/operator.json PGPASSWORD=s3cret" ] &&
   [ ! -e "$scratch/run/capfd.json" ]; then
  pass "entrypoint.sh: an operator's node.name is kept"
else
  fail "entrypoint.sh: an operator's node.name was not kept: $(cat "$scratch/calls")"
fi
entry_env=(CAPFD_RUNTIME_DIR="$scratch/run" CAPFD_CONFIG="$scratch/placeholder.json")
run_entry 2>"$scratch/entry.err"
expected="capfd init --config $scratch/run/capfd.json PGPASSWORD=s3cret
capfd --config $scratch/run/capfd.json PGPASSWORD=s3cret"
if [ "$(cat "$scratch/calls")" = "$expected" ] &&
   python3 - "$scratch/placeholder.json" "$scratch/run/capfd.json" "$(uname -n)" <<'PY'
import json, sys
given, used, host = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
assert used["node"] == {"name": host}, used["node"]
assert {k: v for k, v in used.items() if k != "node"} == {k: v for k, v in given.items() if k != "node"}
PY
then
  pass "entrypoint.sh: the placeholder node.name becomes the host name $(uname -n), nothing else changes"
else
  fail "entrypoint.sh: placeholder: ran $(cat "$scratch/calls"); stderr $(cat "$scratch/entry.err")"
fi
if [ "$(stat -c %a "$scratch/run/capfd.json")" = 600 ]; then
  pass "entrypoint.sh: the copy with the host name is mode 0600"
else
  fail "entrypoint.sh: the copy with the host name is mode $(stat -c %a "$scratch/run/capfd.json")"
fi
grep -q "node.name is the host name $(uname -n)" "$scratch/entry.err" ||
  fail "entrypoint.sh: does not say which node.name it chose: $(cat "$scratch/entry.err")"
printf '#!/bin/sh\necho "bad/host"\n' >"$standins/uname"
chmod +x "$standins/uname"
status=0
run_entry 2>"$scratch/entry.err" || status=$?
rm "$standins/uname"
if [ $status -ne 0 ] && [ ! -s "$scratch/calls" ] &&
   grep -q "the host name 'bad/host' is no node.name (letters, digits, '.' and '-'); set node.name in $scratch/placeholder.json" "$scratch/entry.err"; then
  pass "entrypoint.sh: a host name that is no node.name is refused, naming the fix"
else
  fail "entrypoint.sh: host name 'bad/host': exit $status, ran $(cat "$scratch/calls"), said $(cat "$scratch/entry.err")"
fi
entry_env=()

if [ "$py_status" -ne 0 ]; then
  fail "the checks of compose.yaml, capfd.json, Dockerfile and entrypoint.sh (FAIL lines above)"
fi
echo "container files: $passed shell checks passed, $failed failed"
[ "$failed" -eq 0 ]
