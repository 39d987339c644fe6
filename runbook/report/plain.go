package report

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// plainOutput is a step's output (or error) as the page shows it: without
// the escape sequences a program writes for a terminal (colours, cursor
// moves), which a browser would show as stray text like "[31m", and
// without the other control characters but tab and line ends. The journal
// keeps the output as it came.
func plainOutput(s string) string {
	if strings.IndexFunc(s, strayControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if strayControl(r) {
			return -1
		}
		return r
	}, ansi.Strip(s))
}

func strayControl(r rune) bool { return isControl(r) && r != '\n' && r != '\t' && r != '\r' }
