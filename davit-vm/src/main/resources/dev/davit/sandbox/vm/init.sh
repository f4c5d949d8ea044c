#!/bin/busybox sh
# davit initrd init: loads the kernel modules listed in /modules/order (virtio transports, block, console and
# network drivers, ext4 and their dependencies, in dependency order), mounts the root disk read-write and
# switches to it, starting davit-agent (this initrd's) as PID 1.

B=/bin/busybox

fail() {
    echo "davit-init: $*" >&2
    $B sync
    $B poweroff -f
}

$B mkdir -p /proc /sys /dev /newroot
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev

root=/dev/vda
mmio=
for w in $($B cat /proc/cmdline); do
    case $w in
    davit.root=*) root=${w#*=} ;;
    # module parameters on the kernel command line reach only modprobe, not insmod: pass them on
    virtio_mmio.device=*) mmio="$mmio ${w#virtio_mmio.}" ;;
    esac
done

while read -r m; do
    [ -n "$m" ] || continue
    args=
    [ "$m" = virtio_mmio ] && args=$mmio
    # shellcheck disable=SC2086
    $B insmod /modules/$m.ko $args || fail "cannot load the kernel module $m"
done < /modules/order

i=0
while [ ! -b "$root" ]; do
    [ $i -lt 500 ] || fail "no root disk $root after 10 s; attach it as a virtio block device"
    $B sleep 0.02
    i=$((i + 1))
done
$B mount -t ext4 -o rw "$root" /newroot || fail "cannot mount the root disk $root (ext4)"
# davit-agent, davit's program in the guest (docs/reference/AGENT.md), from this initrd: the host's own build,
# whatever the disk holds; on a tmpfs (its /.davit/run), gone with the VM. It is the guest's PID 1 (its init mode).
[ -x /bin/davit-agent ] || fail "this initrd has no davit-agent; boot it with davit, which puts its own in"
# /.davit and its run made here when the disk has none; a link in their place (the disk's to choose) is never
# followed: PID 1 is this initrd's program, whatever the disk holds
D=/newroot/.davit
R=$D/run
[ -e $D ] || [ -L $D ] || $B mkdir $D
[ -e $R ] || [ -L $R ] || $B mkdir $R
{ [ -d $D ] && [ ! -L $D ] && [ -d $R ] && [ ! -L $R ]; } || fail "/.davit or /.davit/run on the root disk is not a directory"
$B mount -t tmpfs -o mode=0700 tmpfs $R && $B cp /bin/davit-agent $R/davit-agent \
    || fail "cannot copy davit-agent into /.davit/run"
$B umount /proc /sys /dev
exec $B switch_root /newroot /.davit/run/davit-agent init
