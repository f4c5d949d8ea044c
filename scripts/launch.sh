# Sourced by ./davit and by the release's bin/davit (scripts/dist.sh copies it to lib/launch.sh): the JVM options
# for a command line, with bash built-ins only (no process starts). `davit_launch_opts ARGS...` sets
#   opts        the JVM options (an array),
#   kind        which AOT cache suits the command: quick, pull or full,
#   aot_wanted  empty when no AOT cache should be mapped.
# Reads DAVIT_JAVA_MAJOR (the JDK's major version) and DAVIT_JAVA_OPTS.
davit_launch_opts() {
  local a d c1
  # A 16 MiB young generation: with the default (a third of a heap sized from the machine's RAM) even garbage touches
  # hundreds of MB of pages. What davit keeps is bounded by design (`run --json` keeps a flood's excerpt in files,
  # not in memory), so the bound costs neither `run` nor `pull` time (docs/reference/benchmarks/CLI-ISSUE13.md, issue 13 part 6); no -Xmx (but for the MCP server, below).
  # MaxRAM: on a machine with 128 GiB or more the default heap would pass 32 GB, compressed oops would be off and
  # the JVM would refuse every AOT cache (trained with them on); davit needs nowhere near 16 GB.
  opts=(-XX:+UseSerialGC -Xss512k -Xmn16m -XX:MaxRAM=64g)
  # Commands that move or hash many bytes need C2 (the JDK's SHA-256 intrinsic comes only with it), and so does the
  # long-lived MCP server; short commands start faster with C1 only. A pull hashes its big blobs with libcrypto (through
  # FFM, Java 22+), so where that library is found it runs with C1 too: a warm pull ~10-25 ms sooner, a cold one the same
  # (docs/reference/benchmarks/CLI-ISSUE13.md, issue 13 part 9). The same split picks the AOT cache (below): one for each kind, and pull has
  # its own (2,718 classes to map instead of the full kind's 3,300: a warm pull ~17 ms sooner).
  kind=quick
  c1=yes
  for a in "$@"; do
    case "$a" in
      pull) kind=pull
        c1=
        case " ${DAVIT_JAVA_OPTS:-} " in *-Ddavit.hash=jdk*) ;; *)   # unless the JDK's SHA-256 is asked for
        if [ "$DAVIT_JAVA_MAJOR" -ge 22 ] 2>/dev/null; then
          for d in "/usr/lib/$HOSTTYPE-linux-gnu" "/lib/$HOSTTYPE-linux-gnu" /usr/lib64 /lib64 /usr/lib /lib; do
            if [ -e "$d/libcrypto.so.3" ] || [ -e "$d/libcrypto.so.1.1" ]; then c1=yes; break; fi
          done
        fi ;;
        esac
        break ;;
      push|copy|cp|build|export|import|unpack|artifact|fsck|gc|mcp) kind=full; c1=; break ;;
      --) break ;;
    esac
  done
  [ -n "$c1" ] && opts+=(-XX:TieredStopAtLevel=1)
  # A pull with C1 compiles only what runs 10 times more often than C1's thresholds ask: its bytes go through libcrypto
  # and the kernel, and C1's ~900 compilations took ~20% of a cold pull's CPU (more than any blob thread); ~400 are
  # left, a cold pull of the ~120 MiB image takes ~10% less CPU and no more time (x100: 15% less CPU, but a warm pull
  # 16 ms longer, interpreted; docs/reference/benchmarks/CLI.md, issue 34).
  [ -n "$c1" ] && [ "$kind" = pull ] && opts+=(-XX:CompileThresholdScaling=10)
  # The MCP server lives long and serves a model: its heap is bounded (every result is bounded before it is built, see
  # docs/reference/mcp/RESULTS.md "Bounds"), so that no call, however hostile, can grow it past what McpLimitsTest measures.
  for a in "$@"; do
    case "$a" in mcp) opts+=(-Xmx512m); break ;; --) break ;; esac
  done
  # `davit --version` alone runs without the AOT cache: Entry prints it before anything else loads, and mapping the
  # cache's 2,000-3,000 classes costs more than that (bench/cli.sh, docs/reference/BENCHMARKS.md).
  aot_wanted=yes
  [ $# -eq 1 ] && { [ "$1" = --version ] || [ "$1" = -V ]; } && aot_wanted=
  return 0
}

# `davit_main JAR` sets `main`, the arguments that start davit from JAR: its entry class named on the class path,
# with the native access the jar's manifest grants (FFM: libcrypto, openat2), rather than `-jar JAR`. With -jar the
# launcher opens the jar and reads its whole index (~25,000 entries) for the manifest before main, and the class
# loader reads it again at its first look into the jar: ~20 ms of every command (docs/reference/benchmarks/CLI.md, issue 55). The
# AOT caches are trained with the same arguments (the JVM takes a cache only with the native access it had).
davit_main() {
  main=(--enable-native-access=ALL-UNNAMED -cp "$1" dev.davit.cli.Entry)
}
