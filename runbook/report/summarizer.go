package report

import "github.com/runbookhq/runbook/runbook/journal"

// Summarizer builds a run's Summary record by record, as the engine shows
// them, so that what a run keeps in memory for its end-of-run reports is
// the summary (a host's steps and their results), never the run's every
// record: the summary of 10,000 hosts is some tens of MB, the records
// themselves several times that.
//
// Records are summarised in the order of their sequence numbers, as
// Summarize summarises a journal: an observer may be shown a record
// before one it follows (two hosts' records synced together are shown by
// whichever goroutine gets there first), so a record that comes early
// waits for the ones before it. Only a few wait at any time; should a
// record before them never come, they are summarised past the gap once a
// record comes maxEarly places ahead, and Whole says so. The zero value is not ready: use
// NewSummarizer. It is not safe for concurrent use.
type Summarizer struct {
	b    *builder
	next int64 // the sequence number summarised next
	// ring holds the records waiting for one before them, record seq at
	// seq % len(ring) (a slot's Seq is 0 when it holds none): records
	// come early all the time, and copying them into place costs no
	// allocation, where a map of them allocated as much as the summary.
	ring    []journal.Record
	waiting int
	added   int64 // records added
	whole   bool  // every record so far came once, 1 to added, none missing
}

// maxEarly bounds how far ahead of the next record one may come and wait
// for it.
const maxEarly = 4096

// NewSummarizer returns a Summarizer that expects records from seq 1.
func NewSummarizer() *Summarizer {
	return &Summarizer{b: newBuilder(), next: 1, ring: make([]journal.Record, 64), whole: true}
}

// Add summarises r, or keeps it until the records before it are added.
func (z *Summarizer) Add(r journal.Record) {
	z.added++
	ahead := r.Seq - z.next
	switch {
	case ahead < 0:
		// Summarised past already, or a record added twice: it goes in
		// late, out of order.
		z.whole = false
		z.b.add(&r)
		return
	case ahead >= maxEarly:
		// The records before it are not coming (a resume's session
		// starts past seq 1; a record may be lost): stop waiting for them.
		z.whole = false
		z.flush()
		z.next = r.Seq
	case ahead > 0:
		if ahead >= int64(len(z.ring)) {
			z.grow(ahead)
		}
		slot := &z.ring[r.Seq%int64(len(z.ring))]
		if slot.Seq == r.Seq {
			z.whole = false // added twice
			z.b.add(&r)
			return
		}
		*slot = r
		z.waiting++
		return
	}
	z.b.add(&r)
	z.next++
	z.drain()
}

// drain summarises the waiting records that follow on from next.
func (z *Summarizer) drain() {
	for z.waiting > 0 {
		slot := &z.ring[z.next%int64(len(z.ring))]
		if slot.Seq != z.next {
			return
		}
		r := *slot
		*slot = journal.Record{}
		z.waiting--
		z.b.add(&r)
		z.next++
	}
}

// flush summarises every waiting record, in order, past the gaps.
func (z *Summarizer) flush() {
	for seq := z.next; z.waiting > 0; seq++ {
		slot := &z.ring[seq%int64(len(z.ring))]
		if slot.Seq == seq {
			r := *slot
			*slot = journal.Record{}
			z.waiting--
			z.b.add(&r)
			z.next = seq + 1
		}
	}
}

// grow makes room for a record ahead places past next.
func (z *Summarizer) grow(ahead int64) {
	n := len(z.ring)
	for int64(n) <= ahead {
		n *= 2
	}
	ring := make([]journal.Record, n)
	for _, r := range z.ring {
		if r.Seq != 0 {
			ring[r.Seq%int64(n)] = r
		}
	}
	z.ring = ring
}

// Whole reports whether the records added so far are exactly those
// numbered 1 to Added, each added once.
func (z *Summarizer) Whole() bool { return z.whole && z.waiting == 0 && z.next == z.added+1 }

// Added is the number of records added.
func (z *Summarizer) Added() int64 { return z.added }

// Summary summarises the records still waiting, in order, and returns the
// run's summary. Call it once, after the last Add.
func (z *Summarizer) Summary() *Summary {
	z.flush()
	z.b.finish()
	return z.b.s
}

// SummarizeFile summarises the journal at path, reading it one record at a
// time: the summary Summarize makes of the journal's records, without
// holding them all.
func SummarizeFile(path string) (*Summary, error) {
	z := NewSummarizer()
	if err := journal.ReadEach(path, func(r journal.Record) error {
		z.Add(r)
		return nil
	}); err != nil {
		return nil, err
	}
	return z.Summary(), nil
}
