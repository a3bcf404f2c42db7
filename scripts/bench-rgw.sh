#!/usr/bin/env bash
# Ceph RGW as a peer S3 gateway for scripts/bench.sh --rgw (issue 7): a single-node Ceph cluster
# from Debian 12's packages (ceph-mon, ceph-mgr, ceph-osd, radosgw 16.2), run as plain child
# processes of the calling script on 127.0.0.1, everything (ceph.conf, data, sockets, logs)
# under one directory: no systemd units, nothing written to /etc/ceph or /var/lib/ceph.
#
#   source scripts/bench-rgw.sh           # bench.sh does this; then:
#   rgw_install                           # apt-get installs the Ceph packages that are missing
#   rgw_start DIR [STORE]                 # STORE: bluestore (default, a file-backed OSD) or
#                                         # memstore (in memory, not durable)
#   ... use $rgw_endpoint, $rgw_access_key, $rgw_secret_key, $rgw_bucket ...
#   rgw_stop                              # kills the daemons (bench_cleanup calls it on exit)
#
#   scripts/bench-rgw.sh --check [STORE]  # standalone: install, start, `aws s3 ls` the bucket,
#                                         # tear down; exit status says whether it worked;
#                                         # RGW_KEEP=1 keeps the dir (conf, logs) afterwards
#
# The cluster: one monitor (auth none: the cluster lives on loopback for one run, and cephx
# keyrings would only add steps), one manager, one OSD, pool size 1, 8 PGs per pool with the
# autoscaler off; radosgw with the Beast frontend on a free loopback port, one user with known
# keys and one bucket. Every wait has a timeout; a failed bring-up prints the log tail of the
# daemon that failed and returns non-zero.

source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"  # bench_free_port

rgw_pids=()
rgw_dir=
rgw_bucket=bench
rgw_access_key=BENCHRGWACCESSKEY000
rgw_secret_key=bench-rgw-secret-key-not-secret-0000000000

# rgw_install: installs the Ceph daemons from Debian's archive when any is missing. Package
# scripts create systemd links but start nothing here (no systemd); we never use them.
rgw_install() {
  local pkgs=(ceph-mon ceph-mgr ceph-osd radosgw ceph-common) missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "bench-rgw: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "bench-rgw: need root to install ${missing[*]}" >&2
    return 1
  fi
  # Another apt or dpkg run (setup.sh elsewhere) may hold the lock: wait for it, not fail.
  local apt=(apt-get install -y -o DPkg::Lock::Timeout=300 --no-install-recommends)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" >/dev/null ||
    { apt-get update >/dev/null &&
      DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" >/dev/null; }
}

# rgw_fail WHAT LOG...: reports a failed bring-up step with the tail of each log.
rgw_fail() {
  local what=$1 f
  shift
  echo "bench-rgw: $what" >&2
  for f in "$@"; do
    [[ -f $f ]] || continue
    echo "--- tail of $f" >&2
    tail -n 25 "$f" >&2
  done
  return 1
}

# rgw_ceph ARGS...: the ceph CLI against this cluster, never blocking more than 20 s.
rgw_ceph() {
  timeout 30 ceph -c "$rgw_dir/ceph.conf" --connect-timeout 20 "$@"
}

# rgw_wait SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.5 s until it succeeds.
rgw_wait() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "bench-rgw: timed out after ${secs} s waiting for $what" >&2
  return 1
}

# rgw_daemon NAME COMMAND...: starts a daemon in the foreground of a background job.
rgw_daemon() {
  local name=$1
  shift
  "$@" -f > "$rgw_dir/log/$name.out" 2>&1 &
  rgw_pids+=($!)
}

rgw_start() {
  rgw_dir=$1
  local store=${2:-bluestore}
  local d=$rgw_dir conf=$1/ceph.conf fsid mon1 mon2 rgw_port osd_uuid
  mkdir -p "$d/run" "$d/log" "$d/mon.a" "$d/mgr.x" "$d/osd.0"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mon1=$(bench_free_port)
  mon2=$(bench_free_port)
  rgw_port=$(bench_free_port)
  local store_conf
  case $store in
    memstore)
      # In RAM: the figures say RGW's own cost, without any device write (not durable).
      store_conf="osd objectstore = memstore
memstore device bytes = 4294967296" ;;
    bluestore)
      # A sparse file as the OSD's block device: RGW's PUT is acknowledged after BlueStore's
      # commit (its RocksDB WAL fdatasync'd / the data written with O_DIRECT), so durable.
      store_conf="osd objectstore = bluestore
bluestore block path = $d/osd.0.block
bluestore block create = true
bluestore block size = 8589934592
bluestore fsck on mkfs = false
bluestore fsck on mount = false
osd memory target = 1073741824
bluestore cache autotune = false
bluestore cache size = 268435456" ;;
    *) echo "bench-rgw: unknown object store $store (bluestore or memstore)" >&2; return 2 ;;
  esac
  cat > "$conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]
public addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
run dir = $d/run
admin socket = $d/run/\$name.asok
pid file = $d/run/\$name.pid
log file = $d/log/\$name.log
mon cluster log file = $d/log/cluster.log
crash dir = $d/crash
keyring = $d/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 1
mon osd full ratio = .99
mon osd backfillfull ratio = .99
mon osd nearfull ratio = .99
mgr initial modules = status
debug ms = 0
[mon.a]
mon data = $d/mon.a
[mgr.x]
mgr data = $d/mgr.x
[osd.0]
osd data = $d/osd.0
$store_conf
[client.rgw.bench]
# tcp_nodelay=1: without it Beast's separate header and body writes wait for the client's
# delayed ACK (GET 4 KiB p50 over 40 ms); production deployments set it, and so does mamute.
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $d/rgw
rgw enable usage log = false
rgw enable ops log = false
rgw dns name = 127.0.0.1
# radosgw's built-in default is a secure (encrypted) mon connection, which auth none cannot
# give: crc, as the other clients.
ms mon client mode = crc
CONF
  # Monitor: a one-entry monmap and a keyring with the mon. key (mkfs wants one even with
  # auth none).
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]" \
    "$d/monmap" >/dev/null || { rgw_fail "monmaptool failed"; return 1; }
  ceph-authtool --create-keyring "$d/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null ||
    { rgw_fail "ceph-authtool failed"; return 1; }
  ceph-mon -c "$conf" --mkfs -i a --monmap "$d/monmap" --keyring "$d/keyring" \
    > "$d/log/mon-mkfs.out" 2>&1 ||
    { rgw_fail "ceph-mon --mkfs failed" "$d/log/mon-mkfs.out"; return 1; }
  rgw_daemon mon.a ceph-mon -c "$conf" -i a
  rgw_wait 30 "the monitor" rgw_ceph mon stat ||
    { rgw_fail "the monitor did not answer" "$d/log/mon.a.out" "$d/log/mon.a.log"; return 1; }
  rgw_daemon mgr.x ceph-mgr -c "$conf" -i x
  # OSD: register it, make its store, start it.
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  rgw_ceph osd new "$osd_uuid" 0 >/dev/null ||
    { rgw_fail "ceph osd new failed" "$d/log/mon.a.log"; return 1; }
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" > "$d/log/osd-mkfs.out" 2>&1 ||
    { rgw_fail "ceph-osd --mkfs failed" "$d/log/osd-mkfs.out" "$d/log/osd.0.log"; return 1; }
  rgw_daemon osd.0 ceph-osd -c "$conf" -i 0
  rgw_wait 60 "the OSD to be up" rgw_osd_up ||
    { rgw_fail "the OSD did not come up" "$d/log/osd.0.out" "$d/log/osd.0.log"; return 1; }
  # radosgw creates its pools on first start; then the user (radosgw-admin talks RADOS).
  mkdir -p "$d/rgw"
  rgw_daemon rgw radosgw -c "$conf" -n client.rgw.bench
  rgw_endpoint=http://127.0.0.1:$rgw_port
  rgw_wait 120 "radosgw on :$rgw_port" curl -sf -o /dev/null "$rgw_endpoint/" ||
    { rgw_fail "radosgw did not answer on :$rgw_port" "$d/log/rgw.out" \
      "$d/log/client.rgw.bench.log"; return 1; }
  timeout 60 radosgw-admin -c "$conf" user create --uid bench --display-name bench \
    --access-key "$rgw_access_key" --secret "$rgw_secret_key" > "$d/log/user.out" 2>&1 ||
    { rgw_fail "radosgw-admin user create failed" "$d/log/user.out"; return 1; }
  AWS_ACCESS_KEY_ID=$rgw_access_key AWS_SECRET_ACCESS_KEY=$rgw_secret_key \
    timeout 60 /usr/bin/aws --endpoint-url "$rgw_endpoint" --region us-east-1 \
    s3 mb "s3://$rgw_bucket" > "$d/log/mb.out" 2>&1 ||
    { rgw_fail "creating the bucket failed" "$d/log/mb.out" "$d/log/client.rgw.bench.log"
      return 1; }
  echo "bench-rgw: Ceph $(ceph-osd --version | awk '{print $3}') ($store OSD)," \
    "radosgw at $rgw_endpoint" >&2
}

rgw_osd_up() {
  rgw_ceph osd dump 2>/dev/null | grep -q '^osd\.0 up'
}

# rgw_stop: SIGTERM to every daemon, SIGKILL to what is left after 10 s; removes nothing
# (the caller owns the directory).
rgw_stop() {
  local p i
  [[ ${#rgw_pids[@]} -eq 0 ]] && return 0
  for p in "${rgw_pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for ((i = 0; i < 20; i++)); do
    local alive=0
    for p in "${rgw_pids[@]}"; do
      kill -0 "$p" 2>/dev/null && alive=1
    done
    [[ $alive -eq 0 ]] && break
    sleep 0.5
  done
  for p in "${rgw_pids[@]}"; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rgw_pids=()
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  case ${1:-} in
    --check)
      rgw_install
      tmp=$(mktemp -d)
      trap 'rgw_stop; [[ -n ${RGW_KEEP:-} ]] || rm -rf "$tmp"' EXIT
      rgw_start "$tmp" "${2:-bluestore}"
      AWS_ACCESS_KEY_ID=$rgw_access_key AWS_SECRET_ACCESS_KEY=$rgw_secret_key \
        timeout 60 /usr/bin/aws --endpoint-url "$rgw_endpoint" --region us-east-1 s3 ls
      ;;
    *)
      sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'
      [[ ${1:-} == --help ]] ;;
  esac
fi
