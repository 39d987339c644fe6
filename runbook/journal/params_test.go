package journal

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// randomParamValue is a value of any type Params holds.
func randomParamValue(rng *rand.Rand, s func() string, depth int) any {
	switch k := rng.IntN(9); {
	case k == 0:
		return nil
	case k == 1:
		return rng.IntN(2) == 0
	case k == 2:
		return s()
	case k == 3:
		return rng.IntN(2000) - 1000
	case k == 4:
		return uint64(math.MaxInt64) + rng.Uint64N(1000) + 1
	case k == 5:
		return []float64{0, 3, -2.5, 1e21, 1e-7, math.MaxFloat64}[rng.IntN(6)]
	case k == 6 && depth < 3:
		var l []any
		for range rng.IntN(3) {
			l = append(l, randomParamValue(rng, s, depth+1))
		}
		if l == nil {
			l = []any{}
		}
		return l
	case k == 7 && depth < 3:
		m := map[string]any{}
		for range rng.IntN(3) {
			m[s()] = randomParamValue(rng, s, depth+1)
		}
		return m
	}
	return s()
}

func roundTrip(t *testing.T, p Params) Params {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshal %#v: %v", p, err)
	}
	var back Params
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return back
}

func TestParamsKeepTheirTypes(t *testing.T) {
	p := Params{"flag": false, "n": 3, "ratio": 3.0, "half": 0.5, "big": uint64(math.MaxUint64),
		"version": "1.30", "list": []any{1, "a", true, nil}, "map": map[string]any{"k": 2.5, "z": []any{}},
		"none": nil, "exp": 1e300}
	back := roundTrip(t, p)
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("read back %#v\nwant       %#v", back, p)
	}
	b, _ := json.Marshal(p)
	for _, want := range []string{`"flag":false`, `"n":3,`, `"ratio":3.0`, `"version":"1.30"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

func TestParamsThatCannotBeJournaled(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), map[any]any{1: "x"}, []any{struct{}{}}} {
		if err := CheckParamValue(v); err == nil {
			t.Errorf("%#v: accepted", v)
		}
	}
}

func TestRandomParamsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "a", "é", "\x00", "\"q\"", "<&>", "\u2028"}
	s := func() string { return strs[rng.IntN(len(strs))] }
	for range 2000 {
		p := Params{}
		for range rng.IntN(4) {
			p[s()] = randomParamValue(rng, s, 0)
		}
		if back := roundTrip(t, p); !reflect.DeepEqual(back, p) && len(p) > 0 {
			t.Fatalf("read back %#v\nwant       %#v", back, p)
		}
	}
}

// FuzzParamsRoundTrip: whatever a vars file (-e @file) holds reads back from
// the journal exactly, or is refused before the run starts.
func FuzzParamsRoundTrip(f *testing.F) {
	for _, seed := range []string{"n: 3\nflag: false\n", "x: 3.0\ny: 1e3\nz: .5\n", "l: [1, a, ~, {k: v}]\n",
		"big: 18446744073709551615\nneg: -9223372036854775808\n", "nan: .nan\n", "m: {1: x}\n", "s: '3'\n", "h: 0x1F\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]any
		if yaml.Unmarshal(data, &m) != nil || m == nil {
			return
		}
		p := Params(m)
		if CheckParamValue(map[string]any(p)) != nil {
			return
		}
		if back := roundTrip(t, p); !reflect.DeepEqual(back, p) {
			t.Fatalf("read back %#v\nwant       %#v", back, p)
		}
	})
}
