#!/usr/bin/env bash
# make demo: getapr's main job, shown in the project's network lab.
#
# Brings up the lab (namespaces gapr-demo-*, nothing linked to this machine's real
# interfaces), runs the getapr CLI inside the lab's client namespace, and tears the
# lab down on exit, Ctrl-C included. Needs root, Go and iproute2 (installed here
# with apt-get when missing); the lab's firewall goes over netlink, no nft needed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root: it builds network namespaces (sudo make demo)" >&2
	exit 1
fi
if ! command -v go >/dev/null; then
	echo "make demo needs Go 1.26 or later (https://go.dev/dl/), in PATH or /usr/local/go/bin" >&2
	exit 1
fi
if ! command -v ip >/dev/null; then
	if ! command -v apt-get >/dev/null; then
		echo "make demo needs the ip command: install iproute2" >&2
		exit 1
	fi
	echo "make demo: installing iproute2 (the ip command) with apt-get" >&2
	if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }; then
		echo "make demo needs the ip command, and apt-get could not install it: apt-get install iproute2" >&2
		exit 1
	fi
fi

mkdir -p bin
go build -o bin/getapr ./cmd/getapr
go build -o bin/gaprlab ./internal/lab/cmd/gaprlab

lab=bin/gaprlab
trap '$lab down >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
client() { $lab exec -- "$@"; }

say "Bringing up the lab: a client with two uplinks (ISP A: 20 ms, NAT44 + NPTv6; ISP B: 60 ms)"
$lab up

probe="--probe-target [2001:db8:5::10]:80 --probe-target 192.0.2.10:80"
say "getapr status --wait $probe"
echo "(the prototype's flags after the first probe round: NAT44 and NPTv6 detected)"
client bin/getapr status --wait $probe

say "getapr pairs server.getapr.test 80 --wait $probe"
echo "(ranked pairs with measured latencies: the 20 ms uplink first)"
client bin/getapr pairs server.getapr.test 80 --wait $probe

say "Blackholing uplink 0 (ISP A, the kernel's preferred route): packets vanish silently"
$lab ctl blackhole 0 on

say "net.Dialer (the kernel's source choice), timeout 3s"
client bin/getapr dial server.getapr.test:80 --stdlib --timeout 3s || true

say "getapr's PairDialer, cold start (fresh process, knows nothing yet)"
client bin/getapr dial server.getapr.test:80 --timeout 3s

say "Healing uplink 0"
$lab ctl blackhole 0 off
say "Done; tearing the lab down"
