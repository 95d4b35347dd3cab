#!/usr/bin/env bash
# Record the stdio_* traces again into OUTDIR (then compare or copy them here).
set -uo pipefail
out=${1:?usage: record.sh OUTDIR}
work=/tmp/kiln
rm -rf "$work" && mkdir -p "$work/tree" "$out"
head -c 150000000 /dev/urandom > "$work/tree/big.bin"
genisoimage -quiet -J -r -V BIGVOL -o "$work/big.iso" "$work/tree"
rec() {
    local name=$1; shift
    { echo "# argv: $*"; "$@" > "$work/out" 2>&1; echo "# exit: $?"; cat "$work/out"; } > "$out/stdio_$name.txt"
}
rec toc_blank xorriso -outdev stdio:$work/d3.iso -toc -tell_media_space
rec burn_ok xorriso -as cdrecord -v dev=stdio:$work/d3.iso padsize=300k $work/big.iso
rec toc_appendable xorriso -outdev stdio:$work/d3.iso -toc -tell_media_space
rec pvd_info xorriso -indev stdio:$work/d3.iso -pvd_info
blocks=$(( $(stat -c %s "$work/big.iso") / 2048 ))
args=(-outdev "stdio:$work/d3.iso" -check_media use=outdev what=disc min_lba=0 "max_lba=$((blocks - 1))" data_to=- --)
{ echo "# argv: xorriso ${args[*]}"; xorriso "${args[@]}" 2> "$work/err" > /dev/null; echo "# exit: $?"; cat "$work/err"; } > "$out/stdio_check_media_ok.txt"
rec burn_write_error xorriso -as cdrecord -v dev=stdio:/dev/full padsize=300k $work/big.iso
rec no_drive xorriso -outdev /dev/sr9 -toc -tell_media_space
rec missing_image xorriso -as cdrecord -v dev=stdio:$work/d4.iso padsize=300k $work/nonexistent.iso
