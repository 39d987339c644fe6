// Package containertest is what the tests of the container lab (its own,
// and the CLI's on it) share: when they run, and on which addresses.
package containertest

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net"
	"os"
	"testing"
)

// Require skips t when unavailable says the container lab cannot run here
// (containers.Available's error), or under -short, unless
// RUNBOOK_REQUIRE_CONTAINERS=1 (CI) demands the lab: then t fails.
func Require(t testing.TB, unavailable error) {
	t.Helper()
	err := unavailable
	if err == nil && testing.Short() {
		err = fmt.Errorf("-short")
	}
	if err == nil {
		return
	}
	if os.Getenv("RUNBOOK_REQUIRE_CONTAINERS") == "1" {
		t.Fatalf("%v (RUNBOOK_REQUIRE_CONTAINERS=1)", err)
	}
	t.Skipf("container lab: %v", err)
}

// AddressBase picks a loopback /24 ("127.A.B.", A from first to first+49)
// no other lab of this machine is likely to use, so that labs of tests
// running at once do not meet; each package of tests takes its own range.
func AddressBase(t testing.TB, first int) string {
	t.Helper()
	for range 50 {
		a, _ := rand.Int(rand.Reader, big.NewInt(50))
		b, _ := rand.Int(rand.Reader, big.NewInt(256))
		base := fmt.Sprintf("127.%d.%d.", int64(first)+a.Int64(), b.Int64())
		if ln, err := net.Listen("tcp", base+"1:22"); err == nil {
			ln.Close()
			return base
		}
	}
	t.Fatal("no free loopback /24 for a container lab")
	return ""
}
