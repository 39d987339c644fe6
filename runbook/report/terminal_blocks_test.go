package report

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// screen is what a terminal shows of out at its end: the live block's
// redraws (cursor up N lines, then erase down) replayed.
func screen(out string) string {
	redraw := regexp.MustCompile(`\x1b\[(\d+)A\r\x1b\[J`)
	var scr string
	last := 0
	for _, m := range redraw.FindAllStringSubmatchIndex(out, -1) {
		scr += out[last:m[0]]
		n, _ := strconv.Atoi(out[m[2]:m[3]])
		for range n {
			scr = scr[:strings.LastIndex(strings.TrimSuffix(scr, "\n"), "\n")+1]
		}
		last = m[1]
	}
	return scr + out[last:]
}

// On a TTY, each finished host's steps are printed under its outcome, with
// the canary's verify outputs before its approval, and rollback steps under
// their host rather than under a section of their own.
func TestTerminalTTYHostBlocks(t *testing.T) {
	out := screen(replay(t, TerminalOptions{TTY: true, Width: 100, Phases: labPhases}, "faulty.jsonl"))
	golden(t, "faulty.tty.golden", []byte(out))
	in := func(text, after, before string) {
		t.Helper()
		i, j, k := strings.Index(out, after), strings.Index(out, text), strings.Index(out, before)
		if i < 0 || j < 0 || k < 0 || !(i < j && j < k) {
			t.Errorf("%q is not between %q (%d) and %q (%d) (at %d):\n%s", text, after, i, before, k, j, out)
		}
	}
	in("  ✓ verify/1 crio runs the target version  ok", "worker-1  ⇒ upgraded", `approval "The canary node`)
	in("      │ crio version 1.30.4", "worker-1  ⇒ upgraded", `approval "The canary node`)
	in("  ✓ soak-verify/4 daemonset pods run on the node (on cp-1)  ok", "worker-1  ⇒ upgraded", `approval "The canary node`)
	in("  ✗ steps/9 restart crio  failed", "worker-3  ⇒ rolled_back", "worker-5  ⇒ upgraded")
	in("  ↺ rollback/6 install cri-o 1.29.9-1.1  changed", "worker-3  ⇒ rolled_back", "worker-5  ⇒ upgraded")
	in("worker-3  ↺ rolling back (in Roll out, batch 2, phase 4/5)", "▸ Roll out, batch 2", "worker-3  ⇒ rolled_back")
	if strings.Contains(out, "▸ Rollback") || strings.Contains(out, "▸ rollback") {
		t.Errorf("a rollback section on a TTY:\n%s", out)
	}
	if anyEscape.MatchString(out) {
		t.Errorf("escape sequences left on the screen: %q", anyEscape.FindString(out))
	}
}
