#!/usr/bin/env bash
# What the multi-host suite (test/hosts, `npm run test:hosts`) needs beyond the venv: root,
# network namespaces, and Debian's iproute2 (ip netns, veth, bridge), nftables (for the
# partition scenarios to come) and PostgreSQL (MLflow's store on the control host).
# Packages are installed only when missing, since apt-get update alone takes tens of
# seconds. Anything that cannot be had fails here with one line: CI runs this suite as
# root, so a silent skip would hide a suite that never ran.
set -euo pipefail
fail() { echo "[setup-hosts] $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "the multi-host suite creates network namespaces and needs root (run as root, e.g. in CI's container)"

missing=()
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing+=(iproute2)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and no apt-get to install them with: install them yourself"
  echo "[setup-hosts] apt-get install ${missing[*]} (once per machine)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in setpriv unshare; do command -v "$tool" >/dev/null 2>&1 || fail "$tool (util-linux) is missing"; done
id -u postgres >/dev/null 2>&1 || fail "no postgres user: PostgreSQL refuses to run as root, the suite runs it as postgres"

probe="mirl-h-probe-$$"
/usr/sbin/ip netns add "$probe" 2>/dev/null || fail "cannot create a network namespace (ip netns add): this kernel or container does not allow it (needs CAP_SYS_ADMIN and CAP_NET_ADMIN)"
ok=1
/usr/sbin/ip link add "mhprobe$$" type veth peer name eth0 netns "$probe" 2>/dev/null || ok=0
/usr/sbin/ip netns del "$probe"
[ "$ok" = 1 ] || fail "cannot create a veth pair into a network namespace: the kernel lacks veth support or the container lacks CAP_NET_ADMIN"
