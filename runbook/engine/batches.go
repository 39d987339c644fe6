package engine

import (
	"fmt"
	"slices"

	"github.com/runbookhq/runbook/runbook"
)

// canaryHosts picks the canary phase's hosts from the hosts still to change:
// the first N (or N%) of them, or the named ones.
func canaryHosts(ph *runbook.Phase, eligible []string) ([]string, error) {
	if len(ph.Hosts.Names) > 0 {
		var out []string
		for _, n := range ph.Hosts.Names {
			if !slices.Contains(eligible, n) {
				return nil, fmt.Errorf("canary host %s is not among the hosts to change (%v)", n, eligible)
			}
			out = append(out, n)
		}
		return out, nil
	}
	if ph.Hosts.Size == nil {
		return nil, nil
	}
	n := min(ph.Hosts.Size.Of(len(eligible)), len(eligible))
	return slices.Clone(eligible[:n]), nil
}

// Batches splits hosts into batches by serial: percentages are of the whole
// batch phase's host count, rounded up, at least 1; the last size repeats.
// No serial means one batch of every host.
func Batches(serial runbook.SizeList, hosts []string) [][]string {
	if len(hosts) == 0 {
		return nil
	}
	if len(serial) == 0 {
		return [][]string{slices.Clone(hosts)}
	}
	var out [][]string
	rest := hosts
	for i := 0; len(rest) > 0; i++ {
		size := serial[min(i, len(serial)-1)].Of(len(hosts))
		if size < 1 {
			size = 1
		}
		size = min(size, len(rest))
		out = append(out, slices.Clone(rest[:size]))
		rest = rest[size:]
	}
	return out
}
