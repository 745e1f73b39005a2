#!/usr/bin/env bash
# Field readiness, end to end: capfd on the shipped sample configuration
# (deploy/capfd.sample.json, with only its paths, port and node name made
# local) against capf-phone's default, which behaves like a 7800/8800-class
# phone and adds a SUDI to every certificate authentication.
#   sample-sudi-unverified  no sudi-root anchor (as shipped): an LSC upgrade,
#                           a fetch and a delete by a SUDI-sending phone
#                           succeed, audited and logged as sudi_unverified
#   sample-sudi-root        with a sudi-root configured the strict rules hold:
#                           a SUDI that does not chain is refused, one that
#                           does is verified, a phone without one is let in
#   require-sudi            auth.require_sudi without any anchor: refused
#   retention               old audit events and delivered outbox rows go
# Usage: e2e_field_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR CASE
capfd=$1 capfctl=$2 phone=$3 src=$4 case=$5
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
dev=SEP001122334455

# start_sample [JSON merged over the sample, section by section]: the sample
# configuration with this test's paths, loopback port and database.
start_sample() {
  local extra=${1:-}
  [ -n "$extra" ] || extra='{}'
  python3 - "$src/deploy/capfd.sample.json" "$dir/capfd.json" "$extra" "$dir" "$db" "$port" <<'PY'
import json, sys
sample, out, extra, d, db, port = sys.argv[1:7]
cfg = json.load(open(sample))
cfg["listen"].update({"address": "127.0.0.1", "port": int(port)})
cfg["identity"].update({"certificate": d + "/capf.crt", "private_key": d + "/capf.key"})
cfg["database"]["connection"] = db
cfg["admin"] = {"socket_path": d + "/admin.sock"}  # the sample's group may not exist here
cfg["node"]["name"] = "e2e-field"
for k, v in json.loads(extra).items():
    cfg[k] = {**cfg.get(k, {}), **v}
json.dump(cfg, open(out, "w"), indent=2)
PY
  # What is shipped: no SUDI root, no SUDI required (the test is about that).
  python3 -c "
import json, sys
t = json.load(open(sys.argv[1]))
assert t['trust']['sudi_roots'] == [] and not t['auth']['require_sudi'], 'the sample changed'" \
    "$src/deploy/capfd.sample.json" || fail "deploy/capfd.sample.json configures SUDI roots now"
  capfd_init "$dir/capfd.json"
  start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
}

# accepted_detail NAME: the detail of the device's last "authentication accepted".
accepted_detail() {
  ctl --json audit --device "$1" --limit 20 | python3 -c "
import json, sys
print(next((e['detail'] for e in json.load(sys.stdin)['events']
            if e['event'] == 'authentication' and e['outcome'] == 'accepted'), ''))"
}

# expect_ok OUT REASON WHAT: the session ended with REASON.
expect_ok() {
  [ "$(echo "$1" | json_field '["end_reason"]')" = "$2" ] ||
    fail "$case: $3 did not end with reason $2: $1; audit: $(ctl --json audit --device $dev --limit 3)"
}

# first_lsc: a first LSC by the null string (no certificate, so no SUDI).
first_lsc() {
  ctl device add $dev --auth null-string >/dev/null || fail "device add"
  ctl schedule install $dev >/dev/null || fail "schedule install"
  expect_ok "$(run_phone $dev p)" 1 "the first install"
}

case $case in
  sample-sudi-unverified)
    start_sample; first_lsc
    ctl schedule install $dev --auth lsc >/dev/null
    out=$(run_phone $dev p --auth lsc)
    expect_ok "$out" 1 "the LSC upgrade"
    [ "$(echo "$out" | json_field '["stored"]')" = True ] || fail "$case: no new LSC stored: $out"
    [ -e "$dir/p/sudi.pem" ] || fail "$case: the phone sent no SUDI (no $dir/p/sudi.pem)"
    detail=$(accepted_detail $dev)
    [ "$detail" = "lsc, sudi_unverified: no sudi-root anchor configured" ] ||
      fail "$case: authentication audited as '$detail'"
    grep -q "event=sudi_unverified device=$dev detail=\"no sudi-root anchor configured\" sudi_issuer=\"[^\"]*capf-phone test SUDI root" "$dir/capfd.log" ||
      fail "$case: no sudi_unverified log line naming the SUDI's issuer"
    assert_installed $dev p "$out"
    ctl schedule fetch $dev >/dev/null
    out=$(run_phone $dev p --auth lsc)
    expect_ok "$out" 0 "the fetch"
    [ "$(ctl --json device get $dev | json_field '["fetched_md5"]')" = "$(echo "$out" | json_field '["md5"]')" ] ||
      fail "$case: fetched MD5 not recorded"
    ctl schedule delete $dev >/dev/null
    expect_ok "$(run_phone $dev p --auth lsc)" 1 "the delete"
    [ "$(ctl --json device get $dev | json_field '["lsc"]')" = None ] || fail "$case: LSC record not cleared"
    [ "$(grep -c "event=sudi_unverified device=$dev" "$dir/capfd.log")" = 3 ] ||
      fail "$case: expected three sudi_unverified lines (upgrade, fetch, delete)"
    echo "PASS: $case: LSC upgrade, fetch and delete with a SUDI on the sample configuration, audited '$detail'"
    ;;
  sample-sudi-root)
    start_sample; first_lsc
    # A sudi-root that is not the phone's manufacturer: strict from now on.
    make_ca other-root "Another Manufacturer SUDI Root"
    ctl trust add sudi-root "$dir/other-root.pem" >/dev/null || fail "trust add sudi-root"
    ctl schedule install $dev --auth lsc >/dev/null
    remember $dev
    assert_refused $dev 7 "refused sudi_untrusted" "$(run_phone $dev p --auth lsc)"
    # The phones' own manufacturer root: the same SUDI is verified.
    sudi_ca_setup
    ctl trust add sudi-root "$dir/sudi-ca/root.pem" >/dev/null || fail "trust add the phones' sudi-root"
    out=$(run_phone $dev p --auth lsc)
    expect_ok "$out" 1 "the LSC upgrade with a verified SUDI"
    detail=$(accepted_detail $dev)
    [ "$detail" = "lsc, sudi_verified" ] || fail "$case: authentication audited as '$detail'"
    # An older phone without a SUDI is not refused for it (require_sudi is off).
    ctl schedule install $dev --auth lsc >/dev/null
    expect_ok "$(run_phone $dev p --auth lsc --no-sudi)" 1 "the upgrade of a phone without a SUDI"
    [ "$(accepted_detail $dev)" = lsc ] || fail "$case: a phone without a SUDI audited as '$(accepted_detail $dev)'"
    echo "PASS: $case: untrusted SUDI refused (7), trusted one verified, none at all accepted"
    ;;
  require-sudi)
    start_sample '{"auth": {"require_sudi": true}}'; first_lsc
    ctl schedule install $dev --auth lsc >/dev/null
    remember $dev
    assert_refused $dev 7 "refused sudi_untrusted" "$(run_phone $dev p --auth lsc)"
    assert_refused $dev 7 "refused sudi_missing" "$(run_phone $dev p --auth lsc --no-sudi)"
    ;;
  retention)
    # Nothing grew without bound before issue 32: old audit events and
    # delivered outbox rows are deleted by capfd itself, in batches.
    start_sample '{"audit": {"retention": "1d", "outbox_retention": "1m", "purge_interval": "1s", "purge_batch": 100}}'
    ctl device add $dev --auth null-string >/dev/null || fail "device add"
    psql "$db" -q -c "INSERT INTO audit_events (device, peer, node, event, outcome, detail, at)
                      SELECT '', '10.0.0.1', 'old-node', 'session', 'refused', 'old ' || i, now() - interval '2 days'
                      FROM generate_series(1, 250) AS i" || fail "$case: old audit events"
    psql "$db" -q -c "INSERT INTO deliveries (device, change, delivered_at)
                      SELECT '$dev', 'requested', now() - interval '2 minutes' FROM generate_series(1, 30);
                      INSERT INTO deliveries (device, change) VALUES ('$dev', 'requested')" ||
      fail "$case: outbox rows"
    for _ in $(seq 1 100); do
      [ "$(psql "$db" -At -c "SELECT count(*) FROM audit_events WHERE event = 'retention'")" -ge 1 ] && break
      sleep 0.1
    done
    psql_count() { psql "$db" -At -c "$1"; }
    [ "$(psql_count "SELECT count(*) FROM audit_events WHERE node = 'old-node'")" = 0 ] ||
      fail "$case: audit events older than the retention are left"
    [ "$(psql_count "SELECT count(*) FROM audit_events WHERE event = 'device' AND outcome = 'added'")" = 1 ] ||
      fail "$case: a young audit event was deleted"
    [ "$(psql_count "SELECT count(*) FROM deliveries WHERE delivered_at IS NOT NULL")" = 0 ] ||
      fail "$case: delivered outbox rows older than the retention are left"
    [ "$(psql_count "SELECT count(*) FROM deliveries WHERE delivered_at IS NULL")" = 1 ] ||
      fail "$case: a pending outbox row was deleted"
    detail=$(psql_count "SELECT detail FROM audit_events WHERE event = 'retention' AND outcome = 'purged' ORDER BY id LIMIT 1")
    [ "$detail" = "audit events 250 older than 24h, delivered outbox rows 30 older than 1m" ] ||
      fail "$case: the purge was audited as '$detail'"
    grep -q "event=retention_purged audit_events=250 delivered_rows=30" "$dir/capfd.log" ||
      fail "$case: no retention_purged log line"
    echo "PASS: $case: 250 old audit events and 30 delivered rows purged in batches of 100, young and pending kept"
    ;;
  *)
    fail "unknown case $case"
    ;;
esac
stop_capfd "$capfd_pid"
