#!/usr/bin/env bash
# A real S3 endpoint for the scale tests: Ceph radosgw on a single-node memstore cluster (one mon, one osd), all on
# 127.0.0.1, state under DIR (lost on stop). Contract (scripts/with-services.sh): `radosgw.sh start DIR` prints the
# `export WHARF_TEST_S3_*` lines once the bucket exists; `radosgw.sh stop DIR` stops the daemons.
# Ports: WHARF_RADOSGW_PORT (default 27780) for S3, WHARF_RADOSGW_MON_PORT (default 27789) for the monitor.
set -euo pipefail
cmd=${1:?usage: radosgw.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: radosgw.sh start|stop DIR}")
rgw_port=${WHARF_RADOSGW_PORT:-27780}
mon_port=${WHARF_RADOSGW_MON_PORT:-27789}
access_key=wharftest
secret_key=wharftestsecret
bucket=wharf-test

stop() {
  local pids=()
  for pidfile in "$dir"/run/*.pid; do
    [ -e "$pidfile" ] && pids+=("$(cat "$pidfile" 2>/dev/null)")
  done
  [ "${#pids[@]}" -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "$dir"/run/*.pid
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "radosgw.sh: unknown command $cmd" >&2; exit 2; }
for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph curl; do
  command -v "$bin" >/dev/null || { echo "radosgw.sh: $bin missing (scripts/install-test-deps.sh installs it)" >&2; exit 1; }
done

started=$(date +%s.%N)
mkdir -p "$dir/run" "$dir/log" "$dir/mon" "$dir/osd"
fsid=$(cat /proc/sys/kernel/random/uuid)
conf="$dir/ceph.conf"
cat >"$conf" <<CONF
[global]
fsid = $fsid
mon_host = [v1:127.0.0.1:$mon_port]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr2 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_objectstore = memstore
osd_crush_update_on_start = false
osd_class_update_on_start = false
run_dir = $dir/run
pid_file = $dir/run/\$name.pid
admin_socket = $dir/run/\$name.asok
log_file = $dir/log/\$name.log
keyring = /dev/null
[mon.a]
mon_data = $dir/mon
[osd.0]
osd_data = $dir/osd
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port

CONF
ceph=(ceph -c "$conf" --connect-timeout 20)
log() { echo "radosgw.sh: $*" >&2; }
fail() { log "$*"; tail -n 20 "$dir"/log/*.log >&2 || true; stop; exit 1; }

monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" >&2 || fail "ceph-mon --mkfs failed"
ceph-mon -c "$conf" -i a </dev/null >>"$dir/log/daemons.out" 2>&1 || fail "ceph-mon did not start"
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$("${ceph[@]}" osd create "$osd_uuid" 2>/dev/null) || fail "ceph osd create failed"
[ "$osd_id" = 0 ] || fail "expected osd.0, got osd.$osd_id"
"${ceph[@]}" osd crush add osd.0 0.01 root=default >&2 2>/dev/null || fail "crush add failed"
ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >&2 2>/dev/null || fail "ceph-osd --mkfs failed"
ceph-osd -c "$conf" -i 0 </dev/null >>"$dir/log/daemons.out" 2>&1 || fail "ceph-osd did not start"
radosgw -c "$conf" -n client.rgw </dev/null >>"$dir/log/daemons.out" 2>&1 || fail "radosgw did not start"

endpoint="http://127.0.0.1:$rgw_port"
# The gateway creates its pools on first start; the user can be created once they exist.
for i in $(seq 1 120); do
  if radosgw-admin -c "$conf" user create --uid=wharf --display-name=wharf --access-key="$access_key" --secret-key="$secret_key" >/dev/null 2>&1; then break; fi
  [ "$i" = 120 ] && fail "radosgw-admin user create kept failing"
  sleep 0.5
done
for i in $(seq 1 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access_key:$secret_key" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$endpoint/$bucket" || true)
  [ "$code" = 200 ] && break
  [ "$i" = 120 ] && fail "creating bucket $bucket kept failing (last HTTP $code)"
  sleep 0.5
done
log "radosgw ready at $endpoint in $(echo "$(date +%s.%N) - $started" | bc 2>/dev/null || echo '?') s"
echo "export WHARF_TEST_S3_ENDPOINT=$endpoint WHARF_TEST_S3_ACCESS_KEY=$access_key WHARF_TEST_S3_SECRET_KEY=$secret_key WHARF_TEST_S3_BUCKET=$bucket"
