#!/.davit/busybox sh
# davit guest agent: PID 1 of a davit microVM (started by the initrd's init, or by the kernel as init=).
# It reads requests, one line each, from the virtio-serial port named davit.agent and answers each with one
# line. The protocol is described in docs/SANDBOX.md ("The guest agent"). It uses only the static busybox
# next to it, never the guest's own tools, so any root filesystem works.

B=/.davit/busybox
R=/.davit/run

mounted() {
    $B grep -q " $1 " /proc/mounts
}

log() {
    echo "davit-agent: $*" >&2
}

setup() {
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
    if [ -n "$net" ]; then
        # QEMU's user-mode network: fixed addresses, DNS forwarder at 10.0.2.3
        ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 \
            || log "cannot configure eth0"
        if [ -d /etc ]; then
            rm -f /etc/resolv.conf && echo "nameserver 10.0.2.3" > /etc/resolv.conf
        fi
    fi
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

# Encodes a file's content as one field.
encfile() {
    if [ -s "$1" ]; then
        base64 -w 0 "$1"
    else
        printf -
    fi
}

reply() {
    printf '%s\n' "$*" >&3
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

# run ID TIMEOUT_MS NENV NARGV WORDS: WORDS decodes to the working directory, NENV K=V entries and NARGV
# arguments as single-quoted shell words, so one decoding and one eval take them all apart.
run() {
    id=$2
    tmo=$3
    nenv=$4
    nargv=$5
    if [ $# -ne 6 ] || ! isnum "$tmo" || ! isnum "$nenv" || ! isnum "$nargv" || [ "$nargv" -lt 1 ] \
        || ! dec "$6"; then
        fail "$id" request "malformed run request"
        return
    fi
    if ! literal_words "$D"; then
        fail "$id" request "malformed words in the run request"
        return
    fi
    eval "set -- $D"
    if [ $# -ne $((1 + nenv + nargv)) ]; then
        fail "$id" request "the run request has $# words, not $((1 + nenv + nargv))"
        return
    fi
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
        reply "exit $id 127 0 - $(printf '%s: command not found\n' "$a0" | base64 -w 0)"
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
    (cd "$wd" && exec $B setsid $B env -i "$@") </dev/null >$R/out 2>$R/err &
    pid=$!
    dog=
    if [ "$tmo" -gt 0 ]; then
        secs=$((tmo / 1000)).$(printf %03d $((tmo % 1000)))
        # the mark is made before the kill: the agent's wait returns only after the kill
        $B setsid $B sh -c 'sleep "$1"; : > "$3"; kill -KILL -"$2" || kill -KILL "$2"' \
            sh "$secs" "$pid" $R/timedout </dev/null >/dev/null 2>&1 &
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
    {
        printf 'exit %s %s %s ' "$id" "$rc" "$to"
        encfile $R/out
        printf ' '
        encfile $R/err
        printf '\n'
    } >&3
    rm -f $R/out $R/err $R/timedout
}

handle() {
    case $1 in
    ping) reply "pong $2" ;;
    sync) sync; reply "synced $2" ;;
    run) run "$@" ;;
    '') ;;
    *) fail "${2:--}" request "unknown request '$1'" ;;
    esac
}

setup
if ! find_port; then
    log "no virtio-serial port named davit.agent; start QEMU with -device virtserialport,name=davit.agent"
    exec $B poweroff -f
fi
exec 3<>"$PORT"
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
