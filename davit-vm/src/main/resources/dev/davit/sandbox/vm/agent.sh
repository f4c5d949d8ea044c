#!/.davit/busybox sh
# davit guest agent: PID 1 of a davit microVM (started by the initrd's init, or by the kernel as init=).
# It reads requests, one line each, from the virtio-serial port named davit.agent and answers each with one
# line. The protocol is described in docs/reference/SANDBOX.md ("The guest agent"). It uses only the static busybox
# next to it, never the guest's own tools, so any root filesystem works.

B=/.davit/busybox
R=/.davit/run
AGENT=$0
# the file verbs' transfer file: on the disk, not in memory (a tree may be larger than the guest's RAM)
XF=/.davit/xfer.tar

mounted() {
    $B grep -q " $1 " /proc/mounts
}

log() {
    echo "davit-agent: $*" >&2
}

setup() {
    umask 022
    $B mkdir -p /proc /sys /dev $R
    [ -d /tmp ] || { $B mkdir /tmp && $B chmod 1777 /tmp; }
    [ -e /proc/self ] || $B mount -t proc proc /proc
    mounted /sys || $B mount -t sysfs sysfs /sys
    mounted /dev || $B mount -t devtmpfs devtmpfs /dev
    $B mkdir -p /dev/pts /dev/shm
    mounted /dev/pts || $B mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
    mounted /dev/shm || $B mount -t tmpfs -o mode=1777 tmpfs /dev/shm
    mounted $R || $B mount -t tmpfs -o mode=0700 tmpfs $R
    $B mkdir -p $R/bin
    $B --install -s $R/bin
    PATH=$R/bin
    export PATH
    net=
    for w in $(cat /proc/cmdline); do
        case $w in
        davit.hostname=*) hostname "${w#*=}" ;;
        davit.net=1) net=1 ;;
        esac
    done
    ip link set lo up 2>/dev/null
    exec_agent
    if [ -n "$net" ]; then
        # QEMU's user-mode network: fixed addresses, DNS forwarder at 10.0.2.3
        ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 \
            || log "cannot configure eth0"
        if [ -d /etc ]; then
            rm -f /etc/resolv.conf && echo "nameserver 10.0.2.3" > /etc/resolv.conf
        fi
    fi
}

# Starts davit-agent (from the initrd, which init copied into $R) on the ports davit.exec.N: commands go to it
# (docs/reference/AGENT.md), and it is started again if it ends. Without the agent's port or stdio (3, 4); its
# messages go to the console.
exec_agent() {
    [ -x $R/davit-agent ] || return 0
    (while :; do $R/davit-agent serve --port davit.exec; sleep 1; done) </dev/null >/dev/null 2>/dev/console 3<&- 4>&- &
}

# The device of the virtio-serial port named davit.agent, waiting up to 10 s for it to appear.
find_port() {
    i=0
    while [ $i -lt 200 ]; do
        for d in /sys/class/virtio-ports/*; do
            if [ -r "$d/name" ] && [ "$(cat "$d/name")" = davit.agent ]; then
                PORT=/dev/${d##*/}
                [ -c "$PORT" ] && return 0
            fi
        done
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

# Decodes one field (base64, or - for the empty string) into D; fails on invalid base64.
dec() {
    if [ "$1" = - ]; then
        D=
        return 0
    fi
    D=$(printf '%s' "$1" | base64 -d 2>/dev/null && echo .) || return 1
    case $D in
    *.) D=${D%.} ;;
    *) return 1 ;;
    esac
}

# Encodes a string as one field.
enc() {
    if [ -z "$1" ]; then
        printf -
    else
        printf '%s' "$1" | base64 -w 0
    fi
}

reply() {
    printf '%s\n' "$*" >&4
}

fail() { # fail ID CODE MESSAGE
    reply "error $1 $2 $(enc "$3")"
}

isnum() {
    case $1 in
    '' | *[!0-9]*) return 1 ;;
    esac
    return 0
}

# Resolves command $1 with the search path $2 as execvp does (relative entries are relative to $3, the working
# directory): X is the first executable regular file, else the first that exists (exec then fails: 126).
resolve() {
    case $1 in
    */*) X=$1; return 0 ;;
    '') return 1 ;;
    esac
    X=
    old=$IFS
    IFS=:
    for d in $2; do
        IFS=$old
        case $d in
        '') d=$3 ;;
        /*) ;;
        *) d=$3/$d ;;
        esac
        if [ -f "$d/$1" ] && [ -x "$d/$1" ]; then
            X=$d/$1
            return 0
        fi
        if [ -z "$X" ] && [ -e "$d/$1" ] && [ ! -d "$d/$1" ]; then
            X=$d/$1
        fi
    done
    IFS=$old
    [ -n "$X" ]
}

# Whether $1 consists only of single-quoted strings, \' and spaces: then eval can only split it into literal
# words (no expansion, no command), and cannot fail on a syntax error (which would end the agent).
literal_words() {
    rest=$1
    q="'"
    while [ -n "$rest" ]; do
        case $rest in
        "$q"*)
            rest=${rest#"$q"}
            case $rest in
            *"$q"*) rest=${rest#*"$q"} ;;
            *) return 1 ;;
            esac
            ;;
        "\\$q"*) rest=${rest#??} ;;
        " "*) rest=${rest# } ;;
        *) return 1 ;;
        esac
    done
    return 0
}

# Decodes WORDS field $5 of request $1 (verb $2) into D and checks it holds 1 + $3 + $4 literal words (see run);
# answers the refusal itself and fails. The caller then takes them apart with eval "set -- $D".
words() {
    if ! dec "$5" || ! literal_words "$D"; then
        fail "$1" request "malformed words in the $2 request"
        return 1
    fi
    n=$((1 + $3 + $4))
    eval "set -- $D"
    if [ $# -ne $n ]; then
        fail "$1" request "the request has $# words, not $n"
        return 1
    fi
}

# run ID TIMEOUT_MS NENV NARGV WORDS: WORDS decodes to the working directory, NENV K=V entries and NARGV
# arguments as single-quoted shell words, so one decoding and one eval take them all apart.
run() {
    id=$2
    tmo=$3
    nenv=$4
    nargv=$5
    if [ $# -ne 6 ] || ! isnum "$tmo" || ! isnum "$nenv" || ! isnum "$nargv" || [ "$nargv" -lt 1 ]; then
        fail "$id" request "malformed run request"
        return
    fi
    words "$id" run "$nenv" "$nargv" "$6" || return
    eval "set -- $D"
    wd=$1
    shift
    path=
    i=0
    for a in "$@"; do
        [ $i -lt "$nenv" ] || break
        case $a in
        PATH=*) path=${a#PATH=} ;;
        esac
        i=$((i + 1))
    done
    eval "a0=\${$((nenv + 1))}"
    if [ ! -d "$wd" ]; then
        fail "$id" workdir "the working directory $wd does not exist"
        return
    fi
    if ! resolve "$a0" "$path" "$wd"; then
        : >$R/out
        printf '%s: command not found\n' "$a0" >$R/err
        send_output "$id" 127 0
        return
    fi
    # put the resolved path in place of argv[0]: each pass moves the first word to the end
    n=$#
    i=0
    while [ $i -lt $n ]; do
        a=$1
        shift
        [ $i -eq "$nenv" ] && a=$X
        set -- "$@" "$a"
        i=$((i + 1))
    done
    rm -f $R/out $R/err $R/timedout
    # the command gets a session (and process group) of its own, so a timeout kills all of it
    # without the agent's port or stdio (3 and 4): what it leaves behind must not hold the connection open
    (cd "$wd" && exec $B setsid $B env -i "$@") </dev/null >$R/out 2>$R/err 3<&- 4>&- &
    pid=$!
    dog=
    if [ "$tmo" -gt 0 ]; then
        secs=$((tmo / 1000)).$(printf %03d $((tmo % 1000)))
        # the mark is made before the kill: the agent's wait returns only after the kill
        $B setsid $B sh -c 'sleep "$1"; : > "$3"; kill -KILL -"$2" || kill -KILL "$2"' \
            sh "$secs" "$pid" $R/timedout </dev/null >/dev/null 2>&1 3<&- 4>&- &
        dog=$!
    fi
    wait $pid
    rc=$?
    if [ -n "$dog" ]; then
        # its session, or only itself when it has not made one yet
        kill -KILL -$dog 2>/dev/null || kill -KILL $dog 2>/dev/null
        wait $dog 2>/dev/null
    fi
    to=0
    if [ -e $R/timedout ]; then
        rc=124
        to=1
    fi
    send_output "$id" "$rc" "$to"
}

# Answers ran ID CODE TIMED_OUT OUTSIZE ERRSIZE, then the bytes of $R/out and $R/err, exactly as many as announced
# (a process the command left may still be writing to them).
send_output() {
    o=$(stat -c %s $R/out)
    e=$(stat -c %s $R/err)
    reply "ran $1 $2 $3 $o $e"
    [ "$o" -gt 0 ] && dd if=$R/out bs=65536 count="$o" iflag=count_bytes 2>/dev/null >&4
    [ "$e" -gt 0 ] && dd if=$R/err bs=65536 count="$e" iflag=count_bytes 2>/dev/null >&4
    rm -f $R/out $R/err $R/timedout
}

# The file verbs: every path is an absolute guest path in a data field, without . or .. components, and no
# component of it may be a symbolic link (the last one may, for rm and mv, which act on the link itself): a link a
# command left in /workspace cannot lead a file verb elsewhere. Bulk bytes travel raw on the port, announced by
# their length: the host's after a put line, the agent's after a data answer.

# Decodes path field $2 of request $1 into P, checking it as above ($3: 1 when the last component may be a link);
# answers the refusal itself and fails.
guest_path() {
    if ! dec "$2" || [ -z "$D" ]; then
        fail "$1" request "malformed path"
        return 1
    fi
    P=$D
    case $P in
    /*) ;;
    *) fail "$1" path "$P is not an absolute path"; return 1 ;;
    esac
    case $P/ in
    */./* | */../*) fail "$1" path "$P has a . or .. component"; return 1 ;;
    esac
    rest=${P#/}
    p=
    while [ -n "$rest" ]; do
        c=${rest%%/*}
        case $rest in
        */*) rest=${rest#*/} ;;
        *) rest= ;;
        esac
        p=$p/$c
        if [ -L "$p" ] && { [ -n "$rest" ] || [ "$3" != 1 ]; }; then
            fail "$1" path "$p is a symbolic link"
            return 1
        fi
    done
}

# Copies exactly $1 bytes of the port to stdout (dd reads no further; head and cat would).
from_port() {
    dd bs=65536 count="$1" iflag=count_bytes,fullblock 2>/dev/null <&3
}

# Answers data ID TOTAL SIZE, then the SIZE bytes of file $3 ($2: TOTAL).
send_file() {
    size=$(stat -c %s "$3")
    reply "data $1 $2 $size"
    cat "$3" >&4
}

# put ID DIR SIZE, then SIZE bytes of a tar: extracted into DIR (made when missing), owners not taken from it.
# The bytes are read whole even when the request is refused, so the next line is a request again.
v_put() {
    if [ $# -ne 4 ] || ! isnum "$4"; then
        fail "${2:--}" request "malformed put request"
        return
    fi
    if ! guest_path "$2" "$3" 0 2>/dev/null; then
        from_port "$4" >/dev/null
        return
    fi
    mkdir -p "$P" 2>$R/err
    if from_port "$4" | { tar -x -o -f - -C "$P" 2>>$R/err; rc=$?; cat >/dev/null; exit $rc; }; then
        reply "done $2"
    else
        fail "$2" failed "cannot extract into $P: $(head -c 300 $R/err)"
    fi
}

# get ID DIR: answers data ID SIZE SIZE, then a tar of DIR's content (entries ./...).
v_get() {
    [ $# -eq 3 ] || { fail "${2:--}" request "malformed get request"; return; }
    guest_path "$2" "$3" 0 || return
    [ -d "$P" ] || { fail "$2" missing "no directory $P"; return; }
    if tar -c -f $XF -C "$P" . 2>$R/err; then
        send_file "$2" "$(stat -c %s $XF)" $XF
    else
        fail "$2" failed "cannot archive $P: $(head -c 300 $R/err)"
    fi
    rm -f $XF
}

# read ID PATH MAX: answers data ID TOTAL SIZE, then the first SIZE bytes of regular file PATH (MAX 0: all).
v_read() {
    if [ $# -ne 4 ] || ! isnum "$4"; then
        fail "${2:--}" request "malformed read request"
        return
    fi
    guest_path "$2" "$3" 0 || return
    [ -e "$P" ] || { fail "$2" missing "no file $P"; return; }
    [ -f "$P" ] || { fail "$2" notfile "$P is not a regular file"; return; }
    total=$(stat -c %s "$P")
    # a copy first: the file may change while it is sent, the announced length may not
    if [ "$4" -gt 0 ]; then
        dd if="$P" of=$XF bs=65536 count="$4" iflag=count_bytes 2>$R/err
    else
        cp "$P" $XF 2>$R/err
    fi || { fail "$2" failed "cannot read $P: $(head -c 300 $R/err)"; rm -f $XF; return; }
    send_file "$2" "$total" $XF
    rm -f $XF
}

# rm ID PATH...: removes each path (a directory with all it holds, a link itself); a missing one is no error.
v_rm() {
    id=$2
    shift 2
    for f in "$@"; do
        guest_path "$id" "$f" 1 || return
        set -- "$@" "$P"
    done
    n=$(($# / 2))
    shift $n
    rm -rf "$@" 2>$R/err || { fail "$id" failed "cannot remove: $(head -c 300 $R/err)"; return; }
    reply "done $id"
}

# mv ID FROM TO: renames FROM to TO, making TO's missing parents (0755); an existing TO is replaced: a file or
# link atomically, a directory (removed first) only by a directory (else: isdir).
v_mv() {
    [ $# -eq 4 ] || { fail "${2:--}" request "malformed mv request"; return; }
    guest_path "$2" "$3" 1 || return
    from=$P
    guest_path "$2" "$4" 1 || return
    { [ -e "$from" ] || [ -L "$from" ]; } || { fail "$2" missing "no $from"; return; }
    if [ -d "$P" ] && [ ! -L "$P" ]; then
        if [ -L "$from" ] || [ ! -d "$from" ]; then
            fail "$2" isdir "$P is a directory"
            return
        fi
        rm -rf "$P"
    fi
    if mkdir -p "${P%/*}/" 2>$R/err && mv -f -T "$from" "$P" 2>>$R/err; then
        reply "done $2"
    else
        fail "$2" failed "cannot rename $from to $P: $(head -c 300 $R/err)"
    fi
}

# swap ID DIR NEW OLD: makes directory NEW the new DIR by two renames (DIR to OLD, NEW to DIR), each side of them
# flushed to the disk, then removes OLD: a crash leaves DIR old or new (or, between the renames, only OLD: the
# next swap moves it back first).
v_swap() {
    [ $# -eq 5 ] || { fail "${2:--}" request "malformed swap request"; return; }
    guest_path "$2" "$3" 0 || return
    dir=$P
    guest_path "$2" "$4" 0 || return
    new=$P
    guest_path "$2" "$5" 0 || return
    old=$P
    [ -d "$new" ] || { fail "$2" missing "no directory $new"; return; }
    if [ ! -e "$dir" ] && [ ! -L "$dir" ] && [ -d "$old" ]; then
        mv -T "$old" "$dir"
    fi
    rm -rf "$old"
    sync
    if { [ ! -e "$dir" ] && [ ! -L "$dir" ]; } || mv -T "$dir" "$old" 2>$R/err; then
        if mv -T "$new" "$dir" 2>>$R/err; then
            sync
            rm -rf "$old"
            reply "done $2"
            return
        fi
        mv -T "$old" "$dir"
    fi
    fail "$2" failed "cannot swap $new into $dir: $(head -c 300 $R/err)"
}

# Detached processes (services, shells): each has a directory DIR in the guest holding pid (the command's pid, which
# leads its own session and process group), boot (the boot id when it started), output (stdout and stderr, without
# a terminal) and, once it ended, exit (its exit code). The holder, in a session of its own, runs the command in the
# foreground (an "&" of a non-interactive shell would make it ignore SIGINT, so Ctrl-C could not reach it) and
# writes exit. With a terminal TTY (a /dev/hvcN virtio console) the command's session gets it as its controlling
# terminal.

# spawn ID DIR TTY NENV NARGV WORDS: WORDS as for run; TTY - or a console's device path. Answers started ID PID
# once the command runs (PID 0: it was not seen within 5 s).
v_spawn() {
    if [ $# -ne 7 ] || ! isnum "$5" || ! isnum "$6" || [ "$6" -lt 1 ]; then
        fail "${2:--}" request "malformed spawn request"
        return
    fi
    id=$2
    nenv=$5
    nargv=$6
    w=$7
    guest_path "$id" "$3" 0 || return
    dir=$P
    tty=-
    if [ "$4" != - ]; then
        dec "$4" || { fail "$id" request "malformed terminal"; return; }
        case $D in
        /dev/hvc[0-9] | /dev/hvc[0-9][0-9]) ;;
        *) fail "$id" request "$D is not a virtio console"; return ;;
        esac
        [ -c "$D" ] || { fail "$id" missing "no console $D"; return; }
        tty=$D
    fi
    words "$id" spawn "$nenv" "$nargv" "$w" || return
    eval "set -- $D"
    wd=$1
    shift
    [ -d "$wd" ] || { fail "$id" workdir "the working directory $wd does not exist"; return; }
    rm -rf "$dir" && mkdir -p "$dir" || { fail "$id" failed "cannot make $dir"; return; }
    # the first setsid makes a session leader, so the second forks (its parent returns at once) and the holder
    # goes on in a session of its own, without the agent's port or stdio (3 and 4): a holder that kept them would
    # keep the agent's connection open after the agent ended
    (cd "$wd" && exec $B setsid $B setsid $B sh "$AGENT" holder "$dir" "$tty" "$@") </dev/null >/dev/null 2>&1 3<&- 4>&-
    i=0
    while [ ! -s "$dir/pid" ] && [ $i -lt 500 ]; do
        sleep 0.01
        i=$((i + 1))
    done
    p=$(cat "$dir/pid" 2>/dev/null)
    isnum "$p" || p=0
    reply "started $id $p"
}

# The holder (sh agent holder DIR TTY ENV... ARGV...).
holder() {
    d=$2
    t=$3
    shift 3
    cat /proc/sys/kernel/random/boot_id >"$d/boot"
    if [ "$t" = - ]; then
        sh -c 'echo $$ >"$0/pid.tmp" && mv "$0/pid.tmp" "$0/pid" && exec setsid env -i "$@"' "$d" "$@" \
            </dev/null >>"$d/output" 2>&1
    else
        echo "$t" >"$d/tty"
        sh -c 'echo $$ >"$0/pid.tmp" && mv "$0/pid.tmp" "$0/pid" && exec setsid -c env -i "$@"' "$d" "$@" \
            <"$t" >"$t" 2>&1
    fi
    echo $? >"$d/exit.tmp" && mv -f "$d/exit.tmp" "$d/exit"
}

# The helpers the host runs (with run) as: sh agent proc VERB ARGS. Each prints one line.
# Whether the process of DIR runs: running, ended CODE, or gone (not seen, or started before the last boot).
p_status() {
    if [ -e "$1/exit" ]; then
        echo "ended $(cat "$1/exit")"
    elif [ -s "$1/pid" ] && [ "$(cat "$1/boot" 2>/dev/null)" = "$(cat /proc/sys/kernel/random/boot_id)" ]; then
        echo running
    else
        echo gone
    fi
}

# The pids of the processes in session $1 (those of the command that did not leave it).
session() {
    for f in /proc/[0-9]*/stat; do
        read -r l 2>/dev/null <"$f" || continue
        set -- ${l##*) }
        [ "$4" = "$S" ] && { p=${f#/proc/}; echo "${p%/stat}"; }
    done
}

# signal DIR SIG FG: SIG to the command's process group and session, or with FG 1 to the foreground process group
# of its terminal. Prints sent or none.
p_signal() {
    [ "$(p_status "$1")" = running ] || { echo none; return; }
    S=$(cat "$1/pid")
    if [ "$3" = 1 ]; then
        read -r l 2>/dev/null <"/proc/$S/stat" || { echo none; return; }
        set -- "$2" ${l##*) }
        [ "$7" -gt 0 ] 2>/dev/null && kill -s "$1" "-$7" 2>/dev/null && { echo sent; return; }
        echo none
        return
    fi
    targets="-$S $(session)"
    # shellcheck disable=SC2086
    kill -s "$2" $targets 2>/dev/null
    echo sent
}

# stop DIR GRACE_S: TERM (and HUP on a terminal, which an interactive shell heeds), then KILL once GRACE_S
# seconds passed, to the group and session; waits for exit.
p_stop() {
    [ "$(p_status "$1")" = running ] || { p_status "$1"; return; }
    S=$(cat "$1/pid")
    p_signal "$1" TERM 0 >/dev/null
    [ -e "$1/tty" ] && p_signal "$1" HUP 0 >/dev/null
    i=0
    while [ $i -lt $(($2 * 20)) ] && [ -n "$(session)" ]; do
        sleep 0.05
        i=$((i + 1))
    done
    p_signal "$1" KILL 0 >/dev/null
    i=0
    while [ $i -lt 100 ] && [ ! -e "$1/exit" ]; do
        sleep 0.05
        i=$((i + 1))
    done
    p_status "$1"
}

# consoles: the virtio consoles some process holds open.
p_consoles() {
    ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -o '/dev/hvc[0-9]*' | sort -u | tr '\n' ' '
    echo
}

proc() {
    PATH=$R/bin
    case $2 in
    status) p_status "$3" ;;
    signal) p_signal "$3" "$4" "$5" ;;
    stop) p_stop "$3" "$4" ;;
    consoles) p_consoles ;;
    # everything but PID 1 (the agent) and this helper; davit-agent (a VM's) started again
    killall) kill -s KILL -1; exec_agent; echo killed ;;
    *) echo "unknown helper $2" >&2; return 2 ;;
    esac
}

handle() {
    case $1 in
    ping) reply "pong $2" ;;
    sync) sync; reply "synced $2" ;;
    run) run "$@" ;;
    put) v_put "$@" ;;
    get) v_get "$@" ;;
    read) v_read "$@" ;;
    rm) v_rm "$@" ;;
    mv) v_mv "$@" ;;
    swap) v_swap "$@" ;;
    spawn) v_spawn "$@" ;;
    '') ;;
    *) fail "${2:--}" request "unknown request '$1'" ;;
    esac
}

# A Kubernetes pod's side (the k8s backend): the agent is not PID 1 of a VM but comes in through the pod's exec
# streams, with no mounts to make (the pod has no capabilities) and /.davit/run on the pod's own emptyDir.
#   pod                      PID 1 of the sandbox container: reaps what execs leave, ends on TERM
#   stdio                    requests read from stdin, each answered on stdout as on the port, until EOF
#   xrun TOKEN [-i] WD ENV.. -- ARGV..  an exec: records its pid as $R/x/TOKEN, enters WD, clears the environment;
#                            -i: its standard input comes framed (see below)
#   xkill TOKEN              kills the exec of TOKEN and everything it started
pod_setup() {
    umask 022
    $B mkdir -p $R/bin $R/x
    [ -e $R/bin/sh ] || $B --install -s $R/bin
}

xrun() {
    t=$2
    shift 2
    framed=
    if [ "$1" = -i ]; then
        framed=1
        shift
    fi
    wd=$1
    shift
    echo $$ >$R/x/$t
    in=/dev/null
    feeder=
    if [ -n "$framed" ]; then
        # the exec stream cannot say where the input ends, so davit frames it: a line with a length, then that many
        # bytes, and 0 at the end; unframed into a fifo that is the command's standard input
        in=$R/x/$t.in
        $B rm -f "$in" && $B mkfifo -m 600 "$in" || { echo "davit: cannot make $in" >&2; exit 125; }
        exec 5<&0
        (
            while IFS= read -r n && isnum "$n" && [ "$n" -gt 0 ]; do
                $B dd bs=65536 count="$n" iflag=count_bytes,fullblock 2>/dev/null || break
            done >"$in"
        ) <&5 >/dev/null 2>&1 & # <&5: a background list's input is /dev/null unless redirected (<&0 is not enough)
        feeder=$!
        exec 5<&-
    fi
    # the environment is cleared (env -i): what the exec gets is exactly what davit sends, before the --
    n=0
    for a in "$@"; do
        [ "$a" = -- ] && break
        n=$((n + 1))
    done
    i=0
    while [ $i -lt $n ]; do
        i=$((i + 1))
        eval "e$i=\$1"
        shift
    done
    shift # the --
    # rebuild "$@" as ENV... ARGV... for env -i
    while [ $i -gt 0 ]; do
        eval "set -- \"\$e$i\" \"\$@\""
        i=$((i - 1))
    done
    # The command writes into two fifos that cat copies to the exec's streams: the exec ends when the command does,
    # not when the last process it left in the background closes its output (those write on into drains).
    o=$R/x/$t.o
    e=$R/x/$t.e
    $B rm -f "$o" "$e" && $B mkfifo -m 600 "$o" "$e" || { echo "davit: cannot make $o" >&2; exit 125; }
    $B cat "$o" &
    co=$!
    $B cat "$e" >&2 &
    ce=$!
    (cd "$wd" 2>/dev/null || { echo "davit: the working directory $wd does not exist"; exit 125; } >&2
        exec $B env -i "$@") <"$in" >"$o" 2>"$e" &
    pid=$!
    wait $pid
    rc=$?
    # what the command wrote is copied within a second; what it left behind writes on into a drain
    i=0
    while [ $i -lt 20 ] && { kill -0 $co 2>/dev/null || kill -0 $ce 2>/dev/null; }; do
        $B sleep 0.05
        i=$((i + 1))
    done
    for c in "$co:$o" "$ce:$e"; do
        if kill -0 "${c%%:*}" 2>/dev/null; then
            $B cat "${c#*:}" </dev/null >/dev/null 2>&1 &
            kill "${c%%:*}" 2>/dev/null
        fi
    done
    [ -n "$feeder" ] && kill "$feeder" 2>/dev/null
    $B rm -f "$o" "$e" $R/x/$t
    [ -n "$framed" ] && $B rm -f "$in"
    exit $rc
}

# Kills the exec of token $2 and every process below it: each found is stopped at once (so it forks no more),
# the tree followed by /proc's parent links until it grows no more, then all are killed.
xkill() {
    f=$R/x/$2
    [ -s "$f" ] || exit 0
    p=$(cat "$f")
    isnum "$p" || exit 0
    kill -STOP "$p" 2>/dev/null
    found=" $p "
    grew=1
    while [ $grew = 1 ]; do
        grew=0
        for st in /proc/[0-9]*/stat; do
            read -r line <"$st" 2>/dev/null || continue
            pid=${line%% *}
            # shellcheck disable=SC2086 # the fields after the command's name
            set -- ${line##*) }
            case $found in
            *" $pid "*) ;;
            *" $2 "*) kill -STOP "$pid" 2>/dev/null; found="$found$pid "; grew=1 ;;
            esac
        done
    done
    # shellcheck disable=SC2086
    kill -KILL $found 2>/dev/null
    rm -f "$f"
}

case $1 in
holder) holder "$@"; exit ;;
proc) proc "$@"; exit ;;
pod)
    pod_setup
    # the start mark: what has a ctime from here on was written in this pod (the k8s backend saves it on a stop)
    : >$R/started
    trap 'exit 0' TERM INT
    # wait returns for any child: reaps what execs left behind (they are reparented to PID 1)
    while :; do
        $B sleep 3600 &
        wait
    done
    ;;
stdio)
    pod_setup 2>/dev/null
    PATH=$R/bin
    exec 3<&0 4>&1 1>&2
    set -f
    while IFS= read -r line <&3; do
        # shellcheck disable=SC2086 # fields are split on spaces on purpose
        handle $line
    done
    exit
    ;;
xrun) pod_setup 2>/dev/null; xrun "$@" ;;
xkill) pod_setup 2>/dev/null; PATH=$R/bin; xkill "$@"; exit ;;
esac
setup
if ! find_port; then
    log "no virtio-serial port named davit.agent; start QEMU with -device virtserialport,name=davit.agent"
    exec $B poweroff -f
fi
exec 3<>"$PORT" 4>&3
log "ready on $PORT"
set -f
idle=0
while :; do
    if IFS= read -r line <&3; then
        # shellcheck disable=SC2086 # fields are split on spaces on purpose
        handle $line
        idle=0
    elif [ $idle -lt 100 ]; then
        # no host is connected (a virtio-serial read then returns at once): poll, fast at first
        sleep 0.02
        idle=$((idle + 1))
    else
        sleep 0.2
    fi
done
