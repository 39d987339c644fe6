package report

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// FuzzReports feeds any journal the journal package accepts to every
// writer: none may panic, whatever the records say
// (go test -run XXX -fuzz FuzzReports -fuzztime 30s -fuzzminimizetime 2s
// ./runbook/report/; minimising with the default 60s per input stalls it).
func FuzzReports(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input it finds, and
	// minimising a whole fixture takes minutes.
	log, err := journal.ReadFile(filepath.Join("testdata", "journal.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, pick := range [][]int{{0, 1, 9, 12, 13}, {0, 40, 41, 47, 48, 49}, {0, 103, 104, 150}} {
		var seed []byte
		for n, i := range pick {
			r := log.Records[i]
			r.Seq = int64(n + 1)
			line, err := json.Marshal(r)
			if err != nil {
				f.Fatal(err)
			}
			seed = append(append(seed, line...), '\n')
		}
		f.Add(seed)
	}
	f.Add([]byte(`{"seq":1,"time":"2026-01-01T00:00:00Z","type":"step_finished","host":"h","final":true,"attempt":-3,"duration_ms":-5}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		log, err := journal.Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		recs := log.Records
		s := Summarize(recs)
		for _, opts := range []TextOptions{{}, {Brief: true, Color: true, MaxHosts: 2}} {
			if err := WriteText(io.Discard, s, opts); err != nil {
				t.Fatal(err)
			}
		}
		if err := WriteJSON(io.Discard, recs, s); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(io.Discard, s, recs, HTMLOptions{}); err != nil {
			t.Fatal(err)
		}
		var junit bytes.Buffer
		if err := WriteJUnit(&junit, s, recs); err != nil {
			t.Fatal(err)
		}
		parseJUnit(t, junit.Bytes())
		for _, tty := range []bool{false, true} {
			term := NewTerminal(io.Discard, TerminalOptions{TTY: tty})
			for _, r := range recs {
				term.Record(r)
			}
			term.Close()
		}
	})
}
