# Helpers for scripts that start a server under test (sourced, not run).
# The server is started with setsid, so its process group id is its pid and
# stopping the group reaches a wrapper shell's children too, and nothing else.

SERVER_PID=""

# port_open HOST PORT: true when something accepts connections there.
port_open() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# stop_server: TERM the server's process group, KILL it after 5 s, reap it.
stop_server() {
    local pid="$SERVER_PID" i
    SERVER_PID=""
    [[ -n $pid ]] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# free_port: a port in 20000-32000 nothing listens on now (the machine is shared).
free_port() {
    python3 -c 'import random, socket
for _ in range(100):
    port = random.randint(20000, 32000)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port)); print(port); break
        except OSError:
            pass'
}

# http_get URL: the body of a GET (fails on an error status or no answer in 5 s); no curl needed.
http_get() {
    python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1" 2>/dev/null
}
