package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

// attempt is what one attempt of a step gave, before the step's rules.
type attempt struct {
	status   string // as the kind reported it ("" means ok)
	err      error
	timedOut bool
	timeout  time.Duration
	n, of    int // this attempt's number and how many the step may make
}

// verdict is an attempt's status after the step's rules, and whether the
// step tries again.
type verdict struct {
	status string
	err    error
	retry  bool
}

// judge applies a step's rules to an attempt, in Ansible's order:
// failed_when, then changed_when, then until (or retries on failure). It
// does nothing but decide: eval evaluates a rule's expression with the
// step's result as it stands at that status.
func judge(st *runbook.Step, a attempt, eval func(src, status string) (bool, error)) verdict {
	v := verdict{status: a.status, err: a.err}
	switch {
	case a.err != nil && errors.Is(a.err, transport.ErrUnreachable):
		v.status = statusUnreachable
	case a.timedOut:
		v.status, v.err = statusFailed, fmt.Errorf("timed out after %s", a.timeout)
	case v.status == "":
		v.status = statusOK
	}
	if st.FailedWhen != "" && v.status != statusUnreachable && v.status != statusSkipped {
		failed, err := eval(st.FailedWhen, v.status)
		switch {
		case err != nil:
			v.status, v.err = statusFailed, fmt.Errorf("failed_when: %w", err)
		case failed && v.status != statusFailed:
			v.status, v.err = statusFailed, fmt.Errorf("failed_when is true: %s", st.FailedWhen)
		case !failed && v.status == statusFailed:
			v.status, v.err = statusChanged, nil
		}
	}
	if st.ChangedWhen != "" && (v.status == statusOK || v.status == statusChanged) {
		changed, err := eval(st.ChangedWhen, v.status)
		switch {
		case err != nil:
			v.status, v.err = statusFailed, fmt.Errorf("changed_when: %w", err)
		case changed:
			v.status = statusChanged
		default:
			v.status = statusOK
		}
	}
	if st.Until != "" && v.status != statusSkipped {
		done, err := eval(st.Until, v.status)
		switch {
		case err != nil:
			v.status, v.err = statusFailed, fmt.Errorf("until: %w", err)
		case !done && a.n < a.of:
			v.retry = true
		case !done:
			v.status, v.err = statusFailed, fmt.Errorf("until %q was still false after %d attempts", st.Until, a.n)
		case v.status == statusFailed && st.FailedWhen == "":
			v.status, v.err = statusOK, nil // until decides success
		}
		return v
	}
	if (v.status == statusFailed || v.status == statusUnreachable) && a.n < a.of {
		v.retry = true
	}
	return v
}

// attemptsOf is how many attempts a step may make: retries + 1, or four
// for until without retries, as Ansible does.
func attemptsOf(st *runbook.Step) int {
	if st.Until != "" && st.Retries == 0 {
		return 4
	}
	return st.Retries + 1
}
