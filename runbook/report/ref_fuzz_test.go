package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// FuzzReportsMatchReference feeds any journal the journal package accepts to
// the HTML and JUnit writers and to their references (html_ref_test.go,
// junit_ref_test.go): the bytes must be the same
// (go test -run XXX -fuzz FuzzReportsMatchReference -fuzztime 30s
// -fuzzminimizetime 2s ./runbook/report/).
func FuzzReportsMatchReference(f *testing.F) {
	log, err := journal.ReadFile(filepath.Join("testdata", "journal.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	seed := func(recs []journal.Record) {
		var data []byte
		for n, r := range recs {
			r.Seq = int64(n + 1)
			line, err := json.Marshal(r)
			if err != nil {
				f.Fatal(err)
			}
			data = append(append(data, line...), '\n')
		}
		f.Add(data)
	}
	for _, pick := range [][]int{{0, 1, 9, 12, 13}, {0, 40, 41, 47, 48, 49}, {0, 103, 104, 150}} {
		var recs []journal.Record
		for _, i := range pick {
			recs = append(recs, log.Records[i])
		}
		seed(recs)
	}
	seed(hostileRun(false)[:24])
	f.Fuzz(func(t *testing.T, data []byte) {
		log, err := journal.Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		recs := log.Records
		s := Summarize(recs)
		var page, junit bytes.Buffer
		if err := WriteHTML(&page, s, recs); err != nil {
			t.Fatal(err)
		}
		if want := refHTML(t, s); page.String() != want {
			t.Errorf("the page differs from the template's rendering %s", firstDiff(page.String(), want))
		}
		if err := WriteJUnit(&junit, s, recs); err != nil {
			t.Fatal(err)
		}
		if want := refJUnit(t, s); junit.String() != want {
			t.Errorf("junit.xml differs from encoding/xml's %s", firstDiff(junit.String(), want))
		}
	})
}
