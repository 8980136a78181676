#!/usr/bin/env bash
# Fleet rehearsal benchmark (issue 4): N emulated phones convert from SCCP
# 5.0(1.1) to SIP 8.12 against a real `phoneflip serve`, on loopback only.
#
# Per run: a fresh temp TFTP root with synthetic SCCP 5.0(1.1) and SIP 8.12
# bundles (real image sizes), a fresh inventory of N phones imported from a
# CSV (desired P0S3-8-12-00, a SIP template), `phoneflip serve` started as
# its own process (CPU from /proc/PID/stat utime+stime, peak RSS from
# /proc/PID/status VmHWM, read just before it is stopped), then
# `phoneflip rehearse --inventory --json` under /usr/bin/time. Each setting
# of --max-image-transfers is run R times, interleaved; the table shows medians.
#
# Usage: scripts/bench-rehearsal.sh [--phones N] [--runs R]
#          [--max-image-transfers N[,N...]] [--out FILE] [--no-build]
# Env:   CARGO_TARGET_DIR (where the release binary is built; default
#        target/), PHONEFLIP (use this binary, skip the build), TMPDIR, KEEP=1
#        (keep the temp dir).
# Needs: a release build of phoneflip, jq, GNU time (/usr/bin/time), Linux /proc.
set -euo pipefail

PHONES=1000
RUNS=3
MITS=250
OUT=""
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --phones) PHONES="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --max-image-transfers) MITS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-rehearsal: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

for tool in jq /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-rehearsal: $tool is missing; apt-get install jq time" >&2; exit 2; }
done

REPO="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${PHONEFLIP:-}" ]; then
  BIN="$PHONEFLIP"
else
  TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
  if [ "$BUILD" = 1 ]; then
    (cd "$REPO" && cargo build --release -p phoneflip --quiet)
  fi
  BIN="$TARGET/release/phoneflip"
fi
[ -x "$BIN" ] || { echo "bench-rehearsal: no phoneflip binary at $BIN; build it with cargo build --release -p phoneflip or set PHONEFLIP" >&2; exit 2; }

TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/phoneflip-bench-rehearsal.XXXXXX")
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "bench-rehearsal: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The bundles are made once and imported into a fresh root per run.
# SIP last: its OS79XX.TXT names the universal loader, as in a real
# conversion's TFTP root.
mkdir -p "$WORK/bundles"
"$BIN" firmware synth --protocol sccp --version '5.0(1.1)' --out "$WORK/bundles" > "$WORK/synth-sccp.txt"
"$BIN" firmware synth --protocol sip --version 8.12 --out "$WORK/bundles" > "$WORK/synth-sip.txt"
SCCP_ZIP=$(head -1 "$WORK/synth-sccp.txt")
SIP_ZIP=$(head -1 "$WORK/synth-sip.txt")

# The fleet: a third 7940s, the rest 7960s, each with one SIP line.
{
  echo "mac,model,description,site,template,desired_load,line1_name,line1_authname,line1_password,line1_displayname"
  for ((i = 0; i < PHONES; i++)); do
    model=7960; [ $((i % 3)) = 0 ] && model=7940
    printf '0019AB%06X,%s,bench phone %d,bench,bench-sip,P0S3-8-12-00,%d,%d,pw%d,Bench %d\n' \
      "$i" "$model" "$i" $((20000 + i)) $((20000 + i)) "$i" "$i"
  done
} > "$WORK/fleet.csv"

stat_cpu() { # utime+stime of a process, in clock ticks
  awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$1/stat"
}
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# UDP datagrams the kernel dropped because a socket's receive buffer was
# full (whole network namespace: other traffic on the machine counts too).
udp_drops() { awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp; }

RESULTS="$WORK/results.tsv"
: > "$RESULTS"

one_run() { # $1 = max image transfers, $2 = run number
  local mit="$1" run="$2" dir="$WORK/run-$1-$2"
  mkdir -p "$dir/root"
  "$BIN" firmware import "$SCCP_ZIP" --root "$dir/root" > /dev/null
  "$BIN" firmware import "$SIP_ZIP" --root "$dir/root" > /dev/null
  "$BIN" templates add bench-sip --protocol sip proxy1_address=127.0.0.1 proxy_register=1 --db "$dir/inv.db" > /dev/null
  "$BIN" phones import "$WORK/fleet.csv" --db "$dir/inv.db" > /dev/null

  # Created here: the background job opens its redirections only once it
  # has forked, and the address is read from serve.out right after.
  : > "$dir/serve.out"
  "$BIN" serve --root "$dir/root" --db "$dir/inv.db" --tftp 127.0.0.1:0 --no-http \
    --log "$dir/transfers.log" --max-image-transfers "$mit" > "$dir/serve.out" 2> "$dir/serve.err" &
  SERVER_PID=$!
  local addr="" waited=0
  while [ -z "$addr" ]; do
    addr=$(sed -n 's/^phoneflip: TFTP on //p' "$dir/serve.out" | head -1)
    if [ -z "$addr" ]; then
      kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/serve.err" >&2; echo "bench-rehearsal: serve did not start" >&2; exit 1; }
      sleep 0.1; waited=$((waited + 1))
      [ "$waited" -lt 300 ] || { echo "bench-rehearsal: serve did not print its TFTP address in 30 s" >&2; exit 1; }
    fi
  done
  local cpu0; cpu0=$(stat_cpu "$SERVER_PID")

  local rc=0 drops0 drops1
  drops0=$(udp_drops)
  /usr/bin/time -f '%e %U %S %M' -o "$dir/rehearse.time" \
    "$BIN" rehearse --tftp "$addr" --inventory --from 'sccp:5.0(1.1)' --db "$dir/inv.db" --json \
    > "$dir/rehearse.json" 2> "$dir/rehearse.err" || rc=$?
  drops1=$(udp_drops)
  sleep 1 # let the recorder write the last observations
  local cpu1 hwm
  cpu1=$(stat_cpu "$SERVER_PID")
  hwm=$(hwm_kb "$SERVER_PID")
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  if ! jq -e .phones "$dir/rehearse.json" > /dev/null 2>&1; then
    cat "$dir/rehearse.err" >&2
    echo "bench-rehearsal: rehearse printed no summary (exit $rc)" >&2
    exit 1
  fi

  local wall_ms states reboots retries bytes r_wall r_user r_sys r_rss
  wall_ms=$(jq .wall_ms "$dir/rehearse.json")
  states=$(jq -r '[.groups | to_entries[] | "\(.key)=\(.value.phones)"] | join("; ")' "$dir/rehearse.json")
  reboots=$(jq '[.groups[].reboots] | add' "$dir/rehearse.json")
  retries=$(jq '[.groups[].retries] | add' "$dir/rehearse.json")
  bytes=$(jq '[.groups[].bytes] | add' "$dir/rehearse.json")
  read -r r_wall r_user r_sys r_rss < "$dir/rehearse.time"
  # The server's transfer log: requests it refused at the image cap (each
  # costs the phone a 4 s wait before it asks again), and transfers that
  # failed for another reason than a missing file or that refusal.
  local refused others
  refused=$(grep -c 'the image cap' "$dir/transfers.log" || true)
  others=$(grep 'Failed (' "$dir/transfers.log" | grep -vc 'the image cap\|File not found' || true)
  local s_cpu s_total
  s_cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
  s_total=$(awk -v b="$cpu1" -v t="$TICK" 'BEGIN { printf "%.2f", b / t }')
  local r_cpu; r_cpu=$(awk -v u="$r_user" -v s="$r_sys" 'BEGIN { printf "%.2f", u + s }')
  printf '%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$mit" "$run" "$(awk -v w="$wall_ms" 'BEGIN { print w / 1000 }')" "$states" "$reboots" "$retries" "$bytes" \
    "$s_cpu" "$s_total" "$((hwm / 1024))" "$r_cpu" "$((r_rss / 1024))" "$rc" "$((drops1 - drops0))" "$refused" "$others" >> "$RESULTS"
  echo "  max-image-transfers $mit run $run: $(tail -1 "$RESULTS" | cut -f3) s wall, $retries unanswered rounds, $refused refused at the cap, $others other failed transfers, $((drops1 - drops0)) UDP drops, server $s_cpu s CPU / $((hwm / 1024)) MiB, rehearse $r_cpu s CPU / $((r_rss / 1024)) MiB, exit $rc [$states]" >&2
  [ "${KEEP:-0}" = 1 ] || rm -rf "$dir"
}

echo "bench-rehearsal: $PHONES phones, $RUNS run(s) per setting, max-image-transfers $MITS, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) before" >&2
# Settings interleaved (run 1 of each, then run 2 of each, ...) so that a
# change in the machine's other load hits every setting alike.
for ((r = 1; r <= RUNS; r++)); do
  for mit in ${MITS//,/ }; do
    one_run "$mit" "$r"
  done
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v m="$1" -v c="$2" '$1 == m { print $c }' "$RESULTS" | median; }

{
  echo "Fleet rehearsal: $PHONES phones, SCCP 5.0(1.1) -> SIP 8.12 (P0S3-8-12-00), real-size synthetic images, loopback;"
  echo "medians of $RUNS run(s); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs."
  echo
  echo "| --max-image-transfers | wall s | final states (every run) | reboots | unanswered rounds (phone side) | requests refused at the cap (server log) | other failed transfers | MB sent | server CPU s | server peak RSS MiB | rehearse CPU s | rehearse peak RSS MiB | UDP receive-buffer drops |"
  echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for mit in ${MITS//,/ }; do
    states=$(awk -F'\t' -v m="$mit" '$1 == m { print $4 }' "$RESULTS" | sort -u | paste -sd'|' | sed 's/|/ <br> /g')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$mit" "$(col "$mit" 3)" "$states" \
      "$(col "$mit" 5)" "$(col "$mit" 6)" "$(col "$mit" 15)" "$(col "$mit" 16)" "$(awk -v b="$(col "$mit" 7)" 'BEGIN { printf "%.1f", b / 1e6 }')" \
      "$(col "$mit" 8)" "$(col "$mit" 10)" "$(col "$mit" 11)" "$(col "$mit" 12)" "$(col "$mit" 14)"
  done
  echo
  echo "Runs (wall s / unanswered rounds / refused at the cap / UDP drops / server CPU s during the rehearsal, since start / server RSS MiB / rehearse exit code):"
  awk -F'\t' '{ printf "- max-image-transfers %s run %s: %s s / %s / %s / %s / %s s, %s s / %s MiB / exit %s\n", $1, $2, $3, $6, $15, $14, $8, $9, $10, $13 }' "$RESULTS"
} | tee "${OUT:-/dev/null}"
