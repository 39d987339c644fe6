package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxAddresses bounds what one -addresses expands to.
const maxAddresses = 1 << 16

// parseAddresses reads -addresses: IPv4 loopback addresses (127.0.0.0/8)
// and prefixes of them, comma-separated; a prefix stands for its host
// addresses (127.0.9.0/30 is 127.0.9.1 and 127.0.9.2).
func parseAddresses(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil || !a.Is4() || !a.IsLoopback() {
				return nil, fmt.Errorf("-addresses: %q is not an IPv4 loopback address (127.0.0.0/8)", part)
			}
			out = append(out, a.String())
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil || !p.Addr().Is4() || !p.Addr().IsLoopback() || p.Bits() < 8 {
			return nil, fmt.Errorf("-addresses: %q is not a prefix inside 127.0.0.0/8", part)
		}
		p = p.Masked()
		first, last := p.Addr(), lastAddr(p)
		if p.Bits() < 31 { // leave out the network and broadcast addresses
			first, last = first.Next(), last.Prev()
		}
		for a := first; a.IsValid() && a.Compare(last) <= 0; a = a.Next() {
			if len(out) == maxAddresses {
				return nil, fmt.Errorf("-addresses: %q: more than %d addresses", part, maxAddresses)
			}
			out = append(out, a.String())
		}
	}
	return out, nil
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(b)
}
