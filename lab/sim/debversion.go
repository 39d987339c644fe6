package sim

import (
	"cmp"
	"strings"

	"pault.ag/go/debian/version"
)

// compareDebVersions compares two Debian version strings the way dpkg does
// ([epoch:]upstream[-revision], with '~' sorting before everything): -1, 0
// or 1.
func compareDebVersions(a, b string) int {
	return cmp.Compare(version.Compare(debVersion(a), debVersion(b)), 0)
}

// debVersion parses a Debian version; one dpkg would refuse is taken whole
// as its upstream part, so that it still sorts somewhere.
func debVersion(v string) version.Version {
	if p, err := version.Parse(v); err == nil {
		return p
	}
	return version.Version{Version: v}
}

// upstreamVersion is the upstream part of a Debian version: 1.30.4-1.1 → 1.30.4.
func upstreamVersion(v string) string { return debVersion(v).Version }

// minorOf returns "1.30" for "1.30.4" (or "1.30.4-1.1"); "" when v has no minor.
func minorOf(v string) string {
	parts := strings.SplitN(upstreamVersion(v), ".", 3)
	if len(parts) < 2 || !allDigits(parts[0]) || !allDigits(parts[1]) {
		return ""
	}
	return parts[0] + "." + parts[1]
}

func allDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
