package report

import (
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"

	"github.com/runbookhq/runbook/runbook/journal"
)

// lipgloss v1 takes termenv colour profiles, and termenv is not among the
// project's direct dependencies; these are the values of termenv.ANSI256 and
// termenv.Ascii. The colour tests fail if they ever stop meaning that.
const (
	profileANSI256 = 1
	profileASCII   = 3
)

// styles are the terminal styles of one output. Without colour every style
// renders text unchanged: no escape sequence at all.
type styles struct {
	color bool
	r     *lipgloss.Renderer

	plain, bold, dim, title, warn lipgloss.Style
	status                        map[string]lipgloss.Style // step statuses, host outcomes, run statuses
	words                         map[string]string         // status words already rendered
}

func newStyles(w io.Writer, color bool) *styles {
	r := lipgloss.NewRenderer(w)
	if color {
		r.SetColorProfile(profileANSI256)
	} else {
		r.SetColorProfile(profileASCII)
	}
	st := &styles{color: color, r: r, plain: r.NewStyle()}
	fg := func(c string) lipgloss.Style { return r.NewStyle().Foreground(lipgloss.Color(c)) }
	st.bold = r.NewStyle().Bold(true)
	st.dim = fg("8")
	st.title = r.NewStyle().Bold(true).Foreground(lipgloss.Color("6"))
	st.warn = fg("3").Bold(true)
	green, teal, red, grey, magenta, yellow := fg("2"), fg("6"), fg("1").Bold(true), fg("8"), fg("5").Bold(true), fg("3")
	st.status = map[string]lipgloss.Style{
		journal.StatusOK: green, journal.StatusChanged: teal, journal.StatusFailed: red,
		journal.StatusSkipped: grey, journal.StatusUnreachable: magenta, StatusOpen: yellow,
		journal.OutcomeUpgraded: green, journal.OutcomeRolledBack: yellow.Bold(true), journal.OutcomeRescued: yellow,
		journal.OutcomeRollbackFailed: red, journal.OutcomeNotStarted: grey,
		journal.RunStatusSucceeded: green.Bold(true), journal.RunStatusHalted: yellow.Bold(true),
		journal.RunStatusInterrupted: yellow.Bold(true), StatusIncomplete: yellow.Bold(true),
	}
	return st
}

// of styles a status or outcome word.
func (st *styles) of(status string) lipgloss.Style {
	if s, ok := st.status[status]; ok {
		return s
	}
	return st.plain
}

// word renders a status or outcome word in its style; the few words there
// are are rendered once. Not safe for concurrent use.
func (st *styles) word(status string) string {
	if !st.color {
		return status
	}
	if w, ok := st.words[status]; ok {
		return w
	}
	if st.words == nil {
		st.words = map[string]string{}
	}
	w := st.of(status).Render(status)
	if len(st.words) < 64 {
		st.words[status] = w
	}
	return w
}

// render applies style s to text. Without colour it returns text as it is
// (lipgloss would still rewrite tabs).
func (st *styles) render(s lipgloss.Style, text string) string {
	if !st.color {
		return text
	}
	return s.Render(text)
}

// table renders rows under headers with a rule below the headers and no other
// borders. cell, when set, styles a body cell's text.
func (st *styles) table(headers []string, rows [][]string, cell func(row, col int) lipgloss.Style) string {
	t := table.New().
		Border(lipgloss.NormalBorder()).
		BorderStyle(st.dimOrPlain()).
		BorderTop(false).BorderBottom(false).BorderLeft(false).BorderRight(false).
		BorderColumn(false).BorderHeader(true).
		Headers(headers...).
		Rows(rows...).
		Wrap(false).
		StyleFunc(func(row, col int) lipgloss.Style {
			s := st.plain
			switch {
			case row == table.HeaderRow:
				s = st.boldOrPlain()
			case cell != nil && st.color:
				s = cell(row, col)
			}
			if col < len(headers)-1 {
				s = s.PaddingRight(2)
			}
			return s
		})
	lines := strings.Split(t.Render(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func (st *styles) dimOrPlain() lipgloss.Style {
	if st.color {
		return st.dim
	}
	return st.plain
}

func (st *styles) boldOrPlain() lipgloss.Style {
	if st.color {
		return st.bold
	}
	return st.plain
}
