package engine

import "github.com/runbookhq/runbook/runbook"

// walkOrder returns the indexes of phases in the order a run walks them:
// the runbook's order, except that the check phases before the first
// changing phase run before the backup phases there. A check is read-only
// and a backup writes to the host, so a host a check skips as already done
// gets no backup, and a re-run on a fleet that is done changes nothing.
func walkOrder(phases []*runbook.Phase) []int {
	order := make([]int, 0, len(phases))
	first := len(phases) // the first phase that is neither backup nor check
	for i, ph := range phases {
		if ph.Kind != runbook.KindBackup && ph.Kind != runbook.KindCheck {
			first = i
			break
		}
	}
	for i := range first {
		if phases[i].Kind == runbook.KindCheck {
			order = append(order, i)
		}
	}
	for i := range first {
		if phases[i].Kind == runbook.KindBackup {
			order = append(order, i)
		}
	}
	for i := first; i < len(phases); i++ {
		order = append(order, i)
	}
	return order
}

// checkedFirst reports whether phase i is a backup phase that a check phase
// runs before (walkOrder).
func checkedFirst(phases []*runbook.Phase, i int) bool {
	if phases[i].Kind != runbook.KindBackup {
		return false
	}
	for _, j := range walkOrder(phases) {
		if j == i {
			return false
		}
		if phases[j].Kind == runbook.KindCheck {
			return true
		}
	}
	return false
}

// checkedFirstNote is plan's note on a backup phase that the check
// phases run before, nil on any other phase.
func checkedFirstNote(phases []*runbook.Phase, i int) []string {
	if checkedFirst(phases, i) {
		return []string{"runs after the check phases, on the hosts they do not skip"}
	}
	return nil
}
