#!/usr/bin/env bash
# Tests the release as a user gets it (run by scripts/test.sh after the Maven suite): builds it with
# scripts/dist.sh, then
#   - unpacks the tarball into an empty directory and, with no JDK on PATH and JAVA_HOME unset, runs
#     `davit --version`, `davit doctor`, builds a busybox image, pushes it to a throwaway registry on 127.0.0.1 and
#     `davit run`s it from a fresh home, checking that the first command mapped the AOT cache made at build time;
#     starts a service in a workspace with a secret and checks that its log shows the value redacted;
#     checks the bash and zsh completions complete and every man page renders without a warning;
#   - installs the .deb with dpkg -i, runs the same from /usr/bin/davit, then dpkg -r and checks that no file the
#     package installed is left.
#   bash scripts/dist-test.sh [--skip-build]   (--skip-build: test what target/dist/ holds)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# groff, man and zsh (install-deps.sh, which dist.sh runs) check the man pages and completions
if [ "${1:-}" = --skip-build ]; then
  bash "$root/scripts/install-deps.sh" >/dev/null
else
  bash "$root/scripts/dist.sh"
fi
tarball=$(ls "$root"/target/dist/davit-*-linux-x86_64.tar.gz)
debfile=$(ls "$root"/target/dist/davit_*_amd64.deb)
version=$(basename "$tarball"); version=${version#davit-}; version=${version%-linux-x86_64.tar.gz}
w=$(mktemp -d /tmp/davit-dist-test.XXXXXX)
. "$root/scripts/registry.sh"
installed=
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
cleanup() {
  davit_stop_registries
  [ -z "$installed" ] || $sudo dpkg -P davit >/dev/null 2>&1 || true
  rm -rf "$w"
}
trap cleanup EXIT
fail() { echo "dist-test: FAIL: $*" >&2; exit 1; }

# A PATH with every tool of this machine's but Java: links to all executables of the usual directories except the
# JDK's commands
mkdir -p "$w/path"
for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
  for f in "$d"/*; do
    n=${f##*/}
    case $n in java|javac|javadoc|javap|jar|jarsigner|jcmd|jconsole|jdb|jdeprscan|jdeps|jfr|jhsdb|jimage|jinfo|jlink|\
      jmap|jmod|jpackage|jps|jrunscript|jshell|jstack|jstat|jstatd|jwebserver|keytool|rmiregistry|serialver|davit) continue ;; esac
    [ -x "$f" ] && [ ! -e "$w/path/$n" ] && ln -s "$f" "$w/path/$n"
  done
done
PATH="$w/path" command -v java >/dev/null 2>&1 && fail "the test PATH still has java"
# runs a command with that PATH, JAVA_HOME unset and only a home of the test's own
clean() { env -i HOME="$w/user" PATH="$w/path" LANG=C.UTF-8 "$@"; }
mkdir -p "$w/user"

davit_start_registry "$w/registry"
port=$REGISTRY_PORT
mkdir -p "$w/rootfs/bin" "$w/rootfs/proc" "$w/rootfs/dev" "$w/rootfs/tmp"
cp "$(command -v busybox)" "$w/rootfs/bin/busybox"
for a in sh true echo sleep; do ln -sf busybox "$w/rootfs/bin/$a"; done

# the checks both installs pass: $1 is the davit command, $2 a name for this install
check() {
  local davit=$1 what=$2 out
  out=$(clean "$davit" --version) || fail "$what: davit --version failed"
  [ "$out" = "davit $version" ] || fail "$what: davit --version said '$out', not 'davit $version'"
  echo "dist-test: $what: $out"
  out=$(clean DAVIT_HOME="$w/home-$what" "$davit" doctor 2>&1) || fail "$what: davit doctor failed: $out"
  grep -q '^container  *available' <<<"$out" || fail "$what: davit doctor found no bubblewrap: $out"
  echo "dist-test: $what: davit doctor ok"
  local ref="127.0.0.1:$port/dist/$what:1"
  clean DAVIT_HOME="$w/home-$what" "$davit" build -q "$w/rootfs" "$ref" --push >/dev/null \
    || fail "$what: davit build --push failed"
  # each kind of command maps its AOT cache made at build time: a pull (pull), gc (full), run (quick), the
  # first commands of a fresh home
  out=$(clean DAVIT_HOME="$w/fresh-$what" DAVIT_JAVA_OPTS="-Xlog:class+load=info:file=$w/pull-$what.log" \
    "$davit" pull -q "$ref") || fail "$what: davit pull failed: $out"
  out=$(clean DAVIT_HOME="$w/fresh-$what" DAVIT_JAVA_OPTS="-Xlog:class+load=info:file=$w/gc-$what.log" \
    "$davit" gc) || fail "$what: davit gc failed: $out"
  out=$(clean DAVIT_HOME="$w/fresh-$what" DAVIT_JAVA_OPTS="-Xlog:class+load=info:file=$w/run-$what.log" \
    "$davit" run -q "$ref" -- sh -c 'echo "hello from $(uname -s)"') || fail "$what: davit run failed: $out"
  [ "$out" = "hello from Linux" ] || fail "$what: davit run printed '$out'"
  for k in pull gc run; do
    grep -q 'dev.davit.cli.Main source: shared objects file' "$w/$k-$what.log" \
      || fail "$what: davit $k did not use the AOT cache made at build time"
  done
  echo "dist-test: $what: davit pull, gc and run of $ref ok, each with the build's AOT cache"
  # a service in a workspace with a secret: its log passes through the log filter, a JVM of the release's own
  # runtime (its modules must hold the filter's classes), and shows the value redacted
  local ws
  ws=$(clean DAVIT_HOME="$w/fresh-$what" DIST_TOKEN=tok-dist-5e1f09 "$davit" workspace create --secret DIST_TOKEN \
    "$ref") || fail "$what: davit workspace create --secret failed: $ws"
  out=$(clean DAVIT_HOME="$w/fresh-$what" "$davit" workspace service start "$ws" echo --secret-env T=DIST_TOKEN \
    -- sh -c 'echo "token $T"; exec sleep 60' 2>&1) || fail "$what: davit workspace service start failed: $out"
  for _ in $(seq 50); do
    out=$(clean DAVIT_HOME="$w/fresh-$what" "$davit" workspace service logs "$ws" echo) || fail "$what: service logs failed"
    [ -n "$out" ] && break; sleep 0.1
  done
  [ "$out" = "token [REDACTED:DIST_TOKEN]" ] || fail "$what: the service's log is '$out', not redacted"
  clean DAVIT_HOME="$w/fresh-$what" "$davit" workspace rm "$ws" >/dev/null || fail "$what: davit workspace rm failed"
  echo "dist-test: $what: a service's log in a workspace with a secret is redacted"
}

# nothing in a package may be writable by group or others (ls -l modes as tar -tv and dpkg-deb -c list them)
modes_ok() {
  local bad
  bad=$(awk '$1 !~ /^l/ && (substr($1, 6, 1) == "w" || substr($1, 9, 1) == "w")' <<<"$2" | head -3)
  [ -z "$bad" ] || fail "$1 has files writable by group or others: $bad"
}

# bash completion: "davit wor<TAB>" and "davit workspace ex<TAB>"
completes() {
  local script=$1 out
  out=$(bash -c 'source "$1"; COMP_WORDS=(davit wor); COMP_CWORD=1; _complete_davit 2>/dev/null; echo "${COMPREPLY[*]}";
    COMP_WORDS=(davit workspace ex); COMP_CWORD=2; _complete_davit 2>/dev/null; echo "${COMPREPLY[*]}"' _ "$script")
  [ "$out" = $'workspace\nexec execs export' ] || fail "bash completion from $script completed '$out'"
}

# zsh completion, typed into an interactive zsh on a pseudo-terminal: "davit wor<TAB>" must become
# "davit workspace" with no error (the function file is the release's, found through fpath)
zsh_completes() {
  local fpath_dir=$1 out
  cat > "$w/zsh-test.zsh" <<ZSH
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; fpath=($fpath_dir \$fpath); autoload -U compinit; compinit -u -D; davit() { :; }'
sleep 1
zpty -w -n z \$'davit wor\t'
sleep 3
zpty -w -n z \$'\\C-u'
zpty -w z 'exit'
sleep 1
out=""
while zpty -r -t z line; do out+=\$line; done
print -r -- "\$out"
zpty -d z
ZSH
  out=$(timeout 30 zsh -f "$w/zsh-test.zsh" 2>&1 | tr -d '\r') || true
  grep -q 'davit workspace' <<<"$out" || fail "zsh did not complete 'davit wor' with $fpath_dir/_davit: $(tail -c 300 <<<"$out")"
  ! grep -q 'not found' <<<"$out" || fail "zsh completion with $fpath_dir/_davit printed an error: $(grep -a 'not found' <<<"$out" | head -1)"
}

echo "dist-test: $(du -h "$tarball" | cut -f1) $tarball"
modes_ok "$tarball" "$(tar -tvzf "$tarball")"
modes_ok "$debfile" "$(dpkg-deb -c "$debfile")"
mkdir "$w/unpacked"
tar -xzf "$tarball" -C "$w/unpacked"
rel="$w/unpacked/davit-$version-linux-x86_64"
for k in quick pull full; do
  [ -s "$rel/lib/aot/davit-$k.aot" ] || fail "the tarball has no $k AOT cache"
done
# the launcher answers --version itself: the jar's version must be the same
jarversion=$(unzip -p "$rel/lib/davit.jar" META-INF/MANIFEST.MF | tr -d '\r' | sed -n 's/^Implementation-Version: //p')
[ "$jarversion" = "$version" ] || fail "the launcher says $version, the jar $jarversion"
check "$rel/bin/davit" tarball
completes "$rel/share/bash-completion/completions/davit"
zsh_completes "$rel/share/zsh/site-functions"
pages=0
for m in "$rel"/share/man/man1/*.1.gz; do
  warn=$(gzip -dc "$m" | groff -man -Tutf8 -ww -z 2>&1) || fail "man page $m does not render"
  [ -z "$warn" ] || fail "man page $m: $warn"
  pages=$((pages + 1))
done
gzip -dc "$rel/share/man/man1/davit-run.1.gz" | groff -man -Tutf8 2>/dev/null | grep -q -- '--network' \
  || fail "davit-run(1) does not describe --network"
[ "$pages" -gt 40 ] || fail "only $pages man pages"
echo "dist-test: bash and zsh completion ok; $pages man pages render"

if dpkg-query -W -f='${Status}' davit 2>/dev/null | grep -q 'ok installed'; then
  fail "a davit package is installed already; remove it (dpkg -r davit) before this test"
fi
# dpkg -i would take over a file no package owns, and dpkg -r would then delete it: refuse if any is there
while IFS= read -r f; do
  f=${f#.}
  [ -n "$f" ] && [ ! -d "$f" ] && [ -e "$f" ] && fail "$f exists and is not from a davit package; this test would replace it"
done < <(dpkg-deb -c "$debfile" | awk '{print $6}')
installed=yes
$sudo dpkg -i "$debfile" >/dev/null
check /usr/bin/davit deb
completes /usr/share/bash-completion/completions/davit
zsh_completes /usr/share/zsh/vendor-completions
[ "$(man -w davit-workspace-exec 2>/dev/null)" = /usr/share/man/man1/davit-workspace-exec.1.gz ] \
  || fail "man cannot find davit-workspace-exec(1)"
dpkg -L davit > "$w/files"
$sudo dpkg -r davit >/dev/null
installed=
left=()
while IFS= read -r f; do
  [ -e "$f" ] && [ ! -d "$f" ] && left+=("$f")
done < "$w/files"
[ ${#left[@]} -eq 0 ] || fail "dpkg -r left ${#left[@]} files: ${left[*]:0:5}"
[ ! -e /usr/lib/davit ] || fail "dpkg -r left /usr/lib/davit"
dpkg-query -W -f='${Status}' davit 2>/dev/null | grep -q 'ok installed' && fail "davit is still installed"
echo "dist-test: deb installed, ran and removed cleanly ($(wc -l < "$w/files") paths)"
echo "dist-test: OK"
