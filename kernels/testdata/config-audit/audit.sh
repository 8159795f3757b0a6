#!/bin/bash
# audit.sh SRC WORK: what each block of configs/kernel/guest.config costs
# to compile. One cold build of tinyconfig + guest.config with every
# compilation timed; then, for tinyconfig alone, for guest.config without
# each of its blocks (paragraphs) and without its "is not set" lines, a
# dry build (a gcc that records each object and compiles an empty file in
# its place, ~15 s) lists the objects that configuration compiles. A
# second timed build, with no "is not set" line, times the objects those
# lines avoid. analyze.py turns it into the README's table.
#   SRC: a kernel source tree (e.g. patchtest's cached one), left untouched
#   WORK: an empty directory for the output trees and logs
set -euo pipefail
SRC=$(cd "$1" && pwd)
WORK=$(mkdir -p "$2" && cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
GUEST=$HERE/../../../configs/kernel/guest.config
GCC=$(command -v gcc)
export ARCH=x86_64 KBUILD_BUILD_USER=patchtest KBUILD_BUILD_HOST=patchtest KBUILD_BUILD_TIMESTAMP=1970-01-01 LC_ALL=C
mkdir -p "$WORK/bin"
cat > "$WORK/bin/timed-gcc" <<EOS
#!/bin/bash
s=\$EPOCHREALTIME; $GCC "\$@"; rc=\$?; e=\$EPOCHREALTIME
out=; prev=; for a; do [ "\$prev" = -o ] && out=\$a; prev=\$a; done
echo "\$s \$e \$out" >> "\$AUDIT_LOG"; exit \$rc
EOS
cat > "$WORK/bin/dry-gcc" <<EOS
#!/bin/bash
out=; prev=; c=; S=; src=; dep=
for a; do
  case \$prev in -o) out=\$a;; esac
  case \$a in -c) c=1;; -S) S=1;; -Wp,-MMD,*) dep=\${a#-Wp,-MMD,};; -*) ;; *.c|*.S) src=\$a;; esac
  prev=\$a
done
if [ -n "\$c" ] && [ -n "\$src" ] && [ -n "\$out" ] && [ -z "\$S" ]; then
  echo "\$out" >> "\$AUDIT_LOG"
  case \$src in $SRC/*)
    $GCC -c -x c /dev/null -o "\$out" || exit 1
    [ -n "\$dep" ] && echo "\$out: \$src" > "\$dep"
    exit 0;;
  esac
fi
exec $GCC "\$@"
EOS
chmod +x "$WORK/bin/timed-gcc" "$WORK/bin/dry-gcc"
# configure DIR CC: tinyconfig + DIR/frag.config, olddefconfig, in DIR/out
configure() {
  rm -rf "$1/out"; mkdir -p "$1/out"
  make -C "$SRC" O="$1/out" CC="$2" tinyconfig > "$1/config.log" 2>&1
  (cd "$SRC" && scripts/kconfig/merge_config.sh -m -O "$1/out" "$1/out/.config" "$1/frag.config") >> "$1/config.log" 2>&1
  make -C "$SRC" O="$1/out" CC="$2" olddefconfig >> "$1/config.log" 2>&1
}
timed() { # DIR
  configure "$1" "$WORK/bin/timed-gcc"; rm -f "$1/times"
  s=$(date +%s.%N)
  AUDIT_LOG=$1/times make -C "$SRC" O="$1/out" CC="$WORK/bin/timed-gcc" -j"$(nproc)" bzImage > "$1/build.log" 2>&1
  echo "$(date +%s.%N) - $s" | bc > "$1/wall"
  rm -rf "$1/out"
}
dry() { # DIR
  configure "$1" "$WORK/bin/dry-gcc"; rm -f "$1/objs"
  AUDIT_LOG=$1/objs make -C "$SRC" O="$1/out" CC="$WORK/bin/dry-gcc" -k -j"$(nproc)" bzImage > "$1/build.log" 2>&1 || true
  rm -rf "$1/out"
}
python3 "$HERE/analyze.py" split "$GUEST" "$WORK"
timed "$WORK/full"
timed "$WORK/nooff"
for d in "$WORK"/full "$WORK"/tiny "$WORK"/block-* "$WORK"/off-*; do dry "$d"; done
python3 "$HERE/analyze.py" report "$GUEST" "$WORK"
