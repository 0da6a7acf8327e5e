#!/bin/bash
# Issue 16's large-machine run, prepared to run once on a lent 16-core machine that has
# no network (the device tool runs it over a copy of this tree; results under $OUT).
#
# Here, before the lease (this machine has the network):
#   bash bench/scale.sh prepare        # wheels into .scale/wheels, redis binaries into .scale/bin
#   echo /.scale/ >> .git/info/exclude # (so it travels only when carried)
# There, in one device `run` with carry [".scale"] and a timeout that leaves time to rerun:
#   bash bench/scale.sh measure        # installs offline, then the curve below; writes $OUT
#
# The curve: redis-server (plain and io-threads 4) against shardis at several layouts,
# SET and GET at -P 1 and -P 16, redis-benchmark with --threads 4 and 200 clients so the
# load generator is not the limit; each layout one bench/run.py section (medians of
# 2 repeats, CPU per command per process kind) appended to $OUT/RESULTS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
case "${1:-}" in
prepare)
    mkdir -p .scale/wheels .scale/bin
    python3 -m pip wheel -q -w .scale/wheels . 'redis' 2>&1 | grep -v WARNING || true
    for b in redis-server redis-benchmark redis-cli; do cp "$(command -v $b)" .scale/bin/; done
    # the shared libraries the binaries need beyond libc (the other machine may lack them)
    mkdir -p .scale/lib
    for b in .scale/bin/*; do
        ldd "$b" | awk '/=> \// {print $3}' | grep -v -E 'libc\.so|libm\.so|ld-linux|libpthread|libdl\.so|librt\.so' |
            xargs -r -I{} cp -n {} .scale/lib/
    done
    du -sh .scale
    ;;
measure)
    out=${OUT:-/tmp/scale-out}
    mkdir -p "$out"
    export PATH="$here/.scale/bin:$PATH" LD_LIBRARY_PATH="$here/.scale/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    {
        echo "machine: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
        python3 --version; redis-server --version
    } > "$out/machine.txt" 2>&1
    python3 -m pip install -q --no-index --find-links .scale/wheels shardis redis > "$out/install.txt" 2>&1
    results="$out/RESULTS.md"
    run() {  # shards routers [extra bench/run.py options]
        local s=$1 r=$2; shift 2
        timeout 240 python3 bench/run.py --shards "$s" --routers "$r" --tests set,get --pipelines 1,16 \
            --durabilities everysec --repeats 2 --requests 200000 --clients 200 --bench-threads 4 \
            --results "$results" "$@" >> "$out/log.txt" 2>&1 || echo "layout $s+$r failed" >> "$out/log.txt"
    }
    # redis-server with io-threads 4 as the reference, at the layout expected to be best
    run 8 4 --redis-io-threads 4
    # the curve over layouts (plain redis-server as the reference in each)
    for layout in "1 1" "2 1" "4 2" "8 2" "8 4" "12 4"; do
        run $layout
    done
    ;;
*)
    echo "usage: bash bench/scale.sh prepare|measure" >&2; exit 2 ;;
esac
