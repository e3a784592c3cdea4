# Shared by instructions.sh and parser-instructions.sh (sourced, not run): builds PRODUCT in
# release, profiles a copy without debug info (valgrind 3.19 cannot read Swift 6.3's), and
# defines `instructions ARGS...`: the total instructions of one run of that copy with ARGS.
#
#     source scripts/callgrind-frame.sh PRODUCT
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v valgrind >/dev/null || { echo "$(basename "$0"): needs valgrind (apt-get install valgrind)" >&2; exit 1; }
swift build -c release --product "$1" >/dev/null 2>&1 || swift build -c release --product "$1"
binary=$(mktemp "/tmp/$1.XXXXXX")
trap 'rm -f "$binary"' EXIT
strip --strip-debug -o "$binary" ".build/release/$1"

instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
