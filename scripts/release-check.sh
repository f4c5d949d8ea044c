#!/usr/bin/env bash
# Checks that a release is what Maven Central takes, without publishing anything: makes a throwaway GPG key in a
# temporary GNUPGHOME, runs the release profile's deploy (mvn -P release deploy: every artifact with its sources and
# Javadoc jars, signed) into a temporary directory repository, and checks that tree (scripts/release-check.py: the
# poms' metadata, the jars, module names, signatures, checksums, and that it holds exactly the BOM's artifacts).
# Prints a one-line verdict; exits non-zero with a line per problem. scripts/test.sh runs it for the whole suite.
#   scripts/release-check.sh [DIR]   stages into DIR (new or empty) and keeps it; else into a temporary one, removed
# (the throwaway key goes with the run either way)
set -euo pipefail
keep=
if [ $# -gt 0 ]; then mkdir -p "$1" && keep=$(cd "$1" && pwd); fi
cd "$(dirname "$0")/.."
root=$PWD
. scripts/find-java.sh
export JAVA_HOME="$DAVIT_JAVA_HOME"
for tool in gpg gpgconf python3; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "release-check: no $tool on this machine: run scripts/install-deps.sh" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/davit-release-check.XXXXXX")
export GNUPGHOME="$work/gnupg"
# the key's agent is this run's own (its home is the temporary one): stopped with it
trap 'gpgconf --kill gpg-agent >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -m 700 "$GNUPGHOME"
staged="${keep:-$work/staged}"
mkdir -p "$staged"
if [ -n "$(ls -A "$staged")" ]; then
  echo "release-check: $staged is not empty: give a new or empty directory" >&2
  exit 1
fi
# a throwaway key with no passphrase, valid for a day: it proves the signing step, and signs nothing else
gpg --batch --quiet --passphrase '' --quick-gen-key 'davit release check (throwaway) <release-check@davit.invalid>' \
  ed25519 sign 1d 2>/dev/null
fingerprint=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" {print $10; exit}')
log="$root/target/release-check.log"
mkdir -p "$root/target"
# -DskipTests: the suite has run them; exec's steps (davit-jail's agent and exec helper) still run, their programs
# are in the jar. MAVEN_GPG_PASSPHRASE is unset: a developer's would be given for the throwaway key
if ! env -u MAVEN_GPG_PASSPHRASE mvn -B -ntp -P release -DskipTests -Dgpg.keyname="$fingerprint" deploy \
    -DaltDeploymentRepository="release-check::file://$staged" > "$log" 2>&1; then
  tail -40 "$log" >&2
  echo "release-check: FAILED: the release profile's deploy failed (its log: $log)" >&2
  exit 1
fi
python3 scripts/release-check.py "$staged" "$root" "$fingerprint"
