#!/usr/bin/env bash
# Peak resident memory (GNU time's %M) of the README's default run and of a streamed image-folder run at two sizes.
# Usage: benchmarks/peak-memory.sh [--short]     (from the repository root, after ./sne has built once)
#   default:       ./sne run examples/fashion-mnist-sparse.yaml (--short: 1 parent epoch, 1 tuning epoch)
#   image-folder:  examples/image-folder.yaml on generated shapes, 32×32 RGB: 1,500 images, then 15,000 (10×),
#                  1 parent epoch, 2 children × 1 epoch, batch 64; the difference is what streaming 10× more costs.
# Prints one line per run: name, peak MB, wall seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sne="$root/artifacts/bin/Release/sne/sne"
[[ -x $sne ]] || { echo "build first: ./sne --help" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
short=(); [[ ${1:-} == --short ]] && short=(--set parent.epochs=1 --set children.tuning.epochs=1)

peak() {   # peak NAME ARGS… — runs sne, prints NAME, peak MB and seconds
  local name=$1; shift
  /usr/bin/time -f "%M %e" -o "$work/time" "$sne" "$@" --quiet --force > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 3; }
  read -r kb seconds < "$work/time"
  printf '%-28s peak %6.0f MB  %6.1f s\n' "$name" "$(echo "$kb / 1024" | bc -l)" "$seconds"
}

peak "default (fashion-mnist)" run "$root/examples/fashion-mnist-sparse.yaml" --out "$work/default" "${short[@]}"
for size in 500 5000; do
  python3 "$root/examples/data/make_shapes.py" "$work/shapes-$size" --per-class "$size" --test-per-class $((size / 5)) --size 32 > /dev/null
  peak "image-folder $((size * 3)) images" run "$root/examples/image-folder.yaml" --out "$work/if-$size" \
    --set data.directory="$work/shapes-$size" --set data.validation=$((size * 3 * 4 / 50)) \
    --set parent.epochs=1 --set children.count=2 --set children.tuning.epochs=1 \
    --set parent.batch_size=64 --set children.tuning.batch_size=64
done
