package journal

import (
	"math/rand"
	"testing"
)

func TestRecordBufferBySeq(t *testing.T) {
	const n = 2*recordChunk + 17 // across chunks
	seqs := rand.New(rand.NewSource(1)).Perm(n)
	var b RecordBuffer
	for _, s := range seqs {
		b.Add(Record{Seq: int64(s + 1), Host: "h"})
	}
	recs, ok := b.BySeq()
	if !ok || len(recs) != n {
		t.Fatalf("BySeq of records 1..%d in random order: %d records, ok=%v", n, len(recs), ok)
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) || r.Host != "h" {
			t.Fatalf("record %d: seq %d host %q", i, r.Seq, r.Host)
		}
	}
	if got := b.Records(); len(got) != n || got[0].Seq != int64(seqs[0]+1) {
		t.Fatalf("Records no longer in the order added")
	}

	for name, seqs := range map[string][]int64{
		"a gap":        {1, 2, 4},
		"a duplicate":  {1, 2, 2},
		"seq 0":        {0, 1, 2},
		"past the end": {1, 2, 3, 5},
	} {
		var b RecordBuffer
		for _, s := range seqs {
			b.Add(Record{Seq: s})
		}
		if recs, ok := b.BySeq(); ok || recs != nil {
			t.Errorf("%s (%v): BySeq gave %d records, ok=%v; want none", name, seqs, len(recs), ok)
		}
	}
	var empty RecordBuffer
	if recs, ok := empty.BySeq(); !ok || len(recs) != 0 {
		t.Errorf("empty buffer: %d records, ok=%v", len(recs), ok)
	}
}
