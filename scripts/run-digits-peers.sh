#!/usr/bin/env bash
# The digit classifier data-parallel, as N processes on this machine (ppl_infer::collective,
# peers as processes): fetch MNIST, build once, start peers 1..N-1 in the background, run
# peer 0 in the foreground (it writes the figures and summary.json), and fail if any peer
# failed. Each peer's output goes to out/digits-peers/peer-K.log.
#
#   bash scripts/run-digits-peers.sh [N [PORT]] [-- extra digits arguments]
#
# N defaults to 2, PORT (peer 0's, on 127.0.0.1) to 40210. To span machines, run the same
# binary on each with --peers N --peer-id K --orchestrator ws://HOST:PORT, HOST being peer
# 0's machine as the others reach it (peer 0 listens on every interface at PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
peers=2
port=40210
if [[ $# -gt 0 && $1 != -- ]]; then peers=$1; shift; fi
if [[ $# -gt 0 && $1 != -- ]]; then port=$1; shift; fi
if [[ $# -gt 0 && $1 == -- ]]; then shift; fi
if ! [[ $peers =~ ^[1-9][0-9]*$ ]]; then echo "N must be a positive number of peers, got '$peers'" >&2; exit 2; fi
bash scripts/fetch-mnist.sh data/mnist
cargo build --release -p ppl-examples --bin digits
bin=target/release/digits
if [[ -n ${CARGO_TARGET_DIR:-} ]]; then bin=$CARGO_TARGET_DIR/release/digits; fi
logs=out/digits-peers
mkdir -p "$logs"
address="ws://127.0.0.1:$port"
pids=()
for ((k = 1; k < peers; k++)); do
    "$bin" --peers "$peers" --peer-id "$k" --orchestrator "$address" "$@" >"$logs/peer-$k.log" 2>&1 &
    pids+=("$!")
done
status=0
"$bin" --peers "$peers" --peer-id 0 --orchestrator "$address" "$@" 2>&1 | tee "$logs/peer-0.log" || status=1
for ((k = 1; k < peers; k++)); do
    if ! wait "${pids[$((k - 1))]}"; then
        echo "peer $k failed: $logs/peer-$k.log" >&2
        tail -n 5 "$logs/peer-$k.log" >&2
        status=1
    fi
done
exit $status
