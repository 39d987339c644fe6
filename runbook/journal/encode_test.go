package journal

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// recordRand draws the values of randomRecord (record_gen_test.go), one
// method a field type: each is left empty now and then, strings come from
// strs.
type recordRand struct {
	rng  *rand.Rand
	strs []string
}

func (g recordRand) str() string {
	if g.rng.IntN(3) == 0 {
		return ""
	}
	return g.strs[g.rng.IntN(len(g.strs))]
}

func (g recordRand) num() int {
	if g.rng.IntN(3) == 0 {
		return 0
	}
	return g.rng.IntN(2000) - 1000
}

func (g recordRand) num64() int64 { return int64(g.num()) }

func (g recordRand) flag() bool { return g.rng.IntN(2) == 0 }

func (g recordRand) time() time.Time {
	return time.Unix(g.rng.Int64N(4e9), g.rng.Int64N(1e9)).UTC()
}

func (g recordRand) numPtr() *int {
	if g.rng.IntN(2) == 0 {
		return nil
	}
	n := g.num()
	return &n
}

func (g recordRand) strList() []string {
	if g.rng.IntN(3) != 0 {
		return nil
	}
	list := []string{} // sometimes empty, not nil
	for range g.rng.IntN(4) {
		list = append(list, g.str())
	}
	return list
}

func (g recordRand) strMap() map[string]string {
	if g.rng.IntN(3) != 0 {
		return nil
	}
	m := map[string]string{}
	for range g.rng.IntN(4) {
		m[g.str()] = g.str()
	}
	return m
}

func (g recordRand) params() Params {
	if g.rng.IntN(3) != 0 {
		return nil
	}
	p := Params{}
	for range g.rng.IntN(4) {
		p[g.str()] = randomParamValue(g.rng, g.str, 0)
	}
	return p
}

func (g recordRand) numMap() map[string]int {
	if g.rng.IntN(3) != 0 {
		return nil
	}
	m := map[string]int{}
	for range g.rng.IntN(4) {
		m[g.str()] = g.num()
	}
	return m
}

func (g recordRand) anyMap() map[string]any {
	if g.rng.IntN(3) != 0 {
		return nil
	}
	return map[string]any{"version": g.str(), "n": g.num(), "list": []any{g.str(), 1.5, true, nil}, "nested": map[string]any{g.str(): g.str()}}
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
}

// fill sets v, a field of Record, to a value that is not empty, made of
// text: a string, a number, true, or a list or map holding one such.
func fill(t *testing.T, v reflect.Value, text string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(len(text)) + 40)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), text)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0), text)
	case reflect.Map:
		e := reflect.New(v.Type().Elem()).Elem()
		if e.Kind() == reflect.Interface {
			e.Set(reflect.ValueOf(text))
		} else {
			fill(t, e, text)
		}
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf(text), e)
	case reflect.Struct:
		if v.Type() != reflect.TypeOf(time.Time{}) {
			t.Fatalf("no filler for %s", v.Type())
		}
		v.Set(reflect.ValueOf(time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)))
	default:
		t.Fatalf("no filler for %s", v.Type())
	}
}

// Every field of Record goes into the journal and comes back: a field the
// encoder drops, or one JSON cannot carry, fails here by name.
func TestEveryFieldRoundTrips(t *testing.T) {
	rt := reflect.TypeOf(Record{})
	for i := range rt.NumField() {
		f := rt.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			r := Record{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			fill(t, reflect.ValueOf(&r).Elem().Field(i), "value of "+f.Name)
			line, err := appendRecord(nil, &r)
			if err != nil {
				t.Fatal(err)
			}
			var back Record
			if err := json.Unmarshal(line, &back); err != nil {
				t.Fatal(err)
			}
			got, want := reflect.ValueOf(back).Field(i).Interface(), reflect.ValueOf(r).Field(i).Interface()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: wrote %v, read back %v from %s", f.Name, want, got, line)
			}
		})
	}
}

// Invalid UTF-8 in any field that holds strings, alone, keeps Decoded from
// returning the record as it is: validUTF8 sees it, or the field is always
// round-tripped.
func TestInvalidUTF8IsRoundTripped(t *testing.T) {
	rt := reflect.TypeOf(Record{})
	for i := range rt.NumField() {
		f := rt.Field(i)
		if k := f.Type.Kind(); k != reflect.String && k != reflect.Slice && k != reflect.Map {
			continue
		}
		var r Record
		fill(t, reflect.ValueOf(&r).Elem().Field(i), "bad \xff")
		if r.nilEmpty(); r.readsBackAsIs() {
			t.Errorf("invalid UTF-8 in %s is not seen", f.Name)
		}
		if _, err := Decoded(r); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
}

// randomRecord sets every field of Record, in some of its records.
func TestRandomRecordSetsEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rt := reflect.TypeOf(Record{})
	set := make([]bool, rt.NumField())
	for range 200 {
		r := reflect.ValueOf(randomRecord(rng, jsonHard))
		for i := range set {
			set[i] = set[i] || !r.Field(i).IsZero()
		}
	}
	for i, ok := range set {
		if !ok {
			t.Errorf("randomRecord never sets %s", rt.Field(i).Name)
		}
	}
}
