package main

import (
	"sync"

	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/report"
)

// runSummary is what a session keeps, of the records it shows, for the
// end-of-run reports: their summary, built record by record, rather than
// the records themselves (a 10,000-host run shows some 130,000).
type runSummary struct {
	mu       sync.Mutex
	sum      *report.Summarizer
	gone     bool  // sum was let go: the reports read the journal
	output   int   // bytes of step output summarised
	finished int64 // seq of the run_finished shown, 0 before it
	built    *report.Summary
}

// keptOutputLimit bounds the step output the session keeps in memory for
// the end-of-run reports; past it, the reports read the journal back, as
// they must anyway after a resume.
var keptOutputLimit = 32 << 20

// add summarises r as it reads back from the journal.
func (k *runSummary) add(r journal.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gone {
		return
	}
	if k.sum == nil {
		k.sum = report.NewSummarizer()
	}
	k.output += len(r.Stdout) + len(r.Stderr)
	dec, err := journal.Decoded(r)
	if err != nil || k.output > keptOutputLimit {
		k.sum, k.gone = nil, true
		return
	}
	if r.Type == journal.RunFinished {
		k.finished = r.Seq
	}
	k.sum.Add(dec)
}

// summary is the run's summary: the one built from the records shown when
// they are all of the journal (records 1 to N, the last one run_finished,
// which nothing follows: a run started by this command that ended), else
// one read from the journal on disk (a resumed run, one stopped by a
// journal error, or one whose output outgrew keptOutputLimit). The
// terminal's end-of-run summary and the reports both ask: the built one
// is made once and shared (nothing changes a Summary once made); the one
// read from disk is read at each call, as the journal may have grown (a
// resume between the run's end and its reports).
func (k *runSummary) summary(journalPath string) (*report.Summary, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.built != nil {
		return k.built, nil
	}
	sum := k.sum
	whole := sum != nil && sum.Whole() && k.finished > 0 && k.finished == sum.Added()
	k.sum, k.gone = nil, true
	if whole {
		k.built = sum.Summary()
		return k.built, nil
	}
	return report.SummarizeFile(journalPath)
}
