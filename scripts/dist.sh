#!/usr/bin/env bash
# Builds davit's release for linux-x86_64 into target/dist/:
#   davit-VERSION-linux-x86_64.tar.gz   unpack anywhere and run bin/davit (or put bin/ on PATH)
#   davit_VERSION_amd64.deb             dpkg -i / apt install ./davit_...deb: /usr/bin/davit
# Each holds a Java runtime made by jlink with only the modules davit needs, the jar, the launcher, the AOT caches
# trained here with that runtime (so the first command is fast), bash and zsh completions and man pages generated
# from the command models (dev.davit.cli.ShellDocs). No JDK is needed where they are installed.
#   bash scripts/dist.sh [--no-deb]
set -euo pipefail
# what is packed is root's and not writable by group or others, whatever the builder's umask
umask 022
root="$(cd "$(dirname "$0")/.." && pwd)"
deb=yes
for a in "$@"; do
  case "$a" in
    --no-deb) deb= ;;
    *) echo "dist: unknown argument '$a' (usage: bash scripts/dist.sh [--no-deb])" >&2; exit 2 ;;
  esac
done
. "$root/scripts/find-java.sh"
if [ "${DAVIT_JAVA_MAJOR:-0}" -lt 25 ] 2>/dev/null || [ ! -x "$DAVIT_JAVA_HOME/bin/jlink" ]; then
  echo "dist: a release needs a JDK >= 25 with jlink (its runtime and AOT caches are made with it); found ${DAVIT_JAVA_MAJOR:-none} at ${DAVIT_JAVA_HOME:-?}: set JAVA_HOME to one" >&2
  exit 2
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "dist: releases are built for x86_64 only; this machine is $(uname -m)" >&2
  exit 2
fi
export JAVA_HOME="$DAVIT_JAVA_HOME"
# zip, dpkg-deb, and what the AOT training runs (bubblewrap)
bash "$root/scripts/install-deps.sh" >&2

echo "dist: building the jar" >&2
(cd "$root" && mvn -q -B -ntp -DskipTests -Ddavit.it.skip=true package -pl davit-cli -am)
jar="$root/davit-cli/target/davit.jar"
version=$(unzip -p "$jar" META-INF/MANIFEST.MF | tr -d '\r' | sed -n 's/^Implementation-Version: //p')
[ -n "$version" ] || { echo "dist: no Implementation-Version in $jar" >&2; exit 1; }
out="$root/target/dist"
name="davit-$version-linux-x86_64"
stage="$out/$name"
rm -rf "$out"
mkdir -p "$stage/bin" "$stage/lib/aot" "$stage/share/bash-completion/completions" "$stage/share/zsh/site-functions" \
  "$stage/share/man/man1" "$stage/share/doc/davit"

# The jar, without zstd-jni's native libraries for other CPUs (the shaded jar already has only Linux ones)
cp "$jar" "$stage/lib/davit.jar"
others=$(unzip -Z1 "$stage/lib/davit.jar" | grep -E '^linux/[^/]+/' | grep -v '^linux/amd64/' || true)
[ -z "$others" ] || printf '%s\n' "$others" | zip -q -d "$stage/lib/davit.jar" -@
unzip -Z1 "$stage/lib/davit.jar" 'linux/amd64/libzstd-jni*' >/dev/null 2>&1 || { echo "dist: zstd-jni's linux/amd64 library is missing from the jar" >&2; exit 1; }

# The runtime: the modules davit's code and its libraries use (jdeps also names java.desktop and java.sql, for
# Jackson's and Jetty's optional java.beans/java.sql support, which davit never reaches: 13 MB left out);
# jdk.httpserver serves the AOT training's in-process registry; jdk.unsupported is sun.misc.Unsafe for Netty-free
# libraries that look for it; java.xml is Jackson 3's (fabric8's, the k8s backend's): its serializer factory loads its
# DOM handlers' classes whatever it serializes (without it `davit mcp serve --backend k8s` of a release failed at start
# with NoClassDefFoundError: org/w3c/dom/Node, found by K8sInClusterTest)
modules=java.base,java.management,java.naming,java.net.http,java.xml,jdk.httpserver,jdk.net,jdk.unsupported
echo "dist: linking a runtime ($modules)" >&2
# No --compress: the tarball is gzipped anyway, and an uncompressed lib/modules gzips smaller (9 MB against 12)
# and loads without inflating every class. No --generate-cds-archive (the JDK's class data archive, 2 x 14 MB): every
# command but `--version` maps an AOT cache, which holds the JDK's classes too, and the launcher answers --version.
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-java-debug-attributes --no-header-files --no-man-pages \
  --output "$stage/runtime" >/dev/null
rm -f "$stage/runtime/bin/jwebserver"   # jdk.httpserver's tool: only the training's in-process registry is needed

# The launcher (ROOT: the release's directory fixed, or empty: found from the launcher's place) and its shared
# options (the same as ./davit's)
launcher() {
  sed -e "s|@ROOT@|$1|" -e "s|@JAVA_MAJOR@|$DAVIT_JAVA_MAJOR|" -e "s|@VERSION@|$version|" "$root/scripts/dist/davit" > "$2"
  chmod 755 "$2"
}
launcher "" "$stage/bin/davit"
cp "$root/scripts/launch.sh" "$stage/lib/launch.sh"

# Completions and man pages from the command models
"$stage/runtime/bin/java" -cp "$stage/lib/davit.jar" dev.davit.cli.ShellDocs "$out/docs"
cp "$out/docs/bash/davit" "$stage/share/bash-completion/completions/davit"
cp "$out/docs/zsh/_davit" "$stage/share/zsh/site-functions/_davit"
for f in "$out/docs/man1/"*.1; do gzip -9n -c "$f" > "$stage/share/man/man1/${f##*/}.gz"; done
rm -rf "$out/docs"
cp "$root/README.md" "$stage/share/doc/davit/README.md"
cp "$root/LICENSE" "$stage/share/doc/davit/LICENSE"
# the quick starts, guides, design notes and reference the README links to (docs/start/, docs/guides/, docs/design/,
# docs/reference/, DESIGN.md), at the same paths
cp -R "$root/docs" "$stage/share/doc/davit/docs"
# What the release bundles: the Java runtime, and the libraries shaded into the jar (from their pom.properties);
# their licence and notice files are in runtime/legal and in the jar's META-INF
{
  echo "davit $version, built from the davit repository (README.md), under the Apache License, Version 2.0 (LICENSE)."
  echo
  echo "Bundled, each under its own licence:"
  jv=$(sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' "$stage/runtime/release")
  echo "- an OpenJDK $jv runtime (jlink of $(sed -n 's/^IMPLEMENTOR="\(.*\)"/\1/p' "$JAVA_HOME/release")'s JDK), GPLv2 with the Classpath Exception: see runtime/legal/"
  unzip -Z1 "$stage/lib/davit.jar" 'META-INF/maven/*/pom.properties' | sort | while IFS= read -r f; do
    unzip -p "$stage/lib/davit.jar" "$f" | tr -d '\r' | awk -F= '/^groupId=/{g=$2} /^artifactId=/{a=$2} /^version=/{v=$2}
      END {if (g !~ /^dev\.davit/) print "- " g ":" a ":" v}'
  done
  echo
  echo "Their LICENSE and NOTICE files are in lib/davit.jar (META-INF/)."
} > "$stage/share/doc/davit/copyright"

# The AOT caches, one per kind of command (scripts/launch.sh), each trained with this runtime on this jar: the
# training (dev.davit.cli.AotTraining) pulls from an in-process registry on 127.0.0.1 and runs sandboxes, so it
# needs what `davit run` needs here (bubblewrap). The JVM accepts a cache wherever the release is moved, as long as
# runtime/ and lib/ keep their places (it does not look at modification times: a rebuilt release is a new
# install, caches and jar together).
. "$stage/lib/launch.sh"
# (The loop's variable is not `kind`: davit_launch_opts sets that one.)
for k in quick pull full; do
  echo "dist: training the $k AOT cache" >&2
  davit_launch_opts   # every kind trains with C1 only, as ./davit's training does
  davit_main "$stage/lib/davit.jar"   # the jar's place in the release: bin/davit starts it from there
  if ! "$stage/runtime/bin/java" "${opts[@]}" -XX:AOTCacheOutput="$stage/lib/aot/davit-$k.aot" \
      -Xlog:aot=off -Xlog:cds=off -Ddavit.aot.training="$k" "${main[@]}" > "$out/train-$k.log" 2>&1 \
      || [ ! -s "$stage/lib/aot/davit-$k.aot" ]; then
    echo "dist: training the $k AOT cache failed (is 'davit run' possible here? see 'davit doctor'):" >&2
    tail -n 20 "$out/train-$k.log" >&2
    exit 1
  fi
  rm -f "$out/train-$k.log" "$stage/lib/aot/davit-$k.aot.config"
done

chmod -R go-w "$stage"
echo "dist: $out/$name.tar.gz" >&2
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$out" -czf "$out/$name.tar.gz" "$name"

if [ -n "$deb" ]; then
  debver=${version//-/\~}
  pkg="$out/deb"
  mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib/davit" "$pkg/usr/bin" "$pkg/usr/share/bash-completion/completions" \
    "$pkg/usr/share/zsh/vendor-completions" "$pkg/usr/share/man/man1" "$pkg/usr/share/doc/davit"
  cp -a "$stage/lib" "$stage/runtime" "$pkg/usr/lib/davit/"
  launcher /usr/lib/davit "$pkg/usr/bin/davit"
  cp -a "$stage/share/bash-completion/completions/davit" "$pkg/usr/share/bash-completion/completions/"
  cp -a "$stage/share/zsh/site-functions/_davit" "$pkg/usr/share/zsh/vendor-completions/"
  cp -a "$stage/share/man/man1/." "$pkg/usr/share/man/man1/"
  cp -a "$stage/share/doc/davit/README.md" "$stage/share/doc/davit/LICENSE" "$stage/share/doc/davit/docs" \
    "$pkg/usr/share/doc/davit/"
  sed -e 's|runtime/legal/|/usr/lib/davit/runtime/legal/|; s|lib/davit.jar|/usr/lib/davit/lib/davit.jar|' \
    "$stage/share/doc/davit/copyright" > "$pkg/usr/share/doc/davit/copyright"
  gzip -9n -c > "$pkg/usr/share/doc/davit/changelog.gz" <<CHANGELOG
davit ($debver) unstable; urgency=low

  * A build of davit $version from its repository (scripts/dist.sh).

 -- davit developers <davit-dev@users.noreply.github.com>  $(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")
CHANGELOG
  chmod -R go-w "$pkg"
  (cd "$pkg" && find usr -type f -print0 | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
  size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
  cat > "$pkg/DEBIAN/control" <<CONTROL
Package: davit
Version: $debver
Architecture: amd64
Maintainer: davit developers <davit-dev@users.noreply.github.com>
Installed-Size: $size
Depends: libc6 (>= 2.17)
Recommends: bubblewrap, crun, runc, slirp4netns, uidmap, iproute2, qemu-system-x86, qemu-utils, mmdebstrap, e2fsprogs, cpio, xz-utils
Suggests: skopeo, umoci
Section: admin
Priority: optional
Description: daemonless OCI environments and sandboxes
 davit fetches images, environments and artifacts from any OCI registry,
 verifies them byte for byte, keeps them offline, and runs commands in them
 in a container sandbox or a microVM; workspaces for coding agents; an MCP
 server. Ships its own Java runtime: no JDK needed.
CONTROL
  dpkg-deb --root-owner-group -Zgzip -z9 --build "$pkg" "$out/davit_${debver}_amd64.deb" >/dev/null
  rm -rf "$pkg"
  echo "dist: $out/davit_${debver}_amd64.deb" >&2
fi
rm -rf "$stage"
ls -l "$out"
