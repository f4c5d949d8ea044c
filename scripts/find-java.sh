# Sourced by ./davit, the test and bench scripts: sets DAVIT_JAVA_HOME to a JDK >= 21 (and DAVIT_JAVA_MAJOR).
# Order: $JAVA_HOME, the newest JDK under /usr/lib/jvm, then `java` on PATH. Versions are read from each JDK's
# `release` file with bash built-ins, so finding Java starts no JVM (and no other process).
# Sets _davit_major to the major version in $1/release (empty if none); bash built-ins only (no process starts).
_davit_java_major() {
  local line v=""
  _davit_major=""
  [ -r "$1/release" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in JAVA_VERSION=\"*) v=${line#JAVA_VERSION=\"}; v=${v%%\"*}; break ;; esac
  done < "$1/release"
  v=${v#1.}
  _davit_major=${v%%.*}
}
_davit_find_java() {
  local cand major best="" bestmajor=0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    _davit_java_major "$JAVA_HOME"; major=$_davit_major
    if [ "${major:-0}" -ge 21 ] 2>/dev/null; then DAVIT_JAVA_HOME="$JAVA_HOME"; DAVIT_JAVA_MAJOR=$major; return 0; fi
  fi
  for cand in /usr/lib/jvm/*; do
    [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] && [ ! -L "$cand" ] || continue
    _davit_java_major "$cand"; major=$_davit_major
    if [ "${major:-0}" -ge 21 ] 2>/dev/null && [ "$major" -gt "$bestmajor" ]; then best="$cand"; bestmajor="$major"; fi
  done
  if [ -n "$best" ]; then DAVIT_JAVA_HOME="$best"; DAVIT_JAVA_MAJOR=$bestmajor; return 0; fi
  if command -v java >/dev/null 2>&1; then
    cand=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    _davit_java_major "$cand"; major=$_davit_major
    if [ "${major:-0}" -ge 21 ] 2>/dev/null; then DAVIT_JAVA_HOME="$cand"; DAVIT_JAVA_MAJOR=$major; return 0; fi
  fi
  echo "davit: no JDK >= 21 found; install one (e.g. apt-get install openjdk-21-jdk-headless) or set JAVA_HOME" >&2
  return 1
}
_davit_find_java || exit 1
export DAVIT_JAVA_HOME DAVIT_JAVA_MAJOR
