package report

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// syncBuffer is a bytes.Buffer safe for the Terminal's ticker goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func replay(t *testing.T, opts TerminalOptions, fixture string) string {
	t.Helper()
	var out syncBuffer
	term := NewTerminal(&out, opts)
	for _, r := range loadJournal(t, fixture) {
		term.Record(r)
	}
	term.Close()
	return out.String()
}

var (
	anyEscape     = regexp.MustCompile(`\x1b`)
	sgrEscape     = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	cursorEscapes = regexp.MustCompile(`\x1b\[\d+A|\x1b\[J`)
)

func TestTerminalColour(t *testing.T) {
	plain := replay(t, TerminalOptions{}, "journal.jsonl")
	if anyEscape.MatchString(plain) {
		t.Errorf("escape sequence in non-TTY output without colour: %q", anyEscape.FindString(plain))
	}
	coloured := replay(t, TerminalOptions{Color: true}, "journal.jsonl")
	if !sgrEscape.MatchString(coloured) {
		t.Error("no colour sequence with Color set")
	}
	if cursorEscapes.MatchString(coloured) {
		t.Error("cursor movement without a TTY")
	}
	if got := sgrEscape.ReplaceAllString(coloured, ""); got != plain {
		t.Errorf("colour changes the text, not only its style:\n%s\n---\n%s", got, plain)
	}
}

func TestTerminalTTY(t *testing.T) {
	for _, color := range []bool{false, true} {
		t.Run(fmt.Sprintf("color=%v", color), func(t *testing.T) {
			out := replay(t, TerminalOptions{TTY: true, Color: color, Width: 60}, "journal.jsonl")
			if !regexp.MustCompile(`\x1b\[\d+A`).MatchString(out) || !strings.Contains(out, "\x1b[J") {
				t.Error("no cursor movement on a TTY")
			}
			if !color {
				rest := cursorEscapes.ReplaceAllString(out, "")
				if anyEscape.MatchString(rest) {
					t.Errorf("without colour a TTY gets only cursor movement, found %q", anyEscape.FindString(rest))
				}
			}
			text := sgrEscape.ReplaceAllString(out, "")
			for _, want := range []string{"What to do next", "worker-4", "rolled_back", "--retry-failed",
				"restart crio  failed  3.4s  rc=1", "approval", "soak 2m00s"} {
				if !strings.Contains(text, want) {
					t.Errorf("TTY output lacks %q", want)
				}
			}
			// A TTY shows the steps that went well under their host's
			// outcome once it finished, not one line each as they finish.
			if strings.Contains(out, "worker-2  steps/1 drain node (on cp-1)  changed") {
				t.Error("finished steps appended on a TTY")
			}
			summary := out[strings.LastIndex(out, "HOST"):]
			if cursorEscapes.MatchString(summary) {
				t.Error("the summary is redrawn: it must stay on screen")
			}
		})
	}
}

// The live block never wraps: a wrapped line would throw off the cursor
// arithmetic of the next redraw.
func TestTerminalLiveLinesFitWidth(t *testing.T) {
	var out syncBuffer
	term := NewTerminal(&out, TerminalOptions{TTY: true, Width: 40})
	now := time.Date(2026, 11, 27, 10, 0, 5, 0, time.UTC)
	term.now = func() time.Time { return now }
	b := newRecords()
	b.t = now.Add(-10 * time.Second)
	long := strings.Repeat("x", 100)
	b.add(runStart("a-very-long-host-name-indeed"),
		journal.Record{Type: journal.PhaseStarted, Phase: "Roll out " + long, PhaseIndex: 2, PhaseKind: "batch", Batch: 1, Hosts: []string{"a-very-long-host-name-indeed"}},
		started("a-very-long-host-name-indeed", "2.steps.0", "step "+long, 1))
	for _, r := range b.list {
		term.Record(r)
	}
	term.mu.Lock()
	lines := term.live.lines()
	term.mu.Unlock()
	if len(lines) != 2 {
		t.Fatalf("live lines %q", lines)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 39 {
			t.Errorf("live line of %d columns on a 40-column terminal: %q", n, l)
		}
	}
	term.Close()
}

// Journal text reaches the terminal without the escape sequences a remote
// host might have put in it.
func TestTerminalStripsEscapesFromJournalText(t *testing.T) {
	var out bytes.Buffer
	term := NewTerminal(&out, TerminalOptions{})
	b := newRecords().add(runStart("h\x1b[2Jost"))
	r := finished("h\x1b[2Jost", "2.steps.0", "bad\x1b]0;title\x07name", 1, journal.StatusFailed, true)
	r.Error = "boom \x1b[31mred\x1b[0m"
	b.add(r, journal.Record{Type: journal.Message, Text: "log \x1b[1A line"},
		journal.Record{Type: journal.HostFinished, Host: "h\x1b[2Jost", Outcome: journal.OutcomeFailed, Error: "\x1b[Hx"},
		journal.Record{Type: journal.RunFinished, Status: journal.RunStatusFailed, Reason: "\x1b[2J"})
	for _, rec := range b.list {
		term.Record(rec)
	}
	if anyEscape.MatchString(out.String()) {
		t.Errorf("escape sequence from journal text reached the terminal: %q", out.String())
	}
	if !strings.Contains(out.String(), "boom [31mred[0m") {
		t.Errorf("the error text is lost rather than defused: %q", out.String())
	}
}

// Record is safe for concurrent use (run with -race).
func TestTerminalConcurrentRecords(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var out syncBuffer
		term := NewTerminal(&out, TerminalOptions{TTY: tty})
		var hosts []string
		for g := 0; g < 8; g++ {
			hosts = append(hosts, fmt.Sprintf("host-%d", g))
		}
		term.Record(journal.Record{Seq: 1, Type: journal.RunStarted, RunID: "r", Hosts: hosts})
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				host := fmt.Sprintf("host-%d", g)
				for i := 0; i < 50; i++ {
					id := fmt.Sprintf("2.steps.%d", i)
					term.Record(started(host, id, "s", 1))
					term.Record(finished(host, id, "s", 1, journal.StatusOK, true))
				}
				term.Record(journal.Record{Type: journal.HostFinished, Host: host, Outcome: journal.OutcomeUpgraded})
			}(g)
		}
		wg.Wait()
		term.Record(journal.Record{Type: journal.RunFinished, Status: journal.RunStatusSucceeded})
		term.Close()
		if !strings.Contains(out.String(), "Nothing to do") {
			t.Errorf("tty=%v: no summary", tty)
		}
		if n := strings.Count(out.String(), "⇒ upgraded"); n != 8 {
			t.Errorf("tty=%v: %d host outcome lines, want 8", tty, n)
		}
	}
}

// With a pause the live block leaves the screen so the engine can prompt.
func TestTerminalPause(t *testing.T) {
	var out syncBuffer
	term := NewTerminal(&out, TerminalOptions{TTY: true})
	b := newRecords().add(runStart("a"),
		journal.Record{Type: journal.PhaseStarted, Phase: "Canary", PhaseIndex: 1, PhaseKind: "canary", Hosts: []string{"a"}})
	for _, r := range b.list {
		term.Record(r)
	}
	before := len(out.String())
	term.Pause()
	if got := out.String()[before:]; got != "\x1b[1A\r\x1b[J" {
		t.Errorf("pause wrote %q, want the block erased", got)
	}
	term.Close()
}

// poison appends an escape sequence to every string a record holds.
func poison(v reflect.Value) {
	const esc = "\x1b[2J\x1b]0;x\x07"
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + esc)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			poison(v.Field(i))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			poison(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.String {
			for _, k := range v.MapKeys() {
				v.SetMapIndex(k, reflect.ValueOf(v.MapIndex(k).String()+esc))
			}
		}
	}
}

// Whatever a journal holds, text for a terminal carries no escape sequence
// that did not come from the styles.
func TestTextOutputsNeverCarryJournalEscapes(t *testing.T) {
	recs := loadJournal(t, "journal.jsonl")
	for i := range recs {
		typ := recs[i].Type
		poison(reflect.ValueOf(&recs[i]).Elem())
		recs[i].Type = typ
	}
	s := Summarize(recs)
	var out bytes.Buffer
	for _, opts := range []TextOptions{{}, {Brief: true}} {
		if err := WriteText(&out, s, opts); err != nil {
			t.Fatal(err)
		}
	}
	term := NewTerminal(&out, TerminalOptions{Phases: []string{"p\x1b[2J"}})
	for _, r := range recs {
		term.Record(r)
	}
	term.Close()
	if i := strings.IndexByte(out.String(), 0x1b); i >= 0 {
		t.Errorf("escape sequence in the output: %q", out.String()[max(0, i-80):min(len(out.String()), i+20)])
	}
	if !strings.Contains(out.String(), "[2J]0;x") {
		t.Error("the poisoned text is missing altogether, not defused")
	}
}

// countingWriter counts the writes it is given.
type countingWriter struct {
	syncBuffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.syncBuffer.Write(p)
}

func (c *countingWriter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// Without a TTY, lines are gathered rather than written one by one, and
// still reach the output while the run goes on (a pipe to tee or a CI log
// shows progress), not only when it ends.
func TestTerminalPipeGathersLines(t *testing.T) {
	var out countingWriter
	term := NewTerminal(&out, TerminalOptions{})
	defer term.Close()
	term.Record(newRecords().add(runStart("web-1")).list[0])
	header := out.count()
	if header != 1 || !strings.Contains(out.String(), "run ") {
		t.Fatalf("the header is not written at once (%d writes): %q", header, out.String())
	}
	const steps = 200
	for i := range steps {
		term.Record(finished("web-1", "2.steps.0", fmt.Sprintf("step %d", i), 0, journal.StatusOK, true))
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), fmt.Sprintf("step %d", steps-1)) {
		if time.Now().After(deadline) {
			t.Fatalf("step lines not written without Close: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := out.count() - header; n >= steps {
		t.Errorf("%d step lines took %d writes: they are not gathered", steps, n)
	}
}
