# The scenarios io_uring is judged on, for uring.sh and uring-peers.sh, so
# both measure the same runs. Sourced after pinned-runs.sh, not run.
#
# run_scenario NAME SCENARIO: one wsbench run (run NAME ...) of SCENARIO
# against the server on $PORT, with $DURATION-second windows: echo-100,
# echo-1000, broadcast-10000 (1 → 10,000 at 2 msg/s; its window three times
# as long: at 2 msg/s a 5 s window holds only 10 messages and half a second
# of server CPU, read in 10 ms ticks), connect-10000 (at most 128 handshakes
# in flight), fanout-ladder (1 → 1,000). wsbench runs one loop on epoll: the
# same client whatever the server.
run_scenario() {
    local name="$1" scenario="$2"
    local client=(-t 1 --io epoll)
    # 10,000 connections from 39 source addresses, each with its own ephemeral ports.
    local bind=(--bind 127.0.0.2-127.0.0.40)
    case $scenario in
        echo-100 | echo-1000)
            run "$name" "${client[@]}" -c "${scenario#echo-}" -d "${DURATION}s" "ws://127.0.0.1:$PORT/echo" ;;
        broadcast-10000)
            run "$name" "${client[@]}" --scenario broadcast -c 10001 -r 2 -s 100 -d "$((3 * DURATION))s" --timeout 30s "${bind[@]}" \
                "ws://127.0.0.1:$PORT/room/b10000" ;;
        connect-10000)
            run "$name" "${client[@]}" --scenario connect -c 10000 --in-flight 128 --timeout 30s "${bind[@]}" \
                "ws://127.0.0.1:$PORT/echo" ;;
        fanout-ladder)
            run "$name" "${client[@]}" --scenario broadcast -c 1001 --rates 100,1000,2000,4000,7000,10000,12000,15000 \
                -d "${DURATION}s" --allow-loss "ws://127.0.0.1:$PORT/room/ladder" ;;
        *)
            echo "run_scenario: no scenario $scenario" >&2
            exit 2 ;;
    esac
}
