# custody triage collection script for Linux, version 2 (crates/triage/scripts/linux.sh).
#
# Sent as the `commands` of AWS-RunShellScript, after a prelude custody writes:
#   CUSTODY_NONCE=<hex>         every marker line carries it, so output that merely contains marker
#                               text (a command line, a history line) cannot fake a section
#   CUSTODY_MEMORY=<pid|name>   empty: collect the sections; else dump that process's memory instead
#   CUSTODY_MEMORY_LIMIT=<bytes>
#
# READ-ONLY: nothing is installed, written or changed. Only tools already on the instance are used,
# each behind `command -v`; a missing tool is reported as a NOTE and a fallback is tried. Every marker
# line starts with `@@CUSTODY <nonce>`; sections end with a status: ok, partial (a fallback or part of
# the data) or unavailable (nothing could be read).
# POSIX sh: AWS-RunShellScript runs the commands with sh, which is dash on Debian and Ubuntu.

M="@@CUSTODY ${CUSTODY_NONCE:-nononce}"
LANG=C
LC_ALL=C
export LANG LC_ALL
STATUS=ok

have() { command -v "$1" >/dev/null 2>&1; }
begin() { STATUS=ok; printf '%s SECTION %s BEGIN\n' "$M" "$1"; }
end() { printf '%s SECTION %s END %s\n' "$M" "$1" "$STATUS"; }
note() { printf '%s NOTE %s\n' "$M" "$*"; }
partial() { note "$*"; [ "$STATUS" = ok ] && STATUS=partial; }
unavailable() { note "unavailable: $*"; STATUS=unavailable; }
# The SHA-256 of a file, or nothing.
hash_file() {
  if have sha256sum; then sha256sum "$1" 2>/dev/null | cut -d' ' -f1
  elif have openssl; then openssl dgst -sha256 "$1" 2>/dev/null | sed 's/.*= //'
  fi
}
# Prints a file with a header, or says it cannot be read.
show() {
  if [ -r "$1" ] && [ -f "$1" ]; then printf -- '--- %s\n' "$1"; tail -n "${2:-1000}" "$1" 2>/dev/null
  fi
}

collect() {
  printf '%s TRIAGE linux 2 BEGIN\n' "$M"

  begin system
  printf 'date_utc: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)"
  printf 'hostname: %s\n' "$(cat /proc/sys/kernel/hostname 2>/dev/null)"
  printf 'kernel: %s\n' "$(cat /proc/version 2>/dev/null)"
  printf 'uptime_seconds: %s\n' "$(cut -d' ' -f1 /proc/uptime 2>/dev/null)"
  show /etc/os-release 50
  end system

  begin processes
  # One line a process, tab-separated: pid ppid uid exe sha256 cmdline. Read from /proc, so a
  # replaced `ps` on a compromised host changes nothing; the executable is hashed through
  # /proc/PID/exe, which still opens a binary deleted after it started.
  [ -n "$(hash_file /proc/self/exe)" ] || partial "no sha256sum or openssl: executables are not hashed"
  printf 'pid\tppid\tuid\texe\tsha256\tcmdline\n'
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ -r "$d/status" ] || continue
    ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "$d/status" 2>/dev/null)
    uid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "$d/status" 2>/dev/null)
    exe=$(readlink "$d/exe" 2>/dev/null)
    sum=""
    [ -n "$exe" ] && sum=$(hash_file "$d/exe")
    cmd=$(tr '\000\t\n' '   ' <"$d/cmdline" 2>/dev/null)
    [ -n "$cmd" ] || cmd="[$(cat "$d/comm" 2>/dev/null)]"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$pid" "$ppid" "$uid" "${exe:--}" "${sum:--}" "$cmd"
  done
  end processes

  begin network
  if have ss; then ss -tunap 2>/dev/null
  elif have netstat; then netstat -tunap 2>/dev/null
  else partial "no ss or netstat: raw /proc/net tables"
    for t in tcp tcp6 udp udp6; do show "/proc/net/$t"; done
  fi
  end network

  begin listening
  if have ss; then ss -tulnp 2>/dev/null
  elif have netstat; then netstat -tulnp 2>/dev/null
  else partial "no ss or netstat: listening TCP sockets (state 0A) from /proc/net"
    for t in tcp tcp6; do [ -r "/proc/net/$t" ] && awk 'NR == 1 || $4 == "0A"' "/proc/net/$t"; done
  fi
  end listening

  begin users
  if have who; then who -a 2>/dev/null; else partial "no who"; fi
  if have w; then w 2>/dev/null; fi
  have who || have w || unavailable "no who or w"
  end users

  begin logins
  if have last; then last -F -n 100 2>/dev/null || last -n 100 2>/dev/null
  else partial "no last: /var/log/wtmp not decoded"
  fi
  if have lastlog; then lastlog 2>/dev/null | awk 'NR == 1 || $0 !~ /Never logged in/'; fi
  have last || have lastlog || unavailable "no last or lastlog"
  end logins

  begin histories
  # Every home directory in /etc/passwd, and root's.
  homes=$( (cut -d: -f6 /etc/passwd 2>/dev/null; echo /root) | sort -u)
  for h in $homes; do
    for f in .bash_history .zsh_history .sh_history .ash_history .history .python_history .mysql_history .psql_history .lesshst .viminfo; do
      show "$h/$f" 500
    done
  done
  end histories

  begin scheduled
  show /etc/crontab
  for f in /etc/cron.d/* /var/spool/cron/* /var/spool/cron/crontabs/* /etc/anacrontab; do show "$f"; done
  for d in /etc/cron.hourly /etc/cron.daily /etc/cron.weekly /etc/cron.monthly; do
    [ -d "$d" ] && { printf -- '--- %s\n' "$d"; ls -la "$d" 2>/dev/null; }
  done
  if have systemctl; then
    printf -- '--- systemctl list-timers --all\n'
    systemctl list-timers --all --no-pager 2>/dev/null || partial "systemctl list-timers failed (no systemd running?)"
  fi
  if have atq; then printf -- '--- atq\n'; atq 2>/dev/null; fi
  end scheduled

  begin services
  if have systemctl && systemctl list-units --all --no-pager >/dev/null 2>&1; then
    systemctl list-units --all --no-pager 2>/dev/null
    printf -- '--- systemctl list-unit-files\n'
    systemctl list-unit-files --no-pager 2>/dev/null
  else partial "no running systemd: unit files listed from disk"
    for d in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system /etc/init.d; do
      [ -d "$d" ] && { printf -- '--- %s\n' "$d"; ls -la "$d" 2>/dev/null; }
    done
  fi
  end services

  begin modules
  if [ -r /proc/modules ]; then cat /proc/modules
  elif have lsmod; then lsmod
  else unavailable "no /proc/modules and no lsmod"
  fi
  printf 'tainted: %s\n' "$(cat /proc/sys/kernel/tainted 2>/dev/null)"
  end modules

  begin logs
  if have journalctl && journalctl --no-pager -n 1 >/dev/null 2>&1; then
    journalctl --no-pager -n 1000 -o short-iso 2>/dev/null
  else partial "no readable systemd journal: the tails of the log files"
  fi
  for f in /var/log/auth.log /var/log/secure /var/log/syslog /var/log/messages /var/log/kern.log /var/log/audit/audit.log; do
    show "$f" 300
  done
  end logs

  printf '%s TRIAGE END\n' "$M"
}

# Memory of one process: every readable region of /proc/PID/maps, read from /proc/PID/mem, base64 on
# stdout (the SSM agent uploads stdout to the S3 output), each region's SHA-256 computed here on the
# instance over exactly the bytes sent. Python when present (one read a region); else dd and base64,
# hashing the decoded base64 that was sent.
dump_pid() {
  pid=$1
  LEFT=$LIMIT
  printf '%s MEMORY %s BEGIN %s\n' "$M" "$pid" "$(tr '\000' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)"
  if have python3; then
    python3 -c "$PY" "$pid" "$LEFT" "$M" || note "python3 failed reading $pid"
  elif have dd && have base64; then
    note "no python3: regions read with dd"
    while read -r range perms _ _ _ path; do
      case $perms in r*) ;; *) continue ;; esac
      case $path in "[vvar]"|"[vsyscall]"|"[vvar_vclock]") continue ;; esac
      start=$((0x${range%-*})); stop=$((0x${range#*-}))
      len=$((stop - start))
      [ "$LEFT" -le 0 ] && { printf '%s LIMIT\n' "$M"; break; }
      [ "$len" -gt "$LEFT" ] && len=$LEFT
      b64=$(dd if="/proc/$pid/mem" bs=4096 skip=$((start / 4096)) count=$((len / 4096)) 2>/dev/null | base64 -w 76)
      [ -n "$b64" ] || { printf '%s SKIP %s unreadable\n' "$M" "$range"; continue; }
      n=$(printf '%s\n' "$b64" | base64 -d | wc -c)
      sum=$(printf '%s\n' "$b64" | base64 -d | sha256sum | cut -d' ' -f1)
      printf '%s REGION %x %s %s\n' "$M" "$start" "$perms" "${path:--}"
      printf '%s\n' "$b64"
      printf '%s SHA256 %s %s\n' "$M" "$sum" "$n"
      LEFT=$((LEFT - n))
    done <"/proc/$pid/maps"
  else
    note "unavailable: neither python3 nor dd and base64"
  fi
  printf '%s MEMORY %s END\n' "$M" "$pid"
}

PY='
import base64, hashlib, sys
pid, left, m = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = sys.stdout
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        f = line.split()
        path = f[5] if len(f) > 5 else "-"
        if not f[1].startswith("r") or path in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
            continue
        if left <= 0:
            out.write("%s LIMIT\n" % m)
            break
        start, stop = (int(x, 16) for x in f[0].split("-"))
        try:
            mem.seek(start)
            data = mem.read(min(stop - start, left))
        except OSError as e:
            out.write("%s SKIP %s %s\n" % (m, f[0], e.strerror))
            continue
        left -= len(data)
        out.write("%s REGION %x %s %s\n" % (m, start, f[1], path))
        for i in range(0, len(data), 57 * 1024):
            out.write(base64.encodebytes(data[i:i + 57 * 1024]).decode())
        out.write("%s SHA256 %s %d\n" % (m, hashlib.sha256(data).hexdigest(), len(data)))
'

memory() {
  printf '%s TRIAGE linux 2 MEMORY\n' "$M"
  # The limit is per process.
  LIMIT=${CUSTODY_MEMORY_LIMIT:-268435456}
  case $CUSTODY_MEMORY in
    *[!0-9]*) pids=$(for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = "$CUSTODY_MEMORY" ] && echo "${d#/proc/}"; done) ;;
    *) pids=$CUSTODY_MEMORY ;;
  esac
  [ -n "$pids" ] || note "unavailable: no process named $CUSTODY_MEMORY"
  for pid in $pids; do
    [ -r "/proc/$pid/maps" ] || { note "unavailable: /proc/$pid/maps cannot be read"; continue; }
    dump_pid "$pid"
  done
  printf '%s TRIAGE END\n' "$M"
}

if [ -n "${CUSTODY_MEMORY:-}" ]; then memory; else collect; fi
