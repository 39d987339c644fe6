package inventory

import (
	"fmt"
	"strings"
	"testing"
)

// fleetYAML is an inventory of n workers in 10 racks, with vars at every
// level, as a large fleet would have.
func fleetYAML(n int) []byte {
	var b strings.Builder
	b.WriteString("all:\n  vars: {transport: rehearsal, user: ops}\n  children:\n    workers:\n      vars: {drain_timeout: 10m}\n      children:\n")
	for r := 0; r < 10; r++ {
		fmt.Fprintf(&b, "        rack%d:\n          vars: {rack: %d}\n          hosts:\n", r, r)
		for i := r; i < n; i += 10 {
			fmt.Fprintf(&b, "            worker-%d: {address: 10.0.%d.%d}\n", i, i/250, i%250+1)
		}
	}
	return []byte(b.String())
}

func BenchmarkParseYAML1000Hosts(b *testing.B) {
	data := fleetYAML(1000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("fleet.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseINIRange100000Hosts(b *testing.B) {
	data := []byte("[workers]\nworker-[0:99999] rack=1\n[workers:vars]\ntransport=rehearsal\n")
	for b.Loop() {
		if _, err := Parse("fleet.ini", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSelect1000Hosts(b *testing.B) {
	inv, err := Parse("fleet.yaml", fleetYAML(1000))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := inv.Select("workers:!rack3:&worker-1*"); err != nil {
			b.Fatal(err)
		}
	}
}

// The same 100,000 hosts before any section and then in a group: the hosts
// leave ungrouped in one pass.
func BenchmarkParseINIUngroupedThenGrouped(b *testing.B) {
	data := []byte("h[0:99999]\n[g]\nh[0:99999]\n")
	for b.Loop() {
		if _, err := Parse("fleet.ini", data); err != nil {
			b.Fatal(err)
		}
	}
}
