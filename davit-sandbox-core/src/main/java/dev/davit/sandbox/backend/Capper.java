package dev.davit.sandbox.backend;

import dev.davit.sandbox.internal.Spawned;

/**
 * The capper: a shell function that copies what a sandbox writes into a FIFO to a file on the host, with a bound
 * on the bytes kept on disk. It runs on the host beside a process that outlives davit (a detached process's holder,
 * a long-lived microVM's QEMU), so the bound holds while no davit runs; readers tail the files from the end
 * ({@code CappedLog}) or follow them by inode ({@code Shells}).
 *
 * <p>{@code cap OUT HALF OWNER}, with its standard input the FIFO: copies into {@code OUT} with dd, a read's worth at
 * a time and never more than the room left ({@code iflag=count_bytes}); when {@code OUT} holds {@code HALF} bytes it
 * becomes {@code OUT.1} (the one before is dropped, its size added to {@code OUT.dropped}) and a new {@code OUT}
 * starts, so the two never hold more than {@code 2*HALF}; a capper started again on an {@code OUT} it kept (a microVM
 * resumed) appends, and counts on from {@code OUT.dropped}. At the end of input (no writer left) it returns, unless
 * {@code OWNER} (a pid, 0 for none) still runs: then the writer is yet to open the FIFO (a jail between the owner and
 * the VMM closes inherited descriptors before the VMM opens its own), and it looks again every 50 ms. When a write
 * fails because {@code OUT}'s directory is gone, it drains the FIFO without keeping anything. The caller's script
 * sets {@code $mv}, {@code $dd}, {@code $stat} and {@code $sleep} to those tools (absolute paths).
 */
public final class Capper {
    /** The function's text, for a {@code sh -c} script. */
    public static final String FUNCTION = """
            cap() {
              o=$1; h=$2; w=$3; gone=0
              [ -f "$o.dropped" ] && read -r gone <"$o.dropped"
              case ${gone:-x} in *[!0-9]*) gone=0 ;; esac
              : >>"$o"
              while :; do
                s=$("$stat" -c %s "$o") || s=0
                if [ "$s" -ge "$h" ]; then
                  if [ -f "$o.1" ]; then
                    gone=$((gone + $("$stat" -c %s "$o.1")))
                    echo $gone >"$o.dropped.tmp" && "$mv" -f "$o.dropped.tmp" "$o.dropped"
                  fi
                  "$mv" -f "$o" "$o.1"; : >"$o"; s=0
                fi
                if "$dd" bs=65536 count=$((h - s)) iflag=count_bytes status=none >>"$o"; then
                  [ "$("$stat" -c %s "$o")" -gt "$s" ] && continue
                  [ "$w" -gt 0 ] && kill -0 "$w" 2>/dev/null || return 0
                  "$sleep" 0.05
                else
                  [ -d "${o%/*}" ] || exec "$dd" bs=65536 of=/dev/null status=none
                fi
              done
            }
            """;

    private Capper() {
    }

    /**
     * Half the bytes a capped output may keep on disk: the function's {@code HALF}.
     *
     * @return {@link Spawned#logCap()} / 2, at least 1
     */
    public static long half() {
        return Math.max(1, Spawned.logCap() / 2);
    }
}
