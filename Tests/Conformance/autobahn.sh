#!/usr/bin/env bash
# Autobahn|TestSuite (wstest fuzzing client) conformance run, RFC 6455 cases 1.* .. 10.*, and with
# --deflate the permessage-deflate cases 12.* and 13.* (RFC 7692) as well.
#
#   Tests/Conformance/autobahn.sh --server-cmd '.build/release/echo-server --port {port} --host 127.0.0.1'
#   Tests/Conformance/autobahn.sh --deflate --server-cmd '.build/release/echo-server --deflate --port {port} --host 127.0.0.1'
#   Tests/Conformance/autobahn.sh --url ws://127.0.0.1:9001 [--reports DIR]
#   Tests/Conformance/autobahn.sh --tls --server-cmd '... --tls-cert cert.pem --tls-key key.pem'   (wss://)
#   Tests/Conformance/autobahn.sh --install-only
#
# The deflate run and what it must show are in Tests/Conformance/deflate-plan.md.
#
# wstest needs CPython 2.7; it is installed into a virtualenv in the user's cache directory
# (never into the repository), once, then reused. See --help for all options.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# shellcheck source=../lib/server-process.sh
source "$SCRIPT_DIR/../lib/server-process.sh"
readonly REPORT_PY="$SCRIPT_DIR/autobahn_report.py"

readonly SUITE_VERSION="25.10.1"     # PyPI autobahntestsuite
readonly AUTOBAHN_VERSION="0.10.9"   # PyPI autobahn (the last one wstest works with)
readonly BOOT_PIP="pip==20.3.4"      # last pip for Python 2.7
readonly BOOT_VIRTUALENV="virtualenv==20.15.1"  # last virtualenv that creates 2.7 environments

readonly CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/fanout-autobahn"
readonly VENV="$CACHE_DIR/venv"
readonly WSTEST="$VENV/bin/wstest"
readonly VPY="$VENV/bin/python"
readonly CONSTRAINTS="$CACHE_DIR/constraints.txt"

# ---------------------------------------------------------------------------------------------
# options

URL=""
SERVER_CMD=""
TLS=0
REPORTS=""
CLIENTS=2
CASES="1.*,2.*,3.*,4.*,5.*,6.*,7.*,8.*,9.*,10.*"
EXCLUDE="12.*,13.*"
DEFLATE_CASES="12.*,13.*"
DEFLATE=0
AGENT="echo-server"
INSTALL_ONLY=0
REINSTALL=0
STARTUP_TIMEOUT=30
RUN_TIMEOUT=900

usage() {
    cat <<EOF
usage: $(basename "$0") (--url ws://HOST:PORT | --server-cmd CMD | --install-only) [options]

  --url URL             run against an already running server
  --server-cmd CMD      start the server with CMD (run by bash); '{port}' in CMD is replaced by a
                        free port. Without '{port}', the port is read from the first line the
                        server prints that contains HOST:PORT. Stopped on exit.
  --tls                 with --server-cmd: the server speaks TLS, so connect with wss://. wstest does
                        not verify certificates (Twisted's ClientContextFactory, as no "hostname" is
                        in the spec), so a self-signed test certificate is accepted.
  --reports DIR         where reports go (default: a new temp dir, printed)
  --clients N           concurrent wstest processes, cases dealt round-robin (default $CLIENTS)
  --cases LIST          comma-separated case patterns (default $CASES)
  --exclude LIST        comma-separated case patterns to skip (default $EXCLUDE)
  --deflate             also run the permessage-deflate cases $DEFLATE_CASES (with --cases: those
                        cases plus these), and first check that the server accepts
                        permessage-deflate, since every one of them fails otherwise
  --agent NAME          agent name in the reports (default $AGENT)
  --startup-timeout S   seconds to wait for the server's port (default $STARTUP_TIMEOUT)
  --timeout S           seconds allowed for the wstest run (default $RUN_TIMEOUT)
  --install-only        install wstest (if needed) and exit
  --reinstall           throw the cached virtualenv away and install again

wstest lives in $VENV.
Set AUTOBAHN_PYTHON27 to a CPython 2.7 interpreter to override the search for one.
Exit status: 0 all cases OK/NON-STRICT/INFORMATIONAL/UNIMPLEMENTED; 1 a case FAILED or is missing,
or wstest crashed; 2 usage or setup error.
EOF
}

die() { echo "autobahn: error: $*" >&2; exit 2; }
log() { echo "autobahn: $*" >&2; }

while (($#)); do
    case "$1" in
        --url) URL="${2:?--url needs a value}"; shift 2 ;;
        --server-cmd) SERVER_CMD="${2:?--server-cmd needs a value}"; shift 2 ;;
        --tls) TLS=1; shift ;;
        --reports) REPORTS="${2:?--reports needs a value}"; shift 2 ;;
        --clients) CLIENTS="${2:?--clients needs a value}"; shift 2 ;;
        --cases) CASES="${2:?--cases needs a value}"; shift 2 ;;
        --deflate) DEFLATE=1; shift ;;
        --exclude) EXCLUDE="${2?--exclude needs a value}"; shift 2 ;;
        --agent) AGENT="${2:?--agent needs a value}"; shift 2 ;;
        --startup-timeout) STARTUP_TIMEOUT="${2:?}"; shift 2 ;;
        --timeout) RUN_TIMEOUT="${2:?}"; shift 2 ;;
        --install-only) INSTALL_ONLY=1; shift ;;
        --reinstall) REINSTALL=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

if ((!INSTALL_ONLY)); then
    [[ -n $URL || -n $SERVER_CMD ]] || { usage >&2; die "give --url or --server-cmd"; }
    [[ -n $URL && -n $SERVER_CMD ]] && die "give only one of --url and --server-cmd"
fi
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || die "--clients must be a positive integer"
if ((DEFLATE)); then
    # The deflate sections join whatever else runs; the default exclusion of them goes.
    CASES="$CASES,$DEFLATE_CASES"
    EXCLUDE="$(tr ',' '\n' <<<"$EXCLUDE" | grep -vxF -e '12.*' -e '13.*' | paste -sd, -)" || true
fi
[[ $STARTUP_TIMEOUT =~ ^[0-9]+$ && $RUN_TIMEOUT =~ ^[0-9]+$ ]] || die "timeouts are whole seconds"
command -v python3 >/dev/null || die "python3 is needed (for the report and to bootstrap pip)"

# ---------------------------------------------------------------------------------------------
# cleanup: everything started or created here is registered and undone on exit

SERVER_PID=""
CLIENT_PIDS=()
TMP_DIRS=()

cleanup() {
    local pid
    for pid in "${CLIENT_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    if [[ -n $SERVER_PID ]]; then
        stop_server
    fi
    local d
    for d in "${TMP_DIRS[@]}"; do
        rm -rf -- "$d"
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# install

# 'wstest -a' prints "Autobahn X" and "AutobahnTestSuite Y" on two lines.
wstest_ok() {
    local about
    [[ -x $WSTEST ]] || return 1
    about="$("$WSTEST" -a 2>/dev/null)" || return 1
    grep -qx "Autobahn $AUTOBAHN_VERSION" <<<"$about" &&
        grep -qx "AutobahnTestSuite $SUITE_VERSION" <<<"$about"
}

find_python27() {
    local root="" c
    local -a cands=()
    [[ -n ${AUTOBAHN_PYTHON27:-} ]] && cands+=("$AUTOBAHN_PYTHON27")
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root 2>/dev/null || true)"
    fi
    root="${root:-${PYENV_ROOT:-$HOME/.pyenv}}"
    # Full paths only: a pyenv shim named python2.7 on PATH fails unless PYENV_VERSION is set.
    cands+=("$root"/versions/2.7*/bin/python2.7 /usr/bin/python2.7 /usr/local/bin/python2.7)
    for c in "${cands[@]}"; do
        if [[ -x $c ]] && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' 2>/dev/null; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

write_constraints() {
    # Every package in wstest's dependency tree, pinned to versions that still support 2.7 and
    # are known to work together. wsaccel is optional (C speedups for masking / UTF-8 checks).
    cat >"$CONSTRAINTS.tmp" <<EOF
# written by Tests/Conformance/autobahn.sh; pins for wstest on CPython 2.7
autobahntestsuite==$SUITE_VERSION
autobahn==$AUTOBAHN_VERSION
txaio==2.1.0
Twisted==19.10.0
zope.interface==4.6.0
incremental==16.10.1
constantly==15.1.0
Automat==22.10.0
hyperlink==21.0.0
PyHamcrest==1.10.1
attrs==21.4.0
idna==2.10
typing==3.10.0.0
six==1.16.0
pyOpenSSL==19.1.0
cryptography==3.3.2
cffi==1.15.1
pycparser==2.21
enum34==1.1.10
ipaddress==1.0.23
service-identity==18.1.0
pyasn1==0.5.1
pyasn1-modules==0.3.0
klein==17.10.0
Werkzeug==1.0.1
Jinja2==2.11.3
MarkupSafe==1.1.1
unittest2==1.1.0
traceback2==1.4.0
linecache2==1.0.0
argparse==1.4.0
setuptools==44.0.0
wsaccel==0.6.6
ujson==2.0.3
EOF
    mv -f "$CONSTRAINTS.tmp" "$CONSTRAINTS"
}

install_wstest() {
    local py27 boot
    py27="$(find_python27)" || die "no CPython 2.7 found (looked under pyenv's root and /usr/bin).
  wstest runs only on Python 2.7. Install one, e.g. 'pyenv install 2.7.18', or on Debian 12
  the bullseye python2.7 package, then run again (or set AUTOBAHN_PYTHON27=/path/to/python2.7)."
    log "installing wstest $SUITE_VERSION into $VENV (python: $py27)"

    mkdir -p "$CACHE_DIR"
    write_constraints
    boot="$(mktemp -d "${TMPDIR:-/tmp}/fanout-autobahn-boot.XXXXXX")"
    TMP_DIRS+=("$boot")

    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_PYTHON_VERSION_WARNING=1 PIP_NO_INPUT=1
    # 1. pip for 2.7, fetched as a wheel by the Python 3 pip; a wheel runs straight from the zip.
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$boot" "$BOOT_PIP" \
        || die "could not download $BOOT_PIP"
    local -a whl=("$boot"/pip-*.whl)
    [[ -f ${whl[0]} ]] || die "pip download left no wheel in $boot"
    # 2. virtualenv, into a throwaway directory (nothing goes into the 2.7 interpreter itself).
    "$py27" "${whl[0]}/pip" install --quiet --target "$boot/tools" "$BOOT_VIRTUALENV" \
        || die "could not install $BOOT_VIRTUALENV with $py27"
    # 3. the environment, seeded from virtualenv's embedded wheels; its app-data stays in $boot.
    rm -rf -- "$VENV"
    VIRTUALENV_OVERRIDE_APP_DATA="$boot/app-data" PYTHONPATH="$boot/tools" \
        "$py27" -m virtualenv --quiet --no-download "$VENV" \
        || die "could not create the virtualenv $VENV"
    # 4. wstest and its pinned dependency tree. autobahn[accelerate] brings wsaccel, the one
    #    package built from source here (needs gcc and Python.h); should that fail, install every
    #    other pin without dependency resolution: wstest works without wsaccel, only slower.
    if ! "$VENV/bin/pip" install --quiet -c "$CONSTRAINTS" "autobahntestsuite==$SUITE_VERSION"; then
        log "warning: install failed (see above); retrying without wsaccel (slower 9.* cases)"
        local -a pins
        mapfile -t pins < <(grep -vE '^(#|wsaccel==)' "$CONSTRAINTS")
        "$VENV/bin/pip" install --quiet --no-deps "${pins[@]}" \
            || die "could not install autobahntestsuite (see pip's output above)"
    fi
    wstest_ok || die "wstest installed but '$WSTEST -a' does not report Autobahn $AUTOBAHN_VERSION / AutobahnTestSuite $SUITE_VERSION"
    log "installed: $("$WSTEST" -a 2>/dev/null | paste -sd ' ' -)"
}

ensure_wstest() {
    if ((!REINSTALL)) && wstest_ok; then
        return 0
    fi
    mkdir -p "$CACHE_DIR"
    # One installer at a time (two checkouts may run this script at once).
    exec 9>"$CACHE_DIR/.lock"
    flock 9
    if ((REINSTALL)) || ! wstest_ok; then
        install_wstest
    fi
    flock -u 9
    exec 9>&-
}

ensure_wstest
if ((INSTALL_ONLY)); then
    echo "wstest ready: $WSTEST ($("$WSTEST" -a 2>/dev/null | paste -sd ' ' -))"
    exit 0
fi

# ---------------------------------------------------------------------------------------------
# reports directory

if [[ -z $REPORTS ]]; then
    REPORTS="$(mktemp -d "${TMPDIR:-/tmp}/autobahn-reports.XXXXXX")"
fi
mkdir -p "$REPORTS"
REPORTS="$(cd "$REPORTS" && pwd)"
# Leftovers of an earlier run into the same directory would be merged in: remove (only) ours.
rm -rf -- "$REPORTS"/client-* "$REPORTS/index.json" "$REPORTS/summary.txt" "$REPORTS/server.log" \
    "$REPORTS/cases.txt"
echo "autobahn: reports: $REPORTS"

# ---------------------------------------------------------------------------------------------
# cases: resolve the patterns exactly as wstest does, then deal them round-robin

split_list() { tr ',' '\n' <<<"$1" | sed 's/^ *//; s/ *$//' | grep -v '^$' || true; }

"$VPY" - "$REPORTS/cases.txt" "$(split_list "$CASES")" "$(split_list "$EXCLUDE")" <<'PY' || exit 2
import sys
from autobahntestsuite.case import (Cases, CaseSetname, CaseBasename, CaseCategories,
                                    CaseSubCategories)
from autobahntestsuite.caseset import CaseSet

out, cases, exclude = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
unknown = [c for c in cases + exclude if "*" not in c and c not in cs.CasesById]
if unknown:
    sys.exit("autobahn: error: unknown case id(s): %s" % " ".join(unknown))
ids = cs.parseSpecCases({"cases": cases, "exclude-cases": exclude})
with open(out, "w") as f:
    f.write("".join(i + "\n" for i in ids))
PY
mapfile -t ALL_CASES <"$REPORTS/cases.txt"
((${#ALL_CASES[@]})) || die "no case matches --cases '$CASES' minus --exclude '$EXCLUDE'"
((CLIENTS <= ${#ALL_CASES[@]})) || CLIENTS=${#ALL_CASES[@]}

# ---------------------------------------------------------------------------------------------
# server

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

SERVER_STATUS=""   # exit status, once the server has been reaped

server_alive() {
    [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null
}

wait_for_port() {  # host port what
    local host="$1" port="$2" what="$3" deadline=$((SECONDS + STARTUP_TIMEOUT))
    until port_open "$host" "$port"; do
        if [[ -n $SERVER_CMD ]] && ! server_alive; then
            wait "$SERVER_PID" 2>/dev/null && SERVER_STATUS=0 || SERVER_STATUS=$?
            SERVER_PID=""
            sed 's/^/  server: /' "$REPORTS/server.log" >&2 || true
            die "the server exited (status $SERVER_STATUS) before accepting connections on $host:$port"
        fi
        ((SECONDS < deadline)) || die "$what: nothing accepts connections on $host:$port after ${STARTUP_TIMEOUT}s"
        sleep 0.1
    done
}

if [[ -n $SERVER_CMD ]]; then
    host="127.0.0.1"
    port=""
    cmd="$SERVER_CMD"
    if [[ $cmd == *"{port}"* ]]; then
        port="$(free_port)"
        cmd="${cmd//\{port\}/$port}"
    fi
    echo "autobahn: starting server: $cmd"
    setsid bash -c "$cmd" </dev/null >"$REPORTS/server.log" 2>&1 &
    SERVER_PID=$!
    if [[ -z $port ]]; then
        # No placeholder: take the port from the first HOST:PORT the server prints.
        deadline=$((SECONDS + STARTUP_TIMEOUT))
        until port="$(grep -oE '(([0-9]{1,3}\.){3}[0-9]{1,3}|localhost|\[[0-9a-fA-F:]*\]):[0-9]+' \
                "$REPORTS/server.log" 2>/dev/null | head -n1 | sed 's/.*://')" && [[ -n $port ]]; do
            server_alive || die "the server exited before printing its port (see $REPORTS/server.log)"
            ((SECONDS < deadline)) || die "the server printed no HOST:PORT in ${STARTUP_TIMEOUT}s"
            sleep 0.1
        done
    fi
    wait_for_port "$host" "$port" "server"
    line="$(grep -m1 -F "$port" "$REPORTS/server.log" || true)"
    echo "autobahn: server up (pid $SERVER_PID)${line:+: $line}"
    if ((TLS)); then URL="wss://$host:$port"; else URL="ws://$host:$port"; fi
else
    [[ $URL =~ ^wss?://(\[[^]]+\]|[^/:]+)(:([0-9]+))? ]] || die "--url must look like ws://HOST:PORT"
    host="${BASH_REMATCH[1]}"
    host="${host#[}"; host="${host%]}"
    port="${BASH_REMATCH[3]}"
    if [[ -z $port ]]; then
        [[ $URL == wss:* ]] && port=443 || port=80
    fi
    wait_for_port "$host" "$port" "--url $URL"
fi

# ---------------------------------------------------------------------------------------------
# deflate: a server that does not negotiate it fails all 216 cases, slowly; say so at once

# Prints the server's Sec-WebSocket-Extensions answer to wstest's own first offer, or nothing.
deflate_answer() {
    python3 - "$host" "$port" <<'PY'
import base64, os, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
key = base64.b64encode(os.urandom(16)).decode()
request = ("GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; client_max_window_bits\r\n\r\n"
           % (host, port, key))
with socket.create_connection((host, port), timeout=5) as s:
    s.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
print(" ".join(lines[:1]), file=sys.stderr)
for line in lines[1:]:
    name, _, value = line.partition(":")
    if name.strip().lower() == "sec-websocket-extensions":
        print(value.strip())
PY
}

if ((DEFLATE)); then
    answer="$(deflate_answer)" || die "could not ask $host:$port whether it accepts permessage-deflate"
    if [[ $answer != permessage-deflate* ]]; then
        die "the server did not accept permessage-deflate (answer: '${answer:-no Sec-WebSocket-Extensions}'), so every case of $DEFLATE_CASES would fail.
  Start it with permessage-deflate on (echo-server --deflate, once PushServer negotiates it), or drop --deflate."
    fi
    echo "autobahn: the server accepts permessage-deflate: $answer"
fi

# ---------------------------------------------------------------------------------------------
# run

echo "autobahn: ${#ALL_CASES[@]} cases against $URL, $CLIENTS concurrent wstest client(s)"
CLIENT_DIRS=()
for ((k = 0; k < CLIENTS; k++)); do
    dir="$REPORTS/client-$((k + 1))"
    mkdir -p "$dir"
    for ((i = k; i < ${#ALL_CASES[@]}; i += CLIENTS)); do
        echo "${ALL_CASES[i]}"
    done >"$dir/cases.txt"
    python3 - "$dir/spec.json" "$URL" "$AGENT" "$dir" "$dir/cases.txt" <<'PY'
import json, sys
spec_path, url, agent, outdir, cases_file = sys.argv[1:]
with open(cases_file) as f:
    cases = f.read().split()
spec = {
    "options": {"failByDrop": False},
    "outdir": outdir,
    "servers": [{"agent": agent, "url": url}],
    "cases": cases,          # literal ids: this client's share, dealt round-robin
    "exclude-cases": [],
    "exclude-agent-cases": {},
}
with open(spec_path, "w") as f:
    json.dump(spec, f, indent=2)
PY
    CLIENT_DIRS+=("$dir")
done

start=$EPOCHREALTIME
for dir in "${CLIENT_DIRS[@]}"; do
    (cd "$dir" && exec timeout --kill-after=10 "$RUN_TIMEOUT" "$WSTEST" -m fuzzingclient -s spec.json) \
        </dev/null >"$dir/wstest.log" 2>&1 &
    CLIENT_PIDS+=($!)
done
CLIENT_ARGS=()
for ((k = 0; k < ${#CLIENT_DIRS[@]}; k++)); do
    rc=0
    wait "${CLIENT_PIDS[k]}" || rc=$?
    ((rc == 124)) && echo "autobahn: client $((k + 1)) timed out after ${RUN_TIMEOUT}s" >&2
    CLIENT_ARGS+=(--client "${CLIENT_DIRS[k]}:$rc")
done
CLIENT_PIDS=()
elapsed="$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"

SERVER_ARGS=()
if [[ -n $SERVER_CMD ]]; then
    if server_alive; then
        stop_server
    else
        wait "$SERVER_PID" 2>/dev/null && SERVER_STATUS=0 || SERVER_STATUS=$?
        SERVER_PID=""
        SERVER_ARGS=(--server-died "$SERVER_STATUS")
    fi
fi

echo "autobahn: wstest finished in ${elapsed}s; reports in $REPORTS (merged index.json, summary.txt;"
echo "          per-case .json/.html and each client's index.html, spec.json, wstest.log in client-*/)"
rc=0
python3 "$REPORT_PY" --reports "$REPORTS" --agent "$AGENT" --cases "$REPORTS/cases.txt" \
    "${CLIENT_ARGS[@]}" "${SERVER_ARGS[@]}" | tee "$REPORTS/summary.txt" || rc=$?
exit "$rc"
