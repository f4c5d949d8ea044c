# Sourced by ./davit, .ci/run and bench scripts: sets DAVIT_JAVA_HOME to a JDK >= 21.
# Order: $JAVA_HOME, the newest JDK under /usr/lib/jvm, then `java` on PATH.
_davit_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1 | cut -d. -f1
}
_davit_find_java() {
  local cand major best="" bestmajor=0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    major=$(_davit_java_major "$JAVA_HOME")
    if [ "${major:-0}" -ge 21 ] 2>/dev/null; then DAVIT_JAVA_HOME="$JAVA_HOME"; return 0; fi
  fi
  for cand in /usr/lib/jvm/*; do
    [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
    major=$(_davit_java_major "$cand")
    if [ "${major:-0}" -ge 21 ] 2>/dev/null && [ "$major" -gt "$bestmajor" ]; then best="$cand"; bestmajor="$major"; fi
  done
  if [ -n "$best" ]; then DAVIT_JAVA_HOME="$best"; return 0; fi
  if command -v java >/dev/null 2>&1; then
    cand=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    major=$(_davit_java_major "$cand")
    if [ "${major:-0}" -ge 21 ] 2>/dev/null; then DAVIT_JAVA_HOME="$cand"; return 0; fi
  fi
  echo "davit: no JDK >= 21 found; install one (e.g. apt-get install openjdk-21-jdk-headless) or set JAVA_HOME" >&2
  return 1
}
_davit_find_java || exit 1
export DAVIT_JAVA_HOME
