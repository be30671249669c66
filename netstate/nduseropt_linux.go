package netstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/getapr/getapr/internal/nat64"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The kernel hands Router Advertisement options that it does not process
// itself (RDNSS, DNSSL, captive portal, PREF64) to user space as
// RTM_NEWNDUSEROPT messages on the RTNLGRP_ND_USEROPT group. The message body is
//
//	struct nduseroptmsg {             // 16 bytes, host byte order
//		unsigned char  nduseropt_family;    // AF_INET6
//		unsigned char  nduseropt_pad1;
//		unsigned short nduseropt_opts_len;  // bytes of options that follow
//		int            nduseropt_ifindex;   // the link the RA came in on
//		__u8           nduseropt_icmp_type; // 134, Router Advertisement
//		__u8           nduseropt_icmp_code;
//		unsigned short nduseropt_pad2;
//		unsigned int   nduseropt_pad3;
//	};
//
// followed by the options as they were on the wire and then netlink attributes,
// of which NDUSEROPT_SRCADDR (1) is the router's (link-local) address.

const (
	sizeofNDUserOptMsg = 16
	ndUserOptSrcAddr   = 1 // NDUSEROPT_SRCADDR
	icmpRouterAdvert   = 134
)

// An ndUserOpt is one decoded RTM_NEWNDUSEROPT message.
type ndUserOpt struct {
	Index  int        // interface index
	Router netip.Addr // the advertising router, zone-less; invalid if absent
	Opts   [][]byte   // the options, each from its type byte, as long as its length says
	ICMP   uint8      // the ICMPv6 type of the message the options came in
}

var errNDUserOpt = errors.New("netstate: RTM_NEWNDUSEROPT")

// parseNDUserOpt decodes the body of an RTM_NEWNDUSEROPT message.
func parseNDUserOpt(b []byte) (ndUserOpt, error) {
	if len(b) < sizeofNDUserOptMsg {
		return ndUserOpt{}, fmt.Errorf("%w: %d bytes, want at least %d", errNDUserOpt, len(b), sizeofNDUserOptMsg)
	}
	if b[0] != unix.AF_INET6 {
		return ndUserOpt{}, fmt.Errorf("%w: family %d", errNDUserOpt, b[0])
	}
	optsLen := int(binary.NativeEndian.Uint16(b[2:4]))
	m := ndUserOpt{Index: int(int32(binary.NativeEndian.Uint32(b[4:8]))), ICMP: b[8]}
	rest := b[sizeofNDUserOptMsg:]
	if optsLen > len(rest) {
		return ndUserOpt{}, fmt.Errorf("%w: %d bytes of options, %d present", errNDUserOpt, optsLen, len(rest))
	}
	opts := rest[:optsLen]
	for len(opts) > 0 {
		if len(opts) < 2 || opts[1] == 0 || int(opts[1])*8 > len(opts) {
			return ndUserOpt{}, fmt.Errorf("%w: truncated option", errNDUserOpt)
		}
		n := int(opts[1]) * 8
		m.Opts = append(m.Opts, opts[:n:n])
		opts = opts[n:]
	}
	if a := nlmsgAlign(optsLen); a <= len(rest) {
		ad, err := netlink.NewAttributeDecoder(rest[a:])
		if err != nil {
			return ndUserOpt{}, fmt.Errorf("%w: %w", errNDUserOpt, err)
		}
		for ad.Next() {
			if ad.Type() == ndUserOptSrcAddr {
				if a, ok := netip.AddrFromSlice(ad.Bytes()); ok && a.Is6() {
					m.Router = a
				}
			}
		}
		if err := ad.Err(); err != nil {
			return ndUserOpt{}, fmt.Errorf("%w: %w", errNDUserOpt, err)
		}
	}
	return m, nil
}

// pref64s returns the valid PREF64 options of a Router Advertisement's user
// options, in order; invalid ones are ignored, as RFC 8781 asks.
func (m ndUserOpt) pref64s() []nat64.Option {
	if m.ICMP != icmpRouterAdvert {
		return nil
	}
	var out []nat64.Option
	for _, o := range m.Opts {
		if o[0] != nat64.OptionType {
			continue
		}
		if p, err := nat64.ParseOption(o); err == nil {
			out = append(out, p)
		}
	}
	return out
}
