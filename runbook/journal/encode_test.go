package journal

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// randomRecord fills every field of a record, or leaves it empty, at
// random, with strings drawn from what JSON escapes.
func randomRecord(rng *rand.Rand, strs []string) Record {
	s := func() string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return strs[rng.IntN(len(strs))]
	}
	n := func() int {
		if rng.IntN(3) == 0 {
			return 0
		}
		return rng.IntN(2000) - 1000
	}
	r := Record{Seq: rng.Int64N(1 << 40), Time: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC(), Type: s(),
		RunID: s(), Runbook: s(), RunbookFile: s(), RunbookSHA256: s(), Inventory: s(), Operator: s(), Controller: s(),
		Limit: s(), Phase: s(), PhaseIndex: n(), PhaseKind: s(), Batch: n(), Host: s(), StepID: s(), Step: s(),
		Index: n(), Attempt: n(), Kind: s(), Command: s(), DelegateTo: s(), Status: s(), Stdout: s(), Stderr: s(),
		StdoutCut: rng.IntN(2) == 0, StderrCut: rng.IntN(2) == 0, DurationMS: int64(n()), Error: s(), Final: rng.IntN(2) == 0,
		Outcome: s(), FailedStep: s(), Prompt: s(), Decision: s(), By: s(), Via: s(), Seconds: int64(n()), Path: s(),
		Text: s(), Reason: s()}
	if rng.IntN(2) == 0 {
		rc := n()
		r.RC = &rc
	}
	if rng.IntN(3) == 0 {
		r.Params = Params{}
		for range rng.IntN(4) {
			r.Params[s()] = randomParamValue(rng, s, 0)
		}
	}
	if rng.IntN(3) == 0 {
		for range rng.IntN(4) {
			r.Hosts = append(r.Hosts, s())
		}
	}
	if rng.IntN(3) == 0 {
		r.Counts = map[string]int{}
		for range rng.IntN(4) {
			r.Counts[s()] = n()
		}
	}
	if rng.IntN(3) == 0 {
		r.Data = map[string]any{"version": s(), "n": n(), "list": []any{s(), 1.5, true, nil}, "nested": map[string]any{s(): s()}}
	}
	return r
}

var jsonHard = []string{"plain", "", "with \"quotes\" and \\", "<script>&amp;</script>", "line\nbreak\r\ttab\b\f",
	"\x00\x01\x1f\x7f", "ünïcødé ✓ 🚀", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "\xed\xa0\x80", "a\u00a0b", "{\"json\":1}"}

// The hand-written encoder gives json.Marshal's bytes for every record.
func TestAppendRecordMatchesJSONMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		r := randomRecord(rng, jsonHard)
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRecord(nil, &r)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("record %d: %v\n got %s\nwant %s", i, err, got, want)
		}
	}
	// Times json.Marshal would refuse, or that are not UTC, go through it.
	for _, tm := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)), {}} {
		r := Record{Time: tm, Type: "x"}
		want, wantErr := json.Marshal(r)
		got, err := appendRecord(nil, &r)
		if (err != nil) != (wantErr != nil) || (err == nil && !bytes.Equal(got, want)) {
			t.Errorf("time %v: got %s %v, want %s %v", tm, got, err, want, wantErr)
		}
	}
}

// FuzzAppendRecord: any strings in any fields encode as json.Marshal
// encodes them.
func FuzzAppendRecord(f *testing.F) {
	for _, s := range jsonHard {
		f.Add(s, s, int64(7))
	}
	f.Fuzz(func(t *testing.T, a, b string, seed int64) {
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		r := randomRecord(rng, []string{a, b, a + b})
		want, err := json.Marshal(r)
		if err != nil {
			t.Skip()
		}
		got, err := appendRecord(nil, &r)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%v\n got %s\nwant %s", err, got, want)
		}
	})
}

func BenchmarkAppendRecord(b *testing.B) {
	rc := 0
	r := Record{Seq: 12345, Time: time.Now().UTC(), Type: StepFinished, Phase: "Roll out", PhaseIndex: 4, PhaseKind: "batch",
		Batch: 2, Host: "worker-3", StepID: "4.steps.2", Step: "install cri-o", Index: 3, Attempt: 1, Kind: "apt",
		Command: "apt-get install -y cri-o=1.30.4-1.1", Status: "changed", RC: &rc, Stdout: "Setting up cri-o (1.30.4-1.1) ...\n",
		DurationMS: 1234, Final: true}
	b.Run("hand", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = appendRecord(buf[:0], &r)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(r)
		}
	})
}

// Decoded gives what the journal reads back, with or without a round
// trip, for every record; its own check of string fields must name them
// all, which the reflection below verifies.
func TestDecodedIsWhatReadsBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 5000 {
		r := randomRecord(rng, jsonHard)
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var want Record
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		got, err := Decoded(r)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Time.Equal(want.Time) {
			t.Fatalf("record %d: time %v, want %v", i, got.Time, want.Time)
		}
		got.Time = want.Time
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d:\n got %#v\nwant %#v", i, got, want)
		}
	}
	// Every string field is checked: a record with invalid UTF-8 in any
	// one of them alone is round-tripped.
	rt := reflect.TypeOf(Record{})
	for i := range rt.NumField() {
		if rt.Field(i).Type.Kind() != reflect.String {
			continue
		}
		var r Record
		reflect.ValueOf(&r).Elem().Field(i).SetString("bad \xff")
		if r.validUTF8() {
			t.Errorf("validUTF8 does not look at %s", rt.Field(i).Name)
		}
	}
}
