#!/bin/bash
# Package test: the .deb in a real Debian 12 LXC container that boots systemd as PID 1.
#
#   t/package/run.sh            (root; Debian 12 host with apt access to its Debian mirror)
#
# What it does:
#   - installs what it needs on the host (scripts/install-deps.sh: lxc, lxc-templates, debootstrap,
#     zstd, apt-utils, dpkg-dev, bc);
#   - builds ../pve-smbgateway_<version>_amd64.deb with 'make deb' when it is missing or older than
#     the sources, and from it a copy with a bumped version (<version>+pkgtest1, same files and
#     maintainer scripts, repacked with dpkg-deb) for the upgrade;
#   - builds stand-in packages of what PVE itself would provide (PVE cannot run here): pve-manager
#     (PVE/API2/Nodes.pm written after the real file's structure, t/lib's stand-ins of the PVE Perl
#     modules, pvedaemon and pveproxy units running t/package/standins/api-daemon) and
#     libpve-storage-perl (t/lib's PVE::Storage stand-ins);
#   - a container root filesystem (debootstrap bookworm, minbase + systemd), cached as a tarball in
#     ${XDG_CACHE_HOME:-/root/.cache}/pve-smbgateway/lxc (delete it to rebuild), and the Debian
#     packages our Depends pull in, resolved by the host's apt against the container's dpkg status
#     and cached beside it as a local apt repository (the container has no network of its own);
#   - in the container (lxc.net: loopback only): apt installs our .deb with its real Debian
#     dependencies, then it checks the file list, 'pve-smbgateway --help', the daemon under the real
#     systemd (start, is-active, reload = SIGHUP with the same PID, metrics on 127.0.0.1:9739), the
#     apply unit, a share created by the CLI (smbd serves it), the API hook (once, perl -T -c, the
#     stand-in pvedaemon/pveproxy reloaded and serving /nodes/{node}/smbgateway), the rollback of a
#     hook that breaks loading, a broken package (bridge library missing) not breaking the API,
#     upgrade, reinstall, a pve-manager upgrade (fresh Nodes.pm: the trigger re-applies the hook),
#     remove, purge (no hook, no units, no generated config, smb.conf restored and the copy of it
#     the gateway carried gone, shares.cfg and the share data kept), a fresh install after the purge, and a purge whose prerm cannot run the hook
#     helper (postrm takes the hook out by itself).
# Everything it starts (the container, its directory) is removed on exit, also on failure.
# Timings of each phase are printed: cold cache about 2 minutes (debootstrap ~70 s), warm 20-60 s
# on 2 cores (plus 'make deb' when the package is stale).
# PKGTEST_DEB=FILE tests that .deb as it is (no staleness check, no 'make deb').
# PKGTEST_KEEP=1 keeps the container (running) and its directory after a failure, for a look.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${XDG_CACHE_HOME:-/root/.cache}/pve-smbgateway/lxc
MIRROR=${PVE_SMBGW_MIRROR:-http://deb.debian.org/debian}
NAME=smbgw-pkg-$$
WORK=
T_START=$(date +%s.%N)
T_PHASE=$T_START

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (lxc, debootstrap)" >&2; exit 1; }

log() { printf '\n=== %s\n' "$*"; }
phase_done() {
    local now; now=$(date +%s.%N)
    printf '    [%s: %.1f s]\n' "$1" "$(echo "$now - $T_PHASE" | bc)"
    TIMINGS+=("$(printf '%-34s %6.1f s' "$1" "$(echo "$now - $T_PHASE" | bc)")")
    T_PHASE=$now
}
TIMINGS=()
PASSED=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; PASSED=$((PASSED + 1)); }

cleanup() {
    local rc=$?
    if [ -n "$WORK" ] && [ "$rc" != 0 ] && [ "${PKGTEST_KEEP:-0}" = 1 ]; then
        echo "kept: lxc-start -P $WORK/lxc -n $NAME; lxc-attach -P $WORK/lxc -n $NAME" >&2
    elif [ -n "$WORK" ]; then
        if lxc-info -P "$WORK/lxc" -n "$NAME" >/dev/null 2>&1; then
            if [ "$rc" != 0 ]; then
                echo "--- container journal (last 40 lines) ---" >&2
                lxc-attach -P "$WORK/lxc" -n "$NAME" -- journalctl --no-pager -n 40 1>&2 2>/dev/null || true
            fi
            lxc-stop -P "$WORK/lxc" -n "$NAME" -k >/dev/null 2>&1 || true
            lxc-destroy -P "$WORK/lxc" -n "$NAME" >/dev/null 2>&1 || true
        fi
        rm -rf "$WORK"
    fi
    [ "$rc" = 0 ] || echo "run.sh: FAILED (exit $rc)" >&2
    # the count make test adds up: each 'ok' line passed, a failure ends the run
    echo "package tier: $PASSED passed, $([ "$rc" = 0 ] && echo 0 || echo 1) failed"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
log "host tools"
# the one list of what any tier needs (lxc, lxc-templates, debootstrap, zstd, apt-utils, dpkg-dev, bc, ...):
# this tier runs alone on a fresh machine
"$ROOT/scripts/install-deps.sh" || fail "scripts/install-deps.sh"
WORK=$(mktemp -d /tmp/smbgw-pkg-XXXXXX)
mkdir -p "$WORK/lxc" "$WORK/local" "$CACHE"
phase_done "host tools"

# ---------------------------------------------------------------------------------------------
log "our package"
VERSION=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
DEB=$(dirname "$ROOT")/pve-smbgateway_${VERSION}_amd64.deb
stale=
if [ -n "${PKGTEST_DEB:-}" ]; then
    DEB=$(realpath "$PKGTEST_DEB")
    VERSION=$(dpkg-deb -f "$DEB" Version)
elif [ ! -f "$DEB" ]; then
    stale="missing"
else
    newer=$(cd "$ROOT" && find Cargo.toml Cargo.lock Makefile crates perl pve-hooks samba-templates systemd debian www \
        -type f -newer "$DEB" ! -path 'debian/pve-smbgateway/*' ! -path 'debian/pve-smbgateway-dbgsym/*' \
        ! -path 'debian/.debhelper/*' ! -path '*/target/*' ! -path 'www/pve-smbgateway.js*' ! -name 'files' ! -name '*.substvars' \
        ! -name '*.debhelper*' ! -name 'debhelper-build-stamp' 2>/dev/null | head -n 3)
    [ -z "$newer" ] || stale="older than $(echo "$newer" | tr '\n' ' ')"
fi
if [ -n "$stale" ]; then
    echo "building $DEB ($stale)"
    (cd "$ROOT" && make deb)
fi
cp "$DEB" "$WORK/local/"
# the upgrade: the same package with a bumped version (files and maintainer scripts unchanged)
V2="${VERSION}+pkgtest1"
dpkg-deb -R "$DEB" "$WORK/v2"
sed -i "s/^Version: .*/Version: $V2/" "$WORK/v2/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -b "$WORK/v2" "$WORK/local/pve-smbgateway_${V2}_amd64.deb" >/dev/null
rm -rf "$WORK/v2"
echo "package: $(basename "$DEB"), upgrade: pve-smbgateway_${V2}_amd64.deb"
phase_done "our package (make deb if stale)"

# ---------------------------------------------------------------------------------------------
log "stand-in packages (pve-manager, libpve-storage-perl)"
S=$ROOT/t/package/standins
# $1 name, $2 version, $3 tree; control fields from the rest
standin_deb() {
    local name=$1 version=$2 tree=$3
    mkdir -p "$tree/DEBIAN"
    cat > "$tree/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: all
Maintainer: pve-smbgateway package test <dev@pve-smbgateway.invalid>
Depends: perl
Description: stand-in for the Proxmox VE package $name (t/package/run.sh)
 Test stand-in only: just enough of $name for the pve-smbgateway package test.
EOF
    dpkg-deb --root-owner-group -Zgzip -b "$tree" "$WORK/local/${name}_${version}_all.deb" >/dev/null
}
# $1 version, $2 build dir: pve-manager with a pristine Nodes.pm
pve_manager_tree() {
    local t=$2 p
    p=$t/usr/share/perl5/PVE
    mkdir -p "$p/API2" "$t/lib/systemd/system" "$t/usr/share/pve-standin"
    for f in "$ROOT"/t/lib/PVE/*.pm; do
        case $(basename "$f") in Storage.pm|APIStandin.pm) continue ;; esac
        install -m 0644 "$f" "$p/"
    done
    install -m 0644 "$S/Nodes.pm" "$p/API2/Nodes.pm"
    install -m 0644 "$S/StandinTasks.pm" "$p/API2/StandinTasks.pm"
    install -m 0755 "$S/api-daemon" "$t/usr/share/pve-standin/api-daemon"
    for d in pvedaemon pveproxy; do
        cat > "$t/lib/systemd/system/$d.service" <<EOF
[Unit]
Description=stand-in $d (pve-smbgateway package test)

[Service]
ExecStart=/usr/share/pve-standin/api-daemon $d
ExecReload=/bin/kill -HUP \$MAINPID

[Install]
WantedBy=multi-user.target
EOF
    done
    mkdir -p "$t/DEBIAN"
    # like the real one: /etc/pve exists, the API daemons run; and what pmxcfs (pve-cluster) would
    # show there: /etc/pve/priv/lock (the gateway's cluster lock lives there)
    cat > "$t/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
mkdir -p /etc/pve/priv/lock
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable pvedaemon.service pveproxy.service >/dev/null 2>&1
    deb-systemd-invoke reload-or-restart pvedaemon.service pveproxy.service
fi
EOF
    chmod 0755 "$t/DEBIAN/postinst"
    standin_deb pve-manager "$1" "$t"
}
pve_manager_tree 9.0.0-standin1 "$WORK/pm1"
pve_manager_tree 9.0.0-standin2 "$WORK/pm2"
mkdir -p "$WORK/later"
mv "$WORK/local/pve-manager_9.0.0-standin2_all.deb" "$WORK/later/"
mkdir -p "$WORK/ls/usr/share/perl5/PVE/Storage"
install -m 0644 "$ROOT/t/lib/PVE/Storage.pm" "$WORK/ls/usr/share/perl5/PVE/"
install -m 0644 "$ROOT"/t/lib/PVE/Storage/*.pm "$WORK/ls/usr/share/perl5/PVE/Storage/"
standin_deb libpve-storage-perl 9.0.0-standin1 "$WORK/ls"
rm -rf "$WORK/pm1" "$WORK/pm2" "$WORK/ls"
ls "$WORK/local"
phase_done "stand-in packages"

# ---------------------------------------------------------------------------------------------
log "container root filesystem (cache: $CACHE)"
INCLUDE=systemd,systemd-sysv,dbus,procps,iproute2,ca-certificates
KEY=$(echo "bookworm minbase $INCLUDE $MIRROR v1" | sha256sum | cut -c1-12)
TARBALL=$CACHE/rootfs-bookworm-$KEY.tar.zst
ROOTFS=$WORK/lxc/$NAME/rootfs
mkdir -p "$ROOTFS"
if [ ! -f "$TARBALL" ]; then
    echo "building $TARBALL (debootstrap, about a minute)"
    debootstrap --variant=minbase --include="$INCLUDE" bookworm "$WORK/bootstrap" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
    rm -f "$WORK"/bootstrap/var/cache/apt/archives/*.deb
    tar -C "$WORK/bootstrap" --numeric-owner -cf - . | zstd -q -T0 -o "$TARBALL.tmp"
    mv "$TARBALL.tmp" "$TARBALL"
    rm -rf "$WORK/bootstrap"
fi
zstd -q -dc "$TARBALL" | tar -C "$ROOTFS" --numeric-owner -xf -
phase_done "root filesystem"

# ---------------------------------------------------------------------------------------------
log "Debian dependencies: resolved on the host against the container's dpkg status"
DEBS=$CACHE/pkgtest-debs
mkdir -p "$DEBS/partial"
aptdl() {
    apt-get -q -y --download-only --no-install-recommends \
        -o Dir::State::status="$ROOTFS/var/lib/dpkg/status" \
        -o Dir::Cache::archives="$DEBS" -o Debug::NoLocking=1 \
        -o APT::Get::AllowUnauthenticated=false \
        install "$WORK/local/pve-smbgateway_${VERSION}_amd64.deb" \
        "$WORK/local/pve-manager_9.0.0-standin1_all.deb" \
        "$WORK/local/libpve-storage-perl_9.0.0-standin1_all.deb" smbclient
}
if ! aptdl >"$WORK/aptdl.log" 2>&1; then
    echo "(apt-get update on the host, then again)"
    apt-get -q update >/dev/null
    aptdl >"$WORK/aptdl.log" 2>&1 || { cat "$WORK/aptdl.log" >&2; fail "resolving the dependencies"; }
fi
rm -f "$DEBS"/pve-smbgateway_*.deb "$DEBS"/pve-manager_*.deb "$DEBS"/libpve-storage-perl_*.deb
(cd "$DEBS" && apt-ftparchive packages . > Packages 2>/dev/null)
(cd "$WORK/local" && apt-ftparchive packages . > Packages 2>/dev/null)
echo "$(ls "$DEBS"/*.deb | wc -l) Debian packages in the local repository"
phase_done "dependencies"

# ---------------------------------------------------------------------------------------------
log "container $NAME: boot systemd"
cat > "$WORK/lxc/$NAME/config" <<EOF
lxc.include = /usr/share/lxc/config/debian.common.conf
lxc.arch = amd64
lxc.uts.name = $NAME
lxc.rootfs.path = dir:$ROOTFS
lxc.net.0.type = empty
lxc.apparmor.profile = unconfined
lxc.mount.entry = $DEBS srv/debian none bind,ro,create=dir 0 0
lxc.mount.entry = $WORK/local srv/local none bind,ro,create=dir 0 0
EOF
echo "$NAME" > "$ROOTFS/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$NAME" > "$ROOTFS/etc/hosts"
cat > "$ROOTFS/etc/apt/sources.list" <<'EOF'
deb [trusted=yes] file:/srv/debian ./
deb [trusted=yes] file:/srv/local ./
EOF
rm -f "$ROOTFS"/etc/apt/sources.list.d/*
# dpkg without fsync (a throw-away root: much faster unpacking here)
echo force-unsafe-io > "$ROOTFS/etc/dpkg/dpkg.cfg.d/pkgtest-unsafe-io"
# nmbd (NetBIOS names) waits 90 s for a network interface the container does not have
ln -sf /dev/null "$ROOTFS/etc/systemd/system/nmbd.service"
# nothing in the container waits for a network it does not have
ln -sf /dev/null "$ROOTFS/etc/systemd/system/systemd-networkd-wait-online.service"
lxc-start -P "$WORK/lxc" -n "$NAME" -d -l ERROR -o "$WORK/lxc.log" || { cat "$WORK/lxc.log" >&2; fail "lxc-start"; }
ct() { lxc-attach -P "$WORK/lxc" -n "$NAME" --clear-env \
    --set-var PATH=/usr/sbin:/usr/bin:/sbin:/bin --set-var DEBIAN_FRONTEND=noninteractive \
    --set-var LC_ALL=C.UTF-8 -- "$@"; }
state=
for _ in $(seq 1 120); do
    state=$(ct systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) break ;; esac
    sleep 0.5
done
case $state in running|degraded) ;; *) fail "systemd in the container: '$state'" ;; esac
[ "$(ct ps -o comm= -p 1)" = systemd ] || fail "PID 1 is not systemd"
ok "systemd is PID 1 in the container ($state)"
phase_done "container boot"

# ---------------------------------------------------------------------------------------------
# helpers run in the container
hooks() { ct sh -c 'grep -c "^# BEGIN pve-smbgateway API hook" /usr/share/perl5/PVE/API2/Nodes.pm || true'; }
standin_last() { ct sh -c "tail -n 1 /run/pve-standin/$1.log 2>/dev/null || true"; }
standin_loads() { ct sh -c "wc -l < /run/pve-standin/$1.log 2>/dev/null || echo 0"; }
metrics() { ct perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:9739", Timeout => 5) or die "connect: $!\n";
    print $s "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    local $/; print <$s>;'; }
wait_active() {
    local unit=$1 s
    for _ in $(seq 1 40); do
        s=$(ct systemctl is-active "$unit" 2>/dev/null || true)
        [ "$s" = active ] && return 0
        sleep 0.25
    done
    ct systemctl status --no-pager "$unit" >&2 || true
    fail "$unit is '$s'"
}
# both stand-in API daemons: loaded again since $2 loads, now serving $1 at /nodes/{node}/smbgateway
expect_api() {
    local want=$1 before_d=$2 before_p=$3 last
    for _ in $(seq 1 40); do
        if [ "$(standin_loads pvedaemon)" -gt "$before_d" ] && [ "$(standin_loads pveproxy)" -gt "$before_p" ]; then
            break
        fi
        sleep 0.25
    done
    for d in pvedaemon pveproxy; do
        last=$(standin_last $d)
        [ "$(echo "$last" | awk '{print $2}')" = "$want" ] || fail "$d after reload: '$last' (want $want)"
    done
    ok "pvedaemon and pveproxy reloaded; /nodes/{node}/smbgateway -> $want"
}
check_hook_once() {
    [ "$(hooks)" = 1 ] || fail "hook present $(hooks) times (want 1)"
    ct perl -T -c /usr/share/perl5/PVE/API2/Nodes.pm >/dev/null 2>&1 || fail "perl -T -c of the patched Nodes.pm"
    ct /usr/share/pve-smbgateway/api-hook check >/dev/null 2>&1 || fail "api-hook check"
    ok "API hook present once, perl -T -c passes, api-hook check: $1"
}

# ---------------------------------------------------------------------------------------------
log "install with apt (our .deb + its Debian dependencies + stand-ins)"
ct apt-get -q update >/dev/null
ct apt-get -q -y install --no-install-recommends "/srv/local/pve-smbgateway_${VERSION}_amd64.deb" \
    >"$WORK/install.log" 2>&1 || { tail -40 "$WORK/install.log" >&2; fail "apt-get install"; }
grep -E '^(Setting up|pve-smbgateway api-hook)' "$WORK/install.log" | grep -E 'pve-|api-hook|samba |smbclient' || true
[ "$(ct dpkg-query -W -f '${Status} ${Version}' pve-smbgateway)" = "install ok installed $VERSION" ] \
    || fail "pve-smbgateway not installed"
ok "apt installed pve-smbgateway $VERSION with $(grep -c '^Setting up' "$WORK/install.log") packages"
phase_done "apt install"

log "installed files"
ct dpkg -L pve-smbgateway > "$WORK/files"
VENDORARCH=$(ct perl -MConfig -e 'print $Config{vendorarch}')
for f in /usr/sbin/pve-smbgateway /usr/sbin/pve-smbgatewayd \
    /lib/systemd/system/pve-smbgatewayd.service /lib/systemd/system/pve-smbgateway-apply.service \
    /usr/share/perl5/PVE/RS/SMBGateway.pm /usr/share/perl5/PVE/API2/SMBGateway.pm \
    /usr/share/perl5/PVE/Storage/Custom/SMBGatewayPlugin.pm \
    "$VENDORARCH/auto/PVE/RS/SMBGateway/SMBGateway.so" \
    /usr/share/pve-smbgateway/api-hook /usr/share/man/man8/pve-smbgateway.8.gz \
    /usr/share/bash-completion/completions/pve-smbgateway; do
    grep -qxF "$f" "$WORK/files" || fail "not in the package: $f"
    ct test -e "$f" || fail "not installed: $f"
done
ct test -x /usr/share/pve-smbgateway/api-hook || fail "api-hook not executable"
ct sh -c 'ls /usr/share/pve-smbgateway/samba-templates | grep -q .' || fail "no samba templates"
ok "file list: binaries, units, Perl modules, bridge library, api-hook, man page, completion, templates ($(wc -l < "$WORK/files") entries)"
ct pve-smbgateway --help >/dev/null || fail "pve-smbgateway --help"
ok "pve-smbgateway --help runs from the installed files"
for pm in /usr/share/perl5/PVE/RS/SMBGateway.pm /usr/share/perl5/PVE/API2/SMBGateway.pm \
    /usr/share/perl5/PVE/Storage/Custom/SMBGatewayPlugin.pm; do
    ct perl -T -c "$pm" >/dev/null 2>&1 || fail "perl -T -c $pm"
done
ok "perl -T -c of the installed modules (bridge, API, storage plugin)"
phase_done "file list"

log "daemon and units under systemd"
wait_active pve-smbgatewayd.service
ct systemctl is-enabled pve-smbgatewayd.service >/dev/null || fail "pve-smbgatewayd not enabled"
ct systemctl is-enabled pve-smbgateway-apply.service >/dev/null || fail "apply unit not enabled"
ok "pve-smbgatewayd active and enabled (started by the postinst), apply unit enabled"
out=$(ct systemd-analyze verify --man=no /lib/systemd/system/pve-smbgatewayd.service \
    /lib/systemd/system/pve-smbgateway-apply.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
ok "systemd-analyze verify of the installed units: clean"
ct systemctl stop pve-smbgatewayd.service
ct systemctl start pve-smbgatewayd.service
wait_active pve-smbgatewayd.service
ok "systemctl stop + start pve-smbgatewayd: active"
m=$(metrics)
echo "$m" | head -n 1 | grep -q ' 200 ' || fail "metrics: $(echo "$m" | head -n 1)"
echo "$m" | grep -q '^smbgw_build_info{' || fail "metrics without smbgw_build_info"
reloads0=$(echo "$m" | awk '$1 == "smbgw_config_reloads_total" {print $2}')
ok "metrics endpoint 127.0.0.1:9739 answers ($(echo "$m" | grep -c '^smbgw_') samples)"
pid0=$(ct systemctl show -p MainPID --value pve-smbgatewayd.service)
ct systemctl reload pve-smbgatewayd.service
reloads1=
for _ in $(seq 1 20); do
    reloads1=$(metrics | awk '$1 == "smbgw_config_reloads_total" {print $2}')
    [ "$reloads1" = "$((reloads0 + 1))" ] && break
    sleep 0.25
done
[ "$reloads1" = "$((reloads0 + 1))" ] || fail "reload: smbgw_config_reloads_total $reloads0 -> $reloads1"
[ "$(ct systemctl show -p MainPID --value pve-smbgatewayd.service)" = "$pid0" ] || fail "reload changed the PID"
wait_active pve-smbgatewayd.service
ok "systemctl reload (SIGHUP): same PID $pid0, smbgw_config_reloads_total $reloads0 -> $reloads1"
ct cp /etc/samba/smb.conf /root/smb.conf.debian
ct systemctl start pve-smbgateway-apply.service || { ct journalctl --no-pager -u pve-smbgateway-apply >&2; fail "apply unit"; }
[ "$(ct systemctl is-active pve-smbgateway-apply.service)" = active ] || fail "apply unit not active"
ct sh -c 'head -n 1 /etc/samba/smb.conf | grep -q "^# Generated by pve-smbgateway"' || fail "apply did not generate smb.conf"
ct cmp -s /etc/samba/smb.conf.pve-smbgateway-orig /root/smb.conf.debian || fail "no copy of the original smb.conf"
# Debian's own smb.conf is the admin's side now: carried as it is, 'obey pam restrictions = yes'
# and all (the SMB read as alice below shows gateway users still get in)
ct grep -Eq '^[[:space:]]*obey pam restrictions = yes' /etc/samba/smbgateway-unmanaged.conf \
    || fail "Debian's smb.conf not carried in /etc/samba/smbgateway-unmanaged.conf"
ok "pve-smbgateway-apply.service: active (exited), smb.conf generated, the original kept beside it and carried"
ct mkdir -p /srv/data
ct sh -c 'echo "precious share data" > /srv/data/keep.txt'
ct sh -c 'echo "Pkg-test-pw1" | pve-smbgateway user add alice --password-stdin' >/dev/null \
    || fail "pve-smbgateway user add"
ct pve-smbgateway create data --path /srv/data --users alice --comment 'package test' >/dev/null \
    || fail "pve-smbgateway create"
ct test -s /etc/pve/smbgateway/shares.cfg || fail "no shares.cfg"
ct pve-smbgateway list --output-format json >"$WORK/list.json" 2>&1 || fail "pve-smbgateway list: $(cat "$WORK/list.json")"
grep -q '"data"' "$WORK/list.json" || fail "share not listed: $(cat "$WORK/list.json")"
ct sh -c 'ls /etc/samba/smbgateway.d | grep -q data' || fail "no share include"
got=$(ct smbclient //127.0.0.1/data -U 'alice%Pkg-test-pw1' -c 'get keep.txt -' 2>/dev/null | head -n 1) || true
[ "$got" = "precious share data" ] || fail "SMB read of the share as alice: '$got'"
ok "user alice and share 'data' created by the CLI; smbd (reloaded through systemd) serves it: SMB read as alice (Debian's 'obey pam restrictions = yes' carried)"
phase_done "daemon, units, share"

log "API hook"
check_hook_once "/nodes/{node}/smbgateway -> PVE::API2::SMBGateway"
last=$(standin_last pvedaemon)
echo "$last" | grep -q 'PVE::API2::SMBGateway .*smbgateway' || fail "stand-in pvedaemon serves: $last"
ok "stand-in pvedaemon (reloaded by the postinst) serves /nodes/{node}/smbgateway, node index lists it"
# idempotent
before=$(ct md5sum /usr/share/perl5/PVE/API2/Nodes.pm)
ct /usr/share/pve-smbgateway/api-hook apply 2>/dev/null
[ "$(ct md5sum /usr/share/perl5/PVE/API2/Nodes.pm)" = "$before" ] || fail "second apply changed Nodes.pm"
ok "api-hook apply again: Nodes.pm unchanged"
# rollback: a hook that breaks loading is taken out again
ct /usr/share/pve-smbgateway/api-hook remove 2>/dev/null
pristine=$(ct md5sum /usr/share/perl5/PVE/API2/Nodes.pm)
if ct env PVE_SMBGW_HOOK_FAULT=load PVE_SMBGW_HOOK_NO_RELOAD=1 /usr/share/pve-smbgateway/api-hook apply 2>"$WORK/fault.log"; then
    fail "a hook that breaks loading was accepted"
fi
grep -q 'rolled back' "$WORK/fault.log" || fail "no rollback: $(cat "$WORK/fault.log")"
[ "$(ct md5sum /usr/share/perl5/PVE/API2/Nodes.pm)" = "$pristine" ] || fail "Nodes.pm changed after the rollback"
ct ls /usr/share/perl5/PVE/API2 | grep -q 'pve-smbgateway-new' && fail "temporary file left behind"
ok "injected load failure: rolled back, Nodes.pm byte for byte as before"
d0=$(standin_loads pvedaemon); p0=$(standin_loads pveproxy)
ct /usr/share/pve-smbgateway/api-hook apply 2>/dev/null
expect_api PVE::API2::SMBGateway "$d0" "$p0"
# a broken package (bridge library gone) must not break the API
SO="$VENDORARCH/auto/PVE/RS/SMBGateway/SMBGateway.so"
ct mv "$SO" /root/bridge.so
d0=$(standin_loads pvedaemon); p0=$(standin_loads pveproxy)
ct systemctl reload pvedaemon.service pveproxy.service
expect_api none "$d0" "$p0"
standin_last pvedaemon | grep -q 'status,tasks,version' || fail "node index broken: $(standin_last pvedaemon)"
ct perl -T -e 'require PVE::API2::Nodes' 2>/dev/null || fail "Nodes.pm does not load with the bridge missing"
ct mv /root/bridge.so "$SO"
ok "bridge library missing: the API loads without /smbgateway (hook skipped itself), the rest unchanged"
d0=$(standin_loads pvedaemon); p0=$(standin_loads pveproxy)
ct systemctl reload pvedaemon.service pveproxy.service
expect_api PVE::API2::SMBGateway "$d0" "$p0"
phase_done "API hook"

log "upgrade to $V2, reinstall"
pid0=$(ct systemctl show -p MainPID --value pve-smbgatewayd.service)
cfg_sum=$(ct md5sum /etc/pve/smbgateway/shares.cfg)
ct apt-get -q -y install --no-install-recommends "/srv/local/pve-smbgateway_${V2}_amd64.deb" >"$WORK/upgrade.log" 2>&1 \
    || { tail -30 "$WORK/upgrade.log" >&2; fail "upgrade"; }
[ "$(ct dpkg-query -W -f '${Version}' pve-smbgateway)" = "$V2" ] || fail "version after upgrade"
wait_active pve-smbgatewayd.service
[ "$(ct systemctl show -p MainPID --value pve-smbgatewayd.service)" != "$pid0" ] || fail "daemon not restarted on upgrade"
check_hook_once "after the upgrade"
[ "$(ct md5sum /etc/pve/smbgateway/shares.cfg)" = "$cfg_sum" ] || fail "shares.cfg changed by the upgrade"
ct pve-smbgateway list --output-format json | grep -q '"data"' || fail "pve-smbgateway list after the upgrade"
ok "upgraded to $V2: daemon restarted and active, shares.cfg unchanged, the share listed"
ct apt-get -q -y install --reinstall --no-install-recommends "/srv/local/pve-smbgateway_${V2}_amd64.deb" \
    >"$WORK/reinstall.log" 2>&1 || { tail -30 "$WORK/reinstall.log" >&2; fail "reinstall"; }
wait_active pve-smbgatewayd.service
check_hook_once "after a reinstall"
phase_done "upgrade, reinstall"

log "pve-manager upgrade (a fresh Nodes.pm): the trigger re-applies the hook"
d0=$(standin_loads pvedaemon); p0=$(standin_loads pveproxy)
mv "$WORK/later/pve-manager_9.0.0-standin2_all.deb" "$WORK/local/"
(cd "$WORK/local" && apt-ftparchive packages . > Packages 2>/dev/null)
ct apt-get -q update >/dev/null
ct apt-get -q -y install --no-install-recommends pve-manager=9.0.0-standin2 >"$WORK/pm.log" 2>&1 \
    || { tail -30 "$WORK/pm.log" >&2; fail "pve-manager upgrade"; }
grep -q 'Processing triggers for pve-smbgateway' "$WORK/pm.log" || fail "our trigger did not run: $(cat "$WORK/pm.log")"
check_hook_once "re-applied by the trigger"
expect_api PVE::API2::SMBGateway "$d0" "$p0"
phase_done "pve-manager upgrade"

log "remove"
d0=$(standin_loads pvedaemon); p0=$(standin_loads pveproxy)
ct apt-get -q -y remove pve-smbgateway >"$WORK/remove.log" 2>&1 || { tail -30 "$WORK/remove.log" >&2; fail "remove"; }
[ "$(hooks)" = 0 ] || fail "hook left after remove"
ct perl -T -c /usr/share/perl5/PVE/API2/Nodes.pm >/dev/null 2>&1 || fail "Nodes.pm broken after remove"
expect_api none "$d0" "$p0"
ct test ! -e /lib/systemd/system/pve-smbgatewayd.service || fail "unit file left"
[ "$(ct systemctl is-active pve-smbgatewayd.service || true)" != active ] || fail "daemon still running"
ct test -d /etc/samba/smbgateway.d || fail "remove deleted configuration (only purge may)"
ok "removed: no hook (Nodes.pm compiles, daemons reloaded without it), no units; configuration kept"
phase_done "remove"

log "purge"
ct apt-get -q -y purge pve-smbgateway >"$WORK/purge.log" 2>&1 || { tail -30 "$WORK/purge.log" >&2; fail "purge"; }
grep 'pve-smbgateway:' "$WORK/purge.log" || true
ct dpkg-query -W -f '${Status}' pve-smbgateway 2>/dev/null | grep -q 'not-installed' \
    || [ -z "$(ct dpkg-query -W -f '${Status}' pve-smbgateway 2>/dev/null || true)" ] || fail "package still known to dpkg"
[ "$(hooks)" = 0 ] || fail "hook left after purge"
for p in /etc/samba/smbgateway.d /var/lib/pve-smbgateway /var/log/pve-smbgateway /etc/pve-smbgateway \
    /etc/samba/smb.conf.pve-smbgateway-orig /etc/samba/smbgateway-unmanaged.conf \
    /lib/systemd/system/pve-smbgatewayd.service \
    /etc/systemd/system/multi-user.target.wants/pve-smbgatewayd.service \
    /etc/systemd/system/multi-user.target.wants/pve-smbgateway-apply.service \
    /var/lib/systemd/deb-systemd-helper-enabled/pve-smbgatewayd.service.dsh-also; do
    ct test ! -e "$p" || fail "left after purge: $p"
done
ct cmp -s /etc/samba/smb.conf /root/smb.conf.debian || fail "smb.conf not restored"
ct test -s /etc/pve/smbgateway/shares.cfg || fail "purge removed the cluster-wide shares.cfg"
[ "$(ct cat /srv/data/keep.txt)" = "precious share data" ] || fail "share data lost"
ok "purged: no hook, no units, no generated config, smb.conf restored; shares.cfg (cluster-wide) and share data kept"
phase_done "purge"

log "install again after the purge"
ct apt-get -q -y install --no-install-recommends "/srv/local/pve-smbgateway_${V2}_amd64.deb" >"$WORK/again.log" 2>&1 \
    || { tail -30 "$WORK/again.log" >&2; fail "install after purge"; }
wait_active pve-smbgatewayd.service
check_hook_once "after a fresh install"
ct pve-smbgateway list --output-format json | grep -q '"data"' || fail "kept shares.cfg not picked up"
ok "installed again: daemon active, the kept cluster config is used"
phase_done "install after purge"

log "remove with the hook helper broken: postrm takes the hook out by itself"
ct chmod -x /usr/share/pve-smbgateway/api-hook
d0=$(standin_loads pvedaemon); p0=$(standin_loads pveproxy)
ct apt-get -q -y purge pve-smbgateway >"$WORK/purge2.log" 2>&1 || { tail -30 "$WORK/purge2.log" >&2; fail "purge"; }
grep -q 'API hook removed from' "$WORK/purge2.log" || fail "postrm fallback did not run: $(cat "$WORK/purge2.log")"
[ "$(hooks)" = 0 ] || fail "hook left after remove without the helper"
ct perl -T -c /usr/share/perl5/PVE/API2/Nodes.pm >/dev/null 2>&1 || fail "Nodes.pm broken by the postrm fallback"
expect_api none "$d0" "$p0"
ct cmp -s /etc/samba/smb.conf /root/smb.conf.debian || fail "smb.conf not restored by the second purge"
ct test ! -e /etc/samba/smbgateway-unmanaged.conf || fail "left after the second purge: /etc/samba/smbgateway-unmanaged.conf"
ok "purged with the helper not executable: postrm removed the hook (checked with perl -T -c), daemons reloaded"
phase_done "postrm fallback"

printf '\n=== timings\n'
printf '%s\n' "${TIMINGS[@]}"
printf '%-34s %6.1f s\n' "total" "$(echo "$(date +%s.%N) - $T_START" | bc)"
echo "PASS: package test"
