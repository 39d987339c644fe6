package report

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// shuffleNear moves each record up to window places from where it was, as
// observers running on several goroutines show records.
func shuffleNear(recs []journal.Record, window int, rng *rand.Rand) []journal.Record {
	out := append([]journal.Record(nil), recs...)
	for i := range out {
		j := min(len(out)-1, i+rng.IntN(window+1))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func summarizeAll(recs []journal.Record) (*Summary, *Summarizer) {
	z := NewSummarizer()
	for _, r := range recs {
		z.Add(r)
	}
	return z.Summary(), z
}

func TestSummarizerInAnyOrderIsSummarize(t *testing.T) {
	runs := map[string][]journal.Record{
		"journal":   loadJournal(t, "journal.jsonl"),
		"crash":     loadJournal(t, "crash.jsonl"),
		"synthetic": syntheticRun(300, 4, 50, map[int]bool{7: true, 123: true}),
	}
	for name, recs := range runs {
		want := Summarize(recs)
		for _, window := range []int{0, 1, 5, 50, 300} {
			t.Run(fmt.Sprintf("%s/window=%d", name, window), func(t *testing.T) {
				got, z := summarizeAll(shuffleNear(recs, window, rand.New(rand.NewPCG(1, uint64(window)))))
				if !z.Whole() || z.Added() != int64(len(recs)) {
					t.Errorf("whole %v, added %d of %d", z.Whole(), z.Added(), len(recs))
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("the summary differs from Summarize's:\n got %+v\nwant %+v", got.Hosts[:min(2, len(got.Hosts))], want.Hosts[:min(2, len(want.Hosts))])
				}
			})
		}
	}
}

func TestSummarizerThatMissesRecordsSaysSo(t *testing.T) {
	recs := syntheticRun(40, 3, 10, nil)
	for _, tc := range []struct {
		name string
		feed []journal.Record
	}{
		{"a resume's session, from past seq 1", recs[5:]},
		{"one record missing", append(append([]journal.Record(nil), recs[:9]...), recs[10:]...)},
		{"one record twice", append(append([]journal.Record(nil), recs...), recs[3])},
		{"more waiting than it holds", bigGap(maxEarly + 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := NewSummarizer()
			for _, r := range tc.feed {
				z.Add(r)
			}
			if z.Whole() {
				t.Error("Whole after a gap or a record added twice")
			}
			if z.waiting > maxEarly {
				t.Errorf("%d records waiting, more than %d", z.waiting, maxEarly)
			}
			s := z.Summary()
			if s == nil || z.waiting != 0 {
				t.Fatalf("summary %v, %d records left waiting", s, z.waiting)
			}
		})
	}
	// Nothing is dropped past a gap.
	gap := bigGap(maxEarly + 10)
	if s, _ := summarizeAll(gap); len(s.Messages) != len(gap) {
		t.Errorf("%d messages summarised, want %d", len(s.Messages), len(gap))
	}
	// What a resume's session shows is summarised all the same, in order.
	got, _ := summarizeAll(recs[5:])
	if want := Summarize(recs[5:]); !reflect.DeepEqual(got, want) {
		t.Errorf("records past a gap: the summary differs from Summarize's")
	}
}

// bigGap is messages 2 to n+1, seq 1 never coming.
func bigGap(n int) []journal.Record {
	out := make([]journal.Record, n)
	for i := range out {
		out[i] = journal.Record{Seq: int64(i + 2), Type: journal.Message, Text: "x"}
	}
	return out
}
