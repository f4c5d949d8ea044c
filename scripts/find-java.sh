# Sourced by ./davit, the test and bench scripts: sets DAVIT_JAVA_HOME to a JDK >= 21 (and DAVIT_JAVA_MAJOR).
# Order: $JAVA_HOME, the newest JDK under /usr/lib/jvm, then `java` on PATH. Versions are read from each JDK's
# `release` file, so finding Java starts no JVM.
_davit_java_major() {
  local v
  v=$(sed -n 's/^JAVA_VERSION="\([0-9.]*\).*"/\1/p' "$1/release" 2>/dev/null | head -n1)
  v=${v#1.}
  echo "${v%%.*}"
}
_davit_find_java() {
  local cand major best="" bestmajor=0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    major=$(_davit_java_major "$JAVA_HOME")
    if [ "${major:-0}" -ge 21 ] 2>/dev/null; then DAVIT_JAVA_HOME="$JAVA_HOME"; DAVIT_JAVA_MAJOR=$major; return 0; fi
  fi
  for cand in /usr/lib/jvm/*; do
    [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] && [ ! -L "$cand" ] || continue
    major=$(_davit_java_major "$cand")
    if [ "${major:-0}" -ge 21 ] 2>/dev/null && [ "$major" -gt "$bestmajor" ]; then best="$cand"; bestmajor="$major"; fi
  done
  if [ -n "$best" ]; then DAVIT_JAVA_HOME="$best"; DAVIT_JAVA_MAJOR=$bestmajor; return 0; fi
  if command -v java >/dev/null 2>&1; then
    cand=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    major=$(_davit_java_major "$cand")
    if [ "${major:-0}" -ge 21 ] 2>/dev/null; then DAVIT_JAVA_HOME="$cand"; DAVIT_JAVA_MAJOR=$major; return 0; fi
  fi
  echo "davit: no JDK >= 21 found; install one (e.g. apt-get install openjdk-21-jdk-headless) or set JAVA_HOME" >&2
  return 1
}
_davit_find_java || exit 1
export DAVIT_JAVA_HOME DAVIT_JAVA_MAJOR
