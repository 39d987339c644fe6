package sim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// newHexID returns a random 64-hex-digit id, like a sandbox or container id.
func newHexID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// suffixAlphabet is the alphabet of Kubernetes generated name suffixes.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// suffixSpace is the number of 5-character suffixes.
const suffixSpace = 27 * 27 * 27 * 27 * 27

// Key ranges of the deterministic name suffixes, one per kind of pod, so
// that no two pods of the lab ever get the same suffix.
const (
	keyKubeProxy = 0
	keyFlannel   = 1_000_000
	keyCoreDNS   = 2_000_000
	keyWeb       = 3_000_000
	keyCache     = 4_000_000
	keyAPI       = 5_000_000
	keyNew       = 6_000_000 // replacement pods, by cluster NameSeq
)

// nameSuffix maps key to a 5-character suffix that looks random; distinct
// keys below suffixSpace give distinct suffixes (an affine bijection modulo
// 27^5, whose multiplier is prime to 3).
func nameSuffix(key int) string {
	x := (uint64(key)%suffixSpace*7368787 + 1234567) % suffixSpace
	var b [5]byte
	for i := 4; i >= 0; i-- {
		b[i] = suffixAlphabet[x%27]
		x /= 27
	}
	return string(b[:])
}

// shortID is the 13-character id crictl shows in tables.
func shortID(id string) string {
	if len(id) > 13 {
		return id[:13]
	}
	return id
}

// bootIDText is a boot id as /proc/sys/kernel/random/boot_id holds it.
func bootIDText(id string) string { return id + "\n" }

// compactBootID is the boot id as journalctl shows it (no dashes).
func compactBootID(id string) string { return strings.ReplaceAll(id, "-", "") }
